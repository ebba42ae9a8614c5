// The meeting page (`/m/{number}`): one page for presenter and attendees. Who presents is part
// of the synchronised state, so the view switches when the presenter hands over.
//
// Test hooks: `window.lectern` has read-only getters only (`state()`, `view()`, `voice()`,
// `audioFile()`); nothing there changes what the client does. The voice tests' controls
// (`window.lecternTest`) exist only when localStorage['lectern.test'] is '1' (ui/voice.js).

import { Session } from '../protocol/session.js';
import { sync } from '../protocol/sync.js';
import { loadPackage } from '../protocol/package.js';
import { ApiError, conversionDone, getManifest, getMeeting, joinMeeting, uploadDocument } from './api.js';
import { byId, h, showError, toast } from './dom.js';
import { PageImages } from './pages.js';
import { AudioFileControl } from './audio-file.js';
import { RecordingControl } from './recording-control.js';
import { Stage, WHOLE_PAGE, clampViewport, zoomAround } from './stage.js';
import { Tools, TOOLS } from './tools.js';
import { VoiceUI } from './voice.js';

/**
 * @typedef {import('./ink.js').Item} Item
 * @typedef {import('./ink.js').Viewport} Viewport
 * @typedef {{ id: string, pages: number, base: string, title?: string, hashes?: string[] }} Doc
 */

const app = byId('app');
const number = app.dataset.number ?? '';
const params = new URLSearchParams(location.search);
const hostKey = params.get('key');

const images = new PageImages();
const stage = new Stage({
    stage: byId('stage'),
    box: byId('page-box'),
    pageCanvas: byId('page-canvas'),
    inkCanvas: byId('ink-canvas'),
    laser: byId('laser'),
    images,
});

/** @type {Session | null} */
let session = null;
/** @type {VoiceUI | null} */
let voice = null;
/** @type {AudioFileControl | null} the presenter's "Play audio" (presenter links only) */
let audioFile = null;
/** Local view state (not synchronised). */
const view = {
    following: true,
    /** page shown while browsing */
    browsePage: 1,
    /** @type {Viewport | null} an attendee's own zoom */
    localVp: /** @type {Viewport | null} */ (null),
    /** @type {Map<string, Doc>} documents seen in this meeting */
    docs: new Map(),
    /** @type {Viewport | null} the presenter's last viewport request, until the focus echoes it */
    sentVp: /** @type {Viewport | null} */ (null),
    /** @type {Map<string, Set<string>>} nick → documents it pre-loaded (presenter view) */
    preloadedBy: new Map(),
    /** @type {Map<string, string>} document → 'package' | 'pages': how our pre-load got it */
    preloadVia: new Map(),
    /** @type {Map<string, string>} document → 'loading' | 'ready' | 'failed' (our own pre-load) */
    preload: new Map(),
    chatCount: 0,
    thumbsFor: '',
    lastPage: -1,
    lastDocId: '',
};

const tools = new Tools({
    stage,
    requests: {
        request: (name, attrs, text) => session?.request(name, attrs, text) ?? '',
        newItemId: () => session?.newItemId() ?? `x${Date.now().toString(36)}`,
    },
    current: () => {
        const s = session?.state;
        if (!s?.document || !session?.isPresenter) return null;
        return { page: s.page, items: pageItems(s, s.document.id, s.page), aspect: stage.aspect };
    },
    redraw: () => render(),
    askText,
});

// ---- state helpers --------------------------------------------------------------------------

/** @returns {Item[]} */
function pageItems(state, docId, page) {
    return state?.ink?.[docId]?.[String(page)]?.items ?? [];
}

function shownPage() {
    const s = session?.state;
    if (!s?.document) return 0;
    if (session?.isPresenter || view.following) return s.page;
    return Math.min(Math.max(1, view.browsePage), s.document.pages);
}

/** @returns {Viewport} */
function shownViewport() {
    const s = session?.state;
    if (!s) return WHOLE_PAGE;
    if (session?.isPresenter) return s.viewport ?? WHOLE_PAGE;
    if (view.localVp) return view.localVp;
    return view.following ? (s.viewport ?? WHOLE_PAGE) : WHOLE_PAGE;
}

