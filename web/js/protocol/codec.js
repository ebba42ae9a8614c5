// The sync protocol's payloads (protocol/README.md) between DOM elements and plain objects.
//
// Parsing follows the Rust crate `lectern-protocol` rule for rule, so that the browser, the
// Android engine and the focus accept and refuse exactly the same events (the shared vectors in
// protocol/vectors/ check it). Numbers with decimals are parsed from their digits, never through
// parseFloat, and held as `units / 10000`: printing such a number gives the same shortest
// decimal in JavaScript and in Rust. Works on browser DOM and on @xmldom/xmldom elements.
//
// Building goes through a small `XmlNode` tree ({name, attrs, text?, children?}) that becomes an
// XML string (`toXml`), a DOM element (`toElement`) or a strophe.js builder chain (`toStrophe`).

export const NS = 'urn:lectern:sync:1';

/**
 * @typedef {{ type: 'document', id: string, pages: number, base: string, title: string | null,
 *     hashes: string[], sizes: number[][] }} DocumentPayload
 * @typedef {{ type: 'page', n: number }} PagePayload
 * @typedef {{ type: 'viewport', x: number, y: number, zoom: number }} ViewportPayload
 * @typedef {{ type: 'pointer', hide?: boolean, page?: number, x?: number, y?: number }} PointerPayload
 * @typedef {{ type: 'presenter', nick: string }} PresenterPayload
 * @typedef {{ type: 'stroke-begin', id: string, page: number, tool: string, color: string,
 *     width: number, points: number[][] }} StrokeBeginPayload
 * @typedef {{ type: 'stroke-extend', id: string, points: number[][] }} StrokeExtendPayload
 * @typedef {{ type: 'stroke-end', id: string }} StrokeEndPayload
 * @typedef {{ type: 'shape', id: string, page: number, kind: string, color: string, width: number,
 *     x1: number, y1: number, x2: number, y2: number }} ShapePayload
 * @typedef {{ type: 'text', id: string, page: number, color: string, size: number, x: number,
 *     y: number, text: string }} TextPayload
 * @typedef {{ type: 'erase', page: number, ids: string[] }} ErasePayload
 * @typedef {{ type: 'clear' | 'undo' | 'redo', page: number }} PageActionPayload
 * @typedef {{ type: 'audio', codec: string, rate: number, channels: number, ms: number,
 *     source: string | null, speaker?: string, frames: Uint8Array[] }} AudioPayload Opus packets,
 *     decoded from base64; `speaker` (set by the focus): whose voice
 * @typedef {{ type: 'recording', paused: boolean }} RecordingPayload the presenter pauses or
 *     resumes the recording
 * @typedef {DocumentPayload | PagePayload | ViewportPayload | PointerPayload | PresenterPayload |
 *     StrokeBeginPayload | StrokeExtendPayload | StrokeEndPayload | ShapePayload | TextPayload |
 *     ErasePayload | PageActionPayload | AudioPayload | RecordingPayload} Payload
 * @typedef {{ seq?: number, t: number, meeting?: string, payload: Payload | null,
 *     error?: ProtocolError }} SyncEvent `payload` is null (and `error` set) when the envelope was
 *     readable but its payload was not: the event still takes its seq.
 * @typedef {{ name: string, attrs: Record<string, string>, text?: string, children?: XmlNode[] }} XmlNode
 */

/** Why something was refused; `code` matches the Rust `ProtocolError` variant. */
export class ProtocolError extends Error {
    /**
     * @param {'malformed'|'invalid'|'too-large'|'no-document'|'no-such-page'|'no-open-stroke'|
     *     'duplicate-id'|'sequence'} code
     * @param {string} message
     * @param {string} [attr] the attribute at fault, for `invalid` and `too-large`
     */
    constructor(code, message, attr) {
        super(message);
        this.name = 'ProtocolError';
        this.code = code;
        this.attr = attr;
    }
}

