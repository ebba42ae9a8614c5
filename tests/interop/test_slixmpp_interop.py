"""Interop: the third-party client slixmpp against a real `lectern serve` over c2s TCP.

Every test starts its own server (fixture `server`) and follows docs/TEST-CONTRACT.md.
"""

from __future__ import annotations

import asyncio
import ssl
import xml.etree.ElementTree as ET

import pytest
from slixmpp.exceptions import IqError, IqTimeout

from lectern_client import CLIENT_NS, Client, canonical, error_condition, payload_of, structure
from lectern_server import LecternServer

ALICE = "alice@localhost"
ALICE_PW = "s3cret-P@ss w0rd"
BOB = "bob@localhost"
BOB_PW = "bob's other secret"

CUSTOM_NS = "urn:example:custom"
WIDGET = f"{{{CUSTOM_NS}}}widget"
# Unknown to the server: a default namespace, a prefixed namespace on an attribute and a child,
# escaped text and attributes, non-ASCII text, an empty element and mixed content (tails).
PAYLOAD_XML = (
    "<widget xmlns='urn:example:custom' xmlns:e='urn:example:ext' a='1' "
    "b='&lt;q&gt; &amp; &quot;t&quot;' e:flag='true'>"
    "<part>x &amp; y</part> tail text "
    "<part n='2'>\u00fcn\u00efc\u00f8d\u00e9 \u2713 &lt;not-a-tag/&gt;</part>"
    "<e:meta k='v'/><empty/>"
    "</widget>"
)
# The same without the prefixed attribute, which slixmpp's serialiser cannot send.
PAYLOAD_XML_API = PAYLOAD_XML.replace(" e:flag='true'", "")


def client(server: LecternServer, jid: str, password: str | None, name: str | None = None) -> Client:
    host, port = server.xmpp
    return Client(jid, password, host=host, port=port, cafile=server.cacert, name=name)


async def alice_and_guest(server: LecternServer) -> tuple[Client, Client]:
    server.user_add(ALICE, ALICE_PW)
    alice = await client(server, ALICE, ALICE_PW, "alice").start()
    guest = await client(server, server.guest_domain, None, "guest").start()
    return alice, guest


async def stop_all(*clients: Client) -> None:
    for c in clients:
        await c.stop()


def test_starttls_scram_sha256_login_and_anonymous_guest(server, run):
    """`lectern user add` user: STARTTLS (cert verified against DIR/tls/cert.pem, hostname
    checked) + SCRAM-SHA-256 + bind; a second client: ANONYMOUS on guest.localhost."""

    async def scenario():
        alice, guest = await alice_and_guest(server)
        try:
            assert alice.tls_ok, "STARTTLS did not complete for alice"
            assert alice.mechanism == "SCRAM-SHA-256", f"alice authenticated with {alice.mechanism}"
            assert alice.jid.bare == ALICE
            assert alice.jid.resource, f"no resource bound: {alice.jid}"

            assert guest.tls_ok, "STARTTLS did not complete for the guest (cert SAN guest.localhost?)"
            assert guest.mechanism == "ANONYMOUS", f"guest authenticated with {guest.mechanism}"
            assert guest.jid.domain == server.guest_domain
            assert guest.jid.user, f"anonymous JID has no local part: {guest.jid}"
            assert guest.jid.resource, f"no resource bound: {guest.jid}"

            # The certificate the server presented is the one it wrote to DIR/tls/cert.pem.
            with open(server.cacert) as f:
                on_disk = ssl.PEM_cert_to_DER_cert(f.read())
            assert ssl.PEM_cert_to_DER_cert(alice.peer_cert_pem) == on_disk
        finally:
            await stop_all(alice, guest)

    run(scenario())


def test_user_added_before_start_logs_in(workdir, request, run):
    """`lectern user add` (password on stdin) works with no server running; the account then
    logs in once the server is started on that data directory."""
    srv = LecternServer(workdir)
    request.node.lectern_servers = [srv]
    srv.user_add(BOB, BOB_PW, via_stdin=True)
    srv.start()
    try:

        async def scenario():
            bob = await client(srv, BOB, BOB_PW, "bob").start()
            try:
                assert bob.tls_ok and bob.mechanism == "SCRAM-SHA-256"
                assert bob.jid.bare == BOB
            finally:
                await bob.stop()

        run(scenario())
    finally:
        crashed = srv.exited()
        srv.stop()
        assert crashed is None, f"lectern exited by itself (code {crashed})"


