// The codec and reducer the session uses (its `Sync`): DOM elements of the sync protocol to
// plain events, events to the spec's state form (protocol/README.md, "State form").
//
// PROVISIONAL: a compact implementation written against the spec so the client runs before
// `codec.js` / `state.js` (the shared, vector-tested implementation) land; then this file only
// adapts those.

const NS = 'urn:lectern:sync:1';
const UNDO_MAX = 100;

/** @param {Element} el */
const kids = (el) => Array.from(el.children);
/** @param {Element} el @param {string} a */
const num = (el, a) => Number(el.getAttribute(a));
/** @param {string | null} text @returns {number[][]} */
export function parsePoints(text) {
    return (text ?? '')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map((pair) => pair.split(',').map(Number))
        .filter((p) => p.length === 2 && p.every(Number.isFinite));
}

/**
 * One payload element → a plain object `{type, ...}` (attributes typed).
 * @param {Element} p
 */
export function decodePayload(p) {
    const type = p.localName;
    switch (type) {
        case 'document': {
            const ps = kids(p)
                .filter((c) => c.localName === 'p')
                .sort((a, b) => num(a, 'n') - num(b, 'n'));
            return {
                type,
                id: p.getAttribute('id') ?? '',
                pages: num(p, 'pages'),
                base: p.getAttribute('base') ?? '',
                title: p.getAttribute('title') ?? '',
                hashes: ps.map((c) => (c.getAttribute('hash') ?? '').toLowerCase()),
                sizes: ps.map((c) => [num(c, 'w'), num(c, 'h')]),
            };
        }
        case 'page':
            return { type, n: num(p, 'n') };
        case 'viewport':
            return { type, x: num(p, 'x'), y: num(p, 'y'), zoom: num(p, 'zoom') };
        case 'stroke-begin':
            return {
                type,
                id: p.getAttribute('id') ?? '',
                page: num(p, 'page'),
                tool: p.getAttribute('tool') ?? 'pen',
                color: (p.getAttribute('color') ?? '#000000').toLowerCase(),
                width: num(p, 'width'),
                points: parsePoints(p.textContent),
            };
        case 'stroke-extend':
            return { type, id: p.getAttribute('id') ?? '', points: parsePoints(p.textContent) };
        case 'stroke-end':
            return { type, id: p.getAttribute('id') ?? '' };
        case 'shape':
            return {
                type,
                id: p.getAttribute('id') ?? '',
                page: num(p, 'page'),
                kind: p.getAttribute('kind') ?? 'line',
                color: (p.getAttribute('color') ?? '#000000').toLowerCase(),
                width: num(p, 'width'),
                x1: num(p, 'x1'),
                y1: num(p, 'y1'),
                x2: num(p, 'x2'),
                y2: num(p, 'y2'),
            };
        case 'text':
            return {
                type,
                id: p.getAttribute('id') ?? '',
                page: num(p, 'page'),
                color: (p.getAttribute('color') ?? '#000000').toLowerCase(),
                size: num(p, 'size'),
                x: num(p, 'x'),
                y: num(p, 'y'),
                text: p.textContent ?? '',
            };
        case 'erase':
            return { type, page: num(p, 'page'), ids: (p.getAttribute('ids') ?? '').split(/\s+/).filter(Boolean) };
        case 'clear':
        case 'undo':
        case 'redo':
            return { type, page: num(p, 'page') };
        case 'pointer':
            return p.getAttribute('hide') === 'true'
                ? { type, hide: true }
                : { type, hide: false, page: num(p, 'page'), x: num(p, 'x'), y: num(p, 'y') };
        case 'presenter':
            return { type, nick: p.getAttribute('nick') ?? '' };
        default:
            return { type };
    }
}

/**
 * `<event seq t>` → `{seq, t, payload}`.
 * @param {Element} el
 */
