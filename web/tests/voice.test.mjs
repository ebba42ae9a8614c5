// Unit tests of Voice's UI-free parts with a fake clock: the jitter buffer's delay estimator,
// the frame scheduler (contiguous frames, loss concealment with fades, late frames dropped, the
// timeline never shifted by a loss), the tone-marker detector, the playout clock's audio rules,
// and the one-clock property: a page turn stamped `t` is applied exactly when the frame holding
// presenter time `t` is scheduled to play.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { DelayEstimator, FrameScheduler, quantile, timelineAt } from '../js/protocol/jitter.js';
import { ToneDetector } from '../js/protocol/tones.js';
import { PlayoutClock } from '../js/protocol/clock.js';
import { NS, eventNode, parseEvent, toXml } from '../js/protocol/codec.js';
import { DOMParser } from '@xmldom/xmldom';

/** A deterministic generator. */
function rng(seed = 7) {
    let a = seed;
    return () => {
        a = (a * 1103515245 + 12345) % 2147483648;
        return a / 2147483648;
    };
}

describe('delay estimator', () => {
    it('targets a high quantile of the latency plus a margin', () => {
        assert.equal(quantile([5, 1, 4, 2, 3], 0.5), 3);
        assert.equal(quantile([5, 1, 4, 2, 3], 0.95), 5);
        const est = new DelayEstimator({ margin: 30 });
        const r = rng();
        let target = 0;
        for (let i = 0; i < 200; i++) target = est.add(70 + r() * 10, i * 60);
        assert.ok(target >= 70 + 9 + 30 && target <= 70 + 10 + 30, `target ${target}`);
    });

    it('covers the latest second at once, however few batches came late', () => {
        const est = new DelayEstimator({ margin: 30, peak: 17 });
        let now = 0;
        for (let i = 0; i < 100; i++) est.add(60, (now += 60));
        assert.equal(est.current, 90);
        assert.equal(est.add(200, (now += 60)), 230, 'one late batch (a stall) raises the delay');
        for (let i = 0; i < 20; i++) est.add(60, (now += 60));
        assert.equal(est.wanted(), 90, 'a second later it no longer asks for it');
        for (let i = 0; i < 60; i++) est.add(60, (now += 60));
        assert.equal(est.current, 90, 'and after a calm spell the delay comes down');
    });

    it('goes up at once and comes down only after a calm spell', () => {
        const est = new DelayEstimator({ margin: 20, window: 20, peak: 1, hold: 3000 });
        let now = 0;
        for (let i = 0; i < 20; i++) est.add(50, (now += 60));
        assert.equal(est.current, 70);
        // the network gets slower: up with the first batch that shows it (window of 20, q95)
        for (let i = 0; i < 2; i++) est.add(120, (now += 60));
        assert.equal(est.current, 140);
        // faster again: the high samples leave the window, then the target waits out `hold`
        for (let i = 0; i < 20; i++) est.add(50, (now += 60));
        assert.equal(est.wanted(), 70);
        assert.equal(est.current, 140, 'not yet: the calm spell is shorter than hold');
        for (let i = 0; i < 60; i++) est.add(50, (now += 60));
        assert.equal(est.current, 70);
    });
});

/** Frames of 20 ms from presenter time `from`, every one due `latency` s after its own t. */
function stream(sched, { from = 0, count = 50, latency = 0.1, skip = new Set(), jitter = () => 0 } = {}) {
    const decisions = [];
    for (let i = 0; i < count; i++) {
        const t = from + i * 20;
        const now = t / 1000 + latency - 0.05; // every frame is decoded 50 ms before it is due
        const fade = sched.tick(now);
        if (fade) decisions.push({ t: null, fade });
        if (skip.has(t)) continue;
        decisions.push({ t, d: sched.plan({ t, dur: 20 }, t / 1000 + latency + jitter(), now) });
    }
    return decisions;
}

