// Interop: strophe.js 5 (the browser client's XMPP library) over RFC 7395 WebSocket against a
// real `lectern serve`, talking to slixmpp over c2s TCP. Run with `node --test`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';
import { Strophe, $msg } from 'strophe.js';

import { Waiter, startServer, startTcpEcho } from './harness.mjs';

const ALICE = 'alice@localhost';
const ALICE_PW = 's3cret-P@ss w0rd';
const BOB = 'bob@localhost';
const BOB_PW = "bob's other secret";

// Unknown to the server: default + prefixed namespaces, a prefixed attribute, escaped text and
// attributes, non-ASCII text, an empty element and mixed content.
const PAYLOAD =
    "<widget xmlns='urn:example:custom' xmlns:e='urn:example:ext' a='1' " +
    "b='&lt;q&gt; &amp; &quot;t&quot;' e:flag='true'>" +
    '<part>x &amp; y</part> tail text ' +
    "<part n='2'>\u00fcn\u00efc\u00f8d\u00e9 \u2713 &lt;not-a-tag/&gt;</part>" +
    "<e:meta k='v'/><empty/>" +
    '</widget>';
const CUSTOM_NS = 'urn:example:custom';

// Strophe logs every connection step at INFO; failures carry the raw traffic instead.
Strophe.setLogLevel(Strophe.LogLevel.WARN);

const parse = (xml) => new DOMParser().parseFromString(xml, 'text/xml').documentElement;

/** Namespace, name, attributes (no xmlns declarations), children and text; prefix-independent. */
function structure(el) {
    const attrs = [];
    for (const a of Array.from(el.attributes)) {
        if (a.name === 'xmlns' || a.name.startsWith('xmlns:')) continue;
        attrs.push([a.namespaceURI || '', a.localName, a.value]);
    }
    attrs.sort((x, y) => (x.join('\u0000') < y.join('\u0000') ? -1 : 1));
    const kids = [];
    for (const n of Array.from(el.childNodes)) {
        if (n.nodeType === 1) kids.push(structure(n));
        else if (n.nodeType === 3 || n.nodeType === 4) {
            const last = kids[kids.length - 1];
            if (typeof last === 'string') kids[kids.length - 1] = last + n.nodeValue;
            else kids.push(n.nodeValue);
        }
    }
    return [el.namespaceURI || '', el.localName, attrs, kids];
}

const EXPECTED = structure(parse(PAYLOAD));

function childNS(el, ns, name) {
    return Array.from(el.childNodes).find((n) => n.nodeType === 1 && n.namespaceURI === ns && n.localName === name);
}

const statusName = (s) => Object.keys(Strophe.Status).find((k) => Strophe.Status[k] === s) ?? String(s);

/** A strophe.js connection with its raw traffic and incoming messages recorded. */
function wsClient(srv, name) {
    const conn = new Strophe.Connection(`ws://${srv.http.host}:${srv.http.port}/xmpp-websocket`);
    const trace = [];
    conn.rawInput = (d) => trace.push(`RECV ${d}`);
    conn.rawOutput = (d) => trace.push(`SEND ${d}`);
    const messages = new Waiter(`strophe ${name}`);
    conn.addHandler(
        (el) => {
            messages.push(el);
            return true;
        },
        null,
        'message',
    );
    const c = {
        name,
        conn,
        trace,
        messages,
        statuses: [],
        login(jid, password, ms = 15000) {
            return new Promise((resolvePromise, reject) => {
                const timer = setTimeout(
                    () => reject(new Error(`${name}: no session in ${ms} ms (statuses ${c.statuses.join(',')})`)),
                    ms,
                );
                conn.connect(jid, password, (status, condition, elem) => {
                    c.statuses.push(statusName(status) + (condition ? `(${condition})` : ''));
                    const S = Strophe.Status;
                    if (status === S.CONNECTED) {
                        clearTimeout(timer);
                        resolvePromise(c);
                    } else if ([S.CONNFAIL, S.AUTHFAIL, S.CONNTIMEOUT, S.ERROR, S.DISCONNECTED].includes(status)) {
                        clearTimeout(timer);
                        const err = new Error(`${name}: ${statusName(status)} ${condition ?? ''}`);
                        Object.assign(err, { status, condition, elem });
                        reject(err);
                    }
                });
            });
        },
        async logout(ms = 5000) {
            if (!conn.connected) return;
            await new Promise((r) => {
                const timer = setTimeout(r, ms);
                const prev = conn.connect_callback;
                conn.connect_callback = (status, ...rest) => {
                    prev?.(status, ...rest);
                    if (status === Strophe.Status.DISCONNECTED) {
                        clearTimeout(timer);
                        r();
                    }
                };
                conn.disconnect('test over');
            });
        },
    };
    return c;
}

