// The replay player: a recording (model.js) shown as a function of the master clock's media
// time (clock.js — the `<audio>` element when there is voice). Every frame, and right on time
// for an event due before the next frame, the player asks the recording for the state at the
// clock's time and shows it: seeking is a jump of the clock, never a replay by the UI, so
// nothing drifts. The same module runs on the replay page (online.js) and, linked into one
// script, in the zip's index.html (offline.js), so it reaches files only through `<img>` and
// `<audio>` with the URLs `assets` gives it.

import { h } from '../ui/dom.js';
import { PageImages } from '../ui/pages.js';
import { Stage, WHOLE_PAGE } from '../ui/stage.js';
import { ReplayClock } from './clock.js';
import { Recording, clockText, shownTime } from './model.js';
import { ReplayOutput } from './output.js';
import { TimelineBar } from './timeline.js';

/**
 * @typedef {import('./model.js').Description} Description
 * @typedef {{ page: (path: string) => string, audio: (path: string) => string, route?: boolean }} Assets
 *   maps a path in the description (`pages/DOC/1.webp`, `audio.ogg`) to a URL; `route`: the
 *   audio is same-origin, so it may play through the player's AudioContext (output.js)
 */

/** An event due sooner than this after a frame is shown by a timer, not the next frame. */
const TIMER_MS = 24;
const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 2];

/** Page images by the recording's file paths rather than a document's base URL. */
class RecordingImages extends PageImages {
    /** @param {Recording} rec @param {Assets} assets */
    constructor(rec, assets) {
        super();
        this.rec = rec;
        this.assets = assets;
    }

    /** @param {import('../ui/pages.js').Doc} doc @param {number} n */
    url(doc, n) {
        const file = this.rec.pageDesc(doc.id, n)?.file;
        // a page whose document was deleted: an image that fails, so the page shows white
        return file ? this.assets.page(file) : 'data:,';
    }

    /** @param {import('../ui/pages.js').Doc} doc @param {number} n */
    thumbUrl(doc, n) {
        const p = this.rec.pageDesc(doc.id, n);
        return p?.thumbnail ? this.assets.page(p.thumbnail) : this.url(doc, n);
    }
}

export class Player {
    /**
     * @param {HTMLElement} root
     * @param {Description} desc
     * @param {Assets} assets
     */
    constructor(root, desc, assets) {
        this.rec = new Recording(desc);
        this.assets = assets;
        this.images = new RecordingImages(this.rec, assets);
        /** @type {{ t: number, document: string | null, page: number, at: number }[]} page changes shown while playing */
        this.turns = [];
        this.shownCount = -1;
        this.shownKey = '';
        this.chatShown = -1;
        this.timer = 0;
        this.build(root);
        this.clock = new ReplayClock(this.rec.hasAudio ? this.audio : null, this.rec.duration);
        this.output = new ReplayOutput(this.audio, !!assets.route);
        /** media ms already on screen when play started or the last seek landed (shownTime's floor) */
        this.floor = 0;
        this.stage = new Stage({
            stage: this.stageEl,
            box: this.box,
            pageCanvas: this.pageCanvas,
            inkCanvas: this.inkCanvas,
            laser: this.laser,
            images: this.images,
        });
        for (const ev of ['seeked', 'timeupdate', 'play', 'pause', 'ratechange', 'ended', 'loadedmetadata']) {
            this.audio.addEventListener(ev, () => this.tick());
        }
        const frame = () => {
            this.tick();
            requestAnimationFrame(frame);
        };
        requestAnimationFrame(frame);
        this.tick();
    }

