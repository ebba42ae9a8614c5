// Tone markers in a stream of samples: the onset of a pure tone at one of a few known
// frequencies (Goertzel over a sliding 10 ms window, every `hop` samples). The voice tests and
// benchmark put such markers in the fake microphone's recording; the presenter's capture and the
// attendee's output tap both run this detector, so a marker's onset is measured the same way at
// both ends. Free of DOM and Web Audio: it runs in a page, an AudioWorklet and Node.

/**
 * @typedef {{ freq: number, index: number }} Onset `index`: the absolute sample index (counted
 *     from the first sample fed) of the onset: the middle of the first window in which the tone
 *     holds most of the energy (after silence, that is where the tone began, within a hop).
 */

export class ToneDetector {
    /**
     * @param {number} rate sample rate (Hz)
     * @param {number[]} freqs marker frequencies (Hz), far enough apart for a 10 ms window (≥ 300 Hz)
     * @param {{ windowMs?: number, hop?: number, ratio?: number, amplitude?: number, holdMs?: number }} [opts]
     *     `ratio`: the share of the window's energy the tone must hold; `amplitude`: its minimum
     *     peak amplitude (full scale 1); `holdMs`: how long a tone must be absent before it can
     *     start again.
     */
    constructor(rate, freqs, opts = {}) {
        this.rate = rate;
        this.freqs = freqs.slice();
        this.win = Math.max(16, Math.round((rate * (opts.windowMs ?? 10)) / 1000));
        this.hop = opts.hop ?? 128;
        this.ratio = opts.ratio ?? 0.5;
        this.amplitude = opts.amplitude ?? 0.05;
        this.hold = Math.round((rate * (opts.holdMs ?? 100)) / 1000);
        /** ring of the last `win` samples */
        this.ring = new Float32Array(this.win);
        this.filled = 0;
        /** absolute index of the next sample to be fed */
        this.index = 0;
        this.sinceHop = 0;
        this.coeff = this.freqs.map((f) => 2 * Math.cos((2 * Math.PI * f) / rate));
        /** per frequency: whether it is sounding, and the index where it was last seen */
        this.on = this.freqs.map(() => false);
        this.lastSeen = this.freqs.map(() => -Infinity);
    }

    /**
     * Feeds samples; returns the onsets completed within them.
     * @param {Float32Array} samples
     * @returns {Onset[]}
     */
    feed(samples) {
        /** @type {Onset[]} */
        const out = [];
        const { win, ring } = this;
        for (let i = 0; i < samples.length; i++) {
            ring[this.index % win] = samples[i];
            this.index += 1;
            if (this.filled < win) this.filled += 1;
            this.sinceHop += 1;
            if (this.sinceHop >= this.hop && this.filled === win) {
                this.sinceHop = 0;
                this.analyse(out);
            }
        }
        return out;
    }

    /** @param {Onset[]} out */
    analyse(out) {
        const { win, ring } = this;
        const start = this.index % win; // oldest sample
        let energy = 0;
        for (let k = 0; k < win; k++) {
            const x = ring[(start + k) % win];
            energy += x * x;
        }
        for (let f = 0; f < this.freqs.length; f++) {
            const c = this.coeff[f];
            let s1 = 0;
            let s2 = 0;
            for (let k = 0; k < win; k++) {
                const s0 = ring[(start + k) % win] + c * s1 - s2;
                s2 = s1;
                s1 = s0;
            }
            const power = s1 * s1 + s2 * s2 - c * s1 * s2; // |X|²
            const amp = (2 * Math.sqrt(Math.max(0, power))) / win;
            const share = energy > 0 ? (2 * power) / win / energy : 0;
            const present = share >= this.ratio && amp >= this.amplitude;
            if (present) {
                if (!this.on[f] && this.index - this.lastSeen[f] > this.hold) {
                    out.push({ freq: this.freqs[f], index: this.index - Math.round(win / 2) });
                }
                this.on[f] = true;
                this.lastSeen[f] = this.index;
            } else if (share < this.ratio / 2 || amp < this.amplitude / 2) {
                this.on[f] = false;
            }
        }
    }
}
