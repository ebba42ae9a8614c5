// The receiving half of Voice, free of Web Audio so it can be tested with a fake clock:
//
// - `DelayEstimator` chooses how far behind the presenter to play. It keeps the latency
//   (`arrival - t`, local ms minus presenter ms) of recent audio batches and targets a high
//   quantile of it (or the latest second's worst, if higher) plus a margin for decoding and
//   scheduling: up at once when a batch comes later than planned, down only after a few calm
//   seconds (every change of the delay moves the timeline).
//   The session's playout clock gets `delay = target - offset`, so a frame of presenter time `t`,
//   and a page turn stamped `t`, are both due at local time `t + target`.
// - `FrameScheduler` places decoded frames on the output timeline (AudioContext seconds). A
//   frame goes where the playout clock says (`target`), except that frames continue the previous
//   one's timeline (by their `t` difference) while that stays within `tolerance` of the clock, so
//   consecutive frames abut sample-exactly. When the clock moves further (the delay changed),
//   the timeline follows in a quiet frame if one comes within `defer`: it skips quiet frames to
//   catch up with a shorter delay, or starts after a silence for a longer one, so the voice is
//   not cut mid-word. A missing frame leaves silence of exactly its length
//   (later frames keep their time: a loss never shifts the timeline); the frame before the gap
//   fades out and the one after fades in, so there are no clicks. Frames that come too late for
//   their time are dropped, never played late.

/**
 * @typedef {{ t: number, dur: number }} Frame presenter time and duration, ms
 * @typedef {{ t: number, dur: number, start: number, end: number, fadedOut: boolean, node?: any }} Placed
 *     a frame on the output timeline (seconds); `node` is for the player
 * @typedef {{ play: false, reason: 'old' | 'late' | 'overlap' | 'quiet' }
 *     | { play: true, entry: Placed, fadeIn: boolean, reanchor: boolean, fadeOut: FadeOut | null }} Decision
 * @typedef {{ entry: Placed, at: number }} FadeOut ramp `entry` down to silence from `at`
 */

