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
// Events: `blocked`, `state` (listening or not). `tap(freqs)` adds a tone-marker detector on the
// output (an AudioWorklet), recording when each marker is heard: the voice tests' measurement.

import { DelayEstimator, FrameScheduler, quantile } from './jitter.js';

/** ms without audio after which the stream counts as stopped (delay back to 0). */
const SILENCE_MS = 1000;
/** Frames due sooner than this (ms) are not worth decoding. */
const LATE_MS = 5;
const FADE_S = 0.004;
const TICK_MS = 10;
/** A frame below this RMS (about -50 dBFS) is quiet: the timeline may move there unheard. */
const QUIET_RMS = 0.003;

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
        /** @type {AudioContext | null} */
        this.ctx = null;
        /** @type {GainNode | null} */
        this.master = null;
        this.volume = 1;
        /** @type {any} */
        this.decoder = null;
        this.decoderKey = '';
        /** @type {{ t: number, dur: number }[]} frames in the decoder, in order (Opus gives one
         * output per packet; its output timestamps are its own count, not the input's) */
        this.inflight = [];
        /** @type {{ t: number, dur: number, start: number }[]} recently placed frames: where presenter time is heard */
        this.placed = [];
        this.estimator = new DelayEstimator();
        this.scheduler = new FrameScheduler();
        /** @type {number | null} the target latency (ms from presenter time to playout) */
        this.latency = null;
        /** ms the output renders ahead of what the speaker plays (a frame must be scheduled before) */
        this.ahead = 0;
        /** whether audio is flowing and heard (the clock's delay is ours) */
        this.active = false;
        this.lastAudioAt = -Infinity;
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
        this.scheduler = new FrameScheduler({ rate: ctx.sampleRate, fade: FADE_S });
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
        if (!how.recovered && ev.arrival !== undefined) this.estimator.add(ev.arrival - ev.t, now);
        if (ctx.state !== 'running') {
            this.stats.unheard += 1;
            return;
        }
        this.measureAhead();
        this.latency = this.target(now);
        this.lastAudioAt = now;
        this.setActive(true);
        const decoder = this.decoderFor(p.rate, p.channels);
        p.frames.forEach((/** @type {Uint8Array} */ data, /** @type {number} */ i) => {
            const t = ev.t + i * p.ms;
            this.stats.frames += 1;
            if (this.clock.plannedAt(t) - now < LATE_MS) {
                this.stats.late += 1; // its time has passed: skipped, never played late
                return;
            }
            this.inflight.push({ t, dur: p.ms });
            decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: t * 1000, duration: p.ms * 1000, data }));
        });
    }

    /** @param {number} rate @param {number} channels */
    decoderFor(rate, channels) {
        const key = `${rate}/${channels}`;
        if (this.decoder && this.decoder.state === 'configured' && this.decoderKey === key) return this.decoder;
        if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
        this.inflight = [];
        const decoder = new AudioDecoder({
            output: (data) => this.onDecoded(data),
            error: (e) => {
                // a bad packet closes the decoder (the next batch opens a new one); a codec this
                // browser lacks stops the voice for good
                this.stats.errors += 1;
                if (e?.name === 'NotSupportedError') this.fail("This browser cannot decode the presenter's voice (Opus).");
                else console.warn('lectern voice decoder:', e);
            },
        });
        decoder.configure({ codec: 'opus', sampleRate: rate, numberOfChannels: channels });
        this.decoder = decoder;
        this.decoderKey = key;
        return decoder;
    }

    /** @param {AudioData} data */
    onDecoded(data) {
        const info = this.inflight.shift();
        const ctx = this.ctx;
        if (!info || !ctx || !this.master || !this.active) {
            data.close();
            return;
        }
        const buffer = ctx.createBuffer(data.numberOfChannels, data.numberOfFrames, data.sampleRate);
        const tmp = new Float32Array(data.numberOfFrames);
        let energy = 0;
        for (let c = 0; c < data.numberOfChannels; c++) {
            data.copyTo(tmp, { planeIndex: c, format: 'f32-planar' });
            buffer.copyToChannel(tmp, c);
            for (let i = 0; i < tmp.length; i++) energy += tmp[i] * tmp[i];
        }
        const quiet = Math.sqrt(energy / (tmp.length * data.numberOfChannels)) < QUIET_RMS;
        data.close();
        this.stats.decoded += 1;
        const target = this.toContext(this.clock.plannedAt(info.t));
        const d = this.scheduler.plan(info, target, ctx.currentTime, quiet);
        if (d.play && d.fadeOut) this.fadeOut(d.fadeOut);
        if (!d.play) return;
        const src = ctx.createBufferSource();
        src.buffer = buffer;
        const gain = ctx.createGain();
        const start = d.entry.start;
        if (d.fadeIn) {
            gain.gain.setValueAtTime(0, start);
            gain.gain.linearRampToValueAtTime(1, start + FADE_S);
        }
        src.connect(gain).connect(this.master);
        src.start(start);
        src.onended = () => gain.disconnect();
        d.entry.node = gain;
        this.placed.push({ t: info.t, dur: info.dur, start: d.entry.start });
        if (this.placed.length > 250) this.placed.shift();
        this.clock.pump(); // events due with this audio now know exactly when it plays
    }

    /** @param {import('./jitter.js').FadeOut} f */
    fadeOut(f) {
        const gain = /** @type {GainNode | undefined} */ (f.entry.node);
        if (!gain) return;
        gain.gain.setValueAtTime(1, f.at);
        gain.gain.linearRampToValueAtTime(0, Math.min(f.entry.end, f.at + FADE_S));
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

    /** The estimator's target plus the output's render-ahead. @param {number} now */
    target(now) {
        const est = this.estimator.update(now);
        return est === null ? null : est + this.ahead;
    }

    /** Tracks how far the output renders ahead of the speaker (slowly forgetting a peak). */
    measureAhead() {
        const ctx = /** @type {AudioContext} */ (this.ctx);
        const a = (ctx.currentTime - this.toContext(performance.now())) * 1000;
        if (Number.isFinite(a)) this.ahead = Math.max(a, this.ahead - 0.1);
    }

    applyDelay() {
        if (this.latency === null) return;
        const want = Math.max(0, this.latency - (this.clock.offset ?? 0));
        if (Math.abs(want - this.clock.delay) > 0.25) this.clock.setDelay(want);
    }

    tick() {
        const ctx = this.ctx;
        if (!ctx) return;
        const f = this.scheduler.tick(ctx.currentTime);
        if (f) this.fadeOut(f);
        if (this.active) {
            if (performance.now() - this.lastAudioAt > SILENCE_MS) this.setActive(false);
            else if (this.latency !== null) {
                this.latency = this.target(performance.now());
                this.applyDelay();
            }
        }
        if (!this.active && !this.scheduler.busy(ctx.currentTime) && this.timer) {
            clearInterval(this.timer);
            this.timer = null;
        }
    }

    /**
     * When presenter time `t` is heard (performance.now() ms), from the audio already placed:
     * the latest frame at or before `t`, its timeline continued (a lost frame keeps its place).
     * This is the one playout clock while voice plays: a page turn stamped `t` lands on the
     * sample stamped `t`, even right after the delay changed. A `t` past the audio placed so far
     * waits for it (the clock asks again as frames are placed), until the voice stops (1 s
     * without audio). Null when no audio says (no voice, or `t` is older than what is kept).
     * @param {number} t
     */
    locate(t) {
        if (!this.active || !this.ctx) return null;
        const last = this.placed[this.placed.length - 1];
        for (let i = this.placed.length - 1; i >= 0; i--) {
            const e = this.placed[i];
            if (e.t > t) continue;
            const at = this.fromContext(e.start + (t - e.t) / 1000);
            return t < last.t + last.dur ? at : Math.max(at, performance.now() + TICK_MS);
        }
        return null;
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
            latency: this.latency,
            ahead: this.ahead,
            jitter: this.jitter(),
            delay: this.clock.delay,
            offset: this.clock.offset,
            volume: this.volume,
            ...this.stats,
            scheduler: { ...this.scheduler.stats },
            outputLatency: this.ctx ? (this.ctx.outputLatency ?? 0) * 1000 : null,
        };
    }

    /** Recent batches' latency (`arrival - t`) above the fastest, ms: the jitter the delay covers. */
    jitter() {
        const x = this.estimator.samples;
        if (!x.length) return null;
        const min = Math.min(...x);
        return { batches: x.length, p50: quantile(x, 0.5) - min, p95: quantile(x, 0.95) - min, max: Math.max(...x) - min };
    }

    close() {
        this.setActive(false);
        if (this.timer) clearInterval(this.timer);
        this.timer = null;
        if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
        this.ctx?.close().catch(() => {});
        this.ctx = null;
    }
}
