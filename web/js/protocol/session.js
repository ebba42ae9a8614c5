// A Lectern meeting session over XMPP (strophe.js over WebSocket), free of UI.
//
// Logs in as the HTTP join response says, joins the meeting's MUC room (a taken nick gets
// " (2)", " (3)", …), says <hello/> to the focus with the ticket, loads the <snapshot/>, then
// applies the focus's events in `seq` order through the playout clock. A gap, or a reconnect,
// is filled with <events since/>. Lectern payloads are accepted ONLY from the focus: its room
// occupant (`<room>/focus`) for groupchat events, its own JID for IQ results and notices.
//
// The payload codec and the state reducer are injected (see `Sync`), so this file only knows the
// stanzas around them. Everything the UI needs comes out as DOM events on the session:
//   status      {status: 'connecting'|'syncing'|'online'|'reconnecting'|'closed'|'failed', reason?}
//   state       {state}            after every applied event, snapshot or catch-up
//   event       {event}            each sequenced event as it is applied
//   hello       {role, lan, audio}   audio: whether the meeting carries voice (null: not said)
//   roster      {participants}
//   chat        {nick, body, self, delayed, stamp}
//   preload     {document, url}    the focus asks for the whole-document package
//   preloaded   {nick, document}   (presenter) an attendee verified its package
//   rejected    {condition, text}  the focus refused one of our requests

import { Strophe, $iq, $msg, $pres } from 'strophe.js';

import { PlayoutClock } from './clock.js';

export const NS = 'urn:lectern:sync:1';
const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_HINTS = 'urn:xmpp:hints';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const NS_PING = 'urn:xmpp:ping';
const NS_DELAY = 'urn:xmpp:delay';

/**
 * What `POST /api/meetings/{number}/join` answers (docs/MEETINGS-API.md).
 * @typedef {{
 *   number: string, room: string, nick: string, focus: string, websocket: string, domain: string,
 *   login: { mechanism: string, jid?: string, password?: string, domain?: string },
 *   ticket: string, role: string, lan: boolean, title?: string
 * }} JoinInfo
 */

/**
 * A sequenced event as decoded by the codec: at least `seq` and `t`.
 * @typedef {{ seq: number, t: number } & Record<string, any>} SyncEvent
 */

/**
 * The codec and reducer, injected.
 * @typedef {{
 *   initial: () => any,
 *   decodeEvent: (el: Element) => SyncEvent | null,
 *   decodeSnapshot: (el: Element) => any,
 *   apply: (state: any, event: SyncEvent) => any,
 * }} Sync
 */

/** @typedef {{ nick: string, role: string, affiliation: string, self: boolean, jid?: string }} Participant */

/** Backoff for reconnects, ms. */
const BACKOFF = [250, 1000, 2000, 4000, 8000, 15000];
const PING_EVERY = 15000;
const PING_TIMEOUT = 10000;
const IQ_TIMEOUT = 15000;
const MAX_OUTBOX = 2000;

/** @param {string} jid */
const bare = (jid) => Strophe.getBareJidFromJid(jid || '')?.toLowerCase() ?? '';
/** @param {string} jid */
const resource = (jid) => Strophe.getResourceFromJid(jid || '') ?? '';

/**
 * @param {Element} el
 * @param {string} ns
 * @param {string} name
 * @returns {Element | null}
 */
export function child(el, ns, name) {
    for (const n of Array.from(el.children)) {
        if (n.localName === name && (ns === '*' || n.namespaceURI === ns)) return n;
    }
    return null;
}

/** @param {any} ev a SyncEvent */
const isAudio = (ev) => ev?.payload?.type === 'audio';

/** @param {Element} el */
function hasLecternPayload(el) {
    return Array.from(el.children).some((n) => n.namespaceURI === NS);
}

