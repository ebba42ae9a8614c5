// The attendee's half of Voice: audio batches from the session → WebCodecs AudioDecoder → the
// jitter buffer (jitter.js) → Web Audio, on the one playout clock.
//
// The playout clock (clock.js) says when presenter time `t` is due locally (performance.now()
// ms); the AudioContext's output timestamp maps that onto the output clock, so a frame stamped
// `t` is heard exactly when a page turn stamped `t` is applied. While audio flows the clock's
// delay is the jitter buffer's (`latency - offset`: the estimator's target for `arrival - t`,
// plus how far Web Audio renders ahead of the speaker, whatever the clock's fastest-path offset
// is); with no audio for a second it falls back to 0 and page turns apply on arrival again.
//
// The browser may refuse sound until the user interacts (autoplay rule): the player then says
// `blocked` and plays nothing (and delays nothing) until `listen()` runs from a click.
//
// Several speakers (the presenter, attendees given the floor, a file the server plays) each get
// a stream (voice-stream.js: decoder, delay estimate, timeline) and mix in one output. The
// presenter's stream leads the clock while it sounds; otherwise whoever spoke last does.
//
// Events: `blocked`, `state` (listening or not). `tap(freqs)` adds a tone-marker detector on the
// output (an AudioWorklet), recording when each marker is heard: the voice tests' measurement.

import { quantile, timelineAt } from './jitter.js';
import { VoiceStream } from './voice-stream.js';

/** ms without audio after which the stream counts as stopped (delay back to 0). */
const SILENCE_MS = 1000;
/** Frames due sooner than this (ms) are not worth decoding. */
const LATE_MS = 5;
const TICK_MS = 10;
/** ms without audio after which a speaker's stream is closed. */
const FORGET_MS = 30000;

/** Why this browser cannot play voice, or null when it can. */
export function playbackUnsupported() {
    const g = /** @type {any} */ (globalThis);
    if (typeof g.AudioContext !== 'function') return 'This browser cannot play sound (no Web Audio).';
    if (typeof g.AudioDecoder !== 'function' || typeof g.EncodedAudioChunk !== 'function') {
        return "This browser cannot decode the presenter's voice (it lacks WebCodecs); a current Chrome, Edge, Firefox or Safari can.";
    }
    return null;
}