/** @param {string} attr @param {string} reason */
export const invalid = (attr, reason) => new ProtocolError('invalid', `invalid \`${attr}\`: ${reason}`, attr);
/** @param {string} attr */
export const tooLarge = (attr) => new ProtocolError('too-large', `\`${attr}\` is too large`, attr);

export const LIMITS = Object.freeze({
    pointsPerElement: 512,
    idsPerList: 512,
    textChars: 1024,
    pages: 10000,
    strokePoints: 20000,
    undoDepth: 100,
    nameBytes: 1023,
    audioFrames: 10,
    opusPacket: 1275,
});

// ---- values -----------------------------------------------------------------------------------

const FIXED = /^(-?)([0-9]{0,5})(?:\.([0-9]{1,4}))?$/;
const DIGITS = /^[0-9]{1,16}$/;
const ITEM_ID = /^[A-Za-z0-9_-]{1,32}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const COLOR = /^#[0-9a-fA-F]{6}$/;
const XML_SPACE = /[ \t\r\n]+/;
const utf8 = new TextEncoder();

/** A decimal with at most 4 decimals → its value (units / 10000). @param {string} s @param {string} attr */
export function parseFixed(s, attr) {
    const m = FIXED.exec(s);
    if (!m || (m[2] === '' && m[3] === undefined)) throw invalid(attr, 'not a decimal with at most 4 decimals');
    const units = Number(m[2] || '0') * 10000 + Number((m[3] ?? '').padEnd(4, '0'));
    return (m[1] ? -units : units) / 10000 + 0; // + 0 turns -0 into 0
}

/** The shortest decimal of a value rounded to 4 decimals. @param {number} v */
export function formatFixed(v) {
    return String(Math.round(v * 10000) / 10000 + 0);
}

/** @param {number} v */
const isCoord = (v) => v >= -0.5 && v <= 1.5;

/** Unsigned integer: ASCII digits only, at most 2^53-1 (`max` bounds it further). */
export function parseDigits(s, attr, max = Number.MAX_SAFE_INTEGER) {
    const n = DIGITS.test(s) ? Number(s) : NaN;
    if (!(n <= Math.min(max, Number.MAX_SAFE_INTEGER))) throw invalid(attr, 'not digits');
    return n;
}

/** `x,y x,y` → [[x, y], …], at least one point, coordinates in -0.5..1.5. @param {string} s */
export function parsePoints(s) {
    const points = [];
    for (const pair of s.split(XML_SPACE)) {
        if (pair === '') continue;
        const xy = pair.split(',');
        let p = null;
        try {
            p = xy.length === 2 ? [parseFixed(xy[0], 'points'), parseFixed(xy[1], 'points')] : null;
        } catch {
            p = null;
        }
        if (!p || !isCoord(p[0]) || !isCoord(p[1])) throw invalid('points', 'not a list of x,y pairs in -0.5..1.5');
        points.push(p);
    }
    if (points.length === 0) throw invalid('points', 'at least one point is needed');
    return points;
}

/** @param {number[][]} points */
export const formatPoints = (points) => points.map(([x, y]) => `${formatFixed(x)},${formatFixed(y)}`).join(' ');

/** @param {string} s */
export const isNick = (s) => s !== '' && utf8.encode(s).length <= LIMITS.nameBytes && !/\p{Cc}/u.test(s);
/** @param {string} s */
export const isMeetingNumber = (s) => /^[0-9]{9}$/.test(s);
/** @param {string} s */
export const isDocumentId = (s) => SHA256.test(s);
/** @param {string} s */
export const isItemId = (s) => ITEM_ID.test(s);

// ---- reading elements -------------------------------------------------------------------------

/**
 * Attribute readers for one element: each throws the error Rust gives for the same input.
 * @param {Element} el
 */