    /** @param {HTMLElement} root */
    build(root) {
        const title = h('h1', { class: 'replay-title' }, [this.rec.title]);
        this.pageCanvas = h('canvas', { id: 'page-canvas' });
        this.inkCanvas = h('canvas', { id: 'ink-canvas' });
        this.laser = h('div', { class: 'laser', id: 'laser', hidden: true });
        this.box = h('div', { class: 'page-box', id: 'page-box', hidden: true }, [this.pageCanvas, this.inkCanvas, this.laser]);
        this.stageEl = h('div', { class: 'stage', id: 'stage' }, [this.box]);
        const audioFile = this.rec.desc.audio?.file;
        this.audio = h('audio', { id: 'replay-audio', preload: 'auto' });
        if (this.rec.hasAudio && audioFile) this.audio.src = this.assets.audio(audioFile);
        this.playBtn = h('button', { type: 'button', id: 'play-btn', class: 'accent', onclick: () => this.toggle() }, ['Play']);
        this.timeEl = h('span', { class: 'replay-time', id: 'replay-time' }, ['0:00']);
        const speed = h('select', { id: 'speed', 'aria-label': 'Speed', title: 'Speed' });
        for (const s of SPEEDS) speed.append(h('option', { value: String(s), selected: s === 1 }, [`${s}×`]));
        speed.addEventListener('change', () => this.clock.setRate(Number(speed.value)));
        this.speed = speed;
        this.bar = new TimelineBar(this.rec, {
            seek: (ms) => this.seek(ms),
            thumbnail: (doc, n) => {
                const p = this.rec.pageDesc(doc, n);
                const path = p?.thumbnail || p?.file;
                return path ? this.assets.page(path) : null;
            },
        });
        const controls = h('div', { class: 'replay-controls' }, [this.playBtn, this.timeEl, this.bar.el, speed]);
        this.chatList = h('ol', { class: 'replay-chat', id: 'replay-chat' });
        this.search = h('input', { type: 'search', id: 'replay-search', placeholder: 'Search slides and chat', 'aria-label': 'Search slides and chat' });
        this.results = h('ol', { class: 'search-results', id: 'search-results' });
        this.search.addEventListener('input', () => this.showResults());
        const side = h('aside', { class: 'replay-side' }, [
            this.search,
            this.results,
            h('h2', {}, ['Chat']),
            this.rec.chat.length ? this.chatList : h('p', { class: 'muted' }, ['No chat in this recording.']),
        ]);
        const main = h('div', { class: 'replay-main' }, [this.stageEl, controls, this.audio]);
        root.replaceChildren(title, h('div', { class: 'replay-body' }, [main, side]));
        root.addEventListener('keydown', (e) => {
            if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
            if (e.key === ' ') this.toggle();
            else if (e.key === 'ArrowRight') this.seek(this.clock.now() + 5000);
            else if (e.key === 'ArrowLeft') this.seek(this.clock.now() - 5000);
            else return;
            e.preventDefault();
        });
        root.tabIndex = -1;
    }

    async toggle() {
        if (this.clock.paused) await this.play();
        else this.pause();
    }

    async play() {
        if (this.rec.hasAudio) await this.output.start();
        this.floor = this.clock.now();
        await this.clock.play();
        this.floor = Math.min(this.floor, this.clock.now());
        this.tick();
    }

    pause() {
        this.clock.pause();
        this.tick();
    }

    /** @param {number} ms */
    seek(ms) {
        this.clock.seek(ms);
        this.floor = this.clock.now();
        this.tick();
    }

    /** Shows the recording at the clock's time; times the next event if it falls before the next frame. */
    tick() {
        const t = this.shown();
        this.render(t);
        clearTimeout(this.timer);
        this.timer = 0;
        if (!this.clock.paused) {
            const next = this.rec.nextAfter(t);
            const wait = (next - t) / this.clock.rate;
            if (wait < TIMER_MS) this.timer = window.setTimeout(() => this.tick(), Math.max(0, wait));
        }
    }

    /** The media time on screen: the clock's, less the way to the ear while the voice plays. */
    shown() {
        const t = this.clock.now();
        const exact = this.clock.free || this.clock.paused || this.audio.seeking;
        return shownTime(t, this.output.latency() * 1000 * this.clock.rate, this.floor, exact);
    }

