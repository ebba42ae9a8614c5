// Voice benchmark: mouth-to-ear latency on loopback and page-turn/audio skew, in Chromium against
// the real `lectern` binary (run by bench/voice/run.sh, which builds the release binary).
//
// The presenter's fake microphone plays espeak-ng speech with a tone marker after each phrase
// (tests/browser/make-voice-wav.sh, DENSE=1: six markers in 8 s, looped). The presenter's page
// turns to the next page on every marker it detects in its microphone, stamped with that
// marker's presenter-clock time; one attendee plays the voice and taps its output for the
// markers. Per marker:
//   mouth-to-ear = marker played at the attendee − marker captured at the presenter (epoch ms)
//   skew         = page turn applied at the attendee − marker played there
// (tests/browser/voice-sync.mjs pairs them). Writes a section between <!-- voice:begin --> and
// <!-- voice:end --> in the report file (appended when the markers are absent).
//
//   node bench/voice/voice.mjs --seconds 60 --out docs/BENCHMARKS.md --command '…' --commit abc123
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import {
    CHROMIUM,
    COLOURS,
    createMeeting,
    fakeMicArgs,
    joinMeetingPage,
    launchBrowser,
    makePdf,
    newPerson,
    REPO,
    startServer,
    until,
    waitView,
} from '../../tests/browser/harness.mjs';
import { pairMarkers } from '../../tests/browser/voice-sync.mjs';

const { values: args } = parseArgs({
    options: {
        seconds: { type: 'string', default: '60' },
        out: { type: 'string', default: join(REPO, 'docs', 'BENCHMARKS.md') },
        command: { type: 'string', default: 'bash bench/voice/run.sh' },
        commit: { type: 'string', default: '' },
    },
});
const SECONDS = Number(args.seconds);
const BEGIN = '<!-- voice:begin -->';
const END = '<!-- voice:end -->';

/** The q-quantile of `xs` (nearest rank). */
function pct(xs, q) {
    const s = xs.slice().sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] : NaN;
}
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const row = (name, xs) =>
    `| ${name} | ${xs.length} | ${f1(pct(xs, 0.5))} | ${f1(pct(xs, 0.95))} | ${f1(pct(xs, 0.99))} | ${f1(Math.min(...xs))} | ${f1(Math.max(...xs))} |`;

async function run() {
    const dir = mkdtempSync('/tmp/lectern-voice-bench-');
    const wav = join(dir, 'voice.wav');
    execFileSync('bash', [join(REPO, 'tests', 'browser', 'make-voice-wav.sh'), wav], { stdio: 'inherit', env: { ...process.env, DENSE: '1' } });
    const markers = JSON.parse(readFileSync(wav.replace(/\.wav$/, '.json'), 'utf8'));
    const freqs = markers.markers.map((m) => m.freq);
    const loadBefore = loadavg();
    const srv = await startServer();
    const browser = await launchBrowser(fakeMicArgs(wav));
    try {
        const storage = { 'lectern.test': '1' };
        const pat = await newPerson(browser, 'Presenter', { storage });
        const ann = await newPerson(browser, 'Attendee', { storage });
        const voice = (p) => p.page.evaluate(() => /** @type {any} */ (window).lectern.voice());
        const { presenterUrl, attendeeUrl } = await createMeeting(pat.page, srv.url, 'Voice benchmark');
        await joinMeetingPage(pat, `${srv.url}${presenterUrl}`);
        await waitView(pat.page, (v) => v.presenting, 'the presenter to present');
        await pat.page.locator('#upload-input').setInputFiles({ name: 'talk.pdf', mimeType: 'application/pdf', buffer: makePdf(COLOURS) });
        await waitView(pat.page, (_v, st) => st?.document?.pages === 3, 'the shared document');
        await joinMeetingPage(ann, `${srv.url}/m/${/\/m\/(\d+)/.exec(attendeeUrl)?.[1]}`);
        await waitView(ann.page, (_v, st) => st?.document?.pages === 3, 'the attendee to have the document');
        await pat.page.locator('#mic-btn').click();
        await until(async () => (await voice(pat))?.capture.batches > 5, 'the presenter to send voice');
        await pat.page.evaluate((f) => /** @type {any} */ (window).lecternTest.voice.turnPagesOnMarkers(f), freqs);
        await until(async () => (await voice(ann))?.player.batches > 0, 'the attendee to receive voice');
        if (await ann.page.locator('#listen-btn').isVisible()) await ann.page.locator('#listen-btn').click();
        await ann.page.evaluate((f) => /** @type {any} */ (window).lecternTest.voice.watch(f), freqs);
        // warm-up: the jitter buffer settles on the first loop
        await until(async () => (await voice(ann)).heard.length >= freqs.length, 'a first loop of markers', 60000);
        const from = Date.now();
        const a0 = await voice(ann);
        const since = Math.max(...a0.heard.map((h) => h.at));
        process.stderr.write(`voice bench: measuring for ${SECONDS} s\n`);
        await new Promise((r) => setTimeout(r, SECONDS * 1000));
        // the last markers' page turns land a moment after them
        await new Promise((r) => setTimeout(r, 2000));
        const [p, a] = [await voice(pat), await voice(ann)];
        const loadAfter = loadavg();
        const sent = p.markersSent.filter((m) => m.capturedAt > since - 5000);
        const pairs = pairMarkers(sent, a.turns, a.heard).filter((x) => x.heardAt > since);
        const errors = [...pat.errors, ...ann.errors];
        return { markers, sent, pairs, p, a, a0, from, loadBefore, loadAfter, errors, server: srv.url };
    } finally {
        await browser.close().catch(() => {});
        await srv.stop();
        rmSync(dir, { recursive: true, force: true });
    }
}