export function reader(el) {
    /** @param {string} name */
    const raw = (name) => (el.hasAttribute(name) ? el.getAttribute(name) : null);
    /** @param {string} name @returns {string} */
    const req = (name) => {
        const v = raw(name);
        if (v === null) throw new ProtocolError('malformed', `malformed payload: missing \`${name}\``, name);
        return v;
    };
    /** @param {string} name @param {number} [max] */
    const int = (name, max = 0xffffffff) => parseDigits(req(name), name, max);
    /** @param {string} name */
    const bool = (name) => {
        const v = req(name);
        if (v === 'true' || v === '1') return true;
        if (v === 'false' || v === '0') return false;
        throw invalid(name, 'not a boolean');
    };
    return {
        raw,
        str: req,
        int,
        bool,
        /** @param {string} name */
        page: (name) => {
            const n = int(name);
            if (n === 0) throw invalid(name, 'pages are numbered from 1');
            return n;
        },
        /** @param {string} name */
        fixed: (name) => parseFixed(req(name), name),
        /** @param {string} name */
        coord: (name) => {
            const v = parseFixed(req(name), name);
            if (!isCoord(v)) throw invalid(name, 'not in -0.5..1.5');
            return v;
        },
        /** Widths and sizes: 0.0001..0.5 of the page width. @param {string} name */
        extent: (name) => {
            const v = parseFixed(req(name), name);
            if (!(v >= 0.0001 && v <= 0.5)) throw invalid(name, 'not in 0.0001..0.5');
            return v;
        },
        id: () => {
            const v = req('id');
            if (!isItemId(v)) throw invalid('id', 'not [A-Za-z0-9_-]{1,32}');
            return v;
        },
        color: () => {
            const v = req('color');
            if (!COLOR.test(v)) throw invalid('color', 'not #rrggbb');
            return v.toLowerCase();
        },
        /** @param {string} name @param {string[]} allowed */
        keyword: (name, allowed) => {
            const v = req(name);
            if (!allowed.includes(v)) throw invalid(name, 'unknown value');
            return v;
        },
        /** A space-separated id list, at least one id. @param {string} name */
        ids: (name) => {
            const ids = req(name).split(XML_SPACE).filter((s) => s !== '');
            if (ids.some((s) => !isItemId(s))) throw invalid(name, 'an id is not [A-Za-z0-9_-]{1,32}');
            if (ids.length === 0) throw invalid(name, 'at least one id is needed');
            return ids;
        },
    };
}

/** @param {Node} n @returns {n is Element} */
const isElement = (n) => n.nodeType === 1;

/** Child elements in our namespace (others are ignored, as unknown children are). @param {Element} el */
export function nsChildren(el) {
    return Array.from(el.childNodes).filter(isElement).filter((c) => c.namespaceURI === NS);
}

/** The element's own text; `textual` false: refuse anything but whitespace. */
export function ownText(el, textual = true) {
    let text = '';
    for (const n of Array.from(el.childNodes)) if (n.nodeType === 3 || n.nodeType === 4) text += n.nodeValue;
    if (!textual && !/^[ \t\r\n]*$/.test(text)) throw new ProtocolError('malformed', 'malformed payload: Unexpected text content');
    return text;
}

/** Text of a text item: 1..1024 code points. @param {string} text */
export function checkText(text) {
    if (text === '') throw invalid('text', 'must not be empty');
    if ([...text].length > LIMITS.textChars) throw tooLarge('text');
    return text;
}

// ---- payloads ---------------------------------------------------------------------------------

/** @param {string} base */
const isBase = (base) =>
    /^(\/|https:\/\/|http:\/\/)/.test(base) &&
    base.endsWith('/') &&
    utf8.encode(base).length <= LIMITS.nameBytes &&
    !/[\p{White_Space}\p{Cc}]/u.test(base);