export class Session extends EventTarget {
    /**
     * @param {{
     *   join: JoinInfo,
     *   rejoin: () => Promise<JoinInfo>,
     *   sync: Sync,
     *   delay?: number,
     * }} options `rejoin` asks the HTTP API for fresh credentials (reconnects after the
     * token expired); `delay` is the initial playout delay in ms.
     */
    constructor(options) {
        super();
        this.info = options.join;
        this.rejoin = options.rejoin;
        this.sync = options.sync;
        this.state = this.sync.initial();
        /** The nick we asked for; `nick` is the one we got. */
        this.wantedNick = this.info.nick;
        this.nick = this.info.nick;
        this.role = this.info.role;
        this.lan = !!this.info.lan;
        /** @type {boolean | null} whether the meeting carries voice (the hello answer's `audio`) */
        this.audio = null;
        /**
         * Where audio batches go as soon as they are in `seq` order (live) or fetched by a
         * catch-up (`recovered`): the voice player schedules their samples itself, ahead of the
         * playout clock that applies (and, for audio, merely counts) events.
         * @type {((event: SyncEvent, how: { recovered: boolean }) => void) | null}
         */
        this.audioSink = null;
        this.status = 'closed';
        /** Highest seq received in order (applied or queued for playout). */
        this.lastSeq = 0;
        /** @type {Map<number, SyncEvent>} out-of-order events waiting for a gap to fill */
        this.pending = new Map();
        this.synced = false;
        this.catchingUp = false;
        /** @type {Map<string, Participant>} */
        this.participants = new Map();
        /** @type {Element[]} requests made while offline, sent once back in sync */
        this.outbox = [];
        this.stats = { events: 0, ignored: 0, gaps: 0, reconnects: 0, snapshots: 0, catchups: 0 };
        /** @type {any} strophe connection */
        this.conn = null;
        this.generation = 0;
        this.attempt = 0;
        this.closing = false;
        /** @type {ReturnType<typeof setTimeout> | null} */
        this.retryTimer = null;
        /** @type {ReturnType<typeof setInterval> | null} */
        this.pingTimer = null;
        this.idCounter = 0;
        this.lastChatStamp = null;
        this.seenChat = new Set();
        /** @type {PlayoutClock<SyncEvent>} */
        this.clock = /** @type {PlayoutClock<SyncEvent>} */ (
            new PlayoutClock((/** @type {SyncEvent} */ ev) => this.applyEvent(ev), { delay: options.delay ?? 0, instant: isAudio })
        );
        this.entered = false;
        /** @type {string | null} */
        this.pendingNick = null;
        this.joinSuffix = 1;
        this.joinAgain = false;
        /** @type {string} */
        this.itemPrefix = '';
        this.onOnline = () => {
            if (this.status === 'reconnecting') this.retryNow();
        };
        if (typeof window !== 'undefined') window.addEventListener('online', this.onOnline);
    }

    // ---- public API -------------------------------------------------------------------------

    /** Connects, joins the room and syncs. Resolves once in sync (rejects if the first
     * attempt fails for good: bad credentials, unknown ticket). */
    start() {
        this.closing = false;
        return new Promise((resolve, reject) => {
            const onStatus = (/** @type {any} */ e) => {
                if (e.detail.status === 'online') {
                    this.removeEventListener('status', onStatus);
                    resolve(undefined);
                } else if (e.detail.status === 'failed') {
                    this.removeEventListener('status', onStatus);
                    reject(new Error(e.detail.reason || 'could not join'));
                }
            };
            this.addEventListener('status', onStatus);
            this.connect(false);
        });
    }

    /** Leaves the room and disconnects for good. */
    close() {
        this.closing = true;
        if (this.retryTimer) clearTimeout(this.retryTimer);
        this.stopPing();
        if (typeof window !== 'undefined') window.removeEventListener('online', this.onOnline);
        const conn = this.conn;
        this.conn = null;
        if (conn) {
            try {
                conn.send($pres({ to: `${this.info.room}/${this.nick}`, type: 'unavailable' }).tree());
                conn.flush();
                conn.disconnect('bye');
            } catch {
                /* already gone */
            }
        }
        this.setStatus('closed');
    }

    get isPresenter() {
        return !!this.state && this.state.presenter === this.nick;
    }

    /** Sends a chat message to everyone in the room. */
    sendChat(text) {
        const body = String(text).trim();
        if (!body || !this.conn || this.status !== 'online') return false;
        this.conn.send($msg({ to: this.info.room, type: 'groupchat', id: this.nextId('c') }).c('body').t(body).tree());
        return true;
    }

