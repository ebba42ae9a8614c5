// The presenter's drawing tools: pointer events on the stage become sync requests to the focus
// (stroke-begin/extend/end, shape, text, pointer, erase). What is being drawn shows at once as
// a local overlay until the focus's echo carries it into the state.

import { hits } from './ink.js';

/**
 * @typedef {import('./ink.js').Item} Item
 * @typedef {{ request: (name: string, attrs: Record<string, any>, text?: string) => string,
 *   newItemId: () => string }} Requests
 */

export const TOOLS = ['pen', 'highlighter', 'line', 'arrow', 'rect', 'ellipse', 'text', 'laser', 'eraser'];
const SHAPES = new Set(['line', 'arrow', 'rect', 'ellipse']);
/** How often buffered stroke points / pointer moves / erasures are sent, ms. */
const FLUSH_MS = 40;
const MAX_POINTS = 512;
/** How long a drawn item shows locally without the focus's echo. */
const PENDING_MS = 10000;

/** A wire coordinate: 4 decimals, inside -0.5..1.5. */
export const coord = (v) => Math.round(Math.min(1.5, Math.max(-0.5, v)) * 10000) / 10000;
/** @param {number[][]} pts */
const pointList = (pts) => pts.map(([x, y]) => `${coord(x)},${coord(y)}`).join(' ');

export class Tools {
    /**
     * @param {{ stage: import('./stage.js').Stage, requests: Requests,
     *   current: () => { page: number, items: Item[], aspect: number } | null,
     *   redraw: (overlay: Item[]) => void, askText: (x: number, y: number, size: number, color: string) => Promise<string | null> }} deps
     */
    constructor(deps) {
        this.deps = deps;
        this.tool = 'pen';
        this.color = '#e53935';
        this.width = 0.004;
        this.enabled = false;
        /** @type {Map<string, Item>} local items not yet confirmed by the focus */
        this.pending = new Map();
        /** @type {Map<string, number>} when each pending item was last touched */
        this.since = new Map();
        /** @type {null | { id: string, kind: string, page: number, pointerId: number, points: number[][], sent: number, x1: number, y1: number }} */
        this.active = null;
        /** @type {ReturnType<typeof setTimeout> | null} */
        this.flushTimer = null;
        /** @type {Set<string>} */
        this.eraseIds = new Set();
        /** @type {number[] | null} */
        this.laserAt = null;
        this.laserPage = 0;
        this.laserShown = false;
        const el = deps.stage.inkCanvas;
        el.addEventListener('pointerdown', (e) => this.down(e));
        el.addEventListener('pointermove', (e) => this.move(e));
        el.addEventListener('pointerup', (e) => this.up(e));
        el.addEventListener('pointercancel', (e) => this.up(e));
    }

    /** Items of the overlay: what is being drawn and what was sent but not echoed yet. */
    overlay() {
        return Array.from(this.pending.values());
    }

    /** Called with the new state's items of the shown page: drops confirmed overlay items
     * (and any the focus never confirmed within PENDING_MS: it refused them). */
    confirm(items) {
        let changed = false;
        const byId = new Map(items.map((i) => [i.id, i]));
        const now = performance.now();
        for (const [id, local] of this.pending) {
            const got = byId.get(id);
            if (this.active?.id === id) continue;
            if (now - (this.since.get(id) ?? now) > PENDING_MS) {
                this.pending.delete(id);
                this.since.delete(id);
                changed = true;
                continue;
            }
            if (got && (got.type !== 'stroke' || got.done || /** @type {any} */ (got).points.length >= /** @type {any} */ (local).points.length)) {
                this.pending.delete(id);
                this.since.delete(id);
                changed = true;
            }
        }
        return changed;
    }

    /** @param {string} id */
    touch(id) {
        this.since.set(id, performance.now());
    }

    /** Ink items of the state to hide while an overlay version of them shows. */
    hiddenIds() {
        return new Set(this.pending.keys());
    }