/** @param {Element} el @param {ReturnType<typeof reader>} r @returns {DocumentPayload} */
function readDocument(el, r) {
    const id = r.str('id');
    const pages = r.int('pages');
    const base = r.str('base');
    const title = r.raw('title');
    const ps = nsChildren(el)
        .filter((c) => c.localName === 'p')
        .map((p) => {
            ownText(p, false);
            const rp = reader(p);
            return { n: rp.int('n'), hash: rp.str('hash'), w: rp.int('w'), h: rp.int('h') };
        });
    if (!isDocumentId(id)) throw invalid('id', 'not 64 lowercase hex digits');
    if (pages === 0) throw invalid('pages', 'must be at least 1');
    if (pages > LIMITS.pages) throw tooLarge('pages');
    if (!isBase(base)) throw invalid('base', 'not a URL prefix ending in /');
    if (title !== null && utf8.encode(title).length > LIMITS.nameBytes) throw tooLarge('title');
    if (ps.length !== pages) throw invalid('pages', 'needs exactly one <p/> per page');
    ps.forEach((p, i) => {
        if (p.n !== i + 1) throw invalid('n', 'pages must be listed 1, 2, 3, …');
        if (!SHA256.test(p.hash)) throw invalid('hash', 'not 64 lowercase hex digits');
        if (p.w === 0 || p.h === 0) throw invalid('w', 'page size must be positive');
    });
    const hashes = ps.map((p) => p.hash);
    return { type: 'document', id, pages, base, title, hashes, sizes: ps.map((p) => [p.w, p.h]) };
}

/** @param {Element} el @param {ReturnType<typeof reader>} r @returns {PointerPayload} */
function readPointer(el, r) {
    const hide = r.raw('hide') === null ? null : r.bool('hide');
    const page = r.raw('page') === null ? null : r.int('page');
    const x = r.raw('x') === null ? null : r.fixed('x');
    const y = r.raw('y') === null ? null : r.fixed('y');
    if (hide === true && page === null && x === null && y === null) return { type: 'pointer', hide: true };
    if (hide !== null || page === null || x === null || y === null) {
        throw invalid('hide', "either page, x and y, or hide='true' alone");
    }
    if (page === 0) throw invalid('page', 'pages are numbered from 1');
    if (!isCoord(x)) throw invalid('x', 'not in -0.5..1.5');
    if (!isCoord(y)) throw invalid('y', 'not in -0.5..1.5');
    return { type: 'pointer', page, x, y };
}

/** @param {Element} el */
function pointsOf(el) {
    const points = parsePoints(ownText(el));
    if (points.length > LIMITS.pointsPerElement) throw tooLarge('points');
    return points;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Standard base64 with padding, as Rust's `STANDARD` engine reads it: canonical (unused
 * trailing bits zero), nothing else. Throws on anything else. @param {string} word
 */
export function fromBase64(word) {
    if (word === '' || !BASE64.test(word)) throw invalid('frames', 'not base64');
    const pad = word.endsWith('==') ? 2 : word.endsWith('=') ? 1 : 0;
    const tail = B64.indexOf(word[word.length - pad - 1]);
    if ((pad === 2 && (tail & 15) !== 0) || (pad === 1 && (tail & 3) !== 0)) throw invalid('frames', 'not base64');
    const bin = atob(word);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
}

/** @param {Uint8Array} bytes */
export function toBase64(bytes) {
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(bin);
}