    /**
     * Sends a presenter request to the focus: one payload element inside <event/>.
     * Queued while offline (bounded), sent once back in sync.
     * @param {string} name payload element name (page, stroke-begin, …)
     * @param {Record<string, string | number | boolean | undefined | null>} attrs
     * @param {string} [text]
     * @param {{ name: string, attrs: Record<string, string | number> }[]} [children]
     * @param {{ t?: number }} [options] `t`: the presenter-clock time to stamp instead of now
     *     (e.g. the moment in the voice a page turn belongs to)
     * @returns {string} the message id
     */
    request(name, attrs, text, children, options = {}) {
        const el = this.requestElement(name, attrs, text, children, options.t ?? this.clock.presenterNow());
        if (this.conn && this.status === 'online') this.conn.send(el);
        else if (this.outbox.length < MAX_OUTBOX) this.outbox.push(el);
        return el.getAttribute('id') ?? '';
    }

    /**
     * Sends one batch of voice frames (see protocol/README.md, `audio`), stamped `t`: the
     * presenter-clock time of its first sample. Never queued: audio is only worth its time, so
     * offline it is dropped (returns false).
     * @param {number} t
     * @param {{ codec: string, rate: number, channels: number, ms: number }} params
     * @param {string[]} frames base64 Opus packets
     */
    sendAudio(t, params, frames) {
        if (!this.conn || this.status !== 'online' || frames.length === 0) return false;
        this.conn.send(this.requestElement('audio', params, frames.join(' '), undefined, t));
        return true;
    }

    /**
     * @param {string} name @param {Record<string, string | number | boolean | undefined | null>} attrs
     * @param {string | undefined} text @param {{ name: string, attrs: Record<string, string | number> }[] | undefined} children
     * @param {number} t
     * @returns {Element}
     */
    requestElement(name, attrs, text, children, t) {
        const id = this.nextId('p');
        const clean = /** @type {Record<string, string>} */ ({});
        for (const [k, v] of Object.entries(attrs)) {
            if (v !== undefined && v !== null) clean[k] = String(v);
        }
        const b = $msg({ to: this.info.focus, type: 'chat', id })
            .c('event', { xmlns: NS, meeting: this.info.number, t: String(Math.max(0, Math.round(t))) })
            .c(name, clean);
        if (text !== undefined && text !== '') b.t(text);
        for (const c of children ?? []) {
            /** @type {Record<string, string>} */
            const a = {};
            for (const [k, v] of Object.entries(c.attrs)) a[k] = String(v);
            b.c(c.name, a).up();
        }
        b.up().up().c('store', { xmlns: NS_HINTS });
        return b.tree();
    }

    /** Asks the focus to make `nick` the presenter. */
    handOver(nick) {
        return this.request('presenter', { nick });
    }

    /** Reports to the focus that the package of `document` verified and is in use. */
    sendPreloaded(document) {
        if (!this.conn) return;
        this.conn.send(
            $msg({ to: this.info.focus, type: 'chat', id: this.nextId('l') })
                .c('preloaded', { xmlns: NS, meeting: this.info.number, document })
                .tree(),
        );
    }

