// The meeting state (protocol/README.md, "State form"): applying events in seq order, the
// canonical state-form JSON, and the snapshot answer. A port of the Rust crate's `MeetingState`
// rule for rule; the shared vectors in protocol/vectors/ hold both to byte-identical JSON.
//
// The state is a plain object in the state form itself (what the UI reads: `state.ink[doc][page]
// .items`), so it can be cloned, logged and compared freely. Every check depends only on what the
// state shows, never on forgotten history, so a late joiner starting from a snapshot accepts and
// ignores exactly the events that an attendee present from the start does.

import {
    LIMITS, NS, ProtocolError, checkText, decodeEvent, invalid, isDocumentId, isMeetingNumber, isNick,
    nsChildren, ownText, parsePayload, parsePoints, payloadNode, reader, tooLarge,
} from './codec.js';

/**
 * @typedef {import('./codec.js').Payload} Payload
 * @typedef {import('./codec.js').SyncEvent} SyncEvent
 * @typedef {import('./codec.js').XmlNode} XmlNode
 * @typedef {{ id: string, type: 'stroke', tool: string, color: string, width: number,
 *     points: number[][], done: boolean, visible: boolean }} StrokeItem
 * @typedef {{ id: string, type: 'shape', kind: string, color: string, width: number, x1: number,
 *     y1: number, x2: number, y2: number, visible: boolean }} ShapeItem
 * @typedef {{ id: string, type: 'text', color: string, size: number, x: number, y: number,
 *     text: string, visible: boolean }} TextItem
 * @typedef {StrokeItem | ShapeItem | TextItem} Item
 * @typedef {{ add: string[], remove?: undefined } | { remove: string[], add?: undefined }} Action
 * @typedef {{ items: Item[], undo: Action[], redo: Action[] }} PageInk
 * @typedef {{ id: string, pages: number, base: string, title: string | null, hashes: string[],
 *     sizes: number[][] }} DocumentState
 * @typedef {{ seq: number, presenter: string | null, document: DocumentState | null, page: number,
 *     viewport: { x: number, y: number, zoom: number }, pointer: { page: number, x: number, y: number } | null,
 *     recording_paused: boolean, ink: Record<string, Record<string, PageInk>> }} State
 */

/** @returns {State} */
export function initialState() {
    return { seq: 0, presenter: null, document: null, page: 0, viewport: { x: 0, y: 0, zoom: 1 }, pointer: null, recording_paused: false, ink: {} };
}

/** @param {Action} a */
const idsOf = (a) => a.add ?? a.remove;

/** @param {State} state @param {string} id */
function locate(state, id) {
    for (const pages of Object.values(state.ink)) {
        for (const pg of Object.values(pages)) {
            const item = pg.items.find((i) => i.id === id);
            if (item) return item;
        }
    }
    return null;
}

// ---- one page's undo/redo (spec: "Undo and redo are per page") ---------------------------------

/** Drops hidden items that no action refers to any more. @param {PageInk} pg */
function prune(pg) {
    const referenced = new Set([...pg.undo, ...pg.redo].flatMap(idsOf));
    pg.items = pg.items.filter((i) => i.visible || referenced.has(i.id));
}

/** @param {PageInk} pg */
function trimUndo(pg) {
    if (pg.undo.length > LIMITS.undoDepth) pg.undo.splice(0, pg.undo.length - LIMITS.undoDepth);
}

/** @param {PageInk} pg @param {Action} action */
function push(pg, action) {
    pg.undo.push(action);
    trimUndo(pg);
    pg.redo = [];
    prune(pg);
}

/** Appends a new visible item and records `add [id]`. @param {PageInk} pg @param {Item} item */
function add(pg, item) {
    pg.items.push(item);
    push(pg, { add: [item.id] });
}

/** Hides the listed items that are visible; records nothing if none were. @param {PageInk} pg @param {string[]} ids */
function erase(pg, ids) {
    /** @type {string[]} */
    const hidden = [];
    for (const id of ids) {
        const item = pg.items.find((i) => i.id === id);
        if (item?.visible) {
            item.visible = false;
            hidden.push(id);
        }
    }
    if (hidden.length > 0) push(pg, { remove: hidden });
}