describe('audio payload', () => {
    const parse = (xml) => parseEvent(new DOMParser().parseFromString(xml, 'text/xml').documentElement);
    const ev = (attrs, text) => `<event xmlns='${NS}' seq='4' t='5120'><audio codec='opus' rate='48000' channels='1' ms='20'${attrs}>${text}</audio></event>`;

    it('reads frames and the speaker, and writes them back the same', () => {
        const e = parse(ev(" speaker='bob' source='mic'", '/Hx+/g== AQID'));
        assert.deepEqual(e.payload, {
            type: 'audio', codec: 'opus', rate: 48000, channels: 1, ms: 20, source: 'mic', speaker: 'bob',
            frames: [new Uint8Array([0xfc, 0x7c, 0x7e, 0xfe]), new Uint8Array([1, 2, 3])],
        });
        assert.deepEqual(parse(toXml(eventNode(e))), e);
        assert.equal(parse(ev('', 'AQID')).payload.speaker, undefined);
    });

    it('refuses what the Rust crate refuses', () => {
        const code = (attrs, text) => {
            try {
                parse(ev(attrs, text));
                return 'ok';
            } catch (e) {
                return `${e.code}:${e.attr}`;
            }
        };
        assert.equal(code('', 'AQI'), 'invalid:frames', 'no padding');
        assert.equal(code('', 'AQJ='), 'invalid:frames', 'non-canonical trailing bits');
        assert.equal(code('', ''), 'invalid:frames', 'no frame');
        assert.equal(code('', Array(11).fill('AQID').join(' ')), 'too-large:frames');
        assert.equal(code(" speaker=''", 'AQID'), 'invalid:speaker');
        assert.throws(() => parse(ev('', 'AQID').replace("rate='48000'", "rate='44100'")), (e) => e.code === 'invalid' && e.attr === 'rate');
    });
});

describe('where a presenter time is heard', () => {
    // frames of 20 ms: 0 and 20 on one timeline, 40 lost, 60 placed 0.3 s later (the delay grew)
    const placed = [
        { t: 0, dur: 20, start: 1.0 },
        { t: 20, dur: 20, start: 1.02 },
        { t: 60, dur: 20, start: 1.36 },
    ];
    it('inside a frame, and continued past the last one (not placed yet)', () => {
        assert.deepEqual(timelineAt(placed, 30), { at: 1.03, placed: true });
        const past = timelineAt(placed, 100);
        assert.ok(past && !past.placed && Math.abs(past.at - 1.4) < 1e-9);
        assert.equal(timelineAt(placed, -5), null);
    });
    it('in a lost frame, with the audio after the gap when the timeline moved later', () => {
        const lost = timelineAt(placed, 50);
        assert.ok(lost && lost.placed && Math.abs(lost.at - 1.35) < 1e-9, JSON.stringify(lost));
        const kept = timelineAt([placed[0], { t: 60, dur: 20, start: 1.06 }], 40);
        assert.ok(kept && Math.abs(kept.at - 1.04) < 1e-9, 'a plain loss keeps the timeline');
    });
});