    /** A fresh id for an ink item, `[A-Za-z0-9_-]{1,32}`, unique within the meeting. */
    newItemId() {
        if (!this.itemPrefix) {
            const r = new Uint8Array(6);
            crypto.getRandomValues(r);
            this.itemPrefix = Array.from(r, (b) => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-'[b & 63]).join('');
        }
        this.idCounter += 1;
        return `${this.itemPrefix}${this.idCounter.toString(36)}`;
    }

    /** The participants, sorted by nick. */
    roster() {
        return Array.from(this.participants.values()).sort((a, b) => a.nick.localeCompare(b.nick));
    }

    // ---- connection -------------------------------------------------------------------------

    nextId(prefix) {
        this.idCounter += 1;
        return `${prefix}${Date.now().toString(36)}${this.idCounter.toString(36)}`;
    }

    setStatus(status, reason) {
        if (this.status === status && !reason) return;
        this.status = status;
        this.emit('status', { status, reason });
    }

    emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, { detail }));
    }

    /** @param {boolean} again whether this is a reconnect */
    async connect(again) {
        const gen = ++this.generation;
        this.setStatus(again ? 'reconnecting' : 'connecting');
        if (again) {
            try {
                // Fresh token and ticket: the old ones may have expired or been used.
                const fresh = await this.rejoin();
                if (gen !== this.generation || this.closing) return;
                this.info = { ...fresh, nick: this.wantedNick };
            } catch (e) {
                if (gen !== this.generation || this.closing) return;
                this.scheduleRetry(`join: ${e?.message ?? e}`);
                return;
            }
        }
        const info = this.info;
        const anonymous = info.login.mechanism.toUpperCase() === 'ANONYMOUS';
        /** @type {Record<string, any>} */
        const opts = { protocol: info.websocket.startsWith('wss:') ? 'wss' : 'ws' };
        if (anonymous) opts.mechanisms = [Strophe.SASLAnonymous];
        const conn = new Strophe.Connection(info.websocket, opts);
        this.conn = conn;
        if (globalThis.localStorage?.getItem('lectern.debug')) {
            // XMPP traffic in the console: localStorage['lectern.debug'] = '1'
            conn.rawInput = (/** @type {string} */ d) => console.debug('lectern RECV', d);
            conn.rawOutput = (/** @type {string} */ d) => console.debug('lectern SEND', d);
        }
        conn.addHandler((/** @type {Element} */ el) => this.guard(gen, () => this.onMessage(el)), null, 'message', null);
        conn.addHandler((/** @type {Element} */ el) => this.guard(gen, () => this.onPresence(el)), null, 'presence', null);
        conn.addHandler((/** @type {Element} */ el) => this.guard(gen, () => this.onIq(el)), null, 'iq', ['get', 'set']);
        const jid = anonymous ? info.login.domain || `guest.${info.domain}` : info.login.jid;
        const password = anonymous ? '' : info.login.password;
        let joined = false;
        this.entered = false;
        conn.connect(jid, password, (/** @type {number} */ status, /** @type {string} */ condition) => {
            if (gen !== this.generation) return;
            const S = Strophe.Status;
            if (status === S.CONNECTED) {
                joined = true;
                this.attempt = 0;
                this.joinRoom(gen, again);
            } else if (status === S.AUTHFAIL) {
                if (again) this.scheduleRetry('login refused');
                else this.setStatus('failed', 'The server refused the login.');
            } else if (status === S.CONNFAIL || status === S.DISCONNECTED || status === S.CONNTIMEOUT) {
                if (this.closing) return;
                if (!again && !joined && status === S.CONNFAIL && this.attempt >= 3) {
                    this.setStatus('failed', `Could not connect (${condition || 'connection failed'}).`);
                    return;
                }
                this.dropConnection(gen);
                this.scheduleRetry(condition || 'disconnected');
            }
        });
    }

    /** Runs `fn` only for the current connection; a handler returning true stays installed. */
    guard(gen, fn) {
        if (gen !== this.generation) return false;
        try {
            fn();
        } catch (e) {
            console.error('lectern session:', e);
        }
        return true;
    }

    dropConnection(gen) {
        if (gen !== this.generation) return;
        this.stopPing();
        this.synced = false;
        this.catchingUp = false;
        const conn = this.conn;
        this.conn = null;
        if (conn) {
            try {
                conn.reset();
            } catch {
                /* gone */
            }
        }
        this.participants.clear();
        this.emit('roster', { participants: [] });
    }

    scheduleRetry(reason) {
        if (this.closing) return;
        this.generation += 1;
        this.setStatus('reconnecting', reason);
        const base = BACKOFF[Math.min(this.attempt, BACKOFF.length - 1)];
        this.attempt += 1;
        if (this.retryTimer) clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.stats.reconnects += 1;
            this.connect(true);
        }, base + Math.random() * base * 0.3);
    }

    retryNow() {
        if (this.retryTimer) {
            clearTimeout(this.retryTimer);
            this.retryTimer = null;
            this.stats.reconnects += 1;
            this.connect(true);
        }
    }

    /** Forces a reconnect (e.g. a ping went unanswered). */
    reconnect(reason) {
        if (this.closing) return;
        const gen = this.generation;
        const conn = this.conn;
        this.dropConnection(gen);
        if (conn) {
            try {
                conn.disconnect(reason);
            } catch {
                /* gone */
            }
        }
        this.scheduleRetry(reason);
    }

    startPing(gen) {
        this.stopPing();
        this.pingTimer = setInterval(() => {
            if (gen !== this.generation || !this.conn) return;
            this.conn.sendIQ(
                $iq({ type: 'get', to: this.info.domain, id: this.nextId('ping') }).c('ping', { xmlns: NS_PING }).tree(),
                () => {},
                (/** @type {Element | null} */ err) => {
                    // an error reply still proves the connection lives
                    if (!err && gen === this.generation) this.reconnect('ping timeout');
                },
                PING_TIMEOUT,
            );
        }, PING_EVERY);
    }

    stopPing() {
        if (this.pingTimer) clearInterval(this.pingTimer);
        this.pingTimer = null;
    }

    // ---- room -------------------------------------------------------------------------------

    /** @param {number} gen @param {boolean} again */
    joinRoom(gen, again, suffix = 1) {
        const nick = suffix === 1 ? this.wantedNick : `${this.wantedNick} (${suffix})`;
        this.pendingNick = nick;
        this.joinSuffix = suffix;
        const history = again && this.lastChatStamp ? { since: this.lastChatStamp } : { maxstanzas: '50' };
        this.conn.send(
            $pres({ to: `${this.info.room}/${nick}` })
                .c('x', { xmlns: NS_MUC })
                .c('history', history)
                .tree(),
        );
        this.joinAgain = again;
    }

    /** @param {Element} el */
    onPresence(el) {
        const from = el.getAttribute('from') || '';
        if (bare(from) !== bare(this.info.room)) return;
        const nick = resource(from);
        const type = el.getAttribute('type');
        const x = child(el, NS_MUC_USER, 'x');
        const codes = x ? Array.from(x.children).filter((n) => n.localName === 'status').map((n) => n.getAttribute('code')) : [];
        if (type === 'error') {
            if (nick !== this.pendingNick || this.synced) return;
            const err = child(el, 'jabber:client', 'error') ?? child(el, '*', 'error');
            const conflict = err && child(err, NS_STANZAS, 'conflict');
            if (conflict && this.joinSuffix < 20) {
                this.joinRoom(this.generation, !!this.joinAgain, this.joinSuffix + 1);
            } else {
                const cond = err ? Array.from(err.children).find((n) => n.namespaceURI === NS_STANZAS)?.localName : '';
                this.setStatus('failed', `Could not enter the meeting room (${cond || 'error'}).`);
            }
            return;
        }
        const self = codes.includes('110');
        if (type === 'unavailable') {
            this.participants.delete(nick);
            if (self && !this.closing) {
                // kicked, or the room went away (332): reconnect
                this.reconnect('left the room');
                return;
            }
        } else if (nick !== 'focus') {
            const item = x ? child(x, NS_MUC_USER, 'item') : null;
            this.participants.set(nick, {
                nick,
                role: item?.getAttribute('role') ?? 'participant',
                affiliation: item?.getAttribute('affiliation') ?? 'none',
                jid: item?.getAttribute('jid') ?? undefined,
                self,
            });
        }
        this.emit('roster', { participants: this.roster() });
        if (self && type !== 'unavailable' && !this.entered) {
            this.entered = true;
            this.nick = nick;
            this.afterJoin(this.generation, !!this.joinAgain);
        }
    }

    /** In the room: hello, then snapshot (first time) or catch-up (reconnect). */
    async afterJoin(gen, again) {
        this.startPing(gen);
        this.setStatus('syncing');
        try {
            const hello = await this.iq(
                $iq({ type: 'set', to: this.info.focus }).c('hello', { xmlns: NS, meeting: this.info.number, ticket: this.info.ticket }),
            );
            if (gen !== this.generation) return;
            const h = child(hello, NS, 'hello');
            if (h) {
                this.role = h.getAttribute('role') ?? this.role;
                this.lan = h.getAttribute('lan') === 'true';
                const audio = h.getAttribute('audio');
                this.audio = audio === null ? null : audio === 'true' || audio === '1';
            }
            this.emit('hello', { role: this.role, lan: this.lan, audio: this.audio });
            if (again && this.lastSeq > 0) {
                await this.catchUp(gen);
            } else {
                await this.loadSnapshot(gen);
            }
            if (gen !== this.generation) return;
            this.synced = true;
            this.drainPending(gen);
            this.setStatus('online');
            const out = this.outbox;
            this.outbox = [];
            for (const el of out) this.conn?.send(el);
        } catch (e) {
            if (gen !== this.generation) return;
            const cond = e?.condition;
            if (cond === 'not-authorized' && !again) {
                this.setStatus('failed', 'The meeting did not accept this join (ticket refused).');
                return;
            }
            this.reconnect(`sync: ${e?.message ?? e}`);
        }
    }

    /**
     * Sends an IQ to the focus; resolves with the result, rejects with {condition} on error.
     * Only results from the focus's JID count.
     * @param {any} builder
     * @returns {Promise<Element>}
     */
    iq(builder) {
        return new Promise((resolve, reject) => {
            const conn = this.conn;
            if (!conn) {
                reject(new Error('offline'));
                return;
            }
            conn.sendIQ(
                builder.tree(),
                (/** @type {Element} */ res) => {
                    if ((res.getAttribute('from') || '').toLowerCase() !== this.info.focus.toLowerCase()) {
                        this.stats.ignored += 1;
                        reject(new Error('an IQ result not from the focus'));
                        return;
                    }
                    resolve(res);
                },
                (/** @type {Element | null} */ err) => {
                    if (!err) {
                        reject(new Error('the focus did not answer'));
                        return;
                    }
                    const e = child(err, '*', 'error');
                    const cond = e ? Array.from(e.children).find((n) => n.namespaceURI === NS_STANZAS)?.localName : undefined;
                    const error = /** @type {any} */ (new Error(`the focus answered ${cond ?? 'an error'}`));
                    error.condition = cond;
                    reject(error);
                },
                IQ_TIMEOUT,
            );
        });
    }

    async loadSnapshot(gen) {
        const res = await this.iq($iq({ type: 'get', to: this.info.focus }).c('snapshot', { xmlns: NS, meeting: this.info.number }));
        if (gen !== this.generation) return;
        const snap = child(res, NS, 'snapshot');
        if (!snap) throw new Error('the snapshot result has no <snapshot/>');
        this.clock.clear();
        this.state = this.sync.decodeSnapshot(snap);
        this.lastSeq = this.state.seq ?? Number(snap.getAttribute('seq') ?? 0);
        for (const seq of Array.from(this.pending.keys())) if (seq <= this.lastSeq) this.pending.delete(seq);
        this.stats.snapshots += 1;
        this.emit('state', { state: this.state, snapshot: true });
    }

    /** Fetches events after `lastSeq` until complete and applies them at once. */
    async catchUp(gen) {
        if (this.catchingUp) return;
        this.catchingUp = true;
        this.stats.catchups += 1;
        try {
            for (let rounds = 0; rounds < 1000; rounds++) {
                const res = await this.iq(
                    $iq({ type: 'get', to: this.info.focus }).c('events', {
                        xmlns: NS,
                        meeting: this.info.number,
                        since: String(this.lastSeq),
                        max: '500',
                    }),
                );
                if (gen !== this.generation) return;
                const list = child(res, NS, 'events');
                if (!list) throw new Error('the catch-up result has no <events/>');
                // Everything received live before now is older than what we fetch, so fetched
                // events queue behind it; those whose time has passed apply at once, the rest
                // (a gap filled quickly while the voice plays) when the playout clock is there.
                const before = this.lastSeq;
                for (const el of Array.from(list.children)) {
                    if (el.localName !== 'event') continue;
                    const ev = this.sync.decodeEvent(el);
                    if (!ev || ev.seq <= this.lastSeq) continue;
                    if (ev.seq !== this.lastSeq + 1) throw new Error(`catch-up skipped from ${this.lastSeq} to ${ev.seq}`);
                    this.lastSeq = ev.seq;
                    if (isAudio(ev)) this.toAudioSink(ev, true);
                    this.clock.push(ev);
                }
                if (list.getAttribute('complete') !== 'false' || this.lastSeq === before) break;
            }
        } finally {
            this.catchingUp = false;
        }
    }

    /** Moves contiguous buffered events into playout; asks for a catch-up on a gap. */
    drainPending(gen) {
        for (;;) {
            const next = this.pending.get(this.lastSeq + 1);
            if (!next) break;
            this.pending.delete(next.seq);
            this.lastSeq = next.seq;
            if (isAudio(next)) this.toAudioSink(next, false);
            this.clock.push(next);
        }
        for (const seq of Array.from(this.pending.keys())) if (seq <= this.lastSeq) this.pending.delete(seq);
        if (this.pending.size > 0 && this.synced && !this.catchingUp) {
            this.stats.gaps += 1;
            this.catchUp(gen)
                .then(() => this.drainPending(gen))
                .catch((e) => {
                    if (gen === this.generation) this.reconnect(`catch-up: ${e?.message ?? e}`);
                });
        }
    }

    /** Hands an audio batch to the voice player; its troubles never stop the events. */
    toAudioSink(ev, recovered) {
        try {
            this.audioSink?.(ev, { recovered });
        } catch (e) {
            console.warn('lectern session: the voice player failed:', e);
        }
    }

    /** @param {SyncEvent} ev */
    applyEvent(ev) {
        this.state = this.sync.apply(this.state, ev);
        this.stats.events += 1;
        this.emit('event', { event: ev });
        // audio takes its seq but never changes what the state shows
        if (!isAudio(ev)) this.emit('state', { state: this.state });
    }

    // ---- messages ---------------------------------------------------------------------------

    /** @param {Element} el */
    onMessage(el) {
        const from = el.getAttribute('from') || '';
        const type = el.getAttribute('type') || 'normal';
        const fromRoom = bare(from) === bare(this.info.room);
        const fromFocusOccupant = fromRoom && resource(from) === 'focus';
        const fromFocus = from.toLowerCase() === this.info.focus.toLowerCase();
        const lectern = hasLecternPayload(el);

        if (type === 'groupchat' && fromRoom) {
            if (lectern) {
                if (!fromFocusOccupant) {
                    this.stats.ignored += 1;
                    return;
                }
                const evEl = child(el, NS, 'event');
                if (evEl) this.onEvent(evEl);
                return;
            }
            const body = child(el, 'jabber:client', 'body') ?? child(el, '*', 'body');
            if (body && resource(from)) this.onChat(el, resource(from), body.textContent ?? '');
            return;
        }
        if (!lectern) return;
        if (!fromFocus) {
            this.stats.ignored += 1;
            return;
        }
        if (type === 'error') {
            const e = child(el, '*', 'error');
            const condition = e ? Array.from(e.children).find((n) => n.namespaceURI === NS_STANZAS)?.localName : 'error';
            const text = e ? (child(e, NS_STANZAS, 'text')?.textContent ?? '') : '';
            this.emit('rejected', { condition, text, id: el.getAttribute('id') });
            return;
        }
        const preload = child(el, NS, 'preload');
        if (preload) {
            this.emit('preload', { document: preload.getAttribute('document'), url: preload.getAttribute('url') });
            return;
        }
        const preloaded = child(el, NS, 'preloaded');
        if (preloaded) {
            this.emit('preloaded', { nick: preloaded.getAttribute('nick'), document: preloaded.getAttribute('document') });
        }
    }

    /** @param {Element} evEl */
    onEvent(evEl) {
        const ev = this.sync.decodeEvent(evEl);
        if (!ev || !Number.isInteger(ev.seq)) return;
        if (ev.seq <= this.lastSeq) return; // already have it
        ev.arrival = performance.now(); // the voice player measures its jitter from this
        this.pending.set(ev.seq, ev);
        if (!this.synced) return; // applied after the snapshot / catch-up
        this.drainPending(this.generation);
    }

    /** @param {Element} el @param {string} nick @param {string} text */
    onChat(el, nick, text) {
        const delay = child(el, NS_DELAY, 'delay');
        const stamp = delay?.getAttribute('stamp') ?? new Date().toISOString();
        const key = `${el.getAttribute('id') ?? ''}|${nick}|${text}`;
        if (delay && this.seenChat.has(key)) return;
        this.seenChat.add(key);
        this.lastChatStamp = stamp;
        this.emit('chat', { nick, body: text, self: nick === this.nick, delayed: !!delay, stamp, system: nick === 'focus' });
    }

    /** @param {Element} el */
    onIq(el) {
        // answer pings and refuse everything else, as a client should
        const ping = child(el, NS_PING, 'ping');
        const reply = ping
            ? $iq({ type: 'result', to: el.getAttribute('from') ?? '', id: el.getAttribute('id') ?? '' })
            : $iq({ type: 'error', to: el.getAttribute('from') ?? '', id: el.getAttribute('id') ?? '' })
                  .c('error', { type: 'cancel' })
                  .c('service-unavailable', { xmlns: NS_STANZAS });
        this.conn?.send(reply.tree());
    }
}
