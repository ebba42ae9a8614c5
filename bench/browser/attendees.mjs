// Browser attendees for lectern-meeting-bench: Debian's Chromium, driven by playwright-core
// through the browser suite's harness (tests/browser, whose `npm ci` installs it), opens the
// real web client at /m/NUMBER as COUNT attendees of the benchmark's meeting and
// records, in each page, when every sequenced event arrived and when the client had applied it.
//
//   node bench/browser/attendees.mjs --url http://127.0.0.1:PORT --number 123456789 --count 2
//
// Talks to the benchmark over stdio, one line each way:
//   stdout `ready {"names":[...]}`  every attendee is online (snapshot loaded)
//   stdin  `collect EVENTS WAIT_MS`  → waits (at most WAIT_MS) until every page has received and
//                                      applied events 1..EVENTS-1, then stdout `result {...}`
//                                      (see `collect()`) and exits
//   stdin closed                     → closes the browser and exits (the benchmark went away)
// Everything else goes to stderr. Times are epoch ms (performance.timeOrigin + performance.now()),
// comparable with the benchmark's own stamps because both run on this machine.
//
// Nothing in web/ is changed: the recorder is an init script that wraps the page's WebSocket
// (frame receipt) and EventTarget.prototype.dispatchEvent (the session's `event` and `state`
// events; the UI renders in a microtask queued by `state`, so a microtask queued after it runs
// once the canvases are redrawn).
import { createInterface } from 'node:readline';

// the browser suite's harness: Debian's Chromium with this machine's flags, one context per person
import { joinMeetingPage, launchBrowser, newPerson } from '../../tests/browser/harness.mjs';

const args = Object.fromEntries(
    process.argv
        .slice(2)
        .reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const url = args.url;
const number = args.number;
const count = Number(args.count ?? 2);
if (!url || !number) {
    console.error('usage: attendees.mjs --url http://HOST:PORT --number MEETING [--count 2]  (Chromium: $CHROMIUM)');
    process.exit(2);
}

/** Runs in every page before its scripts. */
function recorder() {
    const now = () => performance.timeOrigin + performance.now();
    /** t → epoch ms; `seq` t → seq; `apply` t → epoch ms after the redraw */
    const rec = { recv: {}, seq: {}, apply: {}, frames: 0, dupes: 0, dupeFrames: [] };
    Object.defineProperty(window, '__lecternBench', { value: rec });
    const eventTag = /<event\b[^>]*>/;
    const attr = (tag, name) => {
        const m = new RegExp(`\\s${name}=(['"])(\\d+)\\1`).exec(tag);
        return m ? m[2] : null;
    };
    /** @param {MessageEvent} e */
    const onFrame = (e) => {
        const at = now();
        rec.frames += 1;
        const d = e.data;
        if (typeof d !== 'string' || !d.startsWith('<message') || !/type=(['"])groupchat\1/.test(d)) return;
        // the room's history, replayed on join, is not a live delivery
        if (d.includes('urn:xmpp:delay')) return;
        const m = eventTag.exec(d);
        if (!m) return;
        const seq = attr(m[0], 'seq');
        const t = attr(m[0], 't');
        if (seq === null || t === null) return;
        if (t in rec.recv) {
            rec.dupes += 1;
            if (rec.dupeFrames.length < 5) rec.dupeFrames.push(d.slice(0, 400));
            return;
        }
        rec.recv[t] = at;
        rec.seq[t] = Number(seq);
    };
    const Native = window.WebSocket;
    class RecordingWebSocket extends Native {
        constructor(...a) {
            super(...a);
            this.addEventListener('message', onFrame);
        }
    }
    window.WebSocket = RecordingWebSocket;

    const dispatch = EventTarget.prototype.dispatchEvent;
    /** presenter times of events applied since the last `state` event */
    let applied = [];
    EventTarget.prototype.dispatchEvent = function (ev) {
        const out = dispatch.call(this, ev);
        if (ev instanceof CustomEvent && ev.detail) {
            const e = ev.detail.event;
            // audio takes its seq but emits no `state` (nothing to redraw)
            const audio = e?.payload?.type === 'audio';
            if (ev.type === 'event' && e && !audio && Number.isInteger(e.seq) && Number.isFinite(e.t)) applied.push(String(e.t));
            if (ev.type === 'state' && applied.length > 0) {
                const ts = applied;
                applied = [];
                queueMicrotask(() => {
                    const at = now();
                    for (const t of ts) if (!(t in rec.apply)) rec.apply[t] = at;
                });
            }
        }
        return out;
    };
}

const browser = await launchBrowser();
let closing = false;
async function shutdown(code) {
    if (closing) return;
    closing = true;
    await browser.close().catch(() => {});
    process.exit(code);
}

const people = [];
try {
    for (let i = 1; i <= count; i++) {
        const person = await newPerson(browser, `browser-${i}`);
        await person.page.addInitScript(recorder);
        people.push(person);
    }
    for (const p of people) await joinMeetingPage(p, `${url}/m/${number}`);
} catch (e) {
    console.error(`browser attendees: ${e?.stack ?? e}`);
    await shutdown(1);
}
process.stdout.write(`ready ${JSON.stringify({ names: people.map((p) => p.name), chromium: browser.version() })}\n`);

/** Waits until every page has received and applied the events with `t` in 1..events-1. */
async function settle(events, waitMs) {
    const until = Date.now() + waitMs;
    for (const p of people) {
        const left = Math.max(1, until - Date.now());
        await p.page
            .waitForFunction(
                (n) => {
                    const r = window.__lecternBench;
                    for (let t = 1; t < n; t++) if (!(t in r.recv) || !(t in r.apply)) return false;
                    return true;
                },
                events,
                { timeout: left, polling: 100 },
            )
            .catch(() => console.error(`${p.name}: not every event arrived within ${waitMs} ms`));
    }
}

async function collect() {
    const attendees = [];
    for (const p of people) {
        const got = await p.page.evaluate(() => {
            const l = /** @type {any} */ (window).lectern;
            const v = l?.view();
            return {
                ...window.__lecternBench,
                status: v?.status ?? null,
                lastSeq: v?.lastSeq ?? 0,
                stats: v?.stats ?? null,
                // the page's epoch clock against the system clock (Date.now, ms resolution)
                clockMinusDate: performance.timeOrigin + performance.now() - Date.now(),
            };
        });
        if (got.dupeFrames?.length) console.error(`${p.name}: events seen twice, e.g.:\n${got.dupeFrames.join('\n')}`);
        attendees.push({ name: p.name, errors: p.errors.slice(0, 20), ...got });
    }
    return { attendees };
}

createInterface({ input: process.stdin })
    .on('line', async (line) => {
        const [word, events, waitMs] = line.trim().split(/\s+/);
        if (word !== 'collect') return;
        try {
            if (Number(events) > 1) await settle(Number(events), Number(waitMs ?? 10000));
            process.stdout.write(`result ${JSON.stringify(await collect())}\n`);
            await shutdown(0);
        } catch (e) {
            console.error(`browser attendees: collect: ${e?.stack ?? e}`);
            await shutdown(1);
        }
    })
    .on('close', () => shutdown(0));
