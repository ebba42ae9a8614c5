// MUC interop: strophe.js 5 over RFC 7395 WebSocket and slixmpp over c2s TCP in the same room on
// conference.localhost; every groupchat reaches both, equivalent and with the same ids.
// Run with `node --test` (tests/interop/run.sh does). One server and one room for the file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';
import { Strophe, $iq, $msg, $pres } from 'strophe.js';

import { Waiter, startServer, startTcpEcho } from './harness.mjs';

const ALICE = 'alice@localhost';
const ALICE_PW = 'alice over websocket';
const BOB = 'bob@localhost';
const BOB_PW = 'bob over tcp';
const ROOM = 'bridge@conference.localhost';
const NS = {
    muc: 'http://jabber.org/protocol/muc',
    user: 'http://jabber.org/protocol/muc#user',
    owner: 'http://jabber.org/protocol/muc#owner',
    data: 'jabber:x:data',
    sid: 'urn:xmpp:sid:0',
    oid: 'urn:xmpp:occupant-id:0',
    custom: 'urn:example:custom',
};
const PAYLOAD =
    "<widget xmlns='urn:example:custom' a='1' b='&lt;q&gt; &amp; &quot;t&quot;'>" +
    "<part>x &amp; y</part> tail <part n='2'>\u00fcn\u00efc\u00f8d\u00e9 \u2713</part>" +
    "<meta xmlns='urn:example:ext' k='v'/><empty/></widget>";

Strophe.setLogLevel(Strophe.LogLevel.WARN);

const parse = (xml) => new DOMParser().parseFromString(xml, 'text/xml').documentElement;
const elements = (el) => Array.from(el?.childNodes ?? []).filter((n) => n.nodeType === 1);
const child = (el, ns, name) => elements(el).find((n) => (n.namespaceURI ?? null) === ns && n.localName === name);
const codes = (el) =>
    elements(child(el, NS.user, 'x'))
        .filter((n) => n.localName === 'status')
        .map((n) => n.getAttribute('code'));
const item = (el) => child(child(el, NS.user, 'x'), NS.user, 'item');

/** Name, namespace, attributes (no xmlns declarations), children and text; prefix-independent. */
function structure(el) {
    const attrs = Array.from(el.attributes)
        .filter((a) => a.name !== 'xmlns' && !a.name.startsWith('xmlns:'))
        .map((a) => [a.namespaceURI || '', a.localName, a.value])
        .sort((x, y) => (x.join('\0') < y.join('\0') ? -1 : 1));
    const kids = [];
    for (const n of Array.from(el.childNodes)) {
        if (n.nodeType === 1) kids.push(structure(n));
        else if (n.nodeType === 3 || n.nodeType === 4) {
            if (typeof kids.at(-1) === 'string') kids[kids.length - 1] += n.nodeValue;
            else kids.push(n.nodeValue);
        }
    }
    return [el.namespaceURI || '', el.localName, attrs, kids];
}
const EXPECTED = structure(parse(PAYLOAD));

/** What a receiver made of one groupchat message: the parts both clients must agree on. */
function digest(el) {
    const sids = elements(el).filter((n) => n.namespaceURI === NS.sid && n.getAttribute('by') === ROOM);
    const oids = elements(el).filter((n) => n.namespaceURI === NS.oid && n.localName === 'occupant-id');
    const widget = child(el, NS.custom, 'widget');
    return {
        id: el.getAttribute('id'),
        from: el.getAttribute('from'),
        type: el.getAttribute('type'),
        // slixmpp's serialisation leaves the stream's default namespace out
        body: (child(el, 'jabber:client', 'body') ?? child(el, null, 'body'))?.textContent ?? null,
        widget: widget ? structure(widget) : null,
        stanzaIds: sids.map((n) => n.getAttribute('id')),
        occupantIds: oids.map((n) => n.getAttribute('id')),
    };
}

/** A strophe.js connection recording its traffic and every message and presence, in order. */
function wsClient(srv, name) {
    const conn = new Strophe.Connection(`ws://${srv.http.host}:${srv.http.port}/xmpp-websocket`);
    const trace = [];
    conn.rawInput = (d) => trace.push(`RECV ${d}`);
    conn.rawOutput = (d) => trace.push(`SEND ${d}`);
    const stanzas = new Waiter(`strophe ${name}`);
    for (const kind of ['message', 'presence']) {
        conn.addHandler((el) => (stanzas.push(el), true), null, kind);
    }
    return {
        name,
        conn,
        trace,
        stanzas,
        login(jid, password, ms = 15000) {
            return new Promise((resolve, reject) => {
                const timer = setTimeout(() => reject(new Error(`${name}: no session in ${ms} ms`)), ms);
                conn.connect(jid, password, (status, condition) => {
                    if (status === Strophe.Status.CONNECTED) {
                        clearTimeout(timer);
                        resolve();
                    } else if ([Strophe.Status.CONNFAIL, Strophe.Status.AUTHFAIL].includes(status)) {
                        clearTimeout(timer);
                        reject(new Error(`${name}: login failed (${status} ${condition ?? ''})`));
                    }
                });
            });
        },
        /** Send an iq; resolves with the reply (result or error), rejects on timeout. */
        iq(stanza, ms = 10000) {
            return new Promise((resolve, reject) =>
                conn.sendIQ(stanza, resolve, (e) => (e ? resolve(e) : reject(new Error(`${name}: iq timeout`))), ms),
            );
        },
    };
}