/** Applies an action, or its inverse: `add` shows, `remove` hides. @param {PageInk} pg @param {Action} a @param {boolean} inverted */
function show(pg, a, inverted) {
    const visible = (a.add !== undefined) !== inverted;
    for (const id of idsOf(a)) {
        const item = pg.items.find((i) => i.id === id);
        if (item) item.visible = visible;
    }
}

/** @param {PageInk} pg @param {'undo' | 'redo'} which */
function undoRedo(pg, which) {
    const [from, to] = which === 'undo' ? [pg.undo, pg.redo] : [pg.redo, pg.undo];
    const action = from.pop();
    if (!action) return;
    show(pg, action, which === 'undo');
    to.push(action);
    trimUndo(pg);
    prune(pg);
}

// ---- applying events ---------------------------------------------------------------------------

/** Throws why the payload would not take effect on this state (the focus rejects such a request). @param {State} state @param {Payload} p */
export function checkPayload(state, p) {
    const current = () => {
        if (!state.document) throw new ProtocolError('no-document', 'no document is shared');
        return state.document;
    };
    /** @param {number} n */
    const checkPage = (n) => {
        if (!(n >= 1 && n <= current().pages)) throw new ProtocolError('no-such-page', `page ${n} is not in the current document`);
    };
    /** @param {string} id @param {number} page */
    const checkNew = (id, page) => {
        checkPage(page);
        if (locate(state, id)) throw new ProtocolError('duplicate-id', `item id \`${id}\` is already in use`);
    };
    /** @param {string} id */
    const openStroke = (id) => {
        const item = locate(state, id);
        if (item?.type !== 'stroke' || item.done) throw new ProtocolError('no-open-stroke', `no unfinished stroke \`${id}\``);
        return item.points.length;
    };
    switch (p.type) {
        case 'document':
        case 'presenter':
        case 'audio':
        case 'recording':
            return;
        case 'viewport':
            current();
            return;
        case 'pointer':
            if (!p.hide) checkPage(p.page ?? 0);
            return;
        case 'page':
            return checkPage(p.n);
        case 'stroke-begin':
        case 'shape':
        case 'text':
            return checkNew(p.id, p.page);
        case 'stroke-extend':
            if (openStroke(p.id) + p.points.length > LIMITS.strokePoints) throw tooLarge('points');
            return;
        case 'stroke-end':
            openStroke(p.id);
            return;
        default:
            return checkPage(p.page);
    }
}

/** @param {State} state @param {number} page @param {(pg: PageInk) => void} action */
function edit(state, page, action) {
    const doc = /** @type {DocumentState} */ (state.document).id;
    const pages = (state.ink[doc] ??= {});
    const pg = (pages[page] ??= { items: [], undo: [], redo: [] });
    action(pg);
    if (pg.items.length === 0 && pg.undo.length === 0 && pg.redo.length === 0) delete pages[page];
    if (Object.keys(pages).length === 0) delete state.ink[doc];
}

/** @param {State} state @param {Payload} p */
function mutate(state, p) {
    const turnTo = (/** @type {number} */ n) => {
        state.page = n;
        state.viewport = { x: 0, y: 0, zoom: 1 };
        state.pointer = null;
    };
    switch (p.type) {
        case 'audio':
            return; // audio takes its seq and nothing else
        case 'recording':
            state.recording_paused = p.paused;
            return;
        case 'document':
            state.document = { id: p.id, pages: p.pages, base: p.base, title: p.title, hashes: [...p.hashes], sizes: p.sizes.map(([w, h]) => [w, h]) };
            return turnTo(1);
        case 'page':
            return turnTo(p.n);
        case 'viewport':
            state.viewport = { x: p.x, y: p.y, zoom: p.zoom };
            return;
        case 'pointer':
            state.pointer = p.hide ? null : { page: p.page ?? 0, x: p.x ?? 0, y: p.y ?? 0 };
            return;
        case 'presenter':
            // Only the presenter draws, so every unfinished stroke is the previous presenter's.
            state.presenter = p.nick;
            state.pointer = null;
            for (const pages of Object.values(state.ink)) {
                for (const pg of Object.values(pages)) for (const i of pg.items) if (i.type === 'stroke') i.done = true;
            }
            return;
        case 'stroke-begin': {
            const { id, tool, color, width } = p;
            const item = { id, type: 'stroke', tool, color, width, points: p.points.map(([x, y]) => [x, y]), done: false, visible: true };
            return edit(state, p.page, (pg) => add(pg, /** @type {Item} */ (item)));
        }
        case 'shape': {
            const { id, kind, color, width, x1, y1, x2, y2 } = p;
            const item = { id, type: 'shape', kind, color, width, x1, y1, x2, y2, visible: true };
            return edit(state, p.page, (pg) => add(pg, /** @type {Item} */ (item)));
        }
        case 'text': {
            const { id, color, size, x, y, text } = p;
            const item = { id, type: 'text', color, size, x, y, text, visible: true };
            return edit(state, p.page, (pg) => add(pg, /** @type {Item} */ (item)));
        }
        case 'stroke-extend': {
            const item = /** @type {StrokeItem} */ (locate(state, p.id));
            for (const [x, y] of p.points) item.points.push([x, y]);
            return;
        }
        case 'stroke-end':
            /** @type {StrokeItem} */ (locate(state, p.id)).done = true;
            return;
        case 'erase':
            return edit(state, p.page, (pg) => erase(pg, p.ids));
        case 'clear':
            return edit(state, p.page, (pg) => erase(pg, pg.items.filter((i) => i.visible).map((i) => i.id)));
        default:
            return edit(state, p.page, (pg) => undoRedo(pg, p.type === 'undo' ? 'undo' : 'redo'));
    }
}