describe('strophe.js over WebSocket with a slixmpp TCP client', () => {
    let srv;
    let echo;
    const clients = [];

    // A setup failure fails every test (instead of cancelling them all) with the same error.
    let setupError = null;
    before(async () => {
        try {
            srv = await startServer();
            srv.addUser(ALICE, ALICE_PW);
            srv.addUser(BOB, BOB_PW);
            echo = await startTcpEcho(srv, BOB, BOB_PW);
        } catch (err) {
            setupError = err;
        }
    });

    after(async () => {
        for (const c of clients) await c.logout().catch(() => {});
        await echo?.stop();
        await srv?.stop();
    });

    /** Run a test body; on failure, add the traffic and the server's log to the error. */
    async function diagnosed(body) {
        try {
            if (setupError) throw setupError;
            await body();
        } catch (err) {
            const parts = [err.stack ?? String(err)];
            for (const c of clients) parts.push(`--- strophe ${c.name} traffic ---\n${c.trace.join('\n')}`);
            if (echo) parts.push(`--- slixmpp TCP client (stderr tail) ---\n${echo.logTail()}`);
            if (srv) parts.push(`--- lectern stderr (tail) ---\n${srv.logTail()}`);
            if (srv?.exitCode !== null && srv?.exitCode !== undefined) parts.push(`lectern exited: ${srv.exitCode}`);
            const wrapped = new Error(parts.join('\n'));
            wrapped.cause = err;
            throw wrapped;
        }
    }

    it('the slixmpp TCP client logged in with STARTTLS + SCRAM-SHA-256', () =>
        diagnosed(async () => {
            assert.equal(echo.online.tls, true);
            assert.equal(echo.online.mechanism, 'SCRAM-SHA-256');
            assert.equal(Strophe.getBareJidFromJid(echo.jid), BOB);
        }));

    it('logs in over WebSocket (subprotocol xmpp) with SCRAM-SHA-256', () =>
        diagnosed(async () => {
            const alice = wsClient(srv, 'alice-login');
            clients.push(alice);
            await alice.login(`${ALICE}/strophe`, ALICE_PW);
            assert.equal(alice.conn._sasl_mechanism?.mechname, 'SCRAM-SHA-256');
            assert.equal(alice.conn._proto.socket.protocol, 'xmpp');
            assert.equal(Strophe.getBareJidFromJid(alice.conn.jid), ALICE);
            assert.ok(Strophe.getResourceFromJid(alice.conn.jid), `no resource in ${alice.conn.jid}`);
            await alice.logout();
        }));

    it('exchanges messages with a custom payload both ways with the TCP client', () =>
        diagnosed(async () => {
            const alice = wsClient(srv, 'alice');
            clients.push(alice);
            await alice.login(`${ALICE}/ws`, ALICE_PW);
            const me = alice.conn.jid;

            // WebSocket -> TCP, echoed TCP -> WebSocket
            alice.conn.send(
                $msg({ to: echo.jid, type: 'chat', id: 'ws-1' }).c('body').t('hello tcp').up().cnode(parse(PAYLOAD)),
            );
            const seen = await echo.events.wait(
                (e) => e.event === 'message' && e.id === 'ws-1',
                'the TCP client to receive ws-1',
            );
            assert.equal(seen.type, 'chat');
            assert.equal(seen.from, me);
            assert.equal(seen.body, 'hello tcp');
            assert.equal(seen.payloads.length, 1, JSON.stringify(seen.payloads));
            assert.deepEqual(structure(parse(seen.payloads[0])), EXPECTED);

            const back = await alice.messages.wait((m) => m.getAttribute('id') === 'ws-1-echo', 'the echo of ws-1');
            assert.equal(back.getAttribute('type'), 'chat');
            assert.equal(back.getAttribute('from'), echo.jid);
            assert.equal(childNS(back, 'jabber:client', 'body')?.textContent, 'echo: hello tcp');
            const widget = childNS(back, CUSTOM_NS, 'widget');
            assert.ok(widget, `payload missing in ${back.toString()}`);
            assert.deepEqual(structure(widget), EXPECTED);

            // TCP -> WebSocket, initiated by the TCP client, body-less; echoed WebSocket -> TCP
            echo.send({ to: me, id: 'tcp-1', type: 'normal', payload: PAYLOAD });
            const fromTcp = await alice.messages.wait((m) => m.getAttribute('id') === 'tcp-1', 'tcp-1 from the TCP client');
            assert.equal(fromTcp.getAttribute('from'), echo.jid);
            assert.equal(childNS(fromTcp, 'jabber:client', 'body'), undefined);
            assert.deepEqual(structure(childNS(fromTcp, CUSTOM_NS, 'widget')), EXPECTED);

            alice.conn.send(
                $msg({ to: echo.jid, type: 'normal', id: 'ws-2' }).cnode(childNS(fromTcp, CUSTOM_NS, 'widget')),
            );
            const seen2 = await echo.events.wait(
                (e) => e.event === 'message' && e.id === 'ws-2',
                'the TCP client to receive ws-2',
            );
            assert.equal(seen2.from, me);
            assert.equal(seen2.body, null);
            assert.deepEqual(structure(parse(seen2.payloads[0])), EXPECTED);
            await alice.logout();
        }));

    it('logs in with ANONYMOUS on guest.localhost over WebSocket and reaches the TCP client', () =>
        diagnosed(async () => {
            const guest = wsClient(srv, 'guest');
            clients.push(guest);
            await guest.login(srv.guestDomain, null);
            assert.equal(guest.conn._sasl_mechanism?.mechname, 'ANONYMOUS');
            assert.equal(Strophe.getDomainFromJid(guest.conn.jid), srv.guestDomain);
            assert.ok(Strophe.getNodeFromJid(guest.conn.jid), `no local part in ${guest.conn.jid}`);
            assert.ok(Strophe.getResourceFromJid(guest.conn.jid), `no resource in ${guest.conn.jid}`);

            guest.conn.send($msg({ to: echo.jid, type: 'chat', id: 'anon-1' }).c('body').t('hi from a guest'));
            const seen = await echo.events.wait(
                (e) => e.event === 'message' && e.id === 'anon-1',
                'the TCP client to receive anon-1',
            );
            assert.equal(seen.from, guest.conn.jid);
            const back = await guest.messages.wait((m) => m.getAttribute('id') === 'anon-1-echo', 'the echo of anon-1');
            assert.equal(childNS(back, 'jabber:client', 'body')?.textContent, 'echo: hi from a guest');
            await guest.logout();
        }));

    it('rejects a wrong password over WebSocket with SASL not-authorized', () =>
        diagnosed(async () => {
            const bad = wsClient(srv, 'bad-password');
            clients.push(bad);
            const err = await bad.login(`${ALICE}/bad`, 'wrong password').then(
                () => assert.fail('logged in with a wrong password'),
                (e) => e,
            );
            assert.equal(err.status, Strophe.Status.AUTHFAIL, err.message);
            const failure = err.elem;
            assert.ok(failure, 'AUTHFAIL without the <failure/> element');
            assert.equal(failure.localName, 'failure');
            assert.equal(failure.namespaceURI, 'urn:ietf:params:xml:ns:xmpp-sasl');
            const cond = Array.from(failure.childNodes).find((n) => n.nodeType === 1 && n.localName !== 'text');
            assert.equal(cond?.localName, 'not-authorized', failure.toString());
            assert.equal(bad.conn.authenticated, false);
        }));

    it('the server is still running', () =>
        diagnosed(async () => {
            assert.equal(srv.exitCode, null, `lectern exited: ${srv.exitCode}`);
        }));
});