    setEnabled(on) {
        if (this.enabled === on) return;
        this.enabled = on;
        if (!on) this.cancel();
    }

    cancel() {
        const had = this.active !== null || this.pending.size > 0;
        this.active = null;
        this.pending.clear();
        this.since.clear();
        if (had) this.deps.redraw([]);
    }

    /** @param {PointerEvent} e */
    down(e) {
        if (!this.enabled || e.button > 0) return;
        const cur = this.deps.current();
        if (!cur) return;
        e.preventDefault();
        const [x, y] = this.deps.stage.toPage(e.clientX, e.clientY);
        const t = this.tool;
        if (t === 'text') {
            this.placeText(cur.page, x, y);
            return;
        }
        // touch pointers are captured implicitly; capturing again left Chromium without the next tap's click
        if (e.pointerType !== 'touch') /** @type {any} */ (e.target).setPointerCapture?.(e.pointerId);
        if (t === 'pen' || t === 'highlighter') {
            const id = this.deps.requests.newItemId();
            this.active = { id, kind: t, page: cur.page, pointerId: e.pointerId, points: [[x, y]], sent: 1, x1: x, y1: y };
            this.touch(id);
            this.pending.set(id, { id, type: 'stroke', tool: t, color: this.color, width: this.width, points: [[x, y]], visible: true });
            this.deps.requests.request('stroke-begin', { id, page: cur.page, tool: t, color: this.color, width: this.width }, pointList([[x, y]]));
        } else if (SHAPES.has(t)) {
            const id = this.deps.requests.newItemId();
            this.active = { id, kind: t, page: cur.page, pointerId: e.pointerId, points: [], sent: 0, x1: x, y1: y };
            this.touch(id);
            this.pending.set(id, { id, type: 'shape', kind: t, color: this.color, width: this.width, x1: x, y1: y, x2: x, y2: y, visible: true });
        } else if (t === 'laser') {
            this.active = { id: '', kind: t, page: cur.page, pointerId: e.pointerId, points: [], sent: 0, x1: x, y1: y };
            this.laserAt = [x, y];
            this.laserPage = cur.page;
            this.scheduleFlush();
        } else if (t === 'eraser') {
            this.active = { id: '', kind: t, page: cur.page, pointerId: e.pointerId, points: [], sent: 0, x1: x, y1: y };
            this.eraseAt(cur, x, y);
        }
        this.deps.redraw(this.overlay());
    }

    /** @param {PointerEvent} e */
    move(e) {
        const a = this.active;
        if (!this.enabled) return;
        if (!a) {
            // the laser follows a mouse without a button pressed, too
            if (this.tool === 'laser' && e.pointerType === 'mouse') {
                const cur = this.deps.current();
                if (!cur) return;
                this.laserAt = this.deps.stage.toPage(e.clientX, e.clientY);
                this.laserPage = cur.page;
                this.scheduleFlush();
            }
            return;
        }
        if (e.pointerId !== a.pointerId) return;
        e.preventDefault();
        const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
        const list = events.length ? events : [e];
        for (const ev of list) {
            const [x, y] = this.deps.stage.toPage(ev.clientX, ev.clientY);
            if (a.kind === 'pen' || a.kind === 'highlighter') {
                const last = a.points[a.points.length - 1];
                if (Math.abs(last[0] - x) < 0.0005 && Math.abs(last[1] - y) < 0.0005) continue;
                a.points.push([x, y]);
                /** @type {any} */ (this.pending.get(a.id)).points.push([x, y]);
            } else if (SHAPES.has(a.kind)) {
                const s = /** @type {any} */ (this.pending.get(a.id));
                s.x2 = x;
                s.y2 = y;
            } else if (a.kind === 'laser') {
                this.laserAt = [x, y];
            } else if (a.kind === 'eraser') {
                const cur = this.deps.current();
                if (cur) this.eraseAt(cur, x, y);
            }
        }
        if (a.kind !== 'laser') this.deps.redraw(this.overlay());
        this.scheduleFlush();
    }