describe('strophe.js (WebSocket) and slixmpp (TCP) in one room', () => {
    let srv;
    let bob; // slixmpp over TCP, reporting what it receives
    const ws = []; // strophe clients
    let alice;
    let carol;
    let setupError = null;

    before(async () => {
        try {
            srv = await startServer();
            srv.addUser(ALICE, ALICE_PW);
            srv.addUser(BOB, BOB_PW);
            bob = await startTcpEcho(srv, BOB, BOB_PW, { extraArgs: ['--no-echo', '--presence'] });
            alice = wsClient(srv, 'alice');
            carol = wsClient(srv, 'carol (guest)');
            ws.push(alice, carol);
            await alice.login(`${ALICE}/ws`, ALICE_PW);
            await carol.login(srv.guestDomain, null);
        } catch (err) {
            setupError = err;
        }
    });

    after(async () => {
        for (const c of ws) c.conn.connected && c.conn.disconnect('done');
        await bob?.stop();
        await srv?.stop();
    });

    async function diagnosed(body) {
        try {
            if (setupError) throw setupError;
            await body();
        } catch (err) {
            const parts = [err.stack ?? String(err)];
            for (const c of ws) parts.push(`--- strophe ${c.name} traffic ---\n${c.trace.join('\n')}`);
            if (bob) parts.push(`--- slixmpp TCP occupant (stderr tail) ---\n${bob.logTail()}`);
            if (srv) parts.push(`--- lectern stderr (tail) ---\n${srv.logTail()}`);
            throw Object.assign(new Error(parts.join('\n')), { cause: err });
        }
    }

    const from = (el) => el.getAttribute('from');
    /** The slixmpp occupant sends raw XML on its TCP stream. */
    const bobSends = (raw) => bob.proc.stdin.write(JSON.stringify({ raw }) + '\n');
    /** Alice (WebSocket) sends a groupchat with a body and the payload. */
    const aliceSays = (id, body) =>
        alice.conn.send($msg({ to: ROOM, type: 'groupchat', id }).c('body').t(body).up().cnode(parse(PAYLOAD)));
    /** Join as `nick` over WebSocket; resolves with the self-presence (110). */
    async function wsJoin(c, nick) {
        c.conn.send($pres({ to: `${ROOM}/${nick}` }).c('x', { xmlns: NS.muc }));
        const me = `${ROOM}/${nick}`;
        return c.stanzas.wait((el) => from(el) === me && codes(el).includes('110'), `${nick}'s self-presence`);
    }

    it('strophe creates the room (110, 201) and configures it with the owner form', () =>
        diagnosed(async () => {
            const me = await wsJoin(alice, 'Alice');
            assert.deepEqual(codes(me).sort(), ['110', '201'], me.toString());
            assert.equal(item(me).getAttribute('affiliation'), 'owner');

            const form = await alice.iq($iq({ type: 'get', to: ROOM }).c('query', { xmlns: NS.owner }));
            assert.equal(form.getAttribute('type'), 'result', form.toString());
            const x = child(child(form, NS.owner, 'query'), NS.data, 'x');
            const submit = $iq({ type: 'set', to: ROOM })
                .c('query', { xmlns: NS.owner })
                .c('x', { xmlns: NS.data, type: 'submit' });
            const changes = { 'muc#roomconfig_roomname': ['Bridge'], 'muc#roomconfig_whois': ['anyone'] };
            for (const f of elements(x).filter((n) => n.localName === 'field' && n.getAttribute('var'))) {
                if (f.getAttribute('type') === 'fixed') continue;
                const v = f.getAttribute('var');
                const current = elements(f).filter((n) => n.localName === 'value').map((n) => n.textContent);
                const values = changes[v] ?? current;
                submit.c('field', { var: v });
                for (const value of values) submit.c('value').t(value).up();
                submit.up();
            }
            const done = await alice.iq(submit);
            assert.equal(done.getAttribute('type'), 'result', done.toString());
        }));

    it('the TCP occupant and a WebSocket guest join; everyone sees everyone', () =>
        diagnosed(async () => {
            bobSends(`<presence to='${ROOM}/Bob'><x xmlns='${NS.muc}'/></presence>`);
            const bobSelf = await bob.events.wait(
                (e) => e.event === 'presence' && e.from === `${ROOM}/Bob` && codes(parse(e.xml)).includes('110'),
                "Bob's self-presence",
            );
            assert.ok(codes(parse(bobSelf.xml)).includes('100'), `non-anonymous room: ${bobSelf.xml}`);
            await wsJoin(carol, 'Carol');

            const atAlice = await alice.stanzas.wait((el) => from(el) === `${ROOM}/Bob`, 'Bob at Alice');
            assert.equal(Strophe.getBareJidFromJid(item(atAlice).getAttribute('jid')), BOB);
            await alice.stanzas.wait((el) => from(el) === `${ROOM}/Carol`, 'Carol at Alice');
            for (const nick of ['Alice', 'Carol']) {
                const who = `${ROOM}/${nick}`;
                await bob.events.wait((e) => e.event === 'presence' && e.from === who, `${nick} at Bob`);
            }
        }));

    /** Wait until Alice, Carol (WebSocket) and Bob (TCP) all have message `id`; their digests. */
    async function everyoneGets(id) {
        const isIt = (el) => el.localName === 'message' && el.getAttribute('id') === id;
        const atWs = await Promise.all(ws.map((c) => c.stanzas.wait(isIt, `${id} at ${c.name}`)));
        const atBob = await bob.events.wait((e) => e.event === 'message' && e.id === id, `${id} at Bob`);
        return [...atWs.map(digest), digest(parse(atBob.xml))];
    }

    function assertSame(seen, { id, from: sender, body }) {
        for (const d of seen) {
            assert.deepEqual([d.id, d.from, d.type, d.body], [id, sender, 'groupchat', body], JSON.stringify(d));
            assert.deepEqual(d.widget, EXPECTED, `payload changed: ${JSON.stringify(d)}`);
            assert.equal(d.stanzaIds.length, 1, `one stanza-id by the room: ${JSON.stringify(d)}`);
            assert.equal(d.occupantIds.length, 1, `one occupant-id: ${JSON.stringify(d)}`);
        }
        const all = JSON.stringify(seen);
        assert.equal(new Set(seen.map((d) => d.stanzaIds[0])).size, 1, `same stanza-id for all: ${all}`);
        assert.equal(new Set(seen.map((d) => d.occupantIds[0])).size, 1, `same occupant-id for all: ${all}`);
    }

    it('WebSocket → room: the TCP occupant gets what the WebSocket occupants get', () =>
        diagnosed(async () => {
            aliceSays('ws-1', 'from the browser');
            assertSame(await everyoneGets('ws-1'), { id: 'ws-1', from: `${ROOM}/Alice`, body: 'from the browser' });
        }));

    it('TCP → room: the WebSocket occupants get what the TCP occupant gets (body-less, <store/>)', () =>
        diagnosed(async () => {
            const store = "<store xmlns='urn:xmpp:hints'/>";
            bobSends(`<message to='${ROOM}' type='groupchat' id='tcp-1'>${store}${PAYLOAD}</message>`);
            assertSame(await everyoneGets('tcp-1'), { id: 'tcp-1', from: `${ROOM}/Bob`, body: null });
        }));

    it('a burst both ways arrives complete, in each sender’s order, with one stanza-id per message', () =>
        diagnosed(async () => {
            const ids = [];
            for (let i = 0; i < 25; i++) {
                aliceSays(`wb-${i}`, `ws ${i}`);
                const body = `<body>tcp ${i}</body>`;
                bobSends(`<message to='${ROOM}' type='groupchat' id='tb-${i}'>${body}${PAYLOAD}</message>`);
                ids.push(`wb-${i}`, `tb-${i}`);
            }
            const burst = (id) => /^(wb|tb)-/.test(id ?? '');
            const order = (list) => ['wb', 'tb'].map((p) => list.filter((d) => d.id.startsWith(p)).map((d) => d.id));
            await Promise.all(ids.map((id) => everyoneGets(id)));
            const inBurst = (el) => el.localName === 'message' && burst(el.getAttribute('id'));
            const views = [
                ...ws.map((c) => c.stanzas.items.filter(inBurst).map(digest)),
                bob.events.items.filter((e) => e.event === 'message' && burst(e.id)).map((e) => digest(parse(e.xml))),
            ];
            const want = order(ids.map((id) => ({ id })));
            for (const v of views) {
                assert.equal(v.length, ids.length, 'no duplicates');
                assert.deepEqual(order(v), want);
            }
            const sid = (v) => Object.fromEntries(v.map((d) => [d.id, d.stanzaIds.join()]));
            assert.deepEqual(sid(views[1]), sid(views[0]));
            assert.deepEqual(sid(views[2]), sid(views[0]));
        }));

    it('the WebSocket owner leaves; the TCP occupant sees it', () =>
        diagnosed(async () => {
            alice.conn.send($pres({ to: `${ROOM}/Alice`, type: 'unavailable' }));
            const own = await alice.stanzas.wait(
                (el) => from(el) === `${ROOM}/Alice` && el.getAttribute('type') === 'unavailable',
                'own unavailable presence',
            );
            assert.ok(codes(own).includes('110'), own.toString());
            const seen = await bob.events.wait(
                (e) => e.event === 'presence' && e.from === `${ROOM}/Alice` && e.type === 'unavailable',
                'Alice leaving, at Bob',
            );
            assert.equal(item(parse(seen.xml)).getAttribute('role'), 'none');
        }));

    it('the server is still running', () =>
        diagnosed(async () => {
            assert.equal(srv.exitCode, null, `lectern exited: ${srv.exitCode}`);
        }));
});
