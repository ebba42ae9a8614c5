// Drawing ink items (the state form's `items`) on a canvas, and finding items under a point
// (the eraser). Coordinates are page-normalised; a `View` maps them to canvas pixels.

/**
 * @typedef {{ x: number, y: number, zoom: number }} Viewport
 * @typedef {{ width: number, height: number, vp: Viewport }} View canvas size in device pixels
 * @typedef {{ id: string, type: 'stroke', tool: string, color: string, width: number,
 *   points: number[][], done?: boolean, visible?: boolean }} Stroke
 * @typedef {{ id: string, type: 'shape', kind: string, color: string, width: number,
 *   x1: number, y1: number, x2: number, y2: number, visible?: boolean }} Shape
 * @typedef {{ id: string, type: 'text', color: string, size: number, x: number, y: number,
 *   text: string, visible?: boolean }} Text
 * @typedef {Stroke | Shape | Text} Item
 */

export const HIGHLIGHTER_ALPHA = 0.4;
const LINE_HEIGHT = 1.2;
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/** Page point → canvas pixel. @param {View} v */
export function toPx(v, x, y) {
    return [(x - v.vp.x) * v.vp.zoom * v.width, (y - v.vp.y) * v.vp.zoom * v.height];
}

/** A page-width fraction → canvas pixels. @param {View} v */
export function lenPx(v, f) {
    return f * v.vp.zoom * v.width;
}

/**
 * Draws all visible items: highlighters first (under pens), then everything else in order.
 * @param {CanvasRenderingContext2D} ctx
 * @param {View} view
 * @param {Item[]} items
 */
export function drawItems(ctx, view, items) {
    const visible = items.filter((i) => i.visible !== false);
    for (const it of visible) if (it.type === 'stroke' && it.tool === 'highlighter') drawItem(ctx, view, it);
    for (const it of visible) if (!(it.type === 'stroke' && it.tool === 'highlighter')) drawItem(ctx, view, it);
}

/**
 * @param {CanvasRenderingContext2D} ctx
 * @param {View} view
 * @param {Item} it
 */
export function drawItem(ctx, view, it) {
    ctx.save();
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.strokeStyle = it.color;
    ctx.fillStyle = it.color;
    if (it.type === 'stroke') drawStroke(ctx, view, it);
    else if (it.type === 'shape') drawShape(ctx, view, it);
    else if (it.type === 'text') drawText(ctx, view, it);
    ctx.restore();
}

/** @param {CanvasRenderingContext2D} ctx @param {View} view @param {Stroke} s */
function drawStroke(ctx, view, s) {
    if (s.points.length === 0) return;
    const w = Math.max(1, lenPx(view, s.width));
    if (s.tool === 'highlighter') {
        ctx.globalAlpha = HIGHLIGHTER_ALPHA;
    }
    ctx.lineWidth = w;
    const [x0, y0] = toPx(view, s.points[0][0], s.points[0][1]);
    if (s.points.length === 1) {
        ctx.beginPath();
        ctx.arc(x0, y0, w / 2, 0, Math.PI * 2);
        ctx.fill();
        return;
    }
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    // quadratic smoothing through midpoints
    for (let i = 1; i < s.points.length - 1; i++) {
        const [ax, ay] = toPx(view, s.points[i][0], s.points[i][1]);
        const [bx, by] = toPx(view, s.points[i + 1][0], s.points[i + 1][1]);
        ctx.quadraticCurveTo(ax, ay, (ax + bx) / 2, (ay + by) / 2);
    }
    const last = s.points[s.points.length - 1];
    const [lx, ly] = toPx(view, last[0], last[1]);
    ctx.lineTo(lx, ly);
    ctx.stroke();
}