def test_custom_payload_round_trips_both_directions(server, run):
    """An element the server does not know arrives equivalent (name, namespaces, attributes,
    children, text) in both directions, with a <body/> and body-less.

    Each direction sends it twice: built with slixmpp's stanza API, and as raw XML on the same
    stream (slixmpp's serialiser drops namespace-prefixed attributes such as e:flag, so only the
    raw form carries those to the server)."""

    async def send_both_ways(src: Client, dst: Client, tag: str, body: str | None) -> None:
        # 1. slixmpp stanza API
        m = src.xmpp.make_message(mto=dst.jid, mbody=body, mtype="chat" if body else "normal")
        m["id"] = f"{tag}-api"
        m.append(ET.fromstring(PAYLOAD_XML_API))
        m.send()
        # 2. raw XML, byte for byte as written here
        body_xml = f"<body>{body}</body>" if body else ""
        src.xmpp.send_raw(
            f"<message to='{dst.jid}' id='{tag}-raw' type='normal'>{body_xml}{PAYLOAD_XML}</message>"
        )
        for suffix, payload in (("api", PAYLOAD_XML_API), ("raw", PAYLOAD_XML)):
            sent = ET.fromstring(payload)
            got = await dst.wait_message(
                lambda s: s["id"] == f"{tag}-{suffix}", f"{src.name}'s {suffix} message with the payload"
            )
            assert got["type"] != "error", f"got an error instead of the message: {got}"
            assert got["from"] == src.jid, f"from={got['from']} expected {src.jid}"
            if body:
                assert got["body"] == body
            else:
                assert got.xml.find(f"{{{CLIENT_NS}}}body") is None, str(got)
            widget = payload_of(got, WIDGET)
            assert widget is not None, f"payload missing: {got}"
            assert structure(widget) == structure(sent)
            assert canonical(widget) == canonical(sent)

    async def scenario():
        alice, guest = await alice_and_guest(server)
        try:
            await send_both_ways(alice, guest, "to-guest", "hello guest")
            await send_both_ways(guest, alice, "to-alice", None)
        finally:
            await stop_all(alice, guest)

    run(scenario())


def test_directed_presence_arrives(server, run):
    """Directed presence between two sessions is delivered with the sender's full JID."""

    async def scenario():
        alice, guest = await alice_and_guest(server)
        try:
            alice.xmpp.send_presence(pto=guest.jid, pshow="chat", pstatus="presenting soon")
            p = await guest.wait_presence(
                lambda s: s["from"] == alice.jid, "alice's directed presence"
            )
            assert p["type"] in ("available", "chat"), p  # slixmpp reports <show/> as the type
            assert p["show"] == "chat"
            assert p["status"] == "presenting soon"

            guest.xmpp.send_presence(pto=alice.jid, pstatus="listening")
            p = await alice.wait_presence(
                lambda s: s["from"] == guest.jid, "the guest's directed presence"
            )
            assert p["status"] == "listening"
            assert p.xml.get("type") is None, f"expected available presence, got {p}"
        finally:
            await stop_all(alice, guest)

    run(scenario())


async def ping(src: Client, target) -> None:
    """XEP-0199 ping that must come back type='result' from the pinged JID.

    (send_ping, not ping(): slixmpp's ping() counts an error from one's own server as success,
    and slixmpp only accepts a response whose 'from' is the JID it asked.)"""
    try:
        iq = await src.xmpp.plugin["xep_0199"].send_ping(target, timeout=5)
    except IqError as e:
        pytest.fail(f"{src.name}: ping to {target} answered with an error: {e.iq}")
    except IqTimeout as e:
        pytest.fail(
            f"{src.name}: no response from {target} to {e.iq} within 5 s "
            "(a response whose 'from' differs from the 'to' is not matched; see the RECV log)"
        )
    assert iq["type"] == "result", iq
    assert iq["from"] == target, f"pong from {iq['from']}, expected {target}"


def test_ping_server(server, run):
    """XEP-0199 ping to one's own server JID: `localhost` for the user, `guest.localhost` for
    the anonymous guest. Both get type='result' from the pinged JID."""

    async def scenario():
        alice, guest = await alice_and_guest(server)
        try:
            await ping(alice, server.domain)
            await ping(guest, server.guest_domain)
        finally:
            await stop_all(alice, guest)

    run(scenario())


def test_ping_between_clients(server, run):
    """XEP-0199 ping from each client to the other's full JID is routed and answered."""

    async def scenario():
        alice, guest = await alice_and_guest(server)
        try:
            await ping(alice, guest.jid)
            await ping(guest, alice.jid)
        finally:
            await stop_all(alice, guest)

    run(scenario())


