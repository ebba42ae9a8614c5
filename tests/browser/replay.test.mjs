// Replaying a recording in Chromium against the real `lectern` binary: a short meeting is
// recorded with the real presenter page and a fake microphone (make-voice-wav.sh: speech with
// tone markers; the presenter turns the page on each marker it hears, stamped with the marker's
// presenter-clock time, as in voice.test.mjs), with ink drawn after the third turn. Then:
//
//   1. /recordings (the browser that created the meeting) links the replay;
//   2. the replay page, seeked to just after the third turn and to after the ink, shows exactly
//      the presenter's page and ink of that moment (the presenter's own state snapshots are the
//      expectation), and the ink is on the canvas;
//   3. playing from there, the player's own audio graph (its AudioContext, the `<audio>`
//      element's source node) is tapped for the markers (voice tap worklet, output-timestamp
//      timing): every page turn is shown within ±40 ms of its marker;
//   3b. searching a word of a chat line said during the meeting (through the meeting page's
//      chat form) finds it and seeks to it; a word of a slide's text jumps to that page's first
//      chapter; the voice's waveform is drawn on the timeline;
//   4. the zip's index.html, unpacked to a temp folder, replays from file:// with the server
//      stopped: the right page after a seek, and the audio plays.
//
// Waits are conditions with generous timeouts; the only bound asserted is the sync property.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createMeeting, drag, fakeMicArgs, inkNear, joinMeetingPage, launchBrowser, makePdf, newPerson, PEN_RED, near, startServer, until, waitView, WAIT, tearDown, untilSeen } from './harness.mjs';
import { pairMarkers, tapReplayGraph } from './voice-sync.mjs';