/** A small deterministic generator for the loss test hook. @param {number} seed */
function mulberry32(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

export class VoicePlayer extends EventTarget {
    /** @param {{ clock: import('./clock.js').PlayoutClock<any> }} opts */
    constructor(opts) {
        super();
        this.clock = opts.clock;
        /** false while this client presents: nobody hears their own voice back */
        this.enabled = true;
        /** @type {string} why this browser cannot play the voice ('' while it can) */
        this.broken = playbackUnsupported() ?? '';
        /** @type {string | null} the presenter's nick: their voice leads the clock */
        this.presenter = null;
        /** @type {AudioContext | null} */
        this.ctx = null;
        /** @type {GainNode | null} */
        this.master = null;
        this.volume = 1;
        /** @type {Map<string, VoiceStream>} by speaker ('' for audio without one) */
        this.streams = new Map();
        /** @type {VoiceStream | null} the stream that sets the clock's delay and says when `t` is heard */
        this.lead = null;
        /** ms the output renders ahead of what the speaker plays (a frame must be scheduled before) */
        this.ahead = 0;
        /** whether audio is flowing and heard (the clock's delay is ours) */
        this.active = false;
        /** @type {ReturnType<typeof setInterval> | null} */
        this.timer = null;
        this.stats = { batches: 0, frames: 0, decoded: 0, late: 0, unheard: 0, dropped: 0, errors: 0 };
        /** test hook: drop this share of incoming batches (as if they never came in time) */
        this.dropShare = 0;
        this.dropRandom = mulberry32(1);
        /** @type {number[]} presenter times of dropped batches */
        this.droppedAt = [];
        /** @type {{ freq: number, at: number }[]} tone markers heard (epoch ms) */
        this.heard = [];
        /** @type {AudioWorkletNode | null} */
        this.tapNode = null;
        this.clock.onOffset = () => {
            if (this.active) this.applyDelay();
        };
        this.clock.locate = (t) => this.locate(t);
    }

    // ---- control ----------------------------------------------------------------------------

    /** Stops playing and hands the clock back (this client presents, or leaves). */
    setEnabled(on) {
        this.enabled = on;
        if (!on) this.setActive(false);
    }

    /** Resumes the output from a user gesture (the autoplay rule). */
    async listen() {
        this.ensureContext();
        await this.ctx?.resume();
        this.dispatchEvent(new CustomEvent('state'));
    }

    get listening() {
        return this.ctx?.state === 'running';
    }

    /** @param {number} v 0..1 */
    setVolume(v) {
        this.volume = Math.min(1, Math.max(0, v));
        if (this.master && this.ctx) this.master.gain.setTargetAtTime(this.volume, this.ctx.currentTime, 0.01);
    }

    /** Test hook: drop `share` (0..1) of incoming batches from now on. */
    dropIncoming(share, seed = 1) {
        this.dropShare = share;
        this.dropRandom = mulberry32(seed);
    }

    /** Stops playing for good, saying why (`broken`, event `state`). @param {string} why */
    fail(why) {
        this.broken = why;
        this.setActive(false);
        this.dispatchEvent(new CustomEvent('state'));
    }

    ensureContext() {
        if (this.ctx) return this.ctx;
        const ctx = new AudioContext({ sampleRate: 48000, latencyHint: 'interactive' });
        this.ctx = ctx;
        this.master = ctx.createGain();
        this.master.gain.value = this.volume;
        this.master.connect(ctx.destination);
        ctx.addEventListener('statechange', () => {
            if (ctx.state !== 'running') this.setActive(false);
            this.dispatchEvent(new CustomEvent('state'));
        });
        if (ctx.state !== 'running') this.dispatchEvent(new CustomEvent('blocked'));
        return ctx;
    }

    /** @param {string} speaker */
    streamFor(speaker) {
        let stream = this.streams.get(speaker);
        if (!stream) {
            const ctx = /** @type {AudioContext} */ (this.ctx);
            stream = new VoiceStream(speaker, {
                ctx,
                master: /** @type {GainNode} */ (this.master),
                dueAt: (st, t) => this.dueAt(st, t),
                toContext: (ms) => this.toContext(ms),
                placed: (st) => {
                    // events due with the leading voice now know exactly when it plays
                    if (st === this.lead) this.clock.pump();
                },
                fail: (why) => this.fail(why),
                stats: this.stats,
            });
            this.streams.set(speaker, stream);
        }
        return stream;
    }

    // ---- the session's audio sink ----------------------------------------------------------

    /**
     * An audio event in seq order: live (`arrival` set by the session) or fetched by a catch-up.
     * @param {{ seq: number, t: number, arrival?: number, payload?: any }} ev
     * @param {{ recovered: boolean }} how
     */
    accept(ev, how) {
        if (!this.enabled || this.broken) return;
        const p = ev.payload;
        if (p?.codec !== 'opus') return;
        this.stats.batches += 1;
        if (this.dropShare > 0 && this.dropRandom() < this.dropShare) {
            this.stats.dropped += 1;
            this.droppedAt.push(ev.t);
            if (this.droppedAt.length > 2000) this.droppedAt.shift();
            return;
        }
        const now = performance.now();
        this.clock.observe(ev.t);
        const ctx = this.ensureContext();
        const stream = this.streamFor(p.speaker ?? '');
        if (!how.recovered && ev.arrival !== undefined) stream.estimator.add(ev.arrival - ev.t, now);
        if (ctx.state !== 'running') {
            this.stats.unheard += 1;
            return;
        }
        this.measureAhead();
        stream.latency = this.target(stream, now);
        stream.lastAudioAt = now;
        this.lead = this.chooseLead(now);
        if (this.active) this.applyDelay(); // before planning: a late batch moves the clock first
        else this.setActive(true);
        this.stats.frames += p.frames.length;
        this.stats.late += stream.decode(ev, now, (t) => this.dueAt(stream, t) - now < LATE_MS);
    }

    /**
     * The presenter's stream while it sounds, else the one heard last.
     * @param {number} now @returns {VoiceStream | null}
     */
    chooseLead(now) {
        const presenter = this.presenter === null ? undefined : this.streams.get(this.presenter);
        if (presenter && now - presenter.lastAudioAt <= SILENCE_MS) return presenter;
        let lead = null;
        for (const s of this.streams.values()) if (!lead || s.lastAudioAt > lead.lastAudioAt) lead = s;
        return lead;
    }

    /**
     * When a frame of `stream` at presenter time `t` is due (performance.now() ms): on the
     * clock for the leading stream; a stream that needs longer (a farther speaker) plays that
     * much later. @param {VoiceStream} stream @param {number} t
     */
    dueAt(stream, t) {
        const planned = this.clock.plannedAt(t);
        const lead = this.lead;
        if (!lead || stream === lead) return planned;
        return planned + Math.max(0, (stream.latency ?? 0) - (lead.latency ?? 0));
    }

    // ---- the clock --------------------------------------------------------------------------

    /** @param {boolean} on */
    setActive(on) {
        if (on === this.active) return;
        this.active = on;
        if (on) {
            this.applyDelay();
            if (!this.timer) this.timer = setInterval(() => this.tick(), TICK_MS);
        } else {
            this.clock.setDelay(0);
        }
        this.dispatchEvent(new CustomEvent('state'));
    }

    /** A stream's estimator target plus the output's render-ahead. @param {VoiceStream} stream @param {number} now */
    target(stream, now) {
        const est = stream.estimator.update(now);
        return est === null ? null : est + this.ahead;
    }

    /** Tracks how far the output renders ahead of the speaker (slowly forgetting a peak). */
    measureAhead() {
        const ctx = /** @type {AudioContext} */ (this.ctx);
        const a = (ctx.currentTime - this.toContext(performance.now())) * 1000;
        if (Number.isFinite(a)) this.ahead = Math.max(a, this.ahead - 0.1);
    }

    /** The clock's delay: the leading stream's latency beyond the clock's fastest path. */
    applyDelay() {
        const latency = this.lead?.latency;
        if (latency === null || latency === undefined) return;
        const want = Math.max(0, latency - (this.clock.offset ?? 0));
        if (Math.abs(want - this.clock.delay) > 0.25) this.clock.setDelay(want);
    }

    tick() {
        const ctx = this.ctx;
        if (!ctx) return;
        const now = performance.now();
        let busy = false;
        for (const [speaker, s] of this.streams) {
            s.tick(ctx.currentTime);
            busy ||= s.scheduler.busy(ctx.currentTime);
            if (now - s.lastAudioAt > FORGET_MS && s !== this.lead) {
                s.close();
                this.streams.delete(speaker);
            }
        }
        if (this.active) {
            this.lead = this.chooseLead(now);
            const lead = this.lead;
            if (!lead || now - lead.lastAudioAt > SILENCE_MS) this.setActive(false);
            else {
                for (const s of this.streams.values()) if (s.latency !== null) s.latency = this.target(s, now);
                this.applyDelay();
            }
        }
        if (!this.active && !busy && this.timer) {
            clearInterval(this.timer);
            this.timer = null;
        }
    }

    /**
     * When presenter time `t` is heard (performance.now() ms), from the leading voice's audio
     * already placed: the latest frame at or before `t`, its timeline continued (a lost frame
     * keeps its place). This is the one playout clock while voice plays: a page turn stamped `t`
     * lands on the sample stamped `t`, even right after the delay changed. A `t` past the audio
     * placed so far waits for it (the clock asks again as frames are placed), until the voice
     * stops (1 s without audio). Null when no audio says (no voice, or `t` is older).
     * @param {number} t
     */
    locate(t) {
        if (!this.active || !this.ctx || !this.lead) return null;
        const where = timelineAt(this.lead.placed, t);
        if (!where) return null;
        const at = this.fromContext(where.at);
        return where.placed ? at : Math.max(at, performance.now() + TICK_MS);
    }
    /** performance.now() ms → the output clock (s), through the output timestamp. @param {number} ms */
    toContext(ms) {
        const ctx = /** @type {AudioContext} */ (this.ctx);
        const ts = ctx.getOutputTimestamp();
        if (ts.performanceTime && ts.contextTime !== undefined) return ts.contextTime + (ms - ts.performanceTime) / 1000;
        const latency = ctx.outputLatency || ctx.baseLatency || 0;
        return ctx.currentTime + (ms - performance.now()) / 1000 - latency;
    }

    /** The output clock (s) → performance.now() ms: when that sample leaves the device. @param {number} s */
    fromContext(s) {
        const ctx = /** @type {AudioContext} */ (this.ctx);
        const ts = ctx.getOutputTimestamp();
        if (ts.performanceTime && ts.contextTime !== undefined) return ts.performanceTime + (s - ts.contextTime) * 1000;
        const latency = ctx.outputLatency || ctx.baseLatency || 0;
        return performance.now() + (s - ctx.currentTime + latency) * 1000;
    }

    // ---- test tap ---------------------------------------------------------------------------

    /**
     * Listens to the output for tone markers (`freqs`, Hz) and records when each is heard
     * (`heard`: epoch ms, the output timestamp's account of when it leaves the device).
     * @param {number[]} freqs
     */
    async tap(freqs) {
        const ctx = this.ensureContext();
        if (!this.tapNode) {
            await ctx.audioWorklet.addModule(new URL('./voice-tap.worklet.js', import.meta.url));
            this.tapNode = new AudioWorkletNode(ctx, 'lectern-tap', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
            this.tapNode.port.onmessage = (e) => {
                const { freq, frame } = e.data;
                const at = performance.timeOrigin + this.fromContext(frame / ctx.sampleRate);
                this.heard.push({ freq, at });
                if (this.heard.length > 5000) this.heard.shift();
            };
            /** @type {GainNode} */ (this.master).connect(this.tapNode);
            this.tapNode.connect(ctx.destination); // silent; keeps the node pulled
        }
        this.tapNode.port.postMessage({ freqs });
    }

    /** What the player is doing, for the UI and the test hooks. */
    view() {
        return {
            listening: this.listening,
            broken: this.broken,
            contextState: this.ctx?.state ?? 'none',
            active: this.active,
            speakers: Array.from(this.streams.keys()),
            lead: this.lead?.speaker ?? null,
            latency: this.lead?.latency ?? null,
            ahead: this.ahead,
            jitter: this.jitter(),
            delay: this.clock.delay,
            offset: this.clock.offset,
            volume: this.volume,
            ...this.stats,
            scheduler: this.schedulerStats(),
            outputLatency: this.ctx ? (this.ctx.outputLatency ?? 0) * 1000 : null,
        };
    }

    /** The jitter buffers' counters, summed over the speakers. */
    schedulerStats() {
        /** @type {Record<string, number>} */
        const sum = {};
        for (const s of this.streams.values()) for (const [k, v] of Object.entries(s.scheduler.stats)) sum[k] = (sum[k] ?? 0) + v;
        return sum;
    }

    /** The leading voice's recent latency (`arrival - t`) above its fastest, ms: the jitter its delay covers. */
    jitter() {
        const x = this.lead?.estimator.samples ?? [];
        if (!x.length) return null;
        const min = Math.min(...x);
        return { batches: x.length, p50: quantile(x, 0.5) - min, p95: quantile(x, 0.95) - min, max: Math.max(...x) - min };
    }

    close() {
        this.setActive(false);
        if (this.timer) clearInterval(this.timer);
        this.timer = null;
        for (const s of this.streams.values()) s.close();
        this.streams.clear();
        this.lead = null;
        this.ctx?.close().catch(() => {});
        this.ctx = null;
    }
}
