// "Play audio" in Chromium against the real `lectern` binary: the presenter picks a file on the
// meeting page (a WAV of speech with six tone markers, make-voice-wav.sh), the server decodes
// it and streams it into the meeting; the attendee's decoded output is tapped for the markers.
//
//   1. the attendee hears every marker of the file, in order, once; the presenter's page plays
//      the file too (it never plays the meeting's voice);
//   2. Stop ends it for everyone: the server has nothing playing and no more batches arrive;
//   3. a file that is not audio gets the server's reason on the page, and nothing plays;
//   4. attendees have no such control.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { createMeeting, joinMeetingPage, launchBrowser, newPerson, startServer, tearDown, untilSeen, WAIT } from './harness.mjs';

describe('playing an audio file in Chromium', { timeout: 600000 }, () => {
    let srv;
    let browser;
    let dir;
    /** @type {Buffer} */
    let wavBytes;
    /** @type {number[]} */
    let freqs;
    /** @type {number} the file's length, ms */
    let fileMs;
    let pat; // presenter
    let ann; // attendee
    let number = '';
    let key = '';

    const hook = (p, name) => p.page.evaluate((n) => /** @type {any} */ (window).lectern[n](), name);
    const waitHook = (p, name, pred, what, timeout = WAIT) => untilSeen(() => hook(p, name), pred, what, timeout);
    const choose = (p, name, mimeType, buffer) => p.page.locator('#audio-file-input').setInputFiles({ name, mimeType, buffer });

    before(async () => {
        dir = mkdtempSync('/tmp/lectern-audio-file-');
        const file = join(dir, 'talk.wav');
        execFileSync('bash', [new URL('./make-voice-wav.sh', import.meta.url).pathname, file], { stdio: 'inherit', env: { ...process.env, DENSE: '1' } });
        const wav = JSON.parse(readFileSync(file.replace(/\.wav$/, '.json'), 'utf8'));
        freqs = wav.markers.map((m) => m.freq);
        fileMs = wav.loop * 1000;
        wavBytes = readFileSync(file);
        srv = await startServer();
        browser = await launchBrowser();
    });

    after(() => tearDown({ people: [pat, ann], browser, srv, dir }));

    it('the attendee hears every marker of the file in order; the presenter hears it too', async () => {
        const storage = { 'lectern.test': '1' };
        pat = await newPerson(browser, 'Pat', { storage });
        ann = await newPerson(browser, 'Ann', { storage });
        const { presenterUrl } = await createMeeting(pat.page, srv.url, 'Audio file check');
        const url = new URL(presenterUrl, srv.url);
        number = /\/m\/(\d+)/.exec(url.pathname)?.[1] ?? '';
        key = url.searchParams.get('key') ?? '';
        await joinMeetingPage(pat, url.href);
        await joinMeetingPage(ann, `${srv.url}/m/${number}`);
        assert.equal(await ann.page.locator('#audio-file-btn').count(), 0, 'attendees have no Play audio');
        await pat.page.locator('#audio-file-btn').waitFor({ state: 'visible' });

        // A first play gets Ann's output going (the autoplay rule) and her tap listening…
        await choose(pat, 'talk.wav', 'audio/wav', wavBytes);
        const first = await waitHook(pat, 'audioFile', (v) => v.playing, 'the file playing');
        assert.equal(first.playing.name, 'talk.wav');
        assert.ok(Math.abs(first.playing.durationMs - fileMs) < 30, `${first.playing.durationMs} ms played of a ${fileMs} ms file`);
        await waitHook(pat, 'audioFile', (v) => v.hearing, 'the file playing on the presenter page');
        assert.match(await pat.page.locator('#audio-file-status').textContent(), /Playing talk\.wav/);
        await waitHook(ann, 'voice', (v) => v.player.batches > 0, 'Ann to receive the file');
        if (await ann.page.locator('#listen-btn').isVisible()) await ann.page.locator('#listen-btn').click();
        await ann.page.evaluate((f) => /** @type {any} */ (window).lecternTest.voice.watch(f), freqs);
        await waitHook(pat, 'audioFile', (v) => !v.playing && !v.hearing, 'the first play to end', WAIT + fileMs);

        // …so the second is heard whole: six markers, in the file's order, each once.
        const before = (await hook(ann, 'voice')).heard.length;
        await choose(pat, 'talk.wav', 'audio/wav', wavBytes);
        const v = await waitHook(ann, 'voice', (x) => x.heard.length >= before + freqs.length, 'Ann to hear the six markers', WAIT + fileMs);
        await waitHook(pat, 'audioFile', (x) => !x.playing, 'the second play to end', WAIT + fileMs);
        const heard = (await hook(ann, 'voice')).heard.slice(before).map((h) => h.freq);
        assert.deepEqual(heard, freqs, `markers heard: ${v.heard.slice(before).map((h) => `${h.freq}@${Math.round(h.at)}`).join(' ')}`);
    });

    it('Stop ends the file for everyone', async () => {
        await choose(pat, 'talk.wav', 'audio/wav', wavBytes);
        await waitHook(pat, 'audioFile', (v) => v.playing, 'the file playing');
        const b0 = (await hook(ann, 'voice')).player.batches;
        await waitHook(ann, 'voice', (v) => v.player.batches > b0 + 5, 'Ann to receive the file');
        await pat.page.locator('#audio-file-stop').click();
        const stopped = await waitHook(pat, 'audioFile', (v) => !v.playing && v.message, 'the file stopped');
        assert.equal(stopped.message, 'Stopped talk.wav');
        assert.equal(stopped.hearing, false, 'the presenter page stops too');
        assert.ok(await pat.page.locator('#audio-file-stop').isHidden());
        const res = await fetch(`${srv.url}/api/meetings/${number}/audio?key=${encodeURIComponent(key)}`, { method: 'DELETE' });
        assert.deepEqual(await res.json(), { stopped: false }, 'nothing left playing on the server');
        // batches already on the wire arrive; after that, none (the file had seconds to go)
        await new Promise((r) => setTimeout(r, 500));
        const b1 = (await hook(ann, 'voice')).player.batches;
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal((await hook(ann, 'voice')).player.batches, b1, 'no batches after Stop');
    });

    it('a file that is not audio gets the server\'s reason, and nothing plays', async () => {
        const b0 = (await hook(ann, 'voice')).player.batches;
        await choose(pat, 'notes.txt', 'text/plain', Buffer.from('These are my speaker notes, not a sound.\n'.repeat(20)));
        const v = await waitHook(pat, 'audioFile', (x) => !x.busy && x.message && !x.message.startsWith('Stopped'), 'the refusal');
        assert.equal(v.playing, null);
        assert.match(v.message, /audio|container|format/i, v.message);
        await pat.page.locator('#toast', { hasText: v.message }).waitFor({ state: 'visible', timeout: WAIT });
        assert.equal((await hook(ann, 'voice')).player.batches, b0, 'nothing reached the room');
    });

    it('no page errors', () => {
        // (the refused upload's 415 is a console line, not a page error)
        for (const p of [pat, ann]) assert.deepEqual(p.errors.filter((e) => e.startsWith('pageerror')), [], `${p.name}'s page errors`);
    });
});