// ---- rendering ------------------------------------------------------------------------------

let renderQueued = false;
function render() {
    if (renderQueued) return;
    renderQueued = true;
    queueMicrotask(() => {
        renderQueued = false;
        renderNow();
    });
}

function renderNow() {
    const s = session?.state;
    const presenter = !!session?.isPresenter;
    app.dataset.role = presenter ? 'presenter' : 'attendee';
    byId('role-badge').textContent = presenter ? 'presenting' : 'attendee';
    tools.setEnabled(presenter);
    const doc = s?.document ?? null;
    if (doc) view.docs.set(doc.id, { ...(view.docs.get(doc.id) ?? {}), ...doc });
    if (doc && doc.id !== view.lastDocId) {
        view.lastDocId = doc.id;
        view.browsePage = 1;
    }
    const page = shownPage();
    const hidden = tools.hiddenIds();
    const items = doc ? pageItems(s, doc.id, page).filter((i) => !hidden.has(i.id)) : [];
    const pointer = s?.pointer && s.pointer.page === page ? s.pointer : null;
    stage.show({
        doc,
        page,
        vp: shownViewport(),
        items,
        pointer,
        overlay: presenter && s && page === s.page ? tools.overlay() : [],
    });
    app.dataset.following = String(presenter || view.following);
    byId('empty-msg').hidden = !!doc;
    byId('empty-msg').textContent = presenter
        ? 'You are presenting. Upload a document to share it.'
        : session?.status === 'online'
          ? 'Waiting for the presenter to share a document…'
          : 'Connecting…';
    byId('page-label').textContent = doc ? `${page} / ${doc.pages}` : '–';
    /** @type {HTMLButtonElement} */ (byId('prev-btn')).disabled = !doc || page <= 1;
    /** @type {HTMLButtonElement} */ (byId('next-btn')).disabled = !doc || page >= doc.pages;
    byId('follow-btn').hidden = presenter || view.following || !doc;
    renderThumbs(doc, page, s?.page ?? 0);
    renderDocSelect(doc);
    if (page !== view.lastPage) {
        view.lastPage = page;
        hideTextEntry();
    }
}

/** @param {Doc | null} doc */
function renderThumbs(doc, page, presenterPage) {
    const nav = byId('thumbs');
    const key = doc ? `${doc.id}:${doc.pages}` : '';
    if (key !== view.thumbsFor) {
        view.thumbsFor = key;
        nav.replaceChildren();
        if (doc) {
            for (let n = 1; n <= doc.pages; n++) {
                nav.append(
                    h('button', { type: 'button', class: 'thumb', dataset: { page: String(n) }, title: `Page ${n}`, onclick: () => goTo(n) }, [
                        h('img', { src: images.thumbUrl(doc, n), alt: `Page ${n}`, loading: 'lazy', draggable: 'false' }),
                        h('span', {}, [String(n)]),
                    ]),
                );
            }
        }
    }
    for (const b of Array.from(nav.children)) {
        const el = /** @type {HTMLElement} */ (b);
        const n = Number(el.dataset.page);
        el.classList.toggle('current', n === page);
        el.classList.toggle('presenter-page', n === presenterPage);
        if (n === page && el.dataset.scrolled !== '1') {
            el.scrollIntoView({ block: 'nearest', inline: 'nearest' });
        }
        el.dataset.scrolled = n === page ? '1' : '';
    }
}

/** @param {Doc | null} doc */
function renderDocSelect(doc) {
    const sel = /** @type {HTMLSelectElement} */ (byId('doc-select'));
    const want = Array.from(view.docs.values())
        .map((d) => `${d.id}\u0000${d.title || d.id.slice(0, 8)}`)
        .join('\u0001');
    if (sel.dataset.key !== want) {
        sel.dataset.key = want;
        sel.replaceChildren(
            ...Array.from(view.docs.values()).map((d) => h('option', { value: d.id }, [d.title || `Document ${d.id.slice(0, 8)}`])),
        );
    }
    sel.hidden = view.docs.size === 0;
    if (doc) sel.value = doc.id;
}