/** @param {Element} el @param {ReturnType<typeof reader>} r @returns {AudioPayload} */
function readAudio(el, r) {
    const codec = r.keyword('codec', ['opus']);
    const [rate, channels, ms] = [r.int('rate'), r.int('channels'), r.int('ms')];
    const source = r.raw('source') === null ? null : r.keyword('source', ['mic', 'file']);
    /** @type {Uint8Array[]} */
    const frames = [];
    for (const word of ownText(el).split(XML_SPACE)) {
        if (word === '') continue;
        if (frames.length === LIMITS.audioFrames) throw tooLarge('frames');
        if (word.length > Math.ceil(LIMITS.opusPacket / 3) * 4) throw tooLarge('frame');
        frames.push(fromBase64(word));
    }
    if (![8000, 12000, 16000, 24000, 48000].includes(rate)) throw invalid('rate', 'not one of 8000, 12000, 16000, 24000, 48000');
    if (channels < 1 || channels > 2) throw invalid('channels', 'not 1 or 2');
    if (![10, 20, 40, 60].includes(ms)) throw invalid('ms', 'not one of 10, 20, 40, 60');
    const speaker = r.raw('speaker');
    if (speaker !== null && !isNick(speaker)) throw invalid('speaker', 'not a nick');
    if (frames.length === 0) throw invalid('frames', 'at least one frame is needed');
    if (frames.some((f) => f.length > LIMITS.opusPacket)) throw tooLarge('frame');
    /** @type {AudioPayload} */
    const audio = { type: 'audio', codec, rate, channels, ms, source, frames };
    if (speaker !== null) audio.speaker = speaker;
    return audio;
}

/** Payload readers by element name; each refuses what the Rust type refuses. */
const READERS = {
    document: readDocument,
    pointer: readPointer,
    /** @returns {PagePayload} */
    page: (el, r) => ({ type: 'page', n: r.page('n') }),
    /** @returns {ViewportPayload} */
    viewport: (el, r) => {
        const [x, y, zoom] = [r.fixed('x'), r.fixed('y'), r.fixed('zoom')];
        if (!(x >= 0 && x <= 1)) throw invalid('x', 'not in 0..1');
        if (!(y >= 0 && y <= 1)) throw invalid('y', 'not in 0..1');
        if (!(zoom >= 1 && zoom <= 8)) throw invalid('zoom', 'not in 1..8');
        return { type: 'viewport', x, y, zoom };
    },
    /** @returns {PresenterPayload} */
    presenter: (el, r) => {
        const nick = r.str('nick');
        if (!isNick(nick)) throw invalid('nick', 'not a room nick');
        return { type: 'presenter', nick };
    },
    /** @returns {StrokeBeginPayload} */
    'stroke-begin': (el, r) => ({
        type: 'stroke-begin',
        id: r.id(),
        page: r.page('page'),
        tool: r.keyword('tool', ['pen', 'highlighter']),
        color: r.color(),
        width: r.extent('width'),
        points: pointsOf(el),
    }),
    /** @returns {StrokeExtendPayload} */
    'stroke-extend': (el, r) => ({ type: 'stroke-extend', id: r.id(), points: pointsOf(el) }),
    /** @returns {StrokeEndPayload} */
    'stroke-end': (el, r) => ({ type: 'stroke-end', id: r.id() }),
    /** @returns {ShapePayload} */
    shape: (el, r) => ({
        type: 'shape',
        id: r.id(),
        page: r.page('page'),
        kind: r.keyword('kind', ['line', 'arrow', 'rect', 'ellipse']),
        color: r.color(),
        width: r.extent('width'),
        x1: r.coord('x1'),
        y1: r.coord('y1'),
        x2: r.coord('x2'),
        y2: r.coord('y2'),
    }),
    /** @returns {TextPayload} */
    text: (el, r) => ({
        type: 'text',
        id: r.id(),
        page: r.page('page'),
        color: r.color(),
        size: r.extent('size'),
        x: r.coord('x'),
        y: r.coord('y'),
        text: checkText(ownText(el)),
    }),
    /** @returns {ErasePayload} */
    erase: (el, r) => {
        const page = r.page('page');
        const ids = r.ids('ids');
        if (ids.length > LIMITS.idsPerList) throw tooLarge('ids');
        return { type: 'erase', page, ids };
    },
    /** @returns {PageActionPayload} */
    clear: (el, r) => ({ type: 'clear', page: r.page('page') }),
    /** @returns {PageActionPayload} */
    undo: (el, r) => ({ type: 'undo', page: r.page('page') }),
    /** @returns {PageActionPayload} */
    redo: (el, r) => ({ type: 'redo', page: r.page('page') }),
    audio: readAudio,
    /** @returns {RecordingPayload} */
    recording: (el, r) => ({ type: 'recording', paused: r.bool('paused') }),
};