/**
 * Applies one sequenced event in place. Returns null when it took effect, else the reason: a
 * `sequence` error (or a missing seq) leaves the state untouched; any other error means the
 * payload was ignored but its seq was consumed, as the spec requires of invalid events.
 * @param {State} state @param {SyncEvent} ev @returns {ProtocolError | null}
 */
export function applyEvent(state, ev) {
    if (!Number.isInteger(ev.seq)) return invalid('seq', 'an event needs its seq');
    if (ev.seq !== state.seq + 1) {
        return Object.assign(new ProtocolError('sequence', `event seq ${ev.seq} does not follow ${state.seq}`), { last: state.seq, got: ev.seq });
    }
    state.seq = ev.seq;
    if (!ev.payload) return ev.error ?? new ProtocolError('malformed', 'malformed payload');
    try {
        checkPayload(state, ev.payload);
    } catch (e) {
        if (e instanceof ProtocolError) return e;
        throw e;
    }
    mutate(state, ev.payload);
    return null;
}

/** Applies an `<event/>` element as an attendee receives it. @param {State} state @param {Element} el */
export function applyElement(state, el) {
    const ev = decodeEvent(el);
    return ev ? applyEvent(state, ev) : new ProtocolError('malformed', 'malformed payload: no valid seq');
}

/** The pure form the session's `Sync.apply` wants: a new state, the old one untouched. @param {State} state @param {SyncEvent} ev */
export function reduce(state, ev) {
    const next = structuredClone(state);
    applyEvent(next, ev);
    return next;
}

// ---- the state form ----------------------------------------------------------------------------

const J = JSON.stringify;

/** Each item with its keys in the spec's order, whatever object it came from. @param {Item} i */
function itemJson(i) {
    if (i.type === 'stroke') {
        const { id, type, tool, color, width, points, done, visible } = i;
        return J({ id, type, tool, color, width, points, done, visible });
    }
    if (i.type === 'shape') {
        const { id, type, kind, color, width, x1, y1, x2, y2, visible } = i;
        return J({ id, type, kind, color, width, x1, y1, x2, y2, visible });
    }
    const { id, type, color, size, x, y, text, visible } = i;
    return J({ id, type, color, size, x, y, text, visible });
}

/** @param {Action[]} stack */
const stackJson = (stack) => J(stack.map((a) => (a.add ? { add: a.add } : { remove: a.remove })));

/**
 * The canonical state form: compact, keys in the spec's order, documents by id, pages by number.
 * Decimals are held as `units / 10000`, whose shortest form is what Rust prints too.
 * @param {State} s @returns {string}
 */