function renderPeople() {
    if (!session) return;
    const list = byId('people');
    const s = session.state;
    const presenter = session.isPresenter;
    const docId = s?.document?.id;
    const people = session.roster();
    byId('people-count').textContent = `(${people.length})`;
    list.replaceChildren(
        ...people.map((p) => {
            const isPresenter = s?.presenter === p.nick;
            const preloaded = !!docId && !!view.preloadedBy.get(p.nick)?.has(docId);
            return h('li', { dataset: { nick: p.nick }, class: isPresenter ? 'presenter' : '' }, [
                h('span', { class: 'nick' }, [p.nick]),
                p.self ? h('span', { class: 'tag' }, ['you']) : null,
                isPresenter ? h('span', { class: 'tag accent' }, ['presenting']) : null,
                presenter && preloaded ? h('span', { class: 'tag ok', title: 'Has the whole document locally' }, ['pre-loaded']) : null,
                presenter && !p.self
                    ? h('button', { type: 'button', class: 'small hand-over', onclick: () => handOver(p.nick) }, ['Make presenter'])
                    : null,
            ]);
        }),
    );
}

function handOver(nick) {
    if (!session) return;
    session.handOver(nick);
    toast(`Handing over to ${nick}…`);
}

/** @param {{ nick: string, body: string, self: boolean, delayed: boolean, stamp: string, system?: boolean }} m */
function addChat(m) {
    const log = byId('chat-log');
    const time = new Date(m.stamp);
    log.append(
        h('li', { class: [m.self ? 'self' : '', m.delayed ? 'delayed' : '', m.system ? 'system' : ''].join(' ').trim() }, [
            h('span', { class: 'who' }, [m.system ? 'Lectern' : m.nick]),
            h('time', { datetime: m.stamp }, [isNaN(time.getTime()) ? '' : time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })]),
            h('p', {}, [m.body]),
        ]),
    );
    log.scrollTop = log.scrollHeight;
    view.chatCount += 1;
    if (!m.self && !m.delayed && !app.classList.contains('side-open') && window.matchMedia('(max-width: 800px)').matches) {
        const u = byId('unread');
        u.hidden = false;
        u.textContent = String(Number(u.textContent || '0') + 1);
    }
}

// ---- navigation -----------------------------------------------------------------------------

function goTo(n) {
    const s = session?.state;
    if (!session || !s?.document) return;
    const page = Math.min(Math.max(1, n), s.document.pages);
    if (session.isPresenter) {
        if (page !== s.page) {
            tools.hideLaser();
            session.request('page', { n: page });
        }
    } else {
        view.following = false;
        view.browsePage = page;
        view.localVp = null;
        render();
    }
}

function follow() {
    view.following = true;
    view.localVp = null;
    render();
}

function step(d) {
    goTo(shownPage() + d);
}

function zoom(factor) {
    const presenter = !!session?.isPresenter;
    // the presenter zooms from what it asked for last, not from the echo still on its way
    const vp = (presenter && view.sentVp) || shownViewport();
    const span = 1 / vp.zoom;
    const next = factor === 0 ? WHOLE_PAGE : zoomAround(vp, factor, vp.x + span / 2, vp.y + span / 2);
    if (presenter && session) {
        view.sentVp = next;
        session.request('viewport', { x: next.x, y: next.y, zoom: next.zoom });
    } else {
        view.localVp = factor === 0 ? null : next;
        render();
    }
}

// ---- presenter: documents -------------------------------------------------------------------

/** @type {Set<string>} */
const asked = new Set();
/** Documents with ink in the state but not seen shared in this page's life (a reload): their
 * titles come from the documents API, for the switcher. */
function learnDocuments(state) {
    for (const id of Object.keys(state?.ink ?? {})) {
        if (view.docs.has(id) || asked.has(id)) continue;
        asked.add(id);
        getManifest(id).then(
            (m) => {
                if (view.docs.has(id)) return;
                view.docs.set(id, { id, pages: m.page_count, base: `/api/documents/${id}/`, title: m.title ?? '', hashes: m.pages.map((p) => p.sha256 ?? '') });
                render();
            },
            () => {},
        );
    }
}