const TEXTUAL = new Set(['stroke-begin', 'stroke-extend', 'text', 'audio']);

/** One payload element → a payload object (throws {@link ProtocolError}). @param {Element} el @returns {Payload} */
export function parsePayload(el) {
    const read = el.namespaceURI === NS ? READERS[el.localName] : undefined;
    if (!read) throw new ProtocolError('malformed', `malformed payload: <${el.localName}/> is not a payload`);
    if (!TEXTUAL.has(el.localName)) ownText(el, false);
    return read(el, reader(el));
}

/** `<event/>` → event (throws {@link ProtocolError}); the strict form, for requests and tests. @param {Element} el @returns {SyncEvent} */
export function parseEvent(el) {
    if (el.namespaceURI !== NS || el.localName !== 'event') throw new ProtocolError('malformed', 'malformed payload: not an <event/>');
    const r = reader(el);
    const seq = r.raw('seq') === null ? undefined : r.int('seq', Number.MAX_SAFE_INTEGER);
    const t = r.int('t', Number.MAX_SAFE_INTEGER);
    const meeting = r.raw('meeting') ?? undefined;
    ownText(el, false);
    const payloads = nsChildren(el).filter((c) => Object.hasOwn(READERS, c.localName));
    if (payloads.length !== 1) throw new ProtocolError('malformed', 'malformed payload: an event holds exactly one payload');
    const payload = parsePayload(payloads[0]);
    if (meeting !== undefined && !isMeetingNumber(meeting)) throw invalid('meeting', 'not 9 digits');
    if (seq === 0) throw invalid('seq', 'sequence numbers start at 1');
    return { seq, t, meeting, payload };
}

/** The `seq` of an `<event/>` even when the rest is unusable; null without a valid one. @param {Element} el */
export function eventSeq(el) {
    if (el.namespaceURI !== NS || el.localName !== 'event') return null;
    const s = el.getAttribute('seq') ?? '';
    const n = DIGITS.test(s) ? Number(s) : 0;
    return n >= 1 && n <= Number.MAX_SAFE_INTEGER ? n : null;
}

/**
 * `<event/>` as an attendee needs it: an unusable payload still yields `{seq, payload: null,
 * error}` so the reducer can account for its seq; null only when there is no valid seq.
 * @param {Element} el @returns {SyncEvent | null}
 */
export function decodeEvent(el) {
    try {
        return parseEvent(el);
    } catch (e) {
        const seq = eventSeq(el);
        if (seq === null) return null;
        const t = Number(el.getAttribute('t')) || 0;
        return { seq, t, payload: null, error: e instanceof ProtocolError ? e : new ProtocolError('malformed', String(e)) };
    }
}

// ---- building ---------------------------------------------------------------------------------

/** @param {Record<string, string | number | boolean | null | undefined>} attrs */
function strings(attrs) {
    /** @type {Record<string, string>} */
    const out = {};
    for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) out[k] = String(v);
    return out;
}

const F = formatFixed;