export function decodeEvent(el) {
    const payload = kids(el)[0];
    if (!payload) return null;
    return { seq: num(el, 'seq'), t: num(el, 't') || 0, payload: decodePayload(payload) };
}

export function initial() {
    return { seq: 0, presenter: null, document: null, page: 0, viewport: { x: 0, y: 0, zoom: 1 }, pointer: null, ink: {} };
}

/** @param {any} s @param {number} page */
function pageInk(s, page) {
    const doc = s.document.id;
    s.ink[doc] ??= {};
    return (s.ink[doc][String(page)] ??= { items: [], undo: [], redo: [] });
}

/** @param {any} pg @param {{add?: string[], remove?: string[]}} action */
function push(pg, action) {
    pg.undo.push(action);
    if (pg.undo.length > UNDO_MAX) pg.undo.shift();
    pg.redo = [];
    prune(pg);
}

/** Drops hidden items that neither stack refers to. */
function prune(pg) {
    const refs = new Set();
    for (const a of [...pg.undo, ...pg.redo]) for (const id of a.add ?? a.remove ?? []) refs.add(id);
    pg.items = pg.items.filter((i) => i.visible || refs.has(i.id));
}

/** @param {any} pg @param {string[]} ids @param {boolean} visible */
function setVisible(pg, ids, visible) {
    const set = new Set(ids);
    for (const i of pg.items) if (set.has(i.id)) i.visible = visible;
}

/** @param {any} s @param {string} id */
function findStroke(s, id) {
    if (!s.document) return null;
    for (const pg of Object.values(s.ink[s.document.id] ?? {})) {
        const it = /** @type {any} */ (pg).items.find((i) => i.id === id && i.type === 'stroke');
        if (it) return it;
    }
    return null;
}

/**
 * Applies one event; returns the new state (the old one is not modified).
 * @param {any} state
 * @param {{ seq: number, t: number, payload: any }} ev
 */
export function apply(state, ev) {
    const s = structuredClone(state);
    s.seq = ev.seq;
    const p = ev.payload;
    const docPage = (n) => s.document && Number.isInteger(n) && n >= 1 && n <= s.document.pages;
    switch (p.type) {
        case 'document':
            s.document = { id: p.id, pages: p.pages, base: p.base, title: p.title, hashes: p.hashes, sizes: p.sizes };
            s.page = 1;
            s.viewport = { x: 0, y: 0, zoom: 1 };
            s.pointer = null;
            break;
        case 'page':
            if (docPage(p.n)) {
                s.page = p.n;
                s.viewport = { x: 0, y: 0, zoom: 1 };
                s.pointer = null;
            }
            break;
        case 'viewport':
            s.viewport = { x: p.x, y: p.y, zoom: p.zoom };
            break;
        case 'stroke-begin':
        case 'shape':
        case 'text': {
            if (!docPage(p.page)) break;
            const pg = pageInk(s, p.page);
            let item;
            if (p.type === 'stroke-begin') item = { id: p.id, type: 'stroke', tool: p.tool, color: p.color, width: p.width, points: p.points, done: false, visible: true };
            else if (p.type === 'shape') item = { id: p.id, type: 'shape', kind: p.kind, color: p.color, width: p.width, x1: p.x1, y1: p.y1, x2: p.x2, y2: p.y2, visible: true };
            else item = { id: p.id, type: 'text', color: p.color, size: p.size, x: p.x, y: p.y, text: p.text, visible: true };
            pg.items.push(item);
            push(pg, { add: [p.id] });
            break;
        }
        case 'stroke-extend': {
            const st = findStroke(s, p.id);
            if (st && !st.done) st.points.push(...p.points);
            break;
        }
        case 'stroke-end': {
            const st = findStroke(s, p.id);
            if (st) st.done = true;
            break;
        }
        case 'erase':
        case 'clear': {
            if (!docPage(p.page)) break;
            const pg = pageInk(s, p.page);
            const want = p.type === 'clear' ? null : new Set(p.ids);
            const ids = pg.items.filter((i) => i.visible && (!want || want.has(i.id))).map((i) => i.id);
            if (ids.length === 0) break;
            setVisible(pg, ids, false);
            push(pg, { remove: ids });
            break;
        }
        case 'undo':
        case 'redo': {
            if (!docPage(p.page)) break;
            const pg = pageInk(s, p.page);
            const from = p.type === 'undo' ? pg.undo : pg.redo;
            const to = p.type === 'undo' ? pg.redo : pg.undo;
            const a = from.pop();
            if (!a) break;
            const show = p.type === 'undo' ? !!a.remove : !!a.add;
            setVisible(pg, a.add ?? a.remove, show);
            to.push(a);
            if (pg.undo.length > UNDO_MAX) pg.undo.shift();
            prune(pg);
            break;
        }
        case 'pointer':
            s.pointer = p.hide ? null : { page: p.page, x: p.x, y: p.y };
            break;
        case 'presenter':
            s.presenter = p.nick;
            s.pointer = null;
            for (const pages of Object.values(s.ink)) {
                for (const pg of Object.values(/** @type {any} */ (pages))) for (const i of pg.items) if (i.type === 'stroke') i.done = true;
            }
            break;
        default:
            break;
    }
    return s;
}