export function stateJson(s) {
    const d = s.document;
    const doc = d
        ? `{"id":${J(d.id)},"pages":${d.pages},"base":${J(d.base)},"title":${J(d.title)},"hashes":${J(d.hashes)},"sizes":${J(d.sizes)}}`
        : 'null';
    const v = s.viewport;
    const p = s.pointer;
    const pointer = p ? J({ page: p.page, x: p.x, y: p.y }) : 'null';
    const ink = Object.keys(s.ink)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        .map((id) => {
            const pages = Object.keys(s.ink[id]).map(Number).sort((a, b) => a - b);
            const body = pages.map((n) => {
                const pg = s.ink[id][n];
                return `"${n}":{"items":[${pg.items.map(itemJson).join(',')}],"undo":${stackJson(pg.undo)},"redo":${stackJson(pg.redo)}}`;
            });
            return `${J(id)}:{${body.join(',')}}`;
        });
    return (
        `{"seq":${s.seq},"presenter":${J(s.presenter)},"document":${doc},"page":${s.page},` +
        `"viewport":${J({ x: v.x, y: v.y, zoom: v.zoom })},"pointer":${pointer},"recording_paused":${s.recording_paused},"ink":{${ink.join(',')}}}`
    );
}

// ---- the snapshot ------------------------------------------------------------------------------

/** @param {Element} el @returns {Item} */
function readItem(el) {
    const r = reader(el);
    if (el.localName === 'stroke') {
        const [id, tool, color, width] = [r.id(), r.keyword('tool', ['pen', 'highlighter']), r.color(), r.extent('width')];
        const points = parsePoints(ownText(el));
        if (points.length > LIMITS.strokePoints) throw tooLarge('points');
        return { id, type: 'stroke', tool, color, width, points, done: r.bool('done'), visible: r.bool('visible') };
    }
    if (el.localName === 'shape') {
        ownText(el, false);
        const [id, kind, color, width] = [r.id(), r.keyword('kind', ['line', 'arrow', 'rect', 'ellipse']), r.color(), r.extent('width')];
        const [x1, y1, x2, y2] = [r.coord('x1'), r.coord('y1'), r.coord('x2'), r.coord('y2')];
        return { id, type: 'shape', kind, color, width, x1, y1, x2, y2, visible: r.bool('visible') };
    }
    const [id, color, size, x, y] = [r.id(), r.color(), r.extent('size'), r.coord('x'), r.coord('y')];
    return { id, type: 'text', color, size, x, y, text: checkText(ownText(el)), visible: r.bool('visible') };
}

/** `<undo>`/`<redo>`: the stack bottom first; at most one of each per page. @param {Element[]} kids @param {string} name @returns {Action[]} */
function readStack(kids, name) {
    const found = kids.filter((c) => c.localName === name);
    if (found.length > 1) throw new ProtocolError('malformed', `malformed payload: two <${name}/>`);
    if (!found[0]) return [];
    ownText(found[0], false);
    return nsChildren(found[0])
        .filter((a) => a.localName === 'add' || a.localName === 'remove')
        .map((a) => (ownText(a, false), a.localName === 'add' ? { add: reader(a).ids('ids') } : { remove: reader(a).ids('ids') }));
}

/** Adds one `<ink document page>` to the state, checked as the Rust crate checks it. @param {State} state @param {Element} el */
function loadPage(state, el) {
    ownText(el, false);
    const r = reader(el);
    const [doc, page] = [r.str('document'), r.int('page')];
    const kids = nsChildren(el);
    const items = kids.filter((c) => ['stroke', 'shape', 'text'].includes(c.localName)).map(readItem);
    const pg = { items, undo: readStack(kids, 'undo'), redo: readStack(kids, 'redo') };
    if (!isDocumentId(doc)) throw invalid('document', 'not 64 lowercase hex digits');
    if (page === 0) throw invalid('page', 'pages are numbered from 1');
    const pages = (state.ink[doc] ??= {});
    if (pages[page]) throw invalid('page', 'the same page twice');
    if (pg.undo.length + pg.redo.length > LIMITS.undoDepth) throw tooLarge('undo');
    const here = new Set(items.map((i) => i.id));
    if ([...pg.undo, ...pg.redo].flatMap(idsOf).some((id) => !here.has(id))) {
        throw invalid('ids', 'an action names an item not on its page');
    }
    prune(pg);
    const seen = new Set();
    for (const i of pg.items) {
        if (seen.has(i.id) || locate(state, i.id)) throw new ProtocolError('duplicate-id', `item id \`${i.id}\` is already in use`);
        seen.add(i.id);
    }
    if (pg.items.length > 0 || pg.undo.length > 0 || pg.redo.length > 0) pages[page] = pg;
    else if (Object.keys(pages).length === 0) delete state.ink[doc];
}

/**
 * A `<snapshot/>` answer → the state it describes (throws {@link ProtocolError} when it is
 * inconsistent). Hidden items nothing refers to are pruned, as applying the events would have.
 * @param {Element} el @returns {State}
 */
