// A recording as a function of media time: the description (timeline.json, docs/RECORDINGS.md)
// answers "what did attendees see at time T" by replaying its events through the protocol's own
// state rules (the reducer attendees run), from the nearest checkpoint, so a seek anywhere costs
// at most CHECKPOINT_EVERY events. UI-free: the player (player.js) and the tests use it alike.

import { decodeEvent } from '../protocol/codec.js';
import { applyEvent, initialState, stateFromSnapshot } from '../protocol/state.js';

/**
 * @typedef {import('../protocol/state.js').State} State
 * @typedef {import('../protocol/codec.js').SyncEvent} SyncEvent
 * @typedef {{ n: number, file: string | null, thumbnail?: string | null, sha256?: string,
 *   width?: number, height?: number, text?: string }} PageDesc
 * @typedef {{ id: string, title?: string | null, pages: PageDesc[] }} DocumentDesc
 * @typedef {{ t: number, document: string, page: number, title: string }} Chapter
 * @typedef {{ t: number, nick: string, body: string }} ChatLine
 * @typedef {{ seq: number, t: number, type: string, xml: string }} EventDesc
 * @typedef {{ format?: string, meeting?: string, title?: string, created?: number, duration_ms?: number,
 *   audio?: { file?: string, duration_ms?: number, packets?: number } | null, documents?: DocumentDesc[],
 *   chapters?: Chapter[], start?: string | null, events?: EventDesc[], chat?: ChatLine[],
 *   waveform?: { step_ms: number, peaks: number[] } | null, pauses?: PauseDesc[] }} Description
 * @typedef {{ at: number, from?: number, to?: number | null }} PauseDesc the presenter paused the
 *   recording: `at` is the cut on the recording timeline, `from`/`to` presenter ms
 * @typedef {{ kind: 'slide' | 'chat', t: number, label: string, text: string, document?: string,
 *   page?: number }} Hit
 */

/** Events between two kept states: a seek replays at most this many. */
export const CHECKPOINT_EVERY = 64;

/** The browser's XML parser; tests pass another (xmldom). @param {string} xml @returns {Element} */
function parseXml(xml) {
    return new DOMParser().parseFromString(xml, 'application/xml').documentElement;
}

export class Recording {
    /**
     * @param {Description} desc
     * @param {{ parse?: (xml: string) => Element }} [opts]
     */
    constructor(desc, opts = {}) {
        const parse = opts.parse ?? parseXml;
        this.desc = desc;
        this.title = desc.title || (desc.meeting ? `Meeting ${desc.meeting}` : 'Recording');
        /** @type {{ t: number, ev: SyncEvent }[]} in seq order */
        this.events = [];
        for (const e of desc.events ?? []) {
            const ev = decodeEvent(parse(e.xml));
            if (ev) this.events.push({ t: Number(e.t) || 0, ev });
        }
        // Events stay in seq order (the order attendees applied them); a presenter clock that
        // stepped back never reorders them, it only makes the earlier one wait for the later.
        /** @type {number[]} when each event is due: the latest t up to it */
        this.due = [];
        let latest = 0;
        for (const { t } of this.events) this.due.push((latest = Math.max(latest, t)));
        this.chapters = (desc.chapters ?? []).slice().sort((a, b) => a.t - b.t);
        this.chat = (desc.chat ?? []).slice().sort((a, b) => a.t - b.t);
        this.documents = desc.documents ?? [];
        this.duration = Math.max(Number(desc.duration_ms) || 0, latest, Number(desc.audio?.duration_ms) || 0);
        this.cuts = pauseCuts(desc.pauses, this.duration);
        // A recording deleted while its meeting went on starts again from the meeting's state
        // then (a <snapshot/>), which its events continue.
        /** @type {State} */
        const start = desc.start ? stateFromSnapshot(parse(desc.start)) : initialState();
        /** @type {State[]} checkpoints[k]: the state after the first k × CHECKPOINT_EVERY events */
        this.checkpoints = [start];
        const s = structuredClone(start);
        for (let i = 0; i < this.events.length; i++) {
            this.apply(s, i);
            if ((i + 1) % CHECKPOINT_EVERY === 0) this.checkpoints.push(structuredClone(s));
        }
        /** the state last answered, and how many events it holds, to move forward cheaply */
        this.cursor = { state: structuredClone(start), count: 0 };
    }

    /** Whether the recording has voice to be the clock. */
    get hasAudio() {
        const a = this.desc.audio;
        return !!a && !!a.file && (Number(a.duration_ms) || 0) > 0 && (a.packets ?? 1) > 0;
    }

    /** @param {State} s @param {number} i */
    apply(s, i) {
        const { ev } = this.events[i];
        // Events every receiver ignored and audio batches are not in the description; they
        // only consumed their seq, so the state takes the next one as if they had been skipped.
        if (Number.isInteger(ev.seq) && ev.seq > s.seq + 1) s.seq = ev.seq - 1;
        applyEvent(s, ev);
    }

