"""The meetings scenario (tests/tests/meetings.rs) with Lectern's focus on Prosody and slixmpp
clients logged in anonymously. Started by tests/prosody/run.sh (env: LECTERN_HTTP, PROSODY_C2S)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_client import (  # noqa: E402
    NS, Failure, Member, document_request, error_condition, find, http_json, png, s, seq_of, upload_png,
)

BASE = os.environ.get("LECTERN_HTTP", "")
C2S = os.environ.get("PROSODY_C2S", "")


def c2s():
    host, port = C2S.rsplit(":", 1)
    return host, int(port)


async def join(number: str, name: str, key: str | None = None) -> tuple[Member, object]:
    body = {"name": name}
    if key:
        body["key"] = key
    j = http_json(BASE, "POST", f"/api/meetings/{number}/join", body)
    assert j["login"]["mechanism"] == "ANONYMOUS", j
    assert j["login"]["domain"] == "guest.localhost", j
    assert j["focus"] == "focus@localhost/focus", j
    assert j["room"] == f"{number}@conference.localhost", j
    assert j.get("websocket", "").endswith("/xmpp-websocket"), j
    m = Member(name, j, *c2s(), tls=False)
    await m.connect()
    assert m.xmpp.boundjid.domain == "guest.localhost", m.xmpp.boundjid
    await m.enter_room()
    answer = await m.hello()
    return m, answer


async def scenario():
    meeting = http_json(BASE, "POST", "/api/meetings", {"title": "Review on Prosody"})
    number, key = meeting["number"], meeting["host_key"]
    info = http_json(BASE, "GET", f"/api/meetings/{number}")
    assert info["room"] == f"{number}@conference.localhost", info

    alice, hello = await join(number, "Alice", key)
    bob = None
    try:
        assert hello.get("type") == "result", s(hello)
        assert find(hello, "hello").get("role") == "presenter", s(hello)
        # The focus announces the presenter into the room (seq 1).
        _, presented = await alice.next_event(0)
        assert seq_of(presented) == 1, s(presented)
        assert find(presented, "presenter").get("nick") == "Alice", s(presented)

        bob, hello = await join(number, "Bob")
        assert hello.get("type") == "result", s(hello)
        assert find(hello, "hello").get("role") == "attendee", s(hello)
        bob_mark = len(bob.stanzas)

        manifest = upload_png(BASE, png())
        alice.request(10, document_request(manifest))
        i, shared = await bob.next_event(bob_mark)
        assert seq_of(shared) == 2, s(shared)
        doc = find(shared, "document")
        assert doc.get("id") == manifest["id"] and doc.get("pages") == "1", s(shared)
        assert doc.find(f"{{{NS}}}p").get("hash") == manifest["pages"][0]["sha256"], s(shared)

        # Out of range: refused, the sequence does not move.
        mark = len(alice.stanzas)
        mid = alice.request(20, "<page n='2'/>")
        refused = await alice.wait(lambda e: e.get("type") == "error" and e.get("id") == mid, "refusal", since=mark)
        assert error_condition(refused) == "bad-request", s(refused)

        alice.request(25, "<page n='1'/>")
        alice.request(30, "<stroke-begin id='s1' page='1' tool='pen' color='#e53935' width='0.004'>0.1,0.2</stroke-begin>")
        alice.request(31, "<stroke-extend id='s1'>0.2,0.3 0.25,0.35</stroke-extend>")
        alice.request(32, "<stroke-end id='s1'/>")
        seqs, kinds = [], []
        for _ in range(4):
            i, ev = await bob.next_event(i)
            seqs.append(seq_of(ev))
            kinds.append(next(iter(find(ev, "event"))).tag.split("}")[1])
        assert seqs == [3, 4, 5, 6], seqs
        assert kinds == ["page", "stroke-begin", "stroke-extend", "stroke-end"], kinds
        # Every event the attendee got live came from room/focus, in seq order, without gaps.
        live = [seq_of(e) for e in bob.events()]
        assert live == sorted(live) and live == list(range(live[0], live[-1] + 1)), live

        # An attendee's forged request is refused with `forbidden` and never reaches the room.
        mark = len(bob.stanzas)
        mid = bob.request(40, "<page n='1'/>")
        forged = await bob.wait(lambda e: e.get("type") == "error" and e.get("id") == mid, "refusal", since=mark)
        assert error_condition(forged) == "forbidden", s(forged)

        snap = await bob.iq("get", f"<snapshot xmlns='{NS}' meeting='{number}'/>")
        assert snap.get("type") == "result", s(snap)
        state = find(snap, "snapshot")
        assert state.get("seq") == "6" and state.get("presenter") == "Alice", s(snap)
        assert state.find(f"{{{NS}}}document").get("id") == manifest["id"], s(snap)
        strokes = state.findall(f".//{{{NS}}}stroke")
        assert [st.get("id") for st in strokes] == ["s1"] and strokes[0].get("done") == "true", s(snap)

        caught = await bob.iq("get", f"<events xmlns='{NS}' meeting='{number}' since='2'/>")
        assert caught.get("type") == "result", s(caught)
        evs = find(caught, "events")
        assert evs.get("last") == "6" and evs.get("complete") == "true", s(caught)
        assert [int(e.get("seq")) for e in evs.findall(f"{{{NS}}}event")] == [3, 4, 5, 6], s(caught)

        # Nothing but the focus's occupant carried Lectern events into the room.
        for m in (alice, bob):
            for e in m.stanzas:
                if find(e, "event") is not None and e.get("type") == "groupchat":
                    assert e.get("from") == f"{m.room}/focus", s(e)
        if os.environ.get("DUMP"):
            for m in (alice, bob):
                print(f"--- {m.name} received ---")
                for e in m.stanzas:
                    print(s(e))
    finally:
        for m in (alice, bob):
            if m:
                await m.close()


def test_prosody_serves_xmpp_over_websocket():
    """The `websocket` URL the join API hands to browsers answers an RFC 7395 upgrade."""
    import base64
    import socket
    from urllib.parse import urlparse

    ws = urlparse(os.environ.get("PROSODY_WS", ""))
    assert ws.hostname, "run me through tests/prosody/run.sh"
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection((ws.hostname, ws.port), timeout=10) as sock:
        sock.sendall(
            f"GET {ws.path} HTTP/1.1\r\nHost: {ws.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n"
            f"Origin: http://elsewhere.example\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    text = head.decode("latin-1")
    assert text.startswith("HTTP/1.1 101"), text
    assert "sec-websocket-protocol: xmpp" in text.lower(), text


def test_presenter_and_attendee_through_prosody():
    assert BASE and C2S, "run me through tests/prosody/run.sh"
    asyncio.run(asyncio.wait_for(scenario(), 120))


async def room_info():
    meeting = http_json(BASE, "POST", "/api/meetings", {"title": "Config check"})
    number = meeting["number"]
    j = http_json(BASE, "POST", f"/api/meetings/{number}/join", {"name": "Dora"})
    m = Member("Dora", j, *c2s(), tls=False)
    await m.connect()
    try:
        info = await m.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", to=j["room"])
        assert info.get("type") == "result", s(info)
        q = info.find("{http://jabber.org/protocol/disco#info}query")
        features = {f.get("var") for f in q.findall("{http://jabber.org/protocol/disco#info}feature")}
        fields = {}
        for f in q.iter("{jabber:x:data}field"):
            v = f.find("{jabber:x:data}value")
            fields[f.get("var")] = v.text if v is not None else None
        identity = q.find("{http://jabber.org/protocol/disco#info}identity")
        return features, fields, identity.get("name") if identity is not None else None
    finally:
        await m.close()


def test_the_focus_configured_the_room_on_prosody():
    """The focus's muc#owner form took effect on Prosody: the room exists before the join answer,
    is persistent, hidden, semi-anonymous, unlocked, and named after the meeting."""
    assert BASE and C2S, "run me through tests/prosody/run.sh"
    features, fields, name = asyncio.run(asyncio.wait_for(room_info(), 60))
    assert {"muc_persistent", "muc_hidden", "muc_semianonymous"} <= features, features
    assert name == "Config check", (name, fields)


import pytest  # noqa: E402


def test_room_description_announces_the_focus_jid():
    assert BASE and C2S, "run me through tests/prosody/run.sh"
    _, fields, _ = asyncio.run(asyncio.wait_for(room_info(), 60))
    desc = fields.get("muc#roominfo_description")
    assert desc and "focus@localhost/focus" in desc, fields


async def voice_scenario():
    """Five seconds of voice at the web client's pace and size (three 80-byte Opus frames every
    60 ms) through Prosody configured as docs/EXTERNAL-SERVERS.md says."""
    import base64
    meeting = http_json(BASE, "POST", "/api/meetings", {"title": "Voice on Prosody"})
    number, key = meeting["number"], meeting["host_key"]
    alice, hello = await join(number, "Alice", key)
    bob = None
    try:
        assert find(hello, "hello").get("audio") == "true", s(hello)
        await alice.next_event(0)
        bob, _ = await join(number, "Bob")
        mark = len(bob.stanzas)
        batches = 84
        for i in range(batches):
            frames = " ".join(base64.b64encode(bytes([i % 256, k]) * 40).decode() for k in range(3))
            alice.request(1000 + 60 * i, f"<audio codec='opus' rate='48000' channels='1' ms='20'>{frames}</audio>")
            await asyncio.sleep(0.06)
        got = []
        while len(got) < batches:
            mark, ev = await bob.next_event(mark)
            audio = find(ev, "audio")
            assert audio is not None, s(ev)
            got.append((seq_of(ev), int(find(ev, "event").get("t")), audio.text.split()))
        assert [t for _, t, _ in got] == [1000 + 60 * i for i in range(batches)], "every batch, in order"
        seqs = [q for q, _, _ in got]
        assert seqs == list(range(seqs[0], seqs[0] + batches)), seqs
        for i, (_, _, frames) in enumerate(got):
            assert [base64.b64decode(f) for f in frames] == [bytes([i % 256, k]) * 40 for k in range(3)]
    finally:
        for m in (alice, bob):
            if m:
                await m.close()


def test_voice_flows_through_prosody_in_order_and_intact():
    assert BASE and C2S, "run me through tests/prosody/run.sh"
    asyncio.run(asyncio.wait_for(voice_scenario(), 120))