/** @param {import('./api.js').Manifest} m */
function shareDocument(m) {
    if (!session) return;
    const base = `/api/documents/${m.id}/`;
    const title = m.title ?? '';
    view.docs.set(m.id, { id: m.id, pages: m.page_count, base, title, hashes: m.pages.map((p) => p.sha256 ?? '') });
    session.request(
        'document',
        { id: m.id, pages: m.page_count, base, title: title || undefined },
        undefined,
        m.pages.map((p) => ({ name: 'p', attrs: { n: p.number, hash: p.sha256 ?? '', w: p.width, h: p.height } })),
    );
}

async function upload(file) {
    const bar = /** @type {HTMLProgressElement} */ (byId('upload-bar'));
    const label = byId('upload-label');
    const box = byId('upload-progress');
    box.hidden = false;
    bar.value = 0;
    label.textContent = `Uploading ${file.name}…`;
    try {
        let m = await uploadDocument(file, (sent, total) => {
            bar.value = total ? (sent / total) * 0.5 : 0;
        });
        if (m.status !== 'ready') {
            label.textContent = `Converting ${file.name}…`;
            const total = m.page_count;
            await conversionDone(m.id, (ready) => {
                bar.value = 0.5 + 0.5 * Math.min(1, ready / Math.max(1, total));
                label.textContent = `Converting ${file.name}: page ${Math.min(ready, total)} of ${total}`;
            });
            m = await getManifest(m.id);
        }
        bar.value = 1;
        if (!m.title) m.title = file.name.replace(/\.[^.]+$/, '');
        shareDocument(m);
        label.textContent = `Shared ${m.title} (${m.page_count} pages)`;
        setTimeout(() => {
            box.hidden = true;
        }, 1500);
    } catch (e) {
        label.textContent = `Upload failed: ${e?.message ?? e}`;
    }
}

async function switchDocument(id) {
    const s = session?.state;
    if (!session?.isPresenter || s?.document?.id === id) return;
    try {
        const m = await getManifest(id);
        if (!m.title) m.title = view.docs.get(id)?.title ?? null;
        shareDocument(m);
    } catch (e) {
        toast(`Could not switch documents: ${e?.message ?? e}`);
    }
}

// ---- LAN pre-load ---------------------------------------------------------------------------

/** @param {{ document: string, url: string }} p */
async function preload(p) {
    if (!session || !p.document || !p.url || view.preload.get(p.document) === 'loading') return;
    if (view.preload.get(p.document) === 'ready') {
        session.sendPreloaded(p.document);
        return;
    }
    view.preload.set(p.document, 'loading');
    try {
        const doc = session.state?.document?.id === p.document ? session.state.document : null;
        let hashes = doc?.hashes ?? null;
        let base = doc?.base ?? `/api/documents/${p.document}/`;
        if (!hashes || hashes.length === 0) {
            const m = await getManifest(p.document);
            hashes = m.pages.map((pg) => pg.sha256 ?? '');
            base = `/api/documents/${m.id}/`;
        }
        const { urls, how } = await loadPackage(p.url, hashes, base);
        view.preloadVia.set(p.document, how);
        images.setLocal(p.document, urls);
        view.preload.set(p.document, 'ready');
        session.sendPreloaded(p.document);
        render();
    } catch (e) {
        view.preload.set(p.document, 'failed');
        console.warn('lectern: pre-load failed, pages come on demand:', e);
    }
}

// ---- text entry -----------------------------------------------------------------------------

/** @type {((text: string | null) => void) | null} */
let textDone = null;

/** Places a text box over the page at (x, y) and resolves with what was typed. */
function askText(x, y, size, color) {
    hideTextEntry();
    const ta = /** @type {HTMLTextAreaElement} */ (byId('text-entry'));
    const [cx, cy] = stage.toClient(x, y);
    const sr = stage.el.getBoundingClientRect();
    const px = size * stage.scene.vp.zoom * stage.boxW;
    ta.style.left = `${cx - sr.left}px`;
    ta.style.top = `${cy - sr.top}px`;
    ta.style.fontSize = `${Math.max(10, px)}px`;
    ta.style.color = color;
    ta.value = '';
    ta.hidden = false;
    setTimeout(() => ta.focus(), 0);
    return new Promise((resolve) => {
        textDone = resolve;
    });
}

