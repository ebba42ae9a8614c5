// The browser client against Lectern on Prosody: the presenter/attendee scenario of
// tests/browser/meeting.test.mjs, with the focus logged in to Debian's Prosody and every browser
// logging in with SASL ANONYMOUS on guest.localhost over Prosody's WebSocket (what the join API
// returns when `external_websocket` is set).
//
// Run by tests/prosody/run.sh after the slixmpp tests; it uses the lectern that script started
// (LECTERN_HTTP=http://127.0.0.1:PORT) instead of starting one.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
    allShow as showAll,
    COLOURS,
    createMeeting,
    drag,
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
    until,
    waitView,
} from '../browser/harness.mjs';

const BASE = (process.env.LECTERN_HTTP || '').replace(/\/$/, '');
const PROSODY_WS = process.env.PROSODY_WS || '';


describe('a meeting in Chromium on Prosody', { timeout: 300000 }, () => {
    let browser;
    let meeting;
    let docId = '';
    /** @type {Record<string, Awaited<ReturnType<typeof newPerson>>>} */
    const people = {};
    /** WebSocket URLs each page opened. */
    const sockets = {};
    /** Each page's join API answer. */
    const joins = {};

    before(async () => {
        assert.ok(BASE, 'LECTERN_HTTP must name the running lectern (tests/prosody/run.sh sets it)');
        browser = await launchBrowser();
    });

    after(async () => {
        const errors = Object.values(people).flatMap((p) => p.errors.map((e) => `${p.name}: ${e}`));
        if (errors.length) console.log('browser console errors:\n' + errors.join('\n'));
        await browser?.close().catch(() => {});
    });

    async function person(key, name) {
        const p = (people[key] = await newPerson(browser, name));
        sockets[key] = [];
        p.page.on('websocket', (ws) => sockets[key].push(ws.url()));
        p.page.on('response', async (r) => {
            if (/\/api\/meetings\/\d+\/join$/.test(r.url())) joins[key] = await r.json().catch(() => null);
        });
        return p;
    }

    const allShow = (names, page) => showAll(Object.fromEntries(names.map((n) => [n, people[n]])), docId, page);
    const state = (n) => lecternState(people[n].page);

    it('creates a meeting on the home page and opens the presenter view', async () => {
        const alice = await person('alice', 'Alice');
        const { presenterUrl, attendeeUrl } = await createMeeting(alice.page, BASE, 'Prosody review');
        assert.match(presenterUrl ?? '', /^\/m\/\d+\?key=/);
        const number = /\/m\/(\d+)/.exec(attendeeUrl)?.[1];
        assert.ok(number, `an attendee link: ${attendeeUrl}`);
        meeting = { number, presenterUrl: `${BASE}${presenterUrl}`, attendeePath: `/m/${number}` };
        await joinMeetingPage(alice, meeting.presenterUrl);
        await waitView(alice.page, (v) => v.presenting, 'Alice to present');
        assert.equal(await alice.page.locator('#role-badge').textContent(), 'presenting');
        assert.equal(await alice.page.locator('#toolbar').isVisible(), true);
    });

    it('joins two attendees, anonymously on guest.localhost over Prosody\'s WebSocket', async () => {
        await person('bob', 'Bob');
        await person('carol', 'Carol');
        await joinMeetingPage(people.bob, `${BASE}${meeting.attendeePath}`);
        await joinMeetingPage(people.carol, `${BASE}${meeting.attendeePath}`);
        for (const n of ['bob', 'carol']) {
            const v = await people[n].page.evaluate(() => /** @type {any} */ (window).lectern.view());
            assert.equal(v.presenting, false);
            assert.equal(await people[n].page.locator('#toolbar').isVisible(), false, 'attendees have no tools');
        }
        await waitView(people.alice.page, (v) => ['Alice', 'Bob', 'Carol'].every((n) => v.participants.includes(n)), 'everyone in the list');
        for (const n of ['alice', 'bob', 'carol']) {
            console.log(`${n}: join answer ${JSON.stringify(joins[n])}; websockets ${sockets[n].join(' ')}`);
            if (PROSODY_WS) assert.ok(sockets[n].includes(PROSODY_WS), `${n} talks XMPP over Prosody's WebSocket (${sockets[n]})`);
        }
    });

    it('uploads and shares a 3-page PDF: every screen shows page 1', async () => {
        const alice = people.alice;
        await alice.page.locator('#upload-input').setInputFiles({ name: 'review.pdf', mimeType: 'application/pdf', buffer: makePdf(COLOURS) });
        const { state: s } = await waitView(alice.page, (_v, st) => st?.document?.pages === 3, 'the shared document');
        docId = s.document.id;
        assert.equal(s.page, 1);
        await allShow(['alice', 'bob', 'carol'], 1);
        for (const n of ['alice', 'bob', 'carol']) {
            const px = await pixel(people[n].page, 'page-canvas', 0.5, 0.5);
            assert.ok(near(px, RGB[0]), `${n} shows page 1's colour, got ${px}`);
        }
    });

    it('turns to page 2: attendees follow', async () => {
        const p = people.alice.page;
        await p.locator('#stage').focus();
        await p.keyboard.press('ArrowRight');
        await allShow(['alice', 'bob', 'carol'], 2);
        for (const n of ['bob', 'carol']) {
            const px = await pixel(people[n].page, 'page-canvas', 0.5, 0.5);
            assert.ok(near(px, RGB[1]), `${n} shows page 2's colour, got ${px}`);
        }
    });

    it('draws a pen stroke: attendees show the same ink', async () => {
        await drag(people.alice.page, [
            [0.2, 0.46],
            [0.35, 0.5],
            [0.65, 0.5],
            [0.8, 0.54],
        ]);
        const done = (_v, st) => {
            const it = st?.ink?.[docId]?.['2']?.items ?? [];
            return it.length === 1 && it[0].type === 'stroke' && it[0].done;
        };
        for (const n of ['alice', 'bob', 'carol']) await waitView(people[n].page, done, `${n} to have the stroke`);
        const [sa, sb, sc] = [await state('alice'), await state('bob'), await state('carol')];
        assert.deepEqual(sb.ink, sa.ink, "Bob has the presenter's ink");
        assert.deepEqual(sc.ink, sa.ink, "Carol has the presenter's ink");
        for (const n of ['bob', 'carol']) {
            await until(async () => near(await inkNear(people[n].page, 0.5, 0.5), PEN_RED, 40), `${n}: red ink at the stroke`);
            assert.equal((await state(n)).page, 2, `${n} is on page 2`);
        }
        const sigB = await inkSignature(people.bob.page);
        const sigC = await inkSignature(people.carol.page);
        assert.ok(sigB.includes('#'), 'some ink');
        assert.equal(sigC, sigB, 'both attendees show the same ink');
        // The presenter's stage is smaller (the voice controls take room), so its canvas has
        // other pixel sizes and a stroke's edge can fall into a neighbouring cell: a few cells
        // of 1,728 may differ, the stroke's shape may not.
        const differing = (a, b) => [...a].filter((ch, i) => ch !== b[i]).length;
        await until(
            async () => differing(await inkSignature(people.alice.page), sigB) <= 4,
            "the presenter's canvas matches the attendees'",
        );
    });

    it('chat reaches everyone', async () => {
        const bob = people.bob.page;
        await bob.locator('#chat-input').fill('Hello from Bob');
        await bob.locator('#chat-input').press('Enter');
        for (const n of ['alice', 'carol', 'bob']) {
            await people[n].page.locator('#chat-log li', { hasText: 'Hello from Bob' }).waitFor({ state: 'attached' });
        }
        const who = await people.alice.page.locator('#chat-log li', { hasText: 'Hello from Bob' }).locator('.who').textContent();
        assert.equal(who, 'Bob');
        for (const n of ['alice', 'bob', 'carol']) {
            assert.equal(await people[n].page.locator('#chat-log li', { hasText: 'Hello from Bob' }).count(), 1, `${n}: the message once`);
        }
    });
});
