// One speaker's voice at a receiver (protocol/README.md: `speaker`): its own Opus decoder (Opus
// decoders keep state), its own delay estimate and its own jitter-buffer timeline, playing into
// the player's shared output where the speakers mix. The player (voice-playout.js) owns the
// output, the playout clock and the choice of which stream leads the clock.

import { DelayEstimator, FrameScheduler } from './jitter.js';

/** A frame below this RMS (about -50 dBFS) is quiet: the timeline may move there unheard. */
const QUIET_RMS = 0.003;
export const FADE_S = 0.004;

/**
 * What a stream needs from its player.
 * @typedef {{
 *   ctx: AudioContext, master: GainNode,
 *   dueAt: (stream: VoiceStream, t: number) => number,
 *   toContext: (ms: number) => number,
 *   placed: (stream: VoiceStream) => void,
 *   fail: (why: string) => void,
 *   stats: { decoded: number, errors: number },
 * }} Output
 */

export class VoiceStream {
    /** @param {string} speaker '' for audio without a speaker (a file the server plays) @param {Output} out */
    constructor(speaker, out) {
        this.speaker = speaker;
        this.out = out;
        /** @type {any} */
        this.decoder = null;
        this.decoderKey = '';
        /** @type {{ t: number, dur: number }[]} frames in the decoder, in order (Opus gives one
         * output per packet; its output timestamps are its own count, not the input's) */
        this.inflight = [];
        /** @type {{ t: number, dur: number, start: number }[]} recently placed frames: where presenter time is heard */
        this.placed = [];
        this.estimator = new DelayEstimator();
        this.scheduler = new FrameScheduler({ rate: out.ctx.sampleRate, fade: FADE_S });
        /** @type {number | null} this stream's target latency (ms from presenter time to playout) */
        this.latency = null;
        this.lastAudioAt = -Infinity;
    }

    /**
     * Queues one batch's frames for decoding (those still in time).
     * @param {{ t: number, payload?: any }} ev @param {number} now @param {(t: number) => boolean} late
     * @returns {number} frames skipped as late
     */
    decode(ev, now, late) {
        const p = ev.payload;
        const decoder = this.decoderFor(p.rate, p.channels);
        let skipped = 0;
        p.frames.forEach((/** @type {Uint8Array} */ data, /** @type {number} */ i) => {
            const t = ev.t + i * p.ms;
            if (late(t)) {
                skipped += 1; // its time has passed: skipped, never played late
                return;
            }
            this.inflight.push({ t, dur: p.ms });
            decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: t * 1000, duration: p.ms * 1000, data }));
        });
        return skipped;
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
                this.out.stats.errors += 1;
                if (e?.name === 'NotSupportedError') this.out.fail("This browser cannot decode the presenter's voice (Opus).");
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
        const { ctx, master } = this.out;
        if (!info || ctx.state === 'closed') {
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
        this.out.stats.decoded += 1;
        const target = this.out.toContext(this.out.dueAt(this, info.t));
        const d = this.scheduler.plan(info, target, ctx.currentTime, quiet);
        if (d.play && d.fadeOut) fadeOut(d.fadeOut);
        if (!d.play) return;
        const src = ctx.createBufferSource();
        src.buffer = buffer;
        const gain = ctx.createGain();
        const start = d.entry.start;
        if (d.fadeIn) {
            gain.gain.setValueAtTime(0, start);
            gain.gain.linearRampToValueAtTime(1, start + FADE_S);
        }
        src.connect(gain).connect(master);
        src.start(start);
        src.onended = () => gain.disconnect();
        d.entry.node = gain;
        this.placed.push({ t: info.t, dur: info.dur, start: d.entry.start });
        if (this.placed.length > 250) this.placed.shift();
        this.out.placed(this);
    }

    /** Fades the tail before a missing frame (the scheduler says when). @param {number} now output clock (s) */
    tick(now) {
        const f = this.scheduler.tick(now);
        if (f) fadeOut(f);
    }

    close() {
        if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
        this.decoder = null;
    }
}

/** @param {import('./jitter.js').FadeOut} f */
function fadeOut(f) {
    const gain = /** @type {GainNode | undefined} */ (f.entry.node);
    if (!gain) return;
    gain.gain.setValueAtTime(1, f.at);
    gain.gain.linearRampToValueAtTime(0, Math.min(f.entry.end, f.at + FADE_S));
}
