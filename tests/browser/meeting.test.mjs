// A whole meeting in Debian's Chromium against the real `lectern` binary: a presenter creates a
// meeting from the home page, uploads a PDF, turns pages and draws; attendees follow and show
// the same page and the same ink (read from their canvases); a late joiner catches up; an
// attendee browses away and jumps back; a cut connection catches up; chat; a forged payload is
// ignored by attendees and refused by the focus; presenter hand-over; a phone-sized attendee;
// the presenter pauses and resumes the recording and everyone, a late joiner too, sees it.
//
// The steps share one server and one meeting and run in order. Run with
// `bash tests/browser/run.sh` (or `node --test` here with LECTERN_BIN set).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
    allShow as showAll,
    COLOURS,
    createMeeting,
    drag,
    clientPoint,
    inkNear,
    inkSignature,
    joinMeetingPage,
    launchBrowser,
    lecternState,
    makePdf,
    near,
    newPerson,
    PEN_RED,
    pixel,
    RGB,
    startProxy,
    startServer,
    until,
    waitView,
    tearDown,
} from './harness.mjs';

describe('a meeting in Chromium', { timeout: 600000 }, () => {
    let srv;
    let browser;
    let proxy;
    let meeting; // {number, presenterUrl, attendeeUrl}
    let docId = '';
    /** @type {Record<string, Awaited<ReturnType<typeof newPerson>>>} */
    const people = {};

    before(async () => {
        srv = await startServer();
        browser = await launchBrowser();
        proxy = await startProxy(srv.url.replace(/^http:\/\//, ''));
    });

    after(() => tearDown({ people: Object.values(people), browser, proxy, srv }));

    /** Both/all attendees: wait until each shows `page` of the document (drawn on its canvas). */
    const allShow = (names, page) => showAll(Object.fromEntries(names.map((n) => [n, people[n]])), docId, page);
    const state = (n) => lecternState(people[n].page);
    const view = (n) => people[n].page.evaluate(() => /** @type {any} */ (window).lectern.view());

    it('creates a meeting on the home page and opens the presenter view', async () => {
        const alice = (people.alice = await newPerson(browser, 'Alice'));
        const { presenterUrl, attendeeUrl } = await createMeeting(alice.page, srv.url, 'E2E review');
        assert.match(presenterUrl ?? '', /^\/m\/\d+\?key=/);
        const number = /\/m\/(\d+)/.exec(attendeeUrl)?.[1];
        assert.ok(number, `an attendee link: ${attendeeUrl}`);
        meeting = { number, presenterUrl: `${srv.url}${presenterUrl}`, attendeePath: `/m/${number}` };
        await joinMeetingPage(alice, meeting.presenterUrl);
        await waitView(alice.page, (v) => v.presenting, 'Alice to present');
        assert.equal(await alice.page.locator('#role-badge').textContent(), 'presenting');
        assert.equal(await alice.page.locator('#toolbar').isVisible(), true);
    });

    it('joins two attendees, one of them through a connection that can be cut', async () => {
        people.bob = await newPerson(browser, 'Bob');
        people.carol = await newPerson(browser, 'Carol');
        await joinMeetingPage(people.bob, `${srv.url}${meeting.attendeePath}`);
        await joinMeetingPage(people.carol, `${proxy.url}${meeting.attendeePath}`);
        for (const n of ['bob', 'carol']) {
            const v = await view(n);
            assert.equal(v.presenting, false);
            assert.equal(await people[n].page.locator('#toolbar').isVisible(), false, 'attendees have no tools');
        }
        await waitView(people.alice.page, (v) => ['Alice', 'Bob', 'Carol'].every((n) => v.participants.includes(n)), 'everyone in the list');
    });

    it('uploads a PDF with progress and shares it: every screen shows page 1', async () => {
        const alice = people.alice;
        await alice.page.locator('#upload-input').setInputFiles({ name: 'review.pdf', mimeType: 'application/pdf', buffer: makePdf(COLOURS) });
        const { state: s } = await waitView(alice.page, (_v, st) => st?.document?.pages === 3, 'the shared document');
        docId = s.document.id;
        assert.equal(s.page, 1);
        await until(async () => (await alice.page.locator('#upload-bar').evaluate((b) => /** @type {HTMLProgressElement} */ (b).value)) === 1, 'the progress bar full');
        await allShow(['alice', 'bob', 'carol'], 1);
        for (const n of ['alice', 'bob', 'carol']) {
            const px = await pixel(people[n].page, 'page-canvas', 0.5, 0.5);
            assert.ok(near(px, RGB[0]), `${n} shows page 1's colour, got ${px}`);
        }
        const thumbs = await people.bob.page.locator('#thumbs .thumb').count();
        assert.equal(thumbs, 3);
    });

    it('turns pages with the keyboard and the thumbnails; attendees follow', async () => {
        const p = people.alice.page;
        await p.locator('#stage').focus();
        await p.keyboard.press('ArrowRight');
        await allShow(['alice', 'bob', 'carol'], 2);
        await p.locator('#thumbs .thumb[data-page="3"]').click();
        await allShow(['alice', 'bob', 'carol'], 3);
        await p.locator('#stage').focus();
        await p.keyboard.press('ArrowLeft');
        await allShow(['alice', 'bob', 'carol'], 2);
        for (const n of ['bob', 'carol']) {
            const px = await pixel(people[n].page, 'page-canvas', 0.5, 0.5);
            assert.ok(near(px, RGB[1]), `${n} shows page 2's colour, got ${px}`);
        }
    });

    it('draws a pen stroke, a rectangle and a text: attendees show the same ink', async () => {
        const p = people.alice.page;
        // straight through the middle (0.35..0.65 at y = 0.5), where the canvases are read
        await drag(p, [
            [0.2, 0.46],
            [0.35, 0.5],
            [0.65, 0.5],
            [0.8, 0.54],
        ]);
        await p.locator('#tools [data-tool="rect"]').click();
        await drag(p, [
            [0.1, 0.1],
            [0.3, 0.3],
        ]);
        await p.locator('#tools [data-tool="text"]').click();
        const [tx, ty] = await clientPoint(p, 0.55, 0.7);
        await p.mouse.click(tx, ty);
        await p.locator('#text-entry').waitFor({ state: 'visible' });
        await p.locator('#text-entry').fill('Revenue up');
        await p.locator('#text-entry').press('Enter');
        const items = (st) => st?.ink?.[docId]?.['2']?.items ?? [];
        const complete = (_v, st) => {
            const it = items(st);
            return it.length === 3 && it[0].type === 'stroke' && it[0].done && it[1].kind === 'rect' && it[2].text === 'Revenue up';
        };
        for (const n of ['alice', 'bob', 'carol']) await waitView(people[n].page, complete, `${n} to have the three items`);
        const [sa, sb, sc] = [await state('alice'), await state('bob'), await state('carol')];
        assert.deepEqual(sb.ink, sa.ink, 'Bob has the presenter\'s ink');
        assert.deepEqual(sc.ink, sa.ink, 'Carol has the presenter\'s ink');
        // from the canvases: the red stroke through the middle, the rectangle's top edge
        for (const n of ['bob', 'carol']) {
            await until(async () => near(await inkNear(people[n].page, 0.5, 0.5), PEN_RED, 40), `${n}: red ink at the stroke`);
            const edge = await pixel(people[n].page, 'ink-canvas', 0.2, 0.1);
            assert.ok(edge[3] > 128, `${n}: the rectangle's edge is drawn (${edge})`);
            const inside = await pixel(people[n].page, 'ink-canvas', 0.2, 0.2);
            assert.ok(inside[3] < 32, `${n}: the rectangle is not filled (${inside})`);
        }
        const sigB = await inkSignature(people.bob.page);
        const sigC = await inkSignature(people.carol.page);
        assert.ok(sigB.includes('#'), 'some ink');
        assert.equal(sigC, sigB, 'both attendees show the same ink');
    });

    it('undo and redo with the keyboard reach every attendee', async () => {
        const p = people.alice.page;
        await p.locator('#stage').focus();
        await p.keyboard.press('Control+z');
        const textHidden = (_v, st) => st?.ink?.[docId]?.['2']?.items?.[2]?.visible === false;
        await waitView(people.bob.page, textHidden, 'Bob: the text undone');
        await p.keyboard.press('Control+y');
        const textBack = (_v, st) => st?.ink?.[docId]?.['2']?.items?.[2]?.visible === true;
        await waitView(people.bob.page, textBack, 'Bob: the text redone');
        await waitView(people.carol.page, textBack, 'Carol: the text redone');
    });

    it('the laser pointer shows on attendees; the eraser removes a stroke and undo restores it', async () => {
        const p = people.alice.page;
        await p.locator('#tools [data-tool="laser"]').click();
        const [lx, ly] = await clientPoint(p, 0.7, 0.2);
        await p.mouse.move(lx, ly, { steps: 4 });
        for (const n of ['bob', 'carol']) {
            await waitView(people[n].page, (_v, st) => st.pointer && st.pointer.page === 2 && Math.abs(st.pointer.x - 0.7) < 0.02, `${n}: the pointer`);
            await people[n].page.locator('#laser').waitFor({ state: 'visible' });
        }
        await p.locator('#tools [data-tool="eraser"]').click();
        await waitView(people.bob.page, (_v, st) => st.pointer === null, 'Bob: the pointer hidden when the presenter leaves the laser');
        await drag(p, [
            [0.5, 0.42],
            [0.5, 0.58],
        ]);
        const strokeVisible = (want) => (_v, st) => st?.ink?.[docId]?.['2']?.items?.[0]?.visible === want;
        await waitView(people.bob.page, strokeVisible(false), 'Bob: the stroke erased');
        await until(async () => (await inkNear(people.bob.page, 0.5, 0.5))[3] < 32, 'Bob: no ink where the stroke was');
        await p.locator('#stage').focus();
        await p.keyboard.press('Control+z');
        await waitView(people.bob.page, strokeVisible(true), 'Bob: the stroke back');
        await waitView(people.carol.page, strokeVisible(true), 'Carol: the stroke back');
        await until(async () => near(await inkNear(people.bob.page, 0.5, 0.5), PEN_RED, 40), 'Bob: red ink again');
    });

    it('a late joiner gets the current page with all its ink', async () => {
        // Dave types the meeting number (with spaces) into the home page's join form
        const dave = (people.dave = await newPerson(browser, 'Dave'));
        await dave.page.goto(`${srv.url}/`);
        await dave.page.locator('#join-meeting').fill(meeting.number.replace(/(\d{3})(?=\d)/g, '$1 '));
        await dave.page.locator('#join-btn').click();
        await dave.page.waitForURL(`${srv.url}${meeting.attendeePath}`);
        await dave.page.locator('#join-name').fill('Dave');
        await dave.page.locator('#join-name-btn').click();
        await waitView(dave.page, (v) => v.status === 'online', 'Dave online');
        await waitView(dave.page, (v) => v.drawn === `${docId}:2`, 'Dave to show page 2');
        assert.deepEqual((await state('dave')).ink, (await state('alice')).ink);
        await until(async () => (await inkSignature(dave.page)) === (await inkSignature(people.bob.page)), 'Dave\'s ink to match Bob\'s');
        const px = await pixel(dave.page, 'page-canvas', 0.9, 0.9);
        assert.ok(near(px, RGB[1]), `Dave shows page 2's colour, got ${px}`);
    });

    it('an attendee browses away and jumps back to the presenter with one click', async () => {
        const bob = people.bob.page;
        await bob.locator('#next-btn').click();
        await waitView(bob, (v) => v.drawn === `${docId}:3` && !v.following, 'Bob to browse to page 3');
        assert.ok(near(await pixel(bob, 'page-canvas', 0.5, 0.5), RGB[2]), 'Bob sees page 3');
        assert.equal(await bob.locator('#follow-btn').isVisible(), true);
        // the presenter moves on; Bob stays where he is
        const alice = people.alice.page;
        await alice.locator('#stage').focus();
        await alice.keyboard.press('ArrowLeft');
        await allShow(['alice', 'carol', 'dave'], 1);
        await waitView(bob, (_v, st) => st.page === 1, 'Bob to know the presenter is on page 1');
        assert.equal((await view('bob')).drawn, `${docId}:3`, 'Bob is still on page 3');
        await bob.locator('#follow-btn').click();
        await waitView(bob, (v) => v.drawn === `${docId}:1` && v.following, 'Bob back on the presenter\'s page');
        assert.ok(near(await pixel(bob, 'page-canvas', 0.5, 0.5), RGB[0]), 'Bob sees page 1');
        assert.equal(await bob.locator('#follow-btn').isVisible(), false);
    });

    it('chat reaches everyone', async () => {
        const bob = people.bob.page;
        await bob.locator('#chat-input').fill('Hello from Bob');
        await bob.locator('#chat-input').press('Enter');
        for (const n of ['alice', 'carol', 'dave', 'bob']) {
            await people[n].page.locator('#chat-log li', { hasText: 'Hello from Bob' }).waitFor({ state: 'attached' });
        }
        const who = await people.alice.page.locator('#chat-log li', { hasText: 'Hello from Bob' }).locator('.who').textContent();
        assert.equal(who, 'Bob');
    });

    it('a connection cut and restored catches up without a reload', async () => {
        const carol = people.carol.page;
        const before = await view('carol');
        const marker = await carol.evaluate(() => {
            /** @type {any} */ (window).__sameDocument = true; // gone if the page reloads
            return true;
        });
        assert.ok(marker);
        proxy.cut();
        await waitView(carol, (v) => v.status !== 'online', 'Carol to notice the cut');
        // meanwhile the presenter turns to page 2 and adds an ellipse there
        const alice = people.alice.page;
        await alice.locator('#stage').focus();
        await alice.keyboard.press('ArrowRight');
        await allShow(['alice', 'bob'], 2);
        await alice.locator('#tools [data-tool="ellipse"]').click();
        await drag(alice, [
            [0.6, 0.1],
            [0.9, 0.35],
        ]);
        await waitView(people.bob.page, (_v, st) => st.ink[docId]['2'].items.length === 4, 'Bob to get the ellipse');
        proxy.restore();
        const target = (await view('alice')).lastSeq;
        await waitView(carol, (v) => v.status === 'online' && v.lastSeq >= target && v.drawn === `${docId}:2`, 'Carol to catch up', 60000);
        const after = await view('carol');
        assert.ok(after.stats.reconnects > before.stats.reconnects, 'Carol reconnected');
        assert.equal(await carol.evaluate(() => /** @type {any} */ (window).__sameDocument === true), true, 'no reload');
        assert.deepEqual((await state('carol')).ink, (await state('alice')).ink);
        await until(async () => (await inkSignature(carol)) === (await inkSignature(people.bob.page)), 'Carol\'s ink to match Bob\'s');
    });

    it('a forged payload from an attendee is ignored by attendees and refused by the focus', async () => {
        // Mallory is an ordinary attendee with a raw XMPP client (strophe.js, as the web client
        // uses) in a page of her own.
        const mallory = (people.mallory = await newPerson(browser, 'Mallory'));
        await mallory.page.goto(`${srv.url}/`);
        const lastSeq = (await view('bob')).lastSeq;
        const result = await mallory.page.evaluate(
            async ({ number, seq }) => {
                const { Strophe, $msg, $pres } = await import('/web/vendor/strophe.esm.js');
                const NS = 'urn:lectern:sync:1';
                const res = await fetch(`/api/meetings/${number}/join`, {
                    method: 'POST',
                    headers: { 'Content-Type': 'application/json' },
                    body: JSON.stringify({ name: 'Mallory' }),
                });
                const join = await res.json();
                const conn = new Strophe.Connection(join.websocket);
                await new Promise((resolve, reject) => {
                    conn.connect(join.login.jid, join.login.password, (status) => {
                        if (status === Strophe.Status.CONNECTED) resolve(undefined);
                        if (status === Strophe.Status.AUTHFAIL || status === Strophe.Status.CONNFAIL) reject(new Error(`login ${status}`));
                    });
                });
                const inRoom = new Promise((resolve) => {
                    conn.addHandler(
                        (p) => {
                            if (p.querySelector('status[code="110"]')) {
                                resolve(undefined);
                                return false;
                            }
                            return true;
                        },
                        null,
                        'presence',
                        null,
                    );
                });
                conn.send($pres({ to: `${join.room}/${join.nick}` }).c('x', { xmlns: 'http://jabber.org/protocol/muc' }).tree());
                await inRoom;
                // 1) straight into the room, dressed as the next event
                conn.send(
                    $msg({ to: join.room, type: 'groupchat', id: 'forged-1' })
                        .c('event', { xmlns: NS, seq: String(seq + 1), t: '1' })
                        .c('page', { n: '3' })
                        .up()
                        .up()
                        .c('store', { xmlns: 'urn:xmpp:hints' })
                        .tree(),
                );
                // 2) to the focus, as a presenter request
                const refused = new Promise((resolve) => {
                    conn.addHandler((m) => {
                        resolve(m.getAttribute('type') === 'error' ? (m.querySelector('error')?.firstElementChild?.localName ?? 'error') : 'accepted');
                        return false;
                    }, null, 'message', null, 'forged-2');
                });
                conn.send(
                    $msg({ to: join.focus, type: 'chat', id: 'forged-2' })
                        .c('event', { xmlns: NS, meeting: number, t: '2' })
                        .c('page', { n: '3' })
                        .up()
                        .up()
                        .c('store', { xmlns: 'urn:xmpp:hints' })
                        .tree(),
                );
                const answer = await Promise.race([refused, new Promise((r) => setTimeout(() => r('no answer'), 20000))]);
                /** @type {any} */ (window).__mallory = conn;
                return { answer };
            },
            { number: meeting.number, seq: lastSeq },
        );
        assert.equal(result.answer, 'forbidden', 'the focus refuses a non-presenter\'s request');
        for (const n of ['bob', 'carol', 'dave']) {
            await waitView(people[n].page, (v) => v.stats.ignored >= 1, `${n} to see and ignore the forged event`);
            const v = await view(n);
            assert.equal(v.drawn, `${docId}:2`, `${n} did not turn the page for Mallory`);
            assert.equal((await state(n)).page, 2);
        }
        // the real next event still applies
        const alice = people.alice.page;
        await alice.locator('#stage').focus();
        await alice.keyboard.press('ArrowRight');
        await allShow(['alice', 'bob', 'carol', 'dave'], 3);
        const seqs = await Promise.all(['alice', 'bob', 'carol', 'dave'].map(async (n) => (await state(n)).seq));
        assert.ok(seqs.every((s) => s === seqs[0]), `everyone at the same seq: ${seqs}`);
    });

    it('the presenter hands over to an attendee and gets it back', async () => {
        const alice = people.alice.page;
        await alice.locator('#people li[data-nick="Bob"] .hand-over').click();
        await waitView(people.bob.page, (v) => v.presenting, 'Bob to present');
        await waitView(alice, (v) => !v.presenting, 'Alice to stop presenting');
        assert.equal(await people.bob.page.locator('#toolbar').isVisible(), true);
        assert.equal(await alice.locator('#toolbar').isVisible(), false);
        const bob = people.bob.page;
        await bob.locator('#stage').focus();
        await bob.keyboard.press('ArrowLeft');
        await allShow(['alice', 'bob', 'carol', 'dave'], 2);
        await bob.locator('#people li[data-nick="Alice"] .hand-over').click();
        await waitView(alice, (v) => v.presenting, 'Alice to present again');
    });

    it('a phone-sized attendee with touch sees the page and the ink, browses and jumps back', async () => {
        const erin = (people.erin = await newPerson(browser, 'Erin', { phone: true }));
        await joinMeetingPage(erin, `${srv.url}${meeting.attendeePath}`);
        await waitView(erin.page, (v) => v.drawn === `${docId}:2`, 'Erin to show page 2');
        assert.ok(near(await pixel(erin.page, 'page-canvas', 0.9, 0.9), RGB[1]), 'Erin sees page 2');
        await until(async () => near(await inkNear(erin.page, 0.5, 0.5), PEN_RED, 40), 'Erin sees the red stroke');
        const box = await erin.page.locator('#page-box').boundingBox();
        assert.ok(box && box.width <= 390 && box.width > 300, `the page fits the phone's width (${box?.width})`);
        await erin.page.locator('#next-btn').tap();
        await waitView(erin.page, (v) => v.drawn === `${docId}:3`, 'Erin to browse to page 3');
        await erin.page.locator('#follow-btn').tap();
        await waitView(erin.page, (v) => v.drawn === `${docId}:2`, 'Erin back with the presenter');
        await erin.page.locator('#toggle-people').tap();
        await erin.page.locator('#chat-log li', { hasText: 'Hello from Bob' }).waitFor({ state: 'visible' });
    });

    it('the presenter zooms and attendees follow the viewport; an attendee zooms on its own', async () => {
        const alice = people.alice.page;
        await alice.locator('#stage').focus();
        await alice.keyboard.press('+');
        await alice.keyboard.press('+');
        for (const n of ['bob', 'carol']) {
            await waitView(people[n].page, (_v, st) => st.viewport.zoom > 1.5, `${n} to get the zoomed viewport`);
        }
        // zoomed around the centre: the stroke through the middle is still in the middle
        await until(async () => near(await inkNear(people.bob.page, 0.5, 0.5), PEN_RED, 40), 'Bob: the stroke at the centre, zoomed');
        await alice.keyboard.press('0');
        await waitView(people.bob.page, (_v, st) => st.viewport.zoom === 1, 'Bob: whole page again');
        const sig = await inkSignature(people.bob.page);
        await people.bob.page.locator('#zoom-in').click();
        await until(async () => (await inkSignature(people.bob.page)) !== sig, 'Bob: his own zoom changes what he sees');
        assert.equal((await state('alice')).viewport.zoom, 1, 'an attendee\'s zoom is his own');
        await people.bob.page.locator('#zoom-fit').click();
        await until(async () => (await inkSignature(people.bob.page)) === sig, 'Bob: fit shows the whole page again');
    });

    it('a presenter on a phone draws with touch', async () => {
        const alice = people.alice.page;
        await alice.locator('#people li[data-nick="Erin"] .hand-over').click();
        const erin = people.erin;
        await waitView(erin.page, (v) => v.presenting, 'Erin to present');
        await erin.page.locator('#toolbar').waitFor({ state: 'visible' });
        await erin.page.locator('#toggle-people').tap(); // close the drawer that covers the page
        await erin.page.locator('#side').waitFor({ state: 'hidden' });
        await erin.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        const page = (await state('erin')).page;
        const before = (await state('bob')).ink[docId]?.[String(page)]?.items.length ?? 0;
        const cdp = await erin.context.newCDPSession(erin.page);
        const pts = [];
        for (let i = 0; i <= 10; i++) pts.push(await clientPoint(erin.page, 0.3 + i * 0.04, 0.75));
        await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: pts[0][0], y: pts[0][1] }] });
        for (const [x, y] of pts.slice(1)) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x, y }] });
        await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
        const drawn = (_v, st) => {
            const items = st.ink[docId]?.[String(page)]?.items ?? [];
            const last = items[items.length - 1];
            return items.length === before + 1 && last.type === 'stroke' && last.done && last.points.length >= 5;
        };
        await waitView(people.bob.page, drawn, 'Bob to get Erin\'s touch stroke');
        await until(async () => near(await inkNear(people.bob.page, 0.5, 0.75), PEN_RED, 40), 'Bob sees the touch stroke');
        // Chromium generates no click for a CDP tap right after a CDP-driven touch stroke (seen
        // here); a mouse click opens the drawer instead. The touch stroke itself is what this tests.
        await erin.page.locator('#toggle-people').click();
        await erin.page.locator('#people li[data-nick="Alice"] .hand-over').click();
        await waitView(alice, (v) => v.presenting, 'Alice to present again');
    });

    it('LAN attendees (loopback counts) pre-load the document, show pages from it, and the presenter sees it', async () => {
        for (const n of ['bob', 'carol', 'dave']) {
            const { view: v } = await waitView(people[n].page, (vw) => vw.preloaded.includes(docId), `${n} to pre-load the document`);
            assert.equal(v.preloadVia[docId], 'package', `${n} used the whole-document package`);
        }
        const alice = people.alice.page;
        await alice.locator('#stage').focus();
        await alice.keyboard.press('ArrowRight');
        for (const n of ['bob', 'carol', 'dave']) {
            await waitView(people[n].page, (v) => v.drawn === `${docId}:3` && v.drawnFrom === 'local', `${n} to show page 3 from its local copy`);
            assert.ok(near(await pixel(people[n].page, 'page-canvas', 0.5, 0.5), RGB[2]), `${n} shows page 3's colour`);
        }
        await waitView(
            people.alice.page,
            (v) => ['Bob', 'Carol', 'Dave'].every((n) => (v.preloadedBy[n] ?? []).includes(docId)),
            'the presenter to know who pre-loaded',
        );
        await people.alice.page.locator('#people li[data-nick="Bob"] .tag.ok').waitFor({ state: 'visible' });
    });

    it('a second document, and switching back restores the first one with its ink', async () => {
        const alice = people.alice.page;
        const inkBefore = (await state('alice')).ink[docId];
        await alice.locator('#upload-input').setInputFiles({
            name: 'appendix.pdf',
            mimeType: 'application/pdf',
            buffer: makePdf([
                [0.6, 0.2, 0.6],
                [0.1, 0.1, 0.1],
            ]),
        });
        const { state: s2 } = await waitView(alice, (_v, st) => st?.document && st.document.id !== docId, 'the second document');
        const doc2 = s2.document.id;
        for (const n of ['bob', 'carol', 'dave']) {
            await waitView(people[n].page, (v) => v.drawn === `${doc2}:1`, `${n} to show the second document`);
            assert.ok(near(await pixel(people[n].page, 'page-canvas', 0.5, 0.5), [153, 51, 153]), `${n} shows its first page`);
        }
        assert.equal(await alice.locator('#doc-select option').count(), 2, 'the switcher lists both documents');
        await alice.locator('#doc-select').selectOption(docId);
        await waitView(people.bob.page, (v) => v.drawn === `${docId}:1`, 'Bob back on the first document');
        await alice.locator('#stage').focus();
        await alice.keyboard.press('ArrowRight');
        for (const n of ['bob', 'carol', 'dave']) {
            await waitView(people[n].page, (v) => v.drawn === `${docId}:2`, `${n} on page 2 of the first document`);
            assert.deepEqual((await state(n)).ink[docId], inkBefore, `${n} has the first document's ink`);
        }
        await until(async () => near(await inkNear(people.bob.page, 0.5, 0.5), PEN_RED, 40), 'Bob sees the red stroke again');
    });

    it('the presenter pauses the recording: every attendee sees it, also one joining during the pause', async () => {
        const alice = people.alice.page;
        const button = alice.locator('#rec-btn');
        await alice.locator('#rec-status[data-state="recording"]').waitFor({ state: 'visible' });
        assert.equal(await button.textContent(), 'Pause recording');
        await button.click();
        for (const n of ['alice', 'bob', 'carol', 'dave']) {
            await people[n].page.locator('#rec-status[data-state="paused"]').waitFor({ state: 'visible' });
            assert.equal(await people[n].page.locator('#rec-status').textContent(), 'Recording paused', `${n} sees the pause`);
        }
        assert.equal(await people.bob.page.locator('#rec-btn').isVisible(), false, 'attendees cannot pause');
        assert.equal((await state('bob')).recording_paused, true);

        const fay = (people.fay = await newPerson(browser, 'Fay'));
        await joinMeetingPage(fay, `${srv.url}${meeting.attendeePath}`);
        await fay.page.locator('#rec-status[data-state="paused"]').waitFor({ state: 'visible' });
        assert.equal(await fay.page.locator('#rec-status').textContent(), 'Recording paused', 'the late joiner sees the pause');

        assert.equal(await button.textContent(), 'Resume recording');
        await button.click();
        for (const n of ['bob', 'fay']) {
            await people[n].page.locator('#rec-status[data-state="recording"]').waitFor({ state: 'visible' });
            assert.equal(await people[n].page.locator('#rec-status').textContent(), 'Recording', `${n} sees the recording resumed`);
        }
    });

    it('no page errors in any browser', () => {
        const errors = Object.values(people).flatMap((p) => p.errors.filter((e) => e.startsWith('pageerror')).map((e) => `${p.name}: ${e}`));
        assert.deepEqual(errors, []);
    });
});
