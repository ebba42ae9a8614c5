// An AudioWorklet that listens to the voice player's output for tone markers (tones.js) and
// posts the output-clock frame of each onset: `{ freq, frame }`. Used only when a test or the
// benchmark asks (`VoicePlayer.tap`); it outputs silence.

import { ToneDetector } from './tones.js';

const g = /** @type {any} */ (globalThis);
const QUANTUM = 128;
const SILENCE = new Float32Array(QUANTUM);

class TapProcessor extends g.AudioWorkletProcessor {
    constructor() {
        super();
        /** @type {ToneDetector | null} */
        this.detector = null;
        this.mix = new Float32Array(QUANTUM);
        this.port.onmessage = (/** @type {MessageEvent} */ e) => {
            this.detector = new ToneDetector(g.sampleRate, e.data.freqs);
        };
    }

    /** @param {Float32Array[][]} inputs */
    process(inputs) {
        const det = this.detector;
        if (!det) return true;
        // onsets are placed from this block's own frame, so a block the renderer skipped
        // cannot shift the ones after it
        const first = det.index;
        const chans = inputs[0] ?? [];
        /** @type {Float32Array} */
        let block = SILENCE;
        if (chans.length === 1) block = chans[0];
        else if (chans.length > 1) {
            this.mix.fill(0);
            for (const c of chans) for (let i = 0; i < c.length; i++) this.mix[i] += c[i] / chans.length;
            block = this.mix;
        }
        for (const o of det.feed(block)) this.port.postMessage({ freq: o.freq, frame: g.currentFrame + (o.index - first) });
        return true;
    }
}

g.registerProcessor('lectern-tap', TapProcessor);
