// Pairs what the voice tests and benchmark record (ui/voice.js test hooks): each tone marker
// the presenter heard in its microphone and turned a page on (`markersSent`: freq, presenter
// time t, capture time), the attendee's application of that page turn (`turns`: t, epoch ms)
// and the attendee playing that marker (`heard`: freq, epoch ms from the output timestamp).

/**
 * @param {{ freq: number, t: number, capturedAt: number, n: number }[]} sent
 * @param {{ seq: number, t: number, n: number, at: number, late?: number }[]} turns
 * @param {{ freq: number, at: number }[]} heard
 * @returns {{ freq: number, t: number, n: number, turnAt: number, heardAt: number, skew: number, mouthToEar: number, late: number }[]}
 *     `skew`: page turn applied minus marker played (ms); `mouthToEar`: marker played at the
 *     attendee minus captured at the presenter (ms); `late`: how long after its due time the
 *     attendee's page turn ran (its main thread was busy)
 */
export function pairMarkers(sent, turns, heard) {
    const out = [];
    for (const m of sent) {
        const turn = turns.find((x) => x.t === Math.max(0, Math.round(m.t)) && x.n === m.n);
        if (!turn) continue;
        let best = null;
        for (const h of heard) {
            if (h.freq !== m.freq || Math.abs(h.at - turn.at) > 1000) continue;
            if (!best || Math.abs(h.at - turn.at) < Math.abs(best.at - turn.at)) best = h;
        }
        if (!best) continue;
        out.push({
            freq: m.freq,
            t: Math.round(m.t),
            n: m.n,
            turnAt: turn.at,
            heardAt: best.at,
            skew: turn.at - best.at,
            mouthToEar: best.at - m.capturedAt,
            late: turn.late ?? 0,
        });
    }
    return out;
}

/**
 * Taps an `<audio>` element's output in the page for tone markers: the element is routed
 * through a MediaElementAudioSourceNode into the voice tap worklet (protocol/voice-tap.worklet.js,
 * loaded from `workletUrl`), and each onset is timed as the voice tests time them, through the
 * AudioContext's output timestamp. The markers heard collect in `window.__lecternHeard`
 * (`{ freq, at }`, epoch ms). Returns the context's state and latencies (s): the element's
 * `currentTime` does not count the graph's output latency, the tap's timestamps do.
 * @param {import('playwright-core').Page} page
 * @param {string} selector the audio element
 * @param {number[]} freqs
 * @param {string} workletUrl
 */
export function tapAudioElement(page, selector, freqs, workletUrl) {
    return page.evaluate(
        async ([sel, fs, url]) => {
            const w = /** @type {any} */ (window);
            const audio = /** @type {HTMLAudioElement} */ (document.querySelector(sel));
            const ctx = new AudioContext();
            await ctx.audioWorklet.addModule(url);
            const node = new AudioWorkletNode(ctx, 'lectern-tap', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
            w.__lecternHeard = [];
            node.port.onmessage = (e) => {
                const { freq, frame } = e.data;
                const ts = ctx.getOutputTimestamp();
                const perf = ts.performanceTime && ts.contextTime !== undefined
                    ? ts.performanceTime + (frame / ctx.sampleRate - ts.contextTime) * 1000
                    : performance.now() + (frame / ctx.sampleRate - ctx.currentTime + (ctx.outputLatency || ctx.baseLatency || 0)) * 1000;
                w.__lecternHeard.push({ freq, at: performance.timeOrigin + perf });
            };
            ctx.createMediaElementSource(audio).connect(node);
            node.connect(ctx.destination);
            node.port.postMessage({ freqs: fs });
            await ctx.resume();
            return { state: ctx.state, baseLatency: ctx.baseLatency, outputLatency: ctx.outputLatency };
        },
        [selector, freqs, workletUrl],
    );
}