    /** How many events are due at media time `ms`. */
    countAt(ms) {
        let lo = 0;
        let hi = this.due.length;
        while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (this.due[mid] <= ms) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /** Media time at which the next event after `ms` is due (Infinity when none). */
    nextAfter(ms) {
        const k = this.countAt(ms);
        return k < this.due.length ? this.due[k] : Infinity;
    }

    /**
     * The meeting's state at media time `ms`. The object is the player's cursor: read it, do
     * not keep or change it (clone it to keep).
     * @returns {State}
     */
    stateAt(ms) {
        const want = this.countAt(ms);
        let { state, count } = this.cursor;
        if (want < count) {
            const k = Math.floor(want / CHECKPOINT_EVERY);
            state = structuredClone(this.checkpoints[k]);
            count = k * CHECKPOINT_EVERY;
        }
        for (; count < want; count++) this.apply(state, count);
        this.cursor = { state, count };
        return state;
    }

    /**
     * What is on screen at `ms`: document, page, the visible ink item ids on that page, the
     * pointer — the test hook's and the player's summary.
     */
    viewAt(ms) {
        const s = this.stateAt(ms);
        const doc = s.document?.id ?? null;
        const ink = doc ? s.ink[doc]?.[String(s.page)] : undefined;
        return {
            t: ms,
            document: doc,
            page: doc ? s.page : 0,
            items: (ink?.items ?? []).filter((i) => i.visible).map((i) => i.id),
            pointer: s.pointer && s.pointer.page === s.page ? { x: s.pointer.x, y: s.pointer.y } : null,
        };
    }

    /** Chat lines said up to `ms`. */
    chatUntil(ms) {
        let n = 0;
        while (n < this.chat.length && this.chat[n].t <= ms) n++;
        return this.chat.slice(0, n);
    }

    /** @param {string} id */
    document(id) {
        return this.documents.find((d) => d.id === id) ?? null;
    }

    /** @param {string} id @param {number} n */
    pageDesc(id, n) {
        return this.document(id)?.pages.find((p) => p.n === n) ?? null;
    }

    /**
     * Slide text and chat lines that contain every word of `query` (case- and
     * accent-insensitive), in media-time order. A slide hit is each moment its page was shown.
     * @returns {Hit[]}
     */
    search(query) {
        const words = fold(query).split(/\s+/).filter(Boolean);
        if (!words.length) return [];
        const matches = (/** @type {string} */ text) => {
            const f = fold(text);
            return words.every((w) => f.includes(w));
        };
        /** @type {Hit[]} */
        const hits = [];
        for (const c of this.chapters) {
            const text = this.pageDesc(c.document, c.page)?.text ?? '';
            if (text && matches(text)) hits.push({ kind: 'slide', t: c.t, label: c.title, text: snippet(text, words), document: c.document, page: c.page });
        }
        for (const line of this.chat) {
            if (matches(line.body) || matches(line.nick)) hits.push({ kind: 'chat', t: line.t, label: line.nick, text: line.body });
        }
        return hits.sort((a, b) => a.t - b.t);
    }
}

/**
 * Where the recording was paused, for the timeline's cut markers: each pause's `at`, clamped to
 * the recording, in order, with pauses that cut at the same ms (within 1 ms) shown once.
 * @param {PauseDesc[] | undefined} pauses @param {number} duration
 * @returns {number[]}
 */
export function pauseCuts(pauses, duration) {
    const at = (pauses ?? [])
        .map((p) => Number(p?.at))
        .filter((t) => Number.isFinite(t))
        .map((t) => Math.min(Math.max(0, t), Math.max(0, duration)))
        // nothing before 0 was cut from sight: a recording that starts paused (or starts again
        // after a deletion) has no mark there
        .filter((t) => t > 0)
        .sort((a, b) => a - b);
    return at.filter((t, i) => i === 0 || t - at[i - 1] >= 1);
}

/**
 * The media time to show while the voice plays: the element reports the sample it hands to the
 * audio output (`media`, ms), which reaches the ear `latencyMs` later, so the picture shows
 * `media − latency`. Never before `floor` (where play started or the last seek landed: that
 * state is already on screen, and the sound of it is still on its way) and never below 0.
 * Paused or seeking (`exact`), the state is exactly the clock's.
 * @param {number} media @param {number} latencyMs @param {number} floor @param {boolean} exact
 */
export function shownTime(media, latencyMs, floor, exact) {
    if (exact || !(latencyMs > 0)) return media;
    return Math.min(media, Math.max(0, floor, media - latencyMs));
}

/** @param {string} s */
function fold(s) {
    return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The text around the first word found, for the results list. @param {string} text @param {string[]} words */
function snippet(text, words) {
    const flat = text.replace(/\s+/g, ' ').trim();
    const at = Math.max(0, fold(flat).indexOf(words[0]));
    const from = Math.max(0, at - 40);
    return `${from > 0 ? '…' : ''}${flat.slice(from, at + 80)}${at + 80 < flat.length ? '…' : ''}`;
}

/** `m:ss` or `h:mm:ss` of media ms. @param {number} ms */
export function clockText(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}