describe('frame scheduler', () => {
    it('moves the timeline in quiet frames: skips them for a shorter delay, pauses for a longer one', () => {
        const sched = new FrameScheduler({ rate: 48000, tolerance: 0.01, defer: 0.12 });
        const place = (t, target, quiet = false) => sched.plan({ t, dur: 20 }, target, 0, quiet);
        let d = place(0, 1.0);
        // the delay drops by 45 ms while someone speaks: the timeline waits
        d = place(20, 0.975);
        assert.ok(d.play && !d.reanchor && Math.abs(d.entry.start - 1.02) < 1e-9);
        assert.equal(sched.stats.deferred, 1);
        // two quiet frames are skipped; the next frame takes the place of the first
        assert.deepEqual(place(40, 0.995, true), { play: false, reason: 'quiet' });
        assert.deepEqual(place(60, 1.015, true), { play: false, reason: 'quiet' });
        d = place(80, 1.035);
        assert.ok(d.play && Math.abs(d.entry.start - 1.04) < 1e-9, `starts where the skipped frame would have: ${d.play && d.entry.start}`);
        assert.ok(d.play && d.fadeIn && d.fadeOut, 'the cut is faded on both sides');
        // now 5 ms from the clock: inside the tolerance, no more skipping
        d = place(100, 1.055, true);
        assert.ok(d.play && !d.fadeIn && Math.abs(d.entry.start - 1.06) < 1e-9);
        // the delay grows by 60 ms: speech goes on in time, the next quiet frame starts after a pause
        d = place(120, 1.135);
        assert.ok(d.play && Math.abs(d.entry.start - 1.08) < 1e-9);
        d = place(140, 1.155, true);
        assert.ok(d.play && d.reanchor && Math.abs(d.entry.start - 1.155) < 1e-9);
        assert.equal(sched.stats.skippedQuiet, 2);
    });

    it('lays consecutive frames end to end, fading in only the first', () => {
        const sched = new FrameScheduler({ rate: 48000 });
        const r = rng();
        const out = stream(sched, { jitter: () => (r() - 0.5) * 0.006 }); // ±3 ms of clock noise
        const played = out.filter((o) => o.d?.play);
        assert.equal(played.length, 50);
        for (let i = 1; i < played.length; i++) {
            const gap = played[i].d.entry.start - played[i - 1].d.entry.end;
            assert.ok(Math.abs(gap) < 1e-9, `frame ${i} starts ${gap} s after the previous one ends`);
            assert.equal(played[i].d.fadeIn, false);
        }
        assert.equal(played[0].d.fadeIn, true);
        assert.equal(sched.stats.reanchors, 0);
        assert.equal(Math.round(played[0].d.entry.start * 48000), played[0].d.entry.start * 48000, 'whole samples');
    });

    it('conceals a lost batch with silence of its length: fade out, fade in, timeline kept', () => {
        const sched = new FrameScheduler({ rate: 48000, guard: 0.02 });
        const lost = new Set([200, 220, 240]);
        const out = stream(sched, { skip: lost });
        const played = out.filter((o) => o.d?.play).map((o) => o.d);
        const before = played.find((d) => d.entry.t === 180);
        const after = played.find((d) => d.entry.t === 260);
        assert.ok(before && after);
        // the tick saw nothing after frame 180 twenty ms before it ended and faded its tail
        const fades = out.filter((o) => o.fade).map((o) => o.fade);
        assert.equal(fades.length, 1);
        assert.equal(fades[0].entry, before.entry);
        assert.ok(fades[0].at >= before.entry.end - 0.02 && fades[0].at <= before.entry.end - sched.fade + 1e-9);
        assert.equal(after.fadeIn, true);
        // no drift: the frame after the gap starts exactly 80 ms after the one before it
        assert.ok(Math.abs(after.entry.start - before.entry.start - 0.08) < 1e-9);
        assert.ok(Math.abs(after.entry.start - (0.26 + 0.1)) < 1e-9);
        assert.equal(sched.stats.gaps, 1);
        assert.equal(sched.stats.concealedMs, 60);
        assert.equal(sched.stats.reanchors, 0);
    });

    it('drops frames whose time has passed instead of playing them late', () => {
        const sched = new FrameScheduler({ rate: 48000 });
        assert.equal(sched.plan({ t: 0, dur: 20 }, 1.0, 0.9).play, true);
        const late = sched.plan({ t: 20, dur: 20 }, 1.02, 1.019);
        assert.deepEqual(late, { play: false, reason: 'late' });
        const next = sched.plan({ t: 40, dur: 20 }, 1.04, 1.0);
        assert.equal(next.play && next.fadeIn, true);
        assert.equal(sched.plan({ t: 40, dur: 20 }, 1.04, 1.0).play, false, 'a repeated frame');
    });

    it('follows the clock at once when it moves further than it may wait', () => {
        const sched = new FrameScheduler({ rate: 48000, tolerance: 0.01, defer: 0 });
        const first = sched.plan({ t: 0, dur: 20 }, 1.0, 0.9);
        // the delay grows by 30 ms: a gap, faded on both sides
        const later = sched.plan({ t: 20, dur: 20 }, 1.05, 0.9);
        assert.ok(first.play && later.play);
        assert.equal(later.reanchor, true);
        assert.equal(later.fadeOut?.entry, first.entry);
        assert.ok(Math.abs(later.entry.start - 1.05) < 1e-9);
        // the delay shrinks by 30 ms: frames that would overlap are dropped until the timeline is free
        assert.deepEqual(sched.plan({ t: 40, dur: 20 }, 1.04, 0.9), { play: false, reason: 'overlap' });
        assert.deepEqual(sched.plan({ t: 60, dur: 20 }, 1.06, 0.9), { play: false, reason: 'overlap' });
        const resumed = sched.plan({ t: 80, dur: 20 }, 1.08, 0.9);
        assert.ok(resumed.play && resumed.fadeIn && resumed.entry.start >= later.entry.end - 1e-9);
    });
});