    /** @param {PointerEvent} e */
    up(e) {
        const a = this.active;
        if (!a || e.pointerId !== a.pointerId) return;
        this.flush();
        this.active = null;
        if (a.id) this.touch(a.id);
        const req = this.deps.requests;
        if (a.kind === 'pen' || a.kind === 'highlighter') {
            req.request('stroke-end', { id: a.id });
        } else if (SHAPES.has(a.kind)) {
            const s = /** @type {any} */ (this.pending.get(a.id));
            if (Math.hypot(s.x2 - s.x1, s.y2 - s.y1) < 0.002) {
                this.pending.delete(a.id);
            } else {
                req.request('shape', {
                    id: a.id, page: a.page, kind: a.kind, color: this.color, width: this.width,
                    x1: coord(s.x1), y1: coord(s.y1), x2: coord(s.x2), y2: coord(s.y2),
                });
            }
        } else if (a.kind === 'laser' && e.pointerType !== 'mouse') {
            req.request('pointer', { hide: 'true' });
            this.laserShown = false;
        }
        this.deps.redraw(this.overlay());
    }

    /** Hides the laser pointer (tool change, page turn). */
    hideLaser() {
        if (this.laserShown) this.deps.requests.request('pointer', { hide: 'true' });
        this.laserShown = false;
        this.laserAt = null;
    }

    /** @param {{ page: number, items: Item[], aspect: number }} cur */
    eraseAt(cur, x, y) {
        const hidden = this.hiddenIds();
        for (const it of cur.items) {
            if (hidden.has(it.id) || this.eraseIds.has(it.id)) continue;
            if (hits(it, x, y, 0.008, cur.aspect)) this.eraseIds.add(it.id);
        }
        for (const it of this.pending.values()) if (hits(it, x, y, 0.008, cur.aspect)) this.eraseIds.add(it.id);
        this.scheduleFlush();
    }

    scheduleFlush() {
        if (this.flushTimer) return;
        this.flushTimer = setTimeout(() => this.flush(), FLUSH_MS);
    }

    /** Sends what is buffered: new stroke points, the laser position, erasures. */
    flush() {
        if (this.flushTimer) clearTimeout(this.flushTimer);
        this.flushTimer = null;
        const a = this.active;
        const req = this.deps.requests;
        if (a && (a.kind === 'pen' || a.kind === 'highlighter')) {
            while (a.sent < a.points.length) {
                const chunk = a.points.slice(a.sent, a.sent + MAX_POINTS);
                req.request('stroke-extend', { id: a.id }, pointList(chunk));
                a.sent += chunk.length;
            }
        }
        if (this.laserAt) {
            const [x, y] = this.laserAt;
            if (x >= 0 && x <= 1 && y >= 0 && y <= 1) {
                req.request('pointer', { page: this.laserPage, x: coord(x), y: coord(y) });
                this.laserShown = true;
            }
            this.laserAt = null;
        }
        if (this.eraseIds.size > 0) {
            const cur = this.deps.current();
            if (cur) req.request('erase', { page: cur.page, ids: Array.from(this.eraseIds).join(' ') });
            this.eraseIds.clear();
        }
    }

    /** Text tool: asks for the text in place, then sends it. */
    async placeText(page, x, y) {
        const size = Math.max(0.012, this.width * 6);
        const text = await this.deps.askText(x, y, size, this.color);
        if (!text || !text.trim()) return;
        const id = this.deps.requests.newItemId();
        const body = text.slice(0, 1024);
        this.touch(id);
        this.pending.set(id, { id, type: 'text', color: this.color, size, x, y, text: body, visible: true });
        this.deps.requests.request('text', { id, page, color: this.color, size: Math.round(size * 10000) / 10000, x: coord(x), y: coord(y) }, body);
        this.deps.redraw(this.overlay());
    }
}