/** @param {CanvasRenderingContext2D} ctx @param {View} view @param {Shape} s */
function drawShape(ctx, view, s) {
    const w = Math.max(1, lenPx(view, s.width));
    ctx.lineWidth = w;
    const [x1, y1] = toPx(view, s.x1, s.y1);
    const [x2, y2] = toPx(view, s.x2, s.y2);
    ctx.beginPath();
    if (s.kind === 'rect') {
        ctx.rect(Math.min(x1, x2), Math.min(y1, y2), Math.abs(x2 - x1), Math.abs(y2 - y1));
    } else if (s.kind === 'ellipse') {
        ctx.ellipse((x1 + x2) / 2, (y1 + y2) / 2, Math.abs(x2 - x1) / 2, Math.abs(y2 - y1) / 2, 0, 0, Math.PI * 2);
    } else {
        ctx.moveTo(x1, y1);
        ctx.lineTo(x2, y2);
    }
    ctx.stroke();
    if (s.kind === 'arrow') {
        const len = Math.hypot(x2 - x1, y2 - y1);
        if (len < 1) return;
        const head = Math.min(len * 0.5, Math.max(w * 4, 10));
        const a = Math.atan2(y2 - y1, x2 - x1);
        ctx.beginPath();
        ctx.moveTo(x2, y2);
        ctx.lineTo(x2 - head * Math.cos(a - Math.PI / 7), y2 - head * Math.sin(a - Math.PI / 7));
        ctx.lineTo(x2 - head * Math.cos(a + Math.PI / 7), y2 - head * Math.sin(a + Math.PI / 7));
        ctx.closePath();
        ctx.fill();
    }
}

/** @param {CanvasRenderingContext2D} ctx @param {View} view @param {Text} t */
function drawText(ctx, view, t) {
    const size = Math.max(1, lenPx(view, t.size));
    ctx.font = `${size}px ${FONT}`;
    ctx.textBaseline = 'top';
    const [x, y] = toPx(view, t.x, t.y);
    t.text.split('\n').forEach((line, i) => ctx.fillText(line, x, y + i * size * LINE_HEIGHT));
}

// ---- hit testing (page-normalised; `aspect` = page height / page width) ------------------------

/** Distance from p to segment ab, in page-width units. */
function segDist(px, py, ax, ay, bx, by, aspect) {
    // work in a space where x and y have the same unit (page widths)
    py *= aspect;
    ay *= aspect;
    by *= aspect;
    const dx = bx - ax;
    const dy = by - ay;
    const l2 = dx * dx + dy * dy;
    let t = l2 === 0 ? 0 : ((px - ax) * dx + (py - ay) * dy) / l2;
    t = Math.max(0, Math.min(1, t));
    return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/**
 * Whether the visible item is within `r` (page widths) of the point.
 * @param {Item} it
 * @param {number} x
 * @param {number} y
 * @param {number} r
 * @param {number} aspect page height / width
 */
export function hits(it, x, y, r, aspect) {
    if (it.visible === false) return false;
    if (it.type === 'stroke') {
        const pad = r + it.width / 2;
        const pts = it.points;
        if (pts.length === 1) return segDist(x, y, pts[0][0], pts[0][1], pts[0][0], pts[0][1], aspect) <= pad;
        for (let i = 1; i < pts.length; i++) {
            if (segDist(x, y, pts[i - 1][0], pts[i - 1][1], pts[i][0], pts[i][1], aspect) <= pad) return true;
        }
        return false;
    }
    if (it.type === 'shape') {
        const pad = r + it.width / 2;
        const { x1, y1, x2, y2 } = it;
        if (it.kind === 'rect') {
            return (
                segDist(x, y, x1, y1, x2, y1, aspect) <= pad ||
                segDist(x, y, x2, y1, x2, y2, aspect) <= pad ||
                segDist(x, y, x2, y2, x1, y2, aspect) <= pad ||
                segDist(x, y, x1, y2, x1, y1, aspect) <= pad
            );
        }
        if (it.kind === 'ellipse') {
            const cx = (x1 + x2) / 2;
            const cy = ((y1 + y2) / 2) * aspect;
            const rx = Math.abs(x2 - x1) / 2;
            const ry = (Math.abs(y2 - y1) / 2) * aspect;
            if (rx < 1e-6 || ry < 1e-6) return segDist(x, y, x1, y1, x2, y2, aspect) <= pad;
            const d = Math.hypot((x - cx) / rx, (y * aspect - cy) / ry);
            return Math.abs(d - 1) * Math.min(rx, ry) <= pad;
        }
        return segDist(x, y, x1, y1, x2, y2, aspect) <= pad;
    }
    // text: its approximate box
    const lines = it.text.split('\n');
    const w = Math.max(...lines.map((l) => l.length)) * it.size * 0.55;
    const hgt = (lines.length * it.size * LINE_HEIGHT) / aspect;
    return x >= it.x - r && x <= it.x + w + r && y >= it.y - r && y <= it.y + hgt + r;
}