export function stateFromSnapshot(el) {
    if (el.namespaceURI !== NS || el.localName !== 'snapshot') throw new ProtocolError('malformed', 'malformed payload: not a <snapshot/>');
    const r = reader(el);
    const meeting = r.str('meeting');
    const seq = r.raw('seq') === null ? null : r.int('seq', Number.MAX_SAFE_INTEGER);
    const presenter = r.raw('presenter');
    ownText(el, false);
    const kids = nsChildren(el);
    const one = (/** @type {string} */ name) => {
        const found = kids.filter((c) => c.localName === name);
        if (found.length > 1) throw new ProtocolError('malformed', `malformed payload: two <${name}/>`);
        return found[0] ? /** @type {any} */ (parsePayload(found[0])) : null;
    };
    const [document, page, viewport, pointer] = [one('document'), one('page'), one('viewport'), one('pointer')];
    const recording = one('recording');
    const inks = kids.filter((c) => c.localName === 'ink');
    if (!isMeetingNumber(meeting)) throw invalid('meeting', 'not 9 digits');
    if (presenter !== null && !isNick(presenter)) throw invalid('presenter', 'not a room nick');
    if (seq === null) throw invalid('seq', 'a snapshot answer needs its seq');

    const state = initialState();
    Object.assign(state, { seq, presenter, recording_paused: recording?.paused === true });
    if (document && page) {
        if (!(page.n >= 1 && page.n <= document.pages)) throw new ProtocolError('no-such-page', `page ${page.n} is not in the current document`);
        const { id, pages, base, title, hashes, sizes } = document;
        Object.assign(state, { document: { id, pages, base, title, hashes, sizes }, page: page.n });
        if (viewport) state.viewport = { x: viewport.x, y: viewport.y, zoom: viewport.zoom };
    } else if (document || page || viewport) {
        throw invalid('page', 'a page goes with a document');
    }
    if (pointer) {
        if (pointer.hide) throw invalid('pointer', 'a hidden pointer is left out');
        checkPayload(state, pointer);
        state.pointer = { page: pointer.page, x: pointer.x, y: pointer.y };
    }
    for (const ink of inks) loadPage(state, ink);
    return state;
}

/** The snapshot answer for a state (the focus's side; the tests use it too). @param {State} s @param {string} meeting @returns {XmlNode} */
export function snapshotNode(s, meeting) {
    /** @type {XmlNode[]} */
    const children = [];
    if (s.document) {
        children.push(payloadNode({ type: 'document', ...s.document }), payloadNode({ type: 'page', n: s.page }));
        children.push(payloadNode({ type: 'viewport', ...s.viewport }));
    }
    if (s.pointer) children.push(payloadNode({ type: 'pointer', ...s.pointer }));
    if (s.recording_paused) children.push(payloadNode({ type: 'recording', paused: true }));
    for (const doc of Object.keys(s.ink).sort()) {
        for (const n of Object.keys(s.ink[doc]).map(Number).sort((a, b) => a - b)) {
            const pg = s.ink[doc][n];
            const items = pg.items.map((i) => {
                const { type, visible, ...rest } = /** @type {any} */ (i);
                const node = payloadNode({ ...rest, type: type === 'stroke' ? 'stroke-begin' : type, page: n });
                delete node.attrs.page;
                return { name: type, attrs: { ...node.attrs, ...(type === 'stroke' ? { done: String(rest.done) } : {}), visible: String(visible) }, text: node.text };
            });
            const stack = (/** @type {Action[]} */ st, /** @type {string} */ name) => ({
                name,
                attrs: {},
                children: st.map((a) => ({ name: a.add ? 'add' : 'remove', attrs: { ids: idsOf(a).join(' ') } })),
            });
            children.push({ name: 'ink', attrs: { document: doc, page: String(n) }, children: [...items, stack(pg.undo, 'undo'), stack(pg.redo, 'redo')] });
        }
    }
    const attrs = { xmlns: NS, meeting, seq: String(s.seq), ...(s.presenter === null ? {} : { presenter: s.presenter }) };
    return { name: 'snapshot', attrs, children };
}

/** The session's `Sync`: decode, snapshot, reduce. */
export const sync = { initial: initialState, decodeEvent, decodeSnapshot: stateFromSnapshot, apply: reduce };