/** A sine of `freq` Hz, amplitude `a`, `n` samples at `rate`. */
function sine(freq, a, n, rate) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = a * Math.sin((2 * Math.PI * freq * i) / rate);
    return out;
}

describe('tone markers', () => {
    for (const rate of [44100, 48000]) {
        it(`finds each marker's onset within a hop at ${rate} Hz, fed in odd-sized pieces`, () => {
            const r = rng(3);
            const len = rate * 2;
            const signal = new Float32Array(len);
            for (let i = 0; i < len; i++) signal[i] = (r() - 0.5) * 0.02; // noise floor
            const marks = [
                [1800, Math.round(rate * 0.3)],
                [3000, Math.round(rate * 1.1)],
            ];
            for (const [f, at] of marks) signal.set(sine(f, 0.5, Math.round(rate * 0.15), rate).map((v, i) => v + signal[at + i]), at);
            const det = new ToneDetector(rate, [1800, 2400, 3000, 3600]);
            const found = [];
            for (let i = 0; i < len; i += 441) found.push(...det.feed(signal.subarray(i, Math.min(len, i + 441))));
            assert.deepEqual(found.map((o) => o.freq), [1800, 3000]);
            found.forEach((o, k) => {
                const late = o.index - marks[k][1];
                assert.ok(Math.abs(late) <= det.hop + rate * 0.002, `onset ${k} found ${late} samples after it starts`);
            });
        });
    }

    it('does not mistake broadband sound for a marker', () => {
        const r = rng(11);
        const noise = new Float32Array(48000).map(() => (r() - 0.5) * 0.8);
        assert.deepEqual(new ToneDetector(48000, [1800, 2400, 3000, 3600]).feed(noise), []);
    });
});

