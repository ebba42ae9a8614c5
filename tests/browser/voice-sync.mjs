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
 * Taps the replay player's own audio graph (`window.lectern.replay.audioGraph()`: its
 * AudioContext and the `<audio>` element's MediaElementAudioSourceNode in it) for tone markers,
 * timed through the context's output timestamp as the voice tests time them, so the markers
 * are heard on the very path whose latency the player compensates. The tap hangs off the source node and reaches the destination
 * through a muted gain (a worklet must be pulled to run); the player's own source →
 * destination connection is what is heard. Markers collect in `window.__lecternHeard`.
 * @param {import('playwright-core').Page} page
 * @param {number[]} freqs
 * @param {string} workletUrl
 */
export function tapReplayGraph(page, freqs, workletUrl) {
    return page.evaluate(
        async ([fs, url]) => {
            const w = /** @type {any} */ (window);
            const { context: ctx, source } = w.lectern.replay.audioGraph();
            if (!ctx || !source) throw new Error('the replay has no audio graph');
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
            const mute = ctx.createGain();
            mute.gain.value = 0;
            source.connect(node);
            node.connect(mute).connect(ctx.destination);
            node.port.postMessage({ freqs: fs });
            await ctx.resume();
            return { state: ctx.state, baseLatency: ctx.baseLatency, outputLatency: ctx.outputLatency };
        },
        [freqs, workletUrl],
    );
}