    /** @param {number} t */
    render(t) {
        const state = this.rec.stateAt(t);
        const count = this.rec.cursor.count;
        if (count !== this.shownCount) {
            this.shownCount = count;
            const doc = state.document;
            const page = doc ? state.page : 0;
            const key = doc ? `${doc.id}:${page}` : '';
            if (key !== this.shownKey) {
                this.shownKey = key;
                if (!this.clock.paused) {
                    this.turns.push({ t: this.rec.due[count - 1] ?? 0, document: doc?.id ?? null, page, at: performance.timeOrigin + performance.now() });
                    if (this.turns.length > 1000) this.turns.shift();
                }
            }
            const ink = doc ? state.ink[doc.id]?.[String(page)] : undefined;
            const pointer = state.pointer && state.pointer.page === page ? { x: state.pointer.x, y: state.pointer.y } : null;
            this.stage.show({ doc, page, vp: doc ? state.viewport : WHOLE_PAGE, items: ink?.items ?? [], pointer, overlay: [] });
            this.warmNext(t);
        }
        this.timeEl.textContent = `${clockText(t)} / ${clockText(this.rec.duration)}`;
        this.playBtn.textContent = this.clock.paused ? 'Play' : 'Pause';
        this.bar.update(t);
        this.renderChat(t);
    }

    /** Loads the next page turn's image ahead of time, so it shows the moment it is due. @param {number} t */
    warmNext(t) {
        const next = this.rec.chapters.find((c) => c.t > t);
        const doc = next && this.rec.document(next.document);
        if (next && doc) this.images.get({ id: doc.id, pages: doc.pages.length, base: '' }, next.page).catch(() => {});
    }

    /** @param {number} t */
    renderChat(t) {
        if (!this.rec.chat.length) return;
        const lines = this.rec.chatUntil(t);
        if (lines.length === this.chatShown) return;
        this.chatShown = lines.length;
        this.chatList.replaceChildren(
            ...lines.map((l) =>
                h('li', { dataset: { t: String(l.t) } }, [
                    h('button', { type: 'button', class: 'link', onclick: () => this.seek(l.t) }, [clockText(l.t)]),
                    ' ',
                    h('strong', {}, [l.nick]),
                    ' ',
                    l.body,
                ]),
            ),
        );
        this.chatList.scrollTop = this.chatList.scrollHeight;
    }

    showResults() {
        const hits = this.rec.search(this.search.value);
        this.results.replaceChildren(
            ...hits.slice(0, 100).map((hit) =>
                h('li', {}, [
                    h('button', { type: 'button', class: `hit hit-${hit.kind}`, dataset: { t: String(hit.t) }, onclick: () => this.seek(hit.t) }, [
                        h('span', { class: 'hit-time' }, [clockText(hit.t)]),
                        ' ',
                        h('strong', {}, [hit.label]),
                        ' ',
                        hit.text,
                    ]),
                ]),
            ),
        );
        if (this.search.value.trim() && !hits.length) this.results.replaceChildren(h('li', { class: 'muted' }, ['Nothing found.']));
    }

    /** Read-only summary for tests: what is on screen, at which media time. */
    view() {
        const media = this.clock.now();
        const v = this.rec.viewAt(this.shown());
        return {
            ...v,
            media,
            latency: this.output.latency() * 1000,
            waveform: this.rec.desc.waveform?.peaks?.length ?? 0,
            audioMs: Number(this.rec.desc.audio?.duration_ms) || 0,
            drawn: this.stage.drawnKey,
            playing: !this.clock.paused,
            rate: this.clock.rate,
            clock: this.clock.free ? 'free' : 'audio',
            duration: this.rec.duration,
        };
    }

    /** Installs `window.lectern.replay` (the meeting page's `window.lectern` convention). */
    expose() {
        const w = /** @type {any} */ (window);
        w.lectern = Object.assign(w.lectern ?? {}, {
            replay: Object.freeze({
                view: () => this.view(),
                turns: () => this.turns.slice(),
                chapters: () => this.rec.chapters.slice(),
                seek: (/** @type {number} */ ms) => this.seek(ms),
                play: () => this.play(),
                pause: () => this.pause(),
                /** the player's AudioContext and, online, the `<audio>` element's source node in it */
                audioGraph: () => this.output.graph(),
            }),
        });
    }
}