/** @param {Element} el @returns {{add?: string[], remove?: string[]}[]} */
function actions(el) {
    return kids(el).map((a) => ({ [a.localName]: (a.getAttribute('ids') ?? '').split(/\s+/).filter(Boolean) }));
}

/**
 * The snapshot IQ's `<snapshot/>` → the state form.
 * @param {Element} el
 */
export function decodeSnapshot(el) {
    const s = initial();
    s.seq = num(el, 'seq') || 0;
    s.presenter = el.getAttribute('presenter') || null;
    for (const c of kids(el)) {
        if (c.namespaceURI !== NS && c.namespaceURI !== null && c.namespaceURI !== '') continue;
        const name = c.localName;
        if (name === 'document') {
            const d = decodePayload(c);
            s.document = { id: d.id, pages: d.pages, base: d.base, title: d.title, hashes: d.hashes, sizes: d.sizes };
        } else if (name === 'page') {
            s.page = num(c, 'n');
        } else if (name === 'viewport') {
            s.viewport = { x: num(c, 'x'), y: num(c, 'y'), zoom: num(c, 'zoom') };
        } else if (name === 'pointer') {
            s.pointer = c.getAttribute('hide') === 'true' ? null : { page: num(c, 'page'), x: num(c, 'x'), y: num(c, 'y') };
        } else if (name === 'ink') {
            const doc = c.getAttribute('document') ?? '';
            const page = c.getAttribute('page') ?? '';
            /** @type {any} */
            const pg = { items: [], undo: [], redo: [] };
            for (const i of kids(c)) {
                const visible = i.getAttribute('visible') !== 'false';
                if (i.localName === 'stroke') {
                    pg.items.push({
                        id: i.getAttribute('id'),
                        type: 'stroke',
                        tool: i.getAttribute('tool') ?? 'pen',
                        color: (i.getAttribute('color') ?? '#000000').toLowerCase(),
                        width: num(i, 'width'),
                        points: parsePoints(i.textContent),
                        done: i.getAttribute('done') !== 'false',
                        visible,
                    });
                } else if (i.localName === 'shape' || i.localName === 'text') {
                    const d = decodePayload(i);
                    delete d.page;
                    pg.items.push({ ...d, visible });
                } else if (i.localName === 'undo') {
                    pg.undo = actions(i);
                } else if (i.localName === 'redo') {
                    pg.redo = actions(i);
                }
            }
            s.ink[doc] ??= {};
            s.ink[doc][page] = pg;
        }
    }
    return s;
}

/** @type {import('./session.js').Sync} */
export const sync = { initial, decodeEvent, decodeSnapshot, apply };
