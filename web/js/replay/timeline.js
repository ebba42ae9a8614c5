// The replay's timeline bar: the voice's waveform (when the description has one), a marker at
// every page turn, a cut where the presenter paused the recording, the play head, and a
// thumbnail of the page shown at the time under the pointer. Clicking or dragging seeks.

import { h } from '../ui/dom.js';
import { clockText } from './model.js';

/** @typedef {import('./model.js').Recording} Recording */

export class TimelineBar {
    /**
     * @param {Recording} rec
     * @param {{ seek: (ms: number) => void, thumbnail: (document: string, page: number) => string | null }} opts
     */
    constructor(rec, opts) {
        this.rec = rec;
        this.opts = opts;
        this.wave = h('canvas', { class: 'waveform', id: 'waveform' });
        this.head = h('div', { class: 'playhead', id: 'playhead' });
        this.thumbImg = h('img', { alt: '' });
        this.thumbLabel = h('span', {});
        this.thumb = h('div', { class: 'timeline-thumb', id: 'timeline-thumb', hidden: true }, [this.thumbImg, this.thumbLabel]);
        const dur = Math.max(1, rec.duration);
        const markers = rec.chapters.map((c, i) =>
            h('button', {
                type: 'button',
                class: 'chapter-marker',
                title: `${clockText(c.t)} ${c.title}`,
                'aria-label': `Go to ${c.title} at ${clockText(c.t)}`,
                dataset: { t: String(c.t), index: String(i) },
                style: `left: ${(100 * c.t) / dur}%`,
                onclick: (/** @type {MouseEvent} */ e) => {
                    e.stopPropagation();
                    opts.seek(c.t);
                },
            }),
        );
        const cuts = rec.cuts.map((t) =>
            h('span', {
                class: 'pause-marker',
                title: 'Recording paused here',
                dataset: { t: String(t) },
                style: `left: ${(100 * t) / dur}%`,
            }),
        );
        this.el = h('div', { class: 'timeline', id: 'timeline', role: 'slider', tabindex: '0', 'aria-label': 'Position',
            'aria-valuemin': '0', 'aria-valuemax': String(Math.round(dur / 1000)) }, [this.wave, ...cuts, ...markers, this.head, this.thumb]);
        let dragging = false;
        this.el.addEventListener('pointerdown', (e) => {
            if (e.target instanceof HTMLButtonElement) return;
            dragging = true;
            this.el.setPointerCapture(e.pointerId);
            opts.seek(this.timeAt(e.clientX));
        });
        this.el.addEventListener('pointermove', (e) => {
            if (dragging) opts.seek(this.timeAt(e.clientX));
            this.hover(e.clientX);
        });
        this.el.addEventListener('pointerup', () => (dragging = false));
        this.el.addEventListener('pointerleave', () => (this.thumb.hidden = true));
        new ResizeObserver(() => this.drawWave()).observe(this.el);
    }

    /** Media ms under a client x. @param {number} clientX */
    timeAt(clientX) {
        const r = this.el.getBoundingClientRect();
        return (Math.min(Math.max(0, clientX - r.left), r.width) / Math.max(1, r.width)) * this.rec.duration;
    }

    /** @param {number} clientX */
    hover(clientX) {
        const t = this.timeAt(clientX);
        let chapter = null;
        for (const c of this.rec.chapters) if (c.t <= t) chapter = c;
        const src = chapter ? this.opts.thumbnail(chapter.document, chapter.page) : null;
        this.thumbLabel.textContent = `${clockText(t)}${chapter ? ` · ${chapter.title}` : ''}`;
        this.thumbImg.hidden = !src;
        if (src && this.thumbImg.getAttribute('src') !== src) this.thumbImg.src = src;
        const r = this.el.getBoundingClientRect();
        this.thumb.style.left = `${Math.min(Math.max(0, clientX - r.left), r.width)}px`;
        this.thumb.hidden = false;
    }

    /** @param {number} ms */
    update(ms) {
        this.head.style.left = `${(100 * ms) / Math.max(1, this.rec.duration)}%`;
        this.el.setAttribute('aria-valuenow', String(Math.round(ms / 1000)));
    }

    drawWave() {
        const c = this.wave;
        const dpr = window.devicePixelRatio || 1;
        c.width = Math.max(1, Math.round(c.clientWidth * dpr));
        c.height = Math.max(1, Math.round(c.clientHeight * dpr));
        const ctx = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d'));
        ctx.clearRect(0, 0, c.width, c.height);
        const wf = this.rec.desc.waveform;
        if (!wf || !wf.peaks?.length || !(wf.step_ms > 0)) return;
        const dur = Math.max(1, this.rec.duration);
        ctx.fillStyle = 'rgba(21, 101, 192, 0.35)';
        const mid = c.height / 2;
        // one bar per pixel column: the loudest peak that falls into it
        for (let x = 0; x < c.width; x++) {
            const from = Math.floor(((x / c.width) * dur) / wf.step_ms);
            const to = Math.max(from + 1, Math.floor((((x + 1) / c.width) * dur) / wf.step_ms));
            let peak = 0;
            for (let i = from; i < to && i < wf.peaks.length; i++) peak = Math.max(peak, wf.peaks[i]);
            const half = (peak / 255) * mid;
            if (half > 0) ctx.fillRect(x, mid - half, 1, 2 * half);
        }
    }
}