function section(r) {
    const m2e = r.pairs.map((x) => x.mouthToEar);
    const skew = r.pairs.map((x) => x.skew);
    const abs = skew.map(Math.abs);
    const pl = r.a.player;
    const s0 = r.a0.player.scheduler;
    const s = pl.scheduler;
    const d = (k) => s[k] - s0[k];
    const frames = pl.frames - r.a0.player.frames;
    const chromium = (() => {
        try {
            return execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
        } catch {
            return 'Chromium';
        }
    })();
    const date = new Date(r.from).toISOString().replace('T', ' ').slice(0, 16);
    const la = (l) => l.map((x) => x.toFixed(2)).join(' ');
    const p95m2e = pct(m2e, 0.95);
    const p95abs = pct(abs, 0.95);
    const lines = [
        BEGIN,
        '## Voice: mouth-to-ear latency and page-turn/audio skew',
        '',
        'Aims: **mouth-to-ear < 300 ms** on loopback; **|page turn − marker heard| p95 < 40 ms**.',
        '',
        `- command: \`${args.command}\``,
        `- commit: \`${args.commit || 'unknown'}\` (release \`lectern\`); ${chromium}, headless`,
        `- date: ${date} UTC; ${SECONDS} s measured after a warm-up loop`,
        `- machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; load average ${la(r.loadBefore)} before, ${la(r.loadAfter)} after (shared with other work: figures include its interference)`,
        '- workload: one meeting on the real server (embedded XMPP, loopback, WebSocket); presenter and one attendee in one Chromium (two contexts). The presenter\'s fake microphone plays espeak-ng speech with a 150 ms tone marker after each phrase (`DENSE=1 tests/browser/make-voice-wav.sh`: six markers in an 8.1 s loop); the web client sends Opus, 20 ms frames, 3 per message (~17 messages/s). On every marker it detects in its own microphone, the presenter turns to the next page, stamped with the marker\'s presenter-clock time. The attendee plays the voice through its jitter buffer and taps its output for the markers (an AudioWorklet).',
        '- **mouth-to-ear** = when the attendee\'s output plays the marker\'s onset − when the presenter\'s microphone captured it, both as epoch ms on one machine. *Includes*: capture buffering (10 ms), encoding, batching (60 ms per message: a frame waits for the batch), the presenter\'s WebSocket → server → focus (validate, sequence, archive) → MUC → attendee\'s WebSocket, decoding, the adaptive jitter-buffer delay and Web Audio\'s render-ahead up to the output timestamp. *Excludes*: microphone and sound-card hardware latency (capture time is Chromium\'s timestamp of the fake device\'s buffer; play time is the AudioContext\'s output timestamp for a fake output device) and any network beyond loopback.',
        '- **skew** = when the attendee applies the page turn (the state event) − when its output plays the marker the turn was stamped with; positive = the page turned after the word. *Page turn run after its due time*: how late the attendee\'s main thread ran the turn (a timer on a busy page); it is part of the skew.',
        '',
        '| measure | markers | p50 ms | p95 ms | p99 ms | min ms | max ms |',
        '|---|---:|---:|---:|---:|---:|---:|',
        row('mouth-to-ear', m2e),
        row('skew (page turn − marker heard)', skew),
        row('\\|skew\\|', abs),
        row('page turn run after its due time', r.pairs.map((x) => x.late)),
        '',
        `Attendee's jitter buffer at the end: delay ${f1(pl.delay)} ms over the fastest path (target latency includes ${f1(pl.ahead)} ms of output render-ahead); arrival jitter over the last ${pl.jitter?.batches ?? 0} batches p50 ${f1(pl.jitter?.p50)} / p95 ${f1(pl.jitter?.p95)} / max ${f1(pl.jitter?.max)} ms. During the measurement: ${frames} frames received, ${d('played')} played, ${d('late')} too late for their time (dropped), ${d('gaps')} gaps concealed (${d('concealedMs')} ms of silence), ${d('reanchors')} timeline moves, ${d('skippedQuiet')} quiet frames skipped to shorten the delay. Markers detected at the presenter: ${r.sent.length}; paired with a turn and a heard marker: ${r.pairs.length}.${r.errors.length ? ` Page errors: ${r.errors.length}.` : ''}`,
        '',
        `- mouth-to-ear p95 ${f1(p95m2e)} ms: aim (< 300 ms) ${p95m2e < 300 ? 'met' : '**not met**'}${pct(m2e, 0.99) >= 300 && p95m2e < 300 ? ` (p99 ${f1(pct(m2e, 0.99))} ms is over it)` : ''}.`,
        `- |skew| p95 ${f1(p95abs)} ms: aim (< 40 ms) ${p95abs < 40 ? 'met' : '**not met**'}.`,
        END,
    ];
    return lines.join('\n');
}

function write(out, text) {
    const doc = existsSync(out) ? readFileSync(out, 'utf8') : '';
    const b = doc.indexOf(BEGIN);
    const e = doc.indexOf(END);
    const next = b >= 0 && e > b ? doc.slice(0, b) + text + doc.slice(e + END.length) : `${doc.replace(/\n*$/, '\n\n')}${text}\n`;
    writeFileSync(out, next);
}

const r = await run();
if (r.pairs.length < 5) {
    console.error(`voice bench: only ${r.pairs.length} markers paired; not writing ${args.out}`);
    process.exit(1);
}
const text = section(r);
write(args.out, text);
console.log(text);