describe('playout clock with voice', () => {
    it('never holds audio events back, and keeps their place in seq order', () => {
        let now = 1000;
        const seen = [];
        const clock = new PlayoutClock((e) => seen.push(e.seq), { now: () => now, delay: 100, instant: (e) => e.audio === true });
        clock.push({ seq: 1, t: 0, audio: true });
        clock.push({ seq: 2, t: 10 });
        clock.push({ seq: 3, t: 5, audio: true });
        assert.deepEqual(seen, [1]);
        now = 1110;
        clock.pump();
        assert.deepEqual(seen, [1, 2, 3]);
        clock.cancel();
    });

    it('stamps from the media clock while the microphone runs, never backwards', () => {
        let now = 0;
        const clock = new PlayoutClock(() => {}, { now: () => now });
        clock.observe(5000);
        now = 100;
        assert.equal(clock.presenterNow(), 5100);
        let media = 5090;
        clock.setMediaClock(() => media);
        assert.equal(clock.presenterNow(), 5100, 'a media clock a little behind does not step back');
        media = 5400;
        assert.equal(clock.presenterNow(), 5400);
        clock.setMediaClock(null);
        now = 200;
        assert.equal(clock.presenterNow(), 5500, 'continues from the media clock');
    });

    it('reports a new fastest path, so the voice player can keep offset + delay fixed', () => {
        let now = 1000;
        let calls = 0;
        const clock = new PlayoutClock(() => {}, { now: () => now });
        clock.onOffset = () => (calls += 1);
        clock.observe(900); // offset 100
        clock.observe(950); // 50
        now = 1100;
        clock.observe(900); // 200: not faster
        assert.equal(calls, 2);
        assert.equal(clock.offset, 50);
    });

    it('applies a page turn stamped t when the frame holding t plays, through jitter and losses', async (t) => {
        t.mock.timers.enable({ apis: ['setTimeout'] });
        let now = 0;
        const applied = [];
        const clock = new PlayoutClock((e) => applied.push({ t: e.t, at: now }), { now: () => now, instant: (e) => e.audio });
        const est = new DelayEstimator();
        const sched = new FrameScheduler({ rate: 48000 });
        /** @type {Map<number, number>} frame t → local ms its first sample plays */
        const plays = new Map();
        // as the voice player does: an event is due when the audio of its t plays, and one past
        // the audio placed so far waits for it
        const placed = [];
        clock.locate = (ft) => {
            const w = timelineAt(placed, ft);
            return w === null ? null : w.placed ? w.at * 1000 : Math.max(w.at * 1000, now + 10);
        };
        const r = rng(5);
        const events = [];
        // 10 s of voice: a batch of 3 frames leaves 62 ms after its first sample and takes 5..45
        // ms to arrive; a page turn is stamped on the marker at t = 3010, sent at 3025
        for (let b = 0; b < 166; b++) {
            const bt = b * 60;
            events.push({ at: bt + 62 + 5 + r() * 40, ev: { t: bt, audio: true, seq: 0, lost: b % 7 === 3 } });
        }
        events.push({ at: 3025 + 5, ev: { t: 3010, audio: false, seq: 0, lost: false } });
        events.sort((a, b) => a.at - b.at);
        let seq = 0;
        for (const { at, ev } of events) {
            t.mock.timers.tick(at - now);
            now = at;
            ev.seq = ++seq;
            if (ev.audio) {
                clock.observe(ev.t);
                const latency = est.add(now - ev.t, now);
                clock.setDelay(latency - clock.offset);
                if (!ev.lost) {
                    // every 7th batch is lost (not the marker's: t = 3000 is batch 50); the others' frames are placed (output clock = local ms / 1000)
                    for (let i = 0; i < 3; i++) {
                        const ft = ev.t + i * 20;
                        sched.tick(now / 1000);
                        // every fourth frame is quiet, where the timeline may move
                        const d = sched.plan({ t: ft, dur: 20 }, clock.plannedAt(ft) / 1000, now / 1000, ft % 80 === 0);
                        if (d.play) {
                            plays.set(ft, d.entry.start * 1000);
                            placed.push({ t: ft, dur: 20, start: d.entry.start });
                        }
                        clock.pump();
                    }
                }
            }
            clock.push(ev);
        }
        t.mock.timers.tick(1000);
        now += 1000;
        const turn = applied.find((a) => a.t === 3010 && !events.find((e) => e.ev.t === 3010 && e.ev.audio));
        assert.ok(turn, 'the page turn was applied');
        const frame = 3000; // the frame holding t = 3010 (not quiet)
        assert.ok(plays.has(frame), 'the frame with the marker was played');
        const heard = /** @type {number} */ (plays.get(frame)) + 10;
        assert.ok(Math.abs(turn.at - heard) <= 10, `page turn at ${turn.at} ms, marker heard at ${heard} ms`);
        assert.ok(sched.stats.gaps > 5, 'losses were concealed');
        assert.ok(sched.stats.late === 0, `no frame came too late (${sched.stats.late})`);
    });
});