function hideTextEntry(commit = false) {
    const ta = /** @type {HTMLTextAreaElement} */ (byId('text-entry'));
    if (ta.hidden) return;
    ta.hidden = true;
    const done = textDone;
    textDone = null;
    done?.(commit ? ta.value : null);
}

// ---- wiring ---------------------------------------------------------------------------------

function wireControls() {
    byId('prev-btn').addEventListener('click', () => step(-1));
    byId('next-btn').addEventListener('click', () => step(1));
    byId('follow-btn').addEventListener('click', follow);
    byId('zoom-in').addEventListener('click', () => zoom(1.25));
    byId('zoom-out').addEventListener('click', () => zoom(0.8));
    byId('zoom-fit').addEventListener('click', () => zoom(0));
    byId('toggle-people').addEventListener('click', () => {
        app.classList.toggle('side-open');
        byId('unread').hidden = true;
        byId('unread').textContent = '';
    });
    for (const b of Array.from(byId('tools').querySelectorAll('button'))) {
        b.addEventListener('click', () => selectTool(/** @type {HTMLElement} */ (b).dataset.tool ?? 'pen'));
    }
    const color = /** @type {HTMLInputElement} */ (byId('color'));
    color.addEventListener('input', () => {
        tools.color = color.value.toLowerCase();
    });
    const width = /** @type {HTMLSelectElement} */ (byId('width'));
    width.addEventListener('change', () => {
        tools.width = Number(width.value);
    });
    byId('undo-btn').addEventListener('click', () => pageAction('undo'));
    byId('redo-btn').addEventListener('click', () => pageAction('redo'));
    byId('clear-btn').addEventListener('click', () => pageAction('clear'));
    const input = /** @type {HTMLInputElement} */ (byId('upload-input'));
    input.addEventListener('change', () => {
        const f = input.files?.[0];
        if (f) upload(f);
        input.value = '';
    });
    const sel = /** @type {HTMLSelectElement} */ (byId('doc-select'));
    sel.addEventListener('change', () => switchDocument(sel.value));
    const chat = /** @type {HTMLFormElement} */ (byId('chat-form'));
    chat.addEventListener('submit', (e) => {
        e.preventDefault();
        const inp = /** @type {HTMLInputElement} */ (byId('chat-input'));
        if (session?.sendChat(inp.value)) inp.value = '';
    });
    const ta = /** @type {HTMLTextAreaElement} */ (byId('text-entry'));
    ta.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            hideTextEntry(true);
        } else if (e.key === 'Escape') {
            hideTextEntry(false);
        }
    });
    ta.addEventListener('blur', () => hideTextEntry(true));
    document.addEventListener('keydown', onKey);
    wirePan();
}

function selectTool(t) {
    if (!TOOLS.includes(t)) return;
    if (tools.tool === 'laser' && t !== 'laser') tools.hideLaser();
    tools.tool = t;
    for (const b of Array.from(byId('tools').querySelectorAll('button'))) {
        b.classList.toggle('on', /** @type {HTMLElement} */ (b).dataset.tool === t);
    }
    byId('stage').dataset.tool = t;
}

/** @param {'undo' | 'redo' | 'clear'} what */
function pageAction(what) {
    const s = session?.state;
    if (!session?.isPresenter || !s?.document) return;
    session.request(what, { page: s.page });
}

const TOOL_KEYS = /** @type {Record<string, string>} */ ({ p: 'pen', h: 'highlighter', l: 'line', a: 'arrow', r: 'rect', o: 'ellipse', t: 'text', k: 'laser', e: 'eraser' });