/** The q-quantile (0..1) of `values` (not sorted in place). @param {number[]} values @param {number} q */
export function quantile(values, q) {
    if (values.length === 0) return NaN;
    const s = values.slice().sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/**
 * Where presenter time `t` falls on the output timeline (s), from frames placed so far (in
 * order): the latest frame at or before `t`, its timeline continued — a lost frame keeps its
 * place — or, when `t` fell in a gap across which the timeline moved later, the timeline of
 * the audio after the gap. `placed` is false when `t` lies past every frame placed so far (its
 * audio may still come). Null when no frame is at or before `t`.
 * @param {{ t: number, dur: number, start: number }[]} placed
 * @param {number} t
 * @returns {{ at: number, placed: boolean } | null}
 */
export function timelineAt(placed, t) {
    const last = placed[placed.length - 1];
    for (let i = placed.length - 1; i >= 0; i--) {
        const e = placed[i];
        if (e.t > t) continue;
        let at = e.start + (t - e.t) / 1000;
        const next = placed[i + 1];
        if (next && t >= e.t + e.dur) at = Math.max(at, next.start - (next.t - t) / 1000);
        return { at, placed: t < last.t + last.dur };
    }
    return null;
}

export class DelayEstimator {
    /**
     * @param {{ window?: number, peak?: number, quantile?: number, margin?: number, hold?: number, slack?: number }} [opts]
     *     `window`: batches remembered (~17 a second); `peak`: the latest batches whose worst
     *     latency is always covered; `margin`: ms added for decoding and scheduling; `hold`: ms
     *     the target must stay `slack` ms below the current delay before it comes down.
     */
    constructor(opts = {}) {
        this.window = opts.window ?? 150;
        this.peak = opts.peak ?? 17;
        this.q = opts.quantile ?? 0.95;
        this.margin = opts.margin ?? 30;
        this.hold = opts.hold ?? 3000;
        this.slack = opts.slack ?? 10;
        /** @type {number[]} */
        this.samples = [];
        /** @type {number | null} the current target (ms from presenter time to local playout) */
        this.current = null;
        /** @type {number | null} since when the wanted target has been well below the current one */
        this.lowSince = null;
    }

    /** Forgets everything (the stream stopped). */
    reset() {
        this.samples = [];
        this.current = null;
        this.lowSince = null;
    }

    /**
     * Adds one batch's latency (`arrival - t`, ms) and returns the target latency.
     * @param {number} latency @param {number} now local ms
     */
    add(latency, now) {
        this.samples.push(latency);
        if (this.samples.length > this.window) this.samples.shift();
        return this.update(now);
    }

    /** What the recent batches ask for. */
    wanted() {
        if (!this.samples.length) return null;
        const recent = Math.max(...this.samples.slice(-this.peak));
        return Math.max(quantile(this.samples, this.q), recent) + this.margin;
    }

    /** The target latency (ms), with hysteresis. @param {number} now */
    update(now) {
        const want = this.wanted();
        if (want === null) return this.current;
        if (this.current === null || want > this.current) {
            this.current = want;
            this.lowSince = null;
        } else if (want < this.current - this.slack) {
            if (this.lowSince === null) this.lowSince = now;
            else if (now - this.lowSince >= this.hold) {
                this.current = want;
                this.lowSince = null;
            }
        } else {
            this.lowSince = null;
        }
        return this.current;
    }
}

export class FrameScheduler {
    /**
     * @param {{ rate?: number, tolerance?: number, defer?: number, lead?: number, guard?: number, fade?: number }} [opts]
     *     seconds: `tolerance` how far the continuing timeline may stray from the clock; `defer`
     *     how far it may stray while waiting for a quiet frame to move in; `lead`
     *     the least time ahead a frame can still be started; `guard` how long before the last
     *     frame ends a missing successor counts as lost (its tail fades); `fade` ramp length.
     *     `rate`: the output sample rate (start times are whole samples).
     */
    constructor(opts = {}) {
        this.rate = opts.rate ?? 48000;
        this.tolerance = opts.tolerance ?? 0.01;
        this.defer = opts.defer ?? 0.12;
        this.lead = opts.lead ?? 0.003;
        this.guard = opts.guard ?? 0.02;
        this.fade = opts.fade ?? 0.004;
        /** @type {Placed | null} */
        this.last = null;
        /** ms of quiet frames skipped since the last one placed (the timeline pulled earlier) */
        this.pulled = 0;
        this.stats = {
            played: 0, late: 0, old: 0, overlap: 0, reanchors: 0, deferred: 0, skippedQuiet: 0, gaps: 0, fadeIns: 0, fadeOuts: 0, concealedMs: 0,
        };
    }

    /** @param {number} s seconds → the nearest whole sample */
    snap(s) {
        return Math.round(s * this.rate) / this.rate;
    }

    /**
     * Where to play a decoded frame.
     * @param {Frame} frame
     * @param {number} target output time (s) the playout clock gives its first sample
     * @param {number} now the output clock now (s)
     * @param {boolean} [quiet] the frame is (nearly) silent: a good place to move the timeline
     * @returns {Decision}
     */
    plan(frame, target, now, quiet = false) {
        const last = this.last;
        if (last && frame.t < last.t + last.dur) {
            this.stats.old += 1;
            return { play: false, reason: 'old' };
        }
        let start = this.snap(target);
        let reanchor = !!last;
        if (last) {
            const cont = last.start + (frame.t - last.t - this.pulled) / 1000;
            const off = target - cont;
            const feasible = cont >= now + this.lead;
            if (Math.abs(off) <= this.tolerance) {
                start = cont;
                reanchor = false;
            } else if (feasible && quiet && off < 0) {
                // the delay went down: skip this quiet frame, the next one takes its place
                this.pulled += frame.dur;
                this.stats.skippedQuiet += 1;
                return { play: false, reason: 'quiet' };
            } else if (feasible && !quiet && Math.abs(off) <= this.defer) {
                // wait for a quiet frame to move the timeline
                start = cont;
                reanchor = false;
                this.stats.deferred += 1;
            }
        }
        if (start < now + this.lead) {
            this.stats.late += 1;
            return { play: false, reason: 'late' };
        }
        if (last && start < last.end - 0.5 / this.rate) {
            // the clock moved back (delay lowered): drop frames until the timeline is free
            this.stats.overlap += 1;
            return { play: false, reason: 'overlap' };
        }
        const contiguous =
            !!last && !last.fadedOut && this.pulled === 0 && frame.t === last.t + last.dur && Math.abs(start - last.end) < 0.5 / this.rate;
        /** @type {FadeOut | null} */
        let fadeOut = null;
        if (last && !contiguous) {
            this.stats.gaps += 1;
            this.stats.concealedMs += Math.max(0, Math.round((start - last.end) * 1000));
            if (!last.fadedOut) fadeOut = this.fadeOutLast(now);
        }
        if (reanchor) this.stats.reanchors += 1;
        if (!contiguous) this.stats.fadeIns += 1;
        /** @type {Placed} */
        const entry = { t: frame.t, dur: frame.dur, start, end: start + frame.dur / 1000, fadedOut: false };
        this.last = entry;
        this.pulled = 0;
        this.stats.played += 1;
        return { play: true, entry, fadeIn: !contiguous, reanchor, fadeOut };
    }

    /** @param {number} now @returns {FadeOut | null} */
    fadeOutLast(now) {
        const last = this.last;
        if (!last || last.fadedOut) return null;
        last.fadedOut = true;
        this.stats.fadeOuts += 1;
        return { entry: last, at: Math.max(now, last.end - this.fade) };
    }

    /**
     * Called every few ms: when the last frame is about to end with nothing after it, its tail
     * fades out (the successor is lost, or the stream stopped).
     * @param {number} now output clock (s)
     * @returns {FadeOut | null}
     */
    tick(now) {
        const last = this.last;
        if (!last || last.fadedOut || now < last.end - this.guard) return null;
        return this.fadeOutLast(now);
    }

    /** Whether anything is still to be heard at `now`. @param {number} now */
    busy(now) {
        return !!this.last && this.last.end > now;
    }
}