/** A payload → its element as an {@link XmlNode} (decimals rounded to 4 places). @param {Payload} p @returns {XmlNode} */
export function payloadNode(p) {
    const name = p.type;
    switch (p.type) {
        case 'document': {
            const children = p.hashes.map((hash, i) => ({ name: 'p', attrs: strings({ n: i + 1, hash, w: p.sizes[i][0], h: p.sizes[i][1] }) }));
            return { name, attrs: strings({ id: p.id, pages: p.pages, base: p.base, title: p.title }), children };
        }
        case 'page':
            return { name, attrs: strings({ n: p.n }) };
        case 'viewport':
            return { name, attrs: strings({ x: F(p.x), y: F(p.y), zoom: F(p.zoom) }) };
        case 'pointer':
            return { name, attrs: p.hide ? { hide: 'true' } : strings({ page: p.page, x: F(p.x ?? 0), y: F(p.y ?? 0) }) };
        case 'presenter':
            return { name, attrs: { nick: p.nick } };
        case 'recording':
            return { name, attrs: { paused: String(p.paused) } };
        case 'stroke-begin':
            return { name, attrs: strings({ id: p.id, page: p.page, tool: p.tool, color: p.color, width: F(p.width) }), text: formatPoints(p.points) };
        case 'stroke-extend':
            return { name, attrs: { id: p.id }, text: formatPoints(p.points) };
        case 'stroke-end':
            return { name, attrs: { id: p.id } };
        case 'shape': {
            const { id, page, kind, color } = p;
            return { name, attrs: strings({ id, page, kind, color, width: F(p.width), x1: F(p.x1), y1: F(p.y1), x2: F(p.x2), y2: F(p.y2) }) };
        }
        case 'text':
            return { name, attrs: strings({ id: p.id, page: p.page, color: p.color, size: F(p.size), x: F(p.x), y: F(p.y) }), text: p.text };
        case 'erase':
            return { name, attrs: strings({ page: p.page, ids: p.ids.join(' ') }) };
        case 'audio': {
            const attrs = strings({ codec: p.codec, rate: p.rate, channels: p.channels, ms: p.ms, source: p.source, speaker: p.speaker });
            return { name, attrs, text: p.frames.map(toBase64).join(' ') };
        }
        default:
            return { name, attrs: strings({ page: p.page }) };
    }
}

/** An event (a request without `seq`, with `meeting`) → `<event xmlns=…>`. @param {SyncEvent} ev @returns {XmlNode} */
export function eventNode(ev) {
    if (!ev.payload) throw new ProtocolError('malformed', 'an event needs a payload');
    const attrs = strings({ xmlns: NS, seq: ev.seq, t: ev.t, meeting: ev.meeting });
    return { name: 'event', attrs, children: [payloadNode(ev.payload)] };
}

/** @param {string} s */
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** An {@link XmlNode} → XML text. @param {XmlNode} node @returns {string} */
export function toXml(node) {
    const attrs = Object.entries(node.attrs).map(([k, v]) => ` ${k}='${esc(v)}'`).join('');
    const inner = esc(node.text ?? '') + (node.children ?? []).map(toXml).join('');
    return inner === '' ? `<${node.name}${attrs}/>` : `<${node.name}${attrs}>${inner}</${node.name}>`;
}

/** An {@link XmlNode} → a DOM element of `doc` (browser or xmldom) in our namespace. @param {Document} doc @param {XmlNode} node @returns {Element} */
export function toElement(doc, node) {
    const el = doc.createElementNS(NS, node.name);
    for (const [k, v] of Object.entries(node.attrs)) if (k !== 'xmlns') el.setAttribute(k, v);
    if (node.text) el.appendChild(doc.createTextNode(node.text));
    for (const c of node.children ?? []) el.appendChild(toElement(doc, c));
    return el;
}

/**
 * Appends an {@link XmlNode} to a strophe.js builder, e.g. `toStrophe($msg({to, type: 'chat'}),
 * eventNode(ev)).up().c('store', {xmlns: 'urn:xmpp:hints'})`; returns the builder positioned
 * where it was. @template {{ c: Function, t: Function, up: Function }} B
 * @param {B} builder @param {XmlNode} node @returns {B}
 */
export function toStrophe(builder, node) {
    builder.c(node.name, node.attrs);
    if (node.text) builder.t(node.text);
    for (const c of node.children ?? []) toStrophe(builder, c);
    builder.up();
    return builder;
}
