// The stage: a page image and its ink on two canvases, fitted into the available space and
// shown through a viewport ({x, y, zoom}: the page point at the top-left, 1 = whole page).
// The canvases are always the size of the fitted box (times devicePixelRatio); zooming
// changes what is drawn into them, never their size.

import { drawItems } from './ink.js';

/**
 * @typedef {import('./ink.js').Item} Item
 * @typedef {import('./ink.js').Viewport} Viewport
 * @typedef {import('./pages.js').Doc} Doc
 * @typedef {{ doc: Doc | null, page: number, vp: Viewport, items: Item[],
 *   pointer: { x: number, y: number } | null, overlay: Item[] }} Scene
 */

export const WHOLE_PAGE = Object.freeze({ x: 0, y: 0, zoom: 1 });

export class Stage {
    /**
     * @param {{ stage: HTMLElement, box: HTMLElement, pageCanvas: HTMLCanvasElement,
     *   inkCanvas: HTMLCanvasElement, laser: HTMLElement, images: import('./pages.js').PageImages,
     *   onPageShown?: (doc: Doc, page: number) => void }} parts
     */
    constructor(parts) {
        this.el = parts.stage;
        this.box = parts.box;
        this.pageCanvas = parts.pageCanvas;
        this.inkCanvas = parts.inkCanvas;
        this.laser = parts.laser;
        this.images = parts.images;
        this.onPageShown = parts.onPageShown ?? (() => {});
        /** @type {Scene} */
        this.scene = { doc: null, page: 0, vp: WHOLE_PAGE, items: [], pointer: null, overlay: [] };
        /** page height / width of the page being shown */
        this.aspect = 0.75;
        /** @type {HTMLImageElement | null} */
        this.image = null;
        this.imageKey = '';
        this.wantKey = '';
        this.frame = 0;
        this.boxW = 0;
        this.boxH = 0;
        /** What the page canvas currently shows, for tests and the UI (`doc:page` or ''). */
        this.drawnKey = '';
        /** Where the shown page image came from: 'local' (pre-loaded copy), 'network' or ''. */
        this.drawnFrom = '';
        new ResizeObserver(() => this.schedule()).observe(this.el);
    }

    /** @param {Partial<Scene>} scene */
    show(scene) {
        Object.assign(this.scene, scene);
        const { doc, page } = this.scene;
        const key = doc && page > 0 ? `${doc.id}:${page}:${this.images.url(doc, page)}` : '';
        if (key !== this.wantKey) {
            this.wantKey = key;
            if (doc && page > 0) {
                this.images.get(doc, page).then(
                    (img) => {
                        if (this.wantKey !== key) return;
                        this.image = img;
                        this.imageKey = key;
                        this.aspect = img.naturalHeight / img.naturalWidth || this.aspect;
                        this.schedule();
                        this.onPageShown(doc, page);
                    },
                    () => {},
                );
                this.images.prefetch(doc, page);
            } else {
                this.image = null;
                this.imageKey = '';
            }
        }
        this.schedule();
    }

    schedule() {
        if (this.frame) return;
        this.frame = requestAnimationFrame(() => {
            this.frame = 0;
            this.draw();
        });
    }

    layout() {
        const sw = this.el.clientWidth;
        const sh = this.el.clientHeight;
        const w = Math.floor(Math.max(1, Math.min(sw, sh / this.aspect)));
        const h = Math.floor(w * this.aspect);
        this.boxW = w;
        this.boxH = h;
        this.box.style.width = `${w}px`;
        this.box.style.height = `${h}px`;
        const dpr = window.devicePixelRatio || 1;
        for (const c of [this.pageCanvas, this.inkCanvas]) {
            const pw = Math.max(1, Math.round(w * dpr));
            const ph = Math.max(1, Math.round(h * dpr));
            if (c.width !== pw || c.height !== ph) {
                c.width = pw;
                c.height = ph;
            }
        }
    }

    draw() {
        this.layout();
        const { vp, items, overlay, pointer } = this.scene;
        // the same page from another source (its pre-loaded copy): keep showing the old image
        // until the new one has loaded, rather than flashing an empty page
        const page = (/** @type {string} */ k) => k.split(':').slice(0, 2).join(':');
        const shown = !!this.image && !!this.wantKey && page(this.imageKey) === page(this.wantKey);
        this.box.hidden = !this.wantKey;
        // page
        const pc = /** @type {CanvasRenderingContext2D} */ (this.pageCanvas.getContext('2d'));
        pc.setTransform(1, 0, 0, 1, 0, 0);
        pc.fillStyle = '#ffffff';
        pc.fillRect(0, 0, this.pageCanvas.width, this.pageCanvas.height);
        if (shown && this.image) {
            const img = this.image;
            const iw = img.naturalWidth;
            const ih = img.naturalHeight;
            pc.imageSmoothingQuality = 'high';
            pc.drawImage(img, vp.x * iw, vp.y * ih, iw / vp.zoom, ih / vp.zoom, 0, 0, this.pageCanvas.width, this.pageCanvas.height);
            this.drawnKey = page(this.imageKey);
            this.drawnFrom = img.src.startsWith('blob:') ? 'local' : 'network';
        } else {
            this.drawnKey = '';
            this.drawnFrom = '';
        }
        // ink
        const ic = /** @type {CanvasRenderingContext2D} */ (this.inkCanvas.getContext('2d'));
        ic.setTransform(1, 0, 0, 1, 0, 0);
        ic.clearRect(0, 0, this.inkCanvas.width, this.inkCanvas.height);
        const view = { width: this.inkCanvas.width, height: this.inkCanvas.height, vp };
        if (this.wantKey) {
            drawItems(ic, view, items);
            drawItems(ic, view, overlay);
        }
        // laser pointer
        if (pointer && this.wantKey) {
            const px = (pointer.x - vp.x) * vp.zoom * this.boxW;
            const py = (pointer.y - vp.y) * vp.zoom * this.boxH;
            this.laser.style.transform = `translate(${px}px, ${py}px)`;
            this.laser.hidden = false;
        } else {
            this.laser.hidden = true;
        }
    }

    /** Client coordinates → page-normalised point under the current viewport. */
    toPage(clientX, clientY) {
        const r = this.inkCanvas.getBoundingClientRect();
        const { vp } = this.scene;
        const x = vp.x + (clientX - r.left) / r.width / vp.zoom;
        const y = vp.y + (clientY - r.top) / r.height / vp.zoom;
        return [x, y];
    }

    /** Page-normalised point → client coordinates. */
    toClient(x, y) {
        const r = this.inkCanvas.getBoundingClientRect();
        const { vp } = this.scene;
        return [r.left + (x - vp.x) * vp.zoom * r.width, r.top + (y - vp.y) * vp.zoom * r.height];
    }
}

/**
 * A viewport zoomed by `factor` around the page point (cx, cy), clamped to the page.
 * @param {Viewport} vp
 */
export function zoomAround(vp, factor, cx, cy) {
    const zoom = Math.min(8, Math.max(1, vp.zoom * factor));
    const span = 1 / zoom;
    return clampViewport({ x: cx - (cx - vp.x) * (vp.zoom / zoom), y: cy - (cy - vp.y) * (vp.zoom / zoom), zoom }, span);
}

/** @param {Viewport} vp */
export function clampViewport(vp, span = 1 / vp.zoom) {
    const r4 = (v) => Math.round(v * 10000) / 10000;
    return {
        x: r4(Math.min(Math.max(0, vp.x), 1 - span)),
        y: r4(Math.min(Math.max(0, vp.y), 1 - span)),
        zoom: Math.round(vp.zoom * 100) / 100,
    };
}
