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