def test_disco_info_on_server(server, run):
    """disco#info on the server JID answers with a `server` identity and the disco#info feature."""

    async def scenario():
        server.user_add(ALICE, ALICE_PW)
        alice = await client(server, ALICE, ALICE_PW, "alice").start()
        try:
            try:
                info = await alice.xmpp.plugin["xep_0030"].get_info(
                    jid=server.domain, local=False, cached=False, timeout=5
                )
            except (IqError, IqTimeout) as e:
                pytest.fail(f"disco#info on {server.domain} failed: {e!r} {e.iq}")
            assert info["from"] == server.domain, info
            identities = info["disco_info"]["identities"]
            features = info["disco_info"]["features"]
            assert any(cat == "server" for (cat, _type, _lang, _name) in identities), identities
            assert "http://jabber.org/protocol/disco#info" in features, features
        finally:
            await alice.stop()

    run(scenario())


def test_bad_password_is_not_authorized(server, run):
    """A wrong password gets SASL <failure><not-authorized/></failure> and no session."""

    async def scenario():
        server.user_add(ALICE, ALICE_PW)
        bad = client(server, ALICE, "not the password", "bad-password")
        try:
            started = await bad.attempt(timeout=15)
            assert not started, "a session started with a wrong password"
            assert bad.auth_failures, (
                "no SASL <failure/> received "
                f"(tls={bad.tls_ok}, stream_errors={bad.stream_errors}, disconnected={bad.disconnected})"
            )
            mech, condition, stanza = bad.auth_failures[0]
            assert mech == "SCRAM-SHA-256", bad.auth_failures
            # slixmpp retries with the next mechanism after a failure; each must be refused.
            for mech, condition, stanza in bad.auth_failures:
                assert condition == "not-authorized", f"{mech}: {stanza}"
            assert not bad.xmpp.authenticated
        finally:
            await bad.stop()

    run(scenario())


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(f"{BOB}/nowhere", id="offline-account-full-jid"),
        pytest.param(BOB, id="offline-account-bare-jid"),
        pytest.param("nobody@localhost/x", id="unknown-account"),
    ],
)
def test_message_to_jid_without_session_bounces(server, run, target):
    """A message to a JID with no session comes back as type='error' with
    <service-unavailable/>, from the address it was sent to, with the original id."""

    async def scenario():
        server.user_add(ALICE, ALICE_PW)
        server.user_add(BOB, BOB_PW)
        alice = await client(server, ALICE, ALICE_PW, "alice").start()
        try:
            m = alice.xmpp.make_message(mto=target, mbody="anyone there?", mtype="chat")
            m["id"] = "bounce-me-1"
            m.append(ET.fromstring(PAYLOAD_XML))
            m.send()
            err = await alice.wait_message(
                lambda s: s["id"] == "bounce-me-1", f"the bounce of a message to {target}"
            )
            assert err["type"] == "error", f"expected an error bounce, got {err}"
            assert error_condition(err) == "service-unavailable", str(err)
            assert err["from"].bare == target.split("/")[0], f"bounce from {err['from']}"
        finally:
            await alice.stop()

    run(scenario())


def test_roster_get_is_empty(server, run):
    """slixmpp's roster request (jabber:iq:roster get) gets a result with an empty roster."""

    async def scenario():
        server.user_add(ALICE, ALICE_PW)
        alice = await client(server, ALICE, ALICE_PW, "alice").start()
        try:
            try:
                iq = await alice.xmpp.get_roster(timeout=5)
            except (IqError, IqTimeout) as e:
                pytest.fail(f"roster get failed: {e!r} {e.iq}")
            assert iq["type"] == "result", iq
            items = iq.xml.findall("{jabber:iq:roster}query/{jabber:iq:roster}item")
            assert items == [], str(iq)
        finally:
            await alice.stop()

    run(scenario())


def test_same_full_jid_twice_old_session_gets_conflict(server, run):
    """A second login with the same full JID wins; the old session gets a `conflict` stream error."""

    async def scenario():
        server.user_add(ALICE, ALICE_PW)
        first = await client(server, f"{ALICE}/desk", ALICE_PW, "first").start()
        second = None
        try:
            assert str(first.jid) == f"{ALICE}/desk", f"server did not bind the requested resource: {first.jid}"
            second = await client(server, f"{ALICE}/desk", ALICE_PW, "second").start()
            assert str(second.jid) == f"{ALICE}/desk", second.jid
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while not (first.stream_errors and first.disconnected) and loop.time() < deadline:
                await asyncio.sleep(0.05)
            assert first.stream_errors, "the old session got no stream error"
            assert first.stream_errors[0][0] == "conflict", first.stream_errors
            assert first.disconnected, "the old session was not closed"
            # The new session is the one that is routed to.
            await ping(second, server.domain)
        finally:
            await stop_all(first, *([second] if second else []))

    run(scenario())