/** @param {KeyboardEvent} e */
function onKey(e) {
    const target = /** @type {HTMLElement} */ (e.target);
    if (target.closest('input, textarea, select, [contenteditable]') || document.querySelector('dialog[open]')) return;
    const presenter = !!session?.isPresenter;
    const mod = e.ctrlKey || e.metaKey;
    if (mod && presenter && (e.key === 'z' || e.key === 'Z')) {
        e.preventDefault();
        pageAction(e.shiftKey ? 'redo' : 'undo');
        return;
    }
    if (mod && presenter && e.key === 'y') {
        e.preventDefault();
        pageAction('redo');
        return;
    }
    if (mod || e.altKey) return;
    switch (e.key) {
        case 'ArrowRight':
        case 'ArrowDown':
        case 'PageDown':
        case ' ':
            e.preventDefault();
            step(1);
            return;
        case 'ArrowLeft':
        case 'ArrowUp':
        case 'PageUp':
        case 'Backspace':
            e.preventDefault();
            step(-1);
            return;
        case 'Home':
            goTo(1);
            return;
        case 'End':
            goTo(session?.state?.document?.pages ?? 1);
            return;
        case '+':
        case '=':
            zoom(1.25);
            return;
        case '-':
            zoom(0.8);
            return;
        case '0':
            zoom(0);
            return;
        case 'Escape':
            if (!presenter) follow();
            return;
        default:
            if (presenter && TOOL_KEYS[e.key]) selectTool(TOOL_KEYS[e.key]);
            else if (!presenter && e.key === 'f') follow();
    }
}