const SKEW_MS = 40;
/** Four pages, so the third turn (1→2→3→4) lands on a page nobody has drawn on. */
const COLOURS4 = [[0.2, 0.4, 0.8], [0.2, 0.7, 0.3], [0.9, 0.8, 0.2], [0.6, 0.3, 0.7]];
/** A word of each page's text, found by the replay's search. */
const WORDS4 = ['albatross', 'bittern', 'cormorant', 'dunlin'];
const TEXTS4 = WORDS4.map((w, i) => `Page ${i + 1}: ${w}`);
/** A chat line said during the recorded meeting, with a word nothing else has. */
const CHAT_WORD = 'kittiwake';
const CHAT_LINE = `Where does the ${CHAT_WORD} nest?`;
describe('replay in Chromium', { timeout: 900000 }, () => {
    let srv;
    let browser;
    let dir;
    let wav;
    let freqs;
    let pat; // presenter
    let vic; // viewer of the replay
    let off; // the offline player
    let number = '';
    let key = '';
    let docId = '';
    /** the presenter's markers and what it held when it acted */
    let sent = [];
    /** @type {{ page: number, items: string[] }} */
    let afterTurn3;
    /** @type {{ page: number, items: string[], t: number }} */
    let afterInk;

    const voice = (p) => p.page.evaluate(() => /** @type {any} */ (window).lectern.voice());
    const replayView = (page) => page.evaluate(() => /** @type {any} */ (window).lectern?.replay?.view() ?? null);
    const waitReplay = (page, pred, what, timeout = WAIT) => untilSeen(() => replayView(page), pred, what, timeout);
    const markersWait = (k) => WAIT + (k * wav.loop * 1000) / wav.markers.length;
    /** Visible ink ids on the page shown, from a state-form snapshot. */
    const inkOf = (st) => (st.ink?.[st.document.id]?.[String(st.page)]?.items ?? []).filter((i) => i.visible).map((i) => i.id);

    before(async () => {
        dir = mkdtempSync('/tmp/lectern-replay-');
        const file = join(dir, 'voice.wav');
        execFileSync('bash', [new URL('./make-voice-wav.sh', import.meta.url).pathname, file], { stdio: 'inherit' });
        wav = JSON.parse(readFileSync(file.replace(/\.wav$/, '.json'), 'utf8'));
        freqs = wav.markers.map((m) => m.freq);
        srv = await startServer();
        // the replay's AudioContext (the test's tap) may start without a click
        browser = await launchBrowser([...fakeMicArgs(file), '--autoplay-policy=no-user-gesture-required']);
    });

    after(() => tearDown({ people: [pat, vic, off], browser, srv, dir }));

    it('records a meeting: page turns on the voice markers, ink after the third turn', async () => {
        pat = await newPerson(browser, 'Pat', { storage: { 'lectern.test': '1' } });
        const { presenterUrl } = await createMeeting(pat.page, srv.url, 'Replay check');
        number = /\/m\/(\d+)/.exec(presenterUrl)?.[1] ?? '';
        key = new URL(presenterUrl, srv.url).searchParams.get('key') ?? '';
        await joinMeetingPage(pat, `${srv.url}${presenterUrl}`);
        await waitView(pat.page, (v) => v.presenting, 'Pat to present');
        await pat.page.locator('#upload-input').setInputFiles({ name: 'talk.pdf', mimeType: 'application/pdf', buffer: makePdf(COLOURS4, 400, 300, TEXTS4) });
        const { state } = await waitView(pat.page, (v, st) => st?.document?.pages === 4 && v.drawn.endsWith(':1'), 'the shared document');
        docId = state.document.id;
        await pat.page.locator('#mic-btn').click();
        await until(async () => (await voice(pat)).capture.batches > 5, 'Pat to send voice');
        await pat.page.evaluate((f) => /** @type {any} */ (window).lecternTest.voice.turnPagesOnMarkers(f), freqs);

        const third = await until(async () => {
            const v = await voice(pat);
            return v.markersSent.length >= 3 ? v : null;
        }, 'three page turns', markersWait(5));
        const st3 = (await waitView(pat.page, (_v, st) => st.page === third.markersSent[2].n, 'the third turn applied')).state;
        afterTurn3 = { page: st3.page, items: inkOf(st3) };
        // a stroke straight through the middle (0.35..0.65 at y = 0.5), where the replay is read
        await drag(pat.page, [[0.2, 0.46], [0.35, 0.5], [0.65, 0.5], [0.8, 0.54]]);
        const inked = await waitView(pat.page, (_v, st) => inkOf(st).length > afterTurn3.items.length, 'the stroke in the state');
        const doneAt = Date.now();
        const still = await voice(pat);
        assert.equal(still.markersSent.length, 3, 'the ink went onto the page of the third turn (no fourth marker yet)');
        const m3 = still.markersSent[2];
        // the presenter clock at that moment, through the marker's capture time
        afterInk = { page: inked.state.page, items: inkOf(inked.state), t: m3.t + (doneAt - m3.capturedAt) };
        assert.equal(afterInk.page, afterTurn3.page);
        // a chat line, through the meeting page's chat form
        await pat.page.locator('#chat-input').fill(CHAT_LINE);
        await pat.page.locator('#chat-input').press('Enter');
        await pat.page.locator('#chat-log li', { hasText: CHAT_WORD }).waitFor({ state: 'attached', timeout: WAIT });

        const done = await until(async () => {
            const v = await voice(pat);
            return v.markersSent.length >= 7 ? v : null;
        }, 'four more page turns', markersWait(6));
        sent = done.markersSent;
        // a last second of voice after the last turn, then the presenter leaves
        await until(async () => (await voice(pat)).capture.batches > done.capture.batches + 20, 'a second more voice');
        await pat.page.close();
        pat.page = await pat.context.newPage();
    });

    it('the recordings page of the browser that created the meeting links the replay', async () => {
        await pat.page.goto(`${srv.url}/recordings`);
        const link = pat.page.locator(`tr[data-number="${number}"] a.replay`);
        await link.waitFor({ timeout: WAIT });
        assert.equal(await link.getAttribute('href'), `/recordings/${number}/replay?key=${encodeURIComponent(key)}`);
    });

    it('a seek after the third turn shows exactly the page and ink of that moment', async () => {
        vic = await newPerson(browser, 'Vic');
        await vic.page.goto(`${srv.url}/recordings/${number}/replay?key=${encodeURIComponent(key)}`);
        await waitReplay(vic.page, (v) => v.duration > 0 && v.clock === 'audio', 'the replay to load');
        const t3 = Math.round(sent[2].t);
        const t4 = Math.round(sent[3].t);
        assert.ok(afterInk.t < t4, `the ink (${afterInk.t}) before the fourth turn (${t4})`);

        await vic.page.evaluate((t) => /** @type {any} */ (window).lectern.replay.seek(t), t3 + 20);
        let v = await waitReplay(vic.page, (x) => x.drawn === `${docId}:${afterTurn3.page}`, 'the page of the third turn');
        assert.equal(v.page, afterTurn3.page);
        assert.deepEqual(v.items, afterTurn3.items, 'no ink yet');

        const t = Math.round((afterInk.t + t4) / 2);
        await vic.page.evaluate((ms) => /** @type {any} */ (window).lectern.replay.seek(ms), t);
        v = await waitReplay(vic.page, (x) => Math.abs(x.t - t) < 5 && x.drawn === `${docId}:${afterInk.page}`, `the moment ${t}`);
        assert.equal(v.document, docId);
        assert.equal(v.page, afterInk.page);
        assert.deepEqual(v.items, afterInk.items, 'the ink ids the presenter had');
        await until(async () => {
            const px = await inkNear(vic.page, 0.5, 0.5);
            return px[3] > 128 && near(px, PEN_RED, 40) ? px : null;
        }, 'the stroke on the replay canvas');
        // the timeline: a marker per page turn, and the page's thumbnail under the pointer
        const markers = await vic.page.locator('#timeline .chapter-marker').count();
        assert.equal(markers, (await vic.page.evaluate(() => /** @type {any} */ (window).lectern.replay.chapters())).length);
        const box = await vic.page.locator('#timeline').boundingBox();
        if (!box) throw new Error('no timeline on screen');
        await vic.page.mouse.move(box.x + (box.width * t) / v.duration, box.y + box.height / 2);
        await until(
            () => vic.page.evaluate(() => {
                const img = /** @type {HTMLImageElement} */ (document.querySelector('#timeline-thumb img'));
                return !img.closest('[hidden]') && img.complete && img.naturalWidth > 0;
            }),
            'the thumbnail under the pointer',
        );
        await vic.page.mouse.move(0, 0);
        // and back before it: gone again
        await vic.page.evaluate((ms) => /** @type {any} */ (window).lectern.replay.seek(ms), t3 + 20);
        await waitReplay(vic.page, (x) => x.items.length === afterTurn3.items.length, 'the ink gone before it was drawn');
    });

    it('playing from there, every page turn is shown within ±40 ms of its marker', async () => {
        const tap = await tapReplayGraph(vic.page, freqs, `${srv.url}/web/js/protocol/voice-tap.worklet.js`);
        assert.equal(tap.state, 'running');
        await vic.page.locator('#play-btn').click();
        const playing = await waitReplay(vic.page, (v) => v.playing, 'playing');
        console.log(`replay: the player's AudioContext latency: base ${(tap.baseLatency * 1000).toFixed(1)} ms, output ${(tap.outputLatency * 1000).toFixed(1)} ms; shown ${playing.latency.toFixed(1)} ms behind the element`);
        const later = sent.slice(3);
        const pairs = await until(async () => {
            const [turns, heard] = await vic.page.evaluate(() => [
                /** @type {any} */ (window).lectern.replay.turns(),
                /** @type {any} */ (window).__lecternHeard,
            ]);
            const found = pairMarkers(later, turns.map((x) => ({ ...x, n: x.page })), heard);
            return found.length >= later.length ? found : null;
        }, `the ${later.length} turns after the seek paired with their markers`, markersWait(later.length + 2));
        console.log(`replay: page turn shown − marker heard (ms): ${pairs.map((x) => x.skew.toFixed(1)).join(', ')}`);
        for (const x of pairs) assert.ok(Math.abs(x.skew) <= SKEW_MS, `turn to page ${x.n} ${x.skew.toFixed(1)} ms from its marker`);
    });

    it('search finds the chat line and the slide text and seeks to them; the waveform is drawn', async () => {
        await vic.page.evaluate(() => /** @type {any} */ (window).lectern.replay.pause());
        await waitReplay(vic.page, (v) => !v.playing, 'paused');
        const search = vic.page.locator('#replay-search');

        await search.fill(CHAT_WORD);
        const chatHit = vic.page.locator('#search-results .hit-chat');
        await chatHit.first().waitFor({ timeout: WAIT });
        assert.equal(await chatHit.count(), 1, 'one chat hit');
        assert.equal(await vic.page.locator('#search-results .hit-slide').count(), 0);
        const tc = Number(await chatHit.getAttribute('data-t'));
        assert.ok(tc > 0, `the chat line's time ${tc}`);
        await chatHit.click();
        let v = await waitReplay(vic.page, (x) => x.media === tc && x.t === tc, `the chat line's moment ${tc}`);
        await vic.page.locator('#replay-chat li', { hasText: CHAT_LINE }).waitFor({ state: 'visible', timeout: WAIT });

        await search.fill(WORDS4[2]);
        const slideHit = vic.page.locator('#search-results .hit-slide');
        await slideHit.first().waitFor({ timeout: WAIT });
        const chapters = await vic.page.evaluate(() => /** @type {any} */ (window).lectern.replay.chapters());
        const first = chapters.find((c) => c.document === docId && c.page === 3);
        assert.ok(first, 'a chapter on page 3');
        assert.equal(await slideHit.count(), chapters.filter((c) => c.document === docId && c.page === 3).length, 'a hit per time page 3 was shown');
        assert.equal(Number(await slideHit.first().getAttribute('data-t')), first.t);
        await slideHit.first().click();
        v = await waitReplay(vic.page, (x) => x.media === first.t && x.drawn === `${docId}:3`, `page 3's first chapter at ${first.t}`);
        assert.equal(v.page, 3);

        // the waveform: a peak per 100 ms of voice, drawn on the timeline
        assert.ok(Math.abs(v.waveform - Math.ceil(v.audioMs / 100)) <= 1, `${v.waveform} peaks for ${v.audioMs} ms of voice`);
        const inked = await vic.page.evaluate(() => {
            const c = /** @type {HTMLCanvasElement} */ (document.querySelector('#waveform'));
            const px = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d')).getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
            return n;
        });
        assert.ok(inked > 100, `the waveform drawn (${inked} pixels)`);
    });

    it('the zip has index.html, which replays from file:// with the server stopped', async () => {
        const res = await fetch(`${srv.url}/api/meetings/${number}/recording.zip?key=${encodeURIComponent(key)}`);
        assert.equal(res.status, 200);
        const zip = join(dir, 'rec.zip');
        writeFileSync(zip, Buffer.from(await res.arrayBuffer()));
        // a folder name with a space: the player must not care where it is unpacked
        const out = join(dir, 'unpacked here');
        mkdirSync(out);
        execFileSync('unzip', ['-q', zip, '-d', out]);
        const desc = JSON.parse(readFileSync(join(out, 'timeline.json'), 'utf8'));
        assert.ok(desc.documents[0].pages.every((p) => p.thumbnail && p.file), 'every page with its image and thumbnail');
        await srv.stop();
        srv = null;

        off = await newPerson(browser, 'Offline');
        await off.page.goto(`file://${out}/index.html`);
        await waitReplay(off.page, (v) => v.duration > 0, 'the offline player');
        const t = Math.round((afterInk.t + sent[3].t) / 2);
        await off.page.evaluate((ms) => /** @type {any} */ (window).lectern.replay.seek(ms), t);
        const v = await waitReplay(off.page, (x) => x.drawn === `${docId}:${afterInk.page}`, 'the page after the seek, offline');
        assert.deepEqual(v.items, afterInk.items);
        await until(async () => {
            const px = await inkNear(off.page, 0.5, 0.5);
            return px[3] > 128 ? px : null;
        }, 'the stroke on the offline canvas');
        // The voice plays: its clock moves on. (Its markers cannot be tapped here: to Web Audio a
        // file:// page's media is cross-origin, so a MediaElementAudioSourceNode hears silence.)
        await off.page.locator('#play-btn').click();
        const playing = await waitReplay(off.page, (x) => x.playing && x.clock === 'audio' && x.t > t + 1500, 'the audio to play on');
        await off.page.locator('#speed').selectOption('2');
        const fast = await waitReplay(off.page, (x) => x.rate === 2 && x.t > playing.t + 1000, 'twice the speed');
        assert.equal(await off.page.evaluate(() => /** @type {HTMLAudioElement} */ (document.querySelector('#replay-audio')).playbackRate), 2);
        assert.ok(fast.playing);
    });

    it('a recording without voice replays on its own clock', async () => {
        const quiet = await newPerson(browser, 'Quiet');
        srv = await startServer();
        const { presenterUrl } = await createMeeting(quiet.page, srv.url, 'No voice');
        const n = /\/m\/(\d+)/.exec(presenterUrl)?.[1];
        const k = new URL(presenterUrl, srv.url).searchParams.get('key') ?? '';
        await joinMeetingPage(quiet, `${srv.url}${presenterUrl}`);
        await quiet.page.locator('#upload-input').setInputFiles({ name: 'talk.pdf', mimeType: 'application/pdf', buffer: makePdf(COLOURS4) });
        const { state } = await waitView(quiet.page, (v, st) => st?.document?.pages === 4 && v.drawn.endsWith(':1'), 'the shared document');
        for (const page of [2, 3]) {
            await quiet.page.locator('#stage').focus();
            await quiet.page.keyboard.press('ArrowRight');
            await waitView(quiet.page, (_v, st) => st.page === page, `page ${page}`);
        }
        await quiet.page.close();
        const page = await quiet.context.newPage();
        await page.goto(`${srv.url}/recordings/${n}/replay?key=${encodeURIComponent(k)}`);
        const v = await waitReplay(page, (x) => x.duration > 0, 'the replay without voice');
        assert.equal(v.clock, 'free');
        await page.locator('#play-btn').click();
        await waitReplay(page, (x) => x.drawn === `${state.document.id}:3`, 'the last page turn, played');
    });

    it('no page errors', () => {
        for (const p of [pat, vic, off]) assert.deepEqual(p?.errors ?? [], [], `${p?.name}'s console`);
    });
});
