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
//
// Events the options mark `instant` (audio batches: the voice player schedules their samples
// itself, the queue only keeps their place in `seq` order) never wait. While voice plays, the
// player's `locate` says when each presenter time is heard, and events are due then. While the presenter's
// microphone runs, `setMediaClock` makes its sample count the source of `presenterNow()`, so
// page turns and ink are stamped on the same clock as the voice.

/** @typedef {{ t: number, seq?: number }} Timed */

/**
 * @template {Timed} E
 */
export class PlayoutClock {
    /**
     * @param {(event: E) => void} apply called for each event, in queue order, when due
     * @param {{ now?: () => number, delay?: number, instant?: (event: E) => boolean }} [options]
     */
    constructor(apply, options = {}) {
        this.apply = apply;
        this.now = options.now ?? (() => performance.now());
        this.instant = options.instant ?? (() => false);
        /** Called when `offset` changes (the voice player keeps `offset + delay` fixed). */
        this.onOffset = /** @type {(() => void) | null} */ (null);
        /** @type {((t: number) => number | null) | null} when the voice player plays presenter time `t`, if it knows */
        this.locate = null;
        /** @type {(() => number) | null} the presenter's media clock (ms), while it runs */
        this.media = null;
        /** the last `t` handed out by presenterNow(), so stamps never run backwards */
        this.issued = 0;
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
        if (this.offset === null || off < this.offset) {
            this.offset = off;
            this.onOffset?.();
        }
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

    /**
     * Local time (same base as `now`) at which an event of presenter time `t` is due: where the
     * voice player has placed the audio of `t` (`locate`), else `plannedAt(t)`.
     */
    dueAt(t) {
        const at = this.locate?.(t);
        return at === null || at === undefined ? this.plannedAt(t) : at;
    }

    /** `t + offset + delay`: when presenter time `t` is due by the clock's own reckoning. */
    plannedAt(t) {
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
        const t = this.media ? this.media() : this.lastT + (this.now() - this.lastSeenAt);
        this.issued = Math.max(this.issued, Math.round(t), 0);
        return this.issued;
    }

    /**
     * Makes `media()` (the microphone's sample clock, presenter ms) the source of
     * `presenterNow()`, or with null goes back to continuing from the last event seen.
     * @param {(() => number) | null} media
     */
    setMediaClock(media) {
        if (!media && this.media) {
            this.lastT = Math.max(this.lastT, this.media());
            this.lastSeenAt = this.now();
        }
        this.media = media;
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
            const wait = this.instant(this.queue[0]) ? 0 : this.dueAt(this.queue[0].t) - this.now();
            if (wait > 1) {
                this.timer = setTimeout(() => this.pump(), wait);
                return;
            }
            const ev = /** @type {E} */ (this.queue.shift());
            this.apply(ev);
        }
    }
}