/** Attendees pan their own zoomed view by dragging. */
function wirePan() {
    const canvas = stage.inkCanvas;
    /** @type {{ id: number, x: number, y: number, vp: Viewport } | null} */
    let drag = null;
    canvas.addEventListener('pointerdown', (e) => {
        if (session?.isPresenter) return;
        const vp = shownViewport();
        if (vp.zoom <= 1) return;
        drag = { id: e.pointerId, x: e.clientX, y: e.clientY, vp };
        if (e.pointerType !== 'touch') canvas.setPointerCapture(e.pointerId); // touch: implicit
    });
    canvas.addEventListener('pointermove', (e) => {
        if (!drag || e.pointerId !== drag.id) return;
        const r = canvas.getBoundingClientRect();
        const dx = (e.clientX - drag.x) / r.width / drag.vp.zoom;
        const dy = (e.clientY - drag.y) / r.height / drag.vp.zoom;
        view.localVp = clampViewport({ x: drag.vp.x - dx, y: drag.vp.y - dy, zoom: drag.vp.zoom });
        render();
    });
    const end = (/** @type {PointerEvent} */ e) => {
        if (drag && e.pointerId === drag.id) drag = null;
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
}

// ---- joining --------------------------------------------------------------------------------

/** Asks for a display name (remembered in this browser). */
function askName() {
    const dialog = /** @type {HTMLDialogElement} */ (byId('join-dialog'));
    const input = /** @type {HTMLInputElement} */ (byId('join-name'));
    input.value = localStorage.getItem('lectern.name') ?? '';
    dialog.showModal();
    return new Promise((resolve) => {
        const form = byId('join-name-form');
        const onSubmit = (/** @type {Event} */ e) => {
            const name = input.value.trim();
            if (!name) {
                e.preventDefault();
                return;
            }
            form.removeEventListener('submit', onSubmit);
            localStorage.setItem('lectern.name', name);
            resolve(name);
        };
        form.addEventListener('submit', onSubmit);
    });
}

/** Joins over HTTP, retrying the name prompt on errors the user can fix. */
async function joinAs() {
    for (;;) {
        const name = await askName();
        try {
            const info = await joinMeeting(number, name, hostKey);
            return { name, info };
        } catch (e) {
            const msg =
                e instanceof ApiError && e.code === 'bad_host_key'
                    ? 'The presenter key in this link is not valid.'
                    : `Could not join: ${e?.message ?? e}`;
            showError(byId('join-name-error'), msg);
            if (e instanceof ApiError && e.code === 'bad_host_key') throw e;
        }
    }
}

function exposeHooks() {
    /** Read-only views of the client's state for tests and debugging. */
    const hooks = Object.freeze({
        state: () => (session ? structuredClone(session.state) : null),
        view: () => ({
            nick: session?.nick ?? null,
            role: session?.role ?? null,
            presenting: !!session?.isPresenter,
            status: session?.status ?? 'closed',
            following: view.following,
            shownPage: shownPage(),
            drawn: stage.drawnKey,
            drawnFrom: stage.drawnFrom,
            lastSeq: session?.lastSeq ?? 0,
            stats: session ? { ...session.stats } : null,
            participants: session ? session.roster().map((p) => p.nick) : [],
            preloaded: Array.from(view.preload.entries()).filter(([, v]) => v === 'ready').map(([k]) => k),
            preloadVia: Object.fromEntries(view.preloadVia),
            preloadedBy: Object.fromEntries(Array.from(view.preloadedBy.entries()).map(([k, v]) => [k, Array.from(v)])),
            chatCount: view.chatCount,
            lan: session?.lan ?? false,
        }),
        voice: () => voice?.view() ?? null,
        audioFile: () => audioFile?.view() ?? null,
    });
    Object.defineProperty(window, 'lectern', { value: hooks, writable: false, configurable: false });
}

async function main() {
    exposeHooks();
    wireControls();
    selectTool('pen');
    render();
    let recorded = true;
    try {
        const m = await getMeeting(number);
        recorded = m.recording !== false;
        if (m.title) {
            byId('meeting-title').textContent = m.title;
            document.title = `${m.title} — Lectern`;
        }
    } catch (e) {
        if (e instanceof ApiError && e.status === 404) {
            byId('empty-msg').textContent = `There is no meeting ${number}. Check the number or link.`;
            return;
        }
    }
    const { name, info } = await joinAs();
    const s = new Session({ join: info, rejoin: () => joinMeeting(number, name, hostKey), sync });
    session = s;
    voice = new VoiceUI({ session: s, bar: /** @type {HTMLElement} */ (document.querySelector('.top-bar')) });
    if (hostKey) audioFile = new AudioFileControl({ session: s, number, hostKey, parent: voice.el });
    new RecordingControl({ session: s, badge: byId('rec-status'), button: /** @type {HTMLButtonElement} */ (byId('rec-btn')), recorded });
    if (localStorage.getItem('lectern.test') === '1') {
        // controls for the voice tests and benchmark; never present outside test mode
        Object.defineProperty(window, 'lecternTest', { value: Object.freeze({ voice: voice.testControls() }) });
    }
    s.addEventListener('status', (/** @type {any} */ e) => {
        const el = byId('conn-status');
        el.dataset.state = e.detail.status;
        el.textContent = e.detail.status;
        if (e.detail.status === 'failed') toast(e.detail.reason ?? 'Could not join the meeting.', 10000);
        render();
    });
    s.addEventListener('state', () => {
        const st = s.state;
        const sent = view.sentVp;
        if (sent && st && (st.page !== view.lastPage || (st.viewport.x === sent.x && st.viewport.y === sent.y && st.viewport.zoom === sent.zoom))) {
            view.sentVp = null;
        }
        if (st?.document && s.isPresenter && tools.confirm(pageItems(st, st.document.id, st.page))) {
            /* overlay shrank */
        }
        render();
        renderPeople();
    });
    s.addEventListener('state', () => learnDocuments(s.state));
    s.addEventListener('roster', renderPeople);
    window.addEventListener('pagehide', () => s.close());
    // back from the browser's page cache: the session was closed on the way out, start afresh
    window.addEventListener('pageshow', (e) => {
        if (e.persisted) location.reload();
    });
    s.addEventListener('chat', (/** @type {any} */ e) => addChat(e.detail));
    s.addEventListener('preload', (/** @type {any} */ e) => preload(e.detail));
    s.addEventListener('preloaded', (/** @type {any} */ e) => {
        const { nick, document: doc } = e.detail;
        if (!nick || !doc) return;
        const set = view.preloadedBy.get(nick) ?? new Set();
        set.add(doc);
        view.preloadedBy.set(nick, set);
        renderPeople();
    });
    s.addEventListener('rejected', (/** @type {any} */ e) => {
        toast(`The server refused that (${e.detail.condition}${e.detail.text ? `: ${e.detail.text}` : ''}).`);
    });
    const dialog = /** @type {HTMLDialogElement} */ (byId('join-dialog'));
    if (dialog.open) dialog.close();
    try {
        await s.start();
    } catch {
        /* status 'failed' already told the user */
    }
}

main().catch((e) => {
    console.error(e);
    toast(`Lectern: ${e?.message ?? e}`, 10000);
});
