// The playout clock: every sync event carries `t`, the presenter's media-clock time (ms since
// the presentation started). A receiver maps presenter time onto its own clock and applies an
// event when local playout time reaches `t + delay`, so page turns and ink land together with
// the words spoken with them. Without audio the delay is ~0 and events apply as they arrive;
// the voice issue sets the delay from its jitter buffer (`setDelay`).
//
// The mapping: `offset` is the smallest `arrival - t` seen so far (the fastest path from the
// presenter), so `t + offset` is the earliest an event could have arrived. An event is due at
// `t + offset + delay`. With delay 0 every event is due on arrival; order is always kept (an
// event never overtakes one queued before it).

/** @typedef {{ t: number, seq?: number }} Timed */

/**
 * @template {Timed} E
 */
export class PlayoutClock {
    /**
     * @param {(event: E) => void} apply called for each event, in queue order, when due
     * @param {{ now?: () => number, delay?: number }} [options]
     */
    constructor(apply, options = {}) {
        this.apply = apply;
        this.now = options.now ?? (() => performance.now());
        /** Playout delay in ms (jitter buffer depth; 0 without audio). */
        this.delay = options.delay ?? 0;
        /** @type {number | null} local time minus presenter time, minimum seen */
        this.offset = null;
        /** @type {E[]} */
        this.queue = [];
        /** @type {ReturnType<typeof setTimeout> | null} */
        this.timer = null;
        /** Presenter time of the last event seen and the local time it was seen at. */
        this.lastT = 0;
        this.lastSeenAt = this.now();
    }

    /** Sets the playout delay (ms). Queued events are re-scheduled. */
    setDelay(ms) {
        this.delay = Math.max(0, ms);
        this.pump();
    }

    /** Learns from an event's presenter time without scheduling it (snapshot, catch-up). */
    observe(t) {
        const now = this.now();
        const off = now - t;
        if (this.offset === null || off < this.offset) this.offset = off;
        if (t >= this.lastT) {
            this.lastT = t;
            this.lastSeenAt = now;
        }
    }

    /**
     * Queues a live event for playout.
     * @param {E} event
     */
    push(event) {
        this.observe(event.t);
        this.queue.push(event);
        this.pump();
    }

    /** Local time (same base as `now`) at which an event of presenter time `t` is due. */
    dueAt(t) {
        return t + (this.offset ?? this.now() - t) + this.delay;
    }

    /** The current playout position in presenter time. */
    playoutTime() {
        if (this.offset === null) return 0;
        return this.now() - this.offset - this.delay;
    }

    /**
     * Presenter-clock time for a new event sent by this client when it presents: continues
     * the meeting's timeline from the last event seen, so `t` never runs backwards across
     * presenters or reconnects.
     */
    presenterNow() {
        return Math.max(0, Math.round(this.lastT + (this.now() - this.lastSeenAt)));
    }

    /** Applies every queued event now, in order (before a snapshot or catch-up). */
    flush() {
        this.cancel();
        const q = this.queue;
        this.queue = [];
        for (const ev of q) this.apply(ev);
    }

    /** Drops everything queued (a snapshot replaces the state they would have changed). */
    clear() {
        this.cancel();
        this.queue = [];
    }

    cancel() {
        if (this.timer !== null) clearTimeout(this.timer);
        this.timer = null;
    }

    pump() {
        this.cancel();
        while (this.queue.length > 0) {
            const wait = this.dueAt(this.queue[0].t) - this.now();
            if (wait > 1) {
                this.timer = setTimeout(() => this.pump(), wait);
                return;
            }
            const ev = /** @type {E} */ (this.queue.shift());
            this.apply(ev);
        }
    }
}
