"""A small slixmpp client for Lectern's sync protocol (urn:lectern:sync:1), with bounded waits.

Shared by tests/prosody (against Prosody, anonymous logins) and tests/lan (embedded server,
token logins, run inside network namespaces). Stdlib + slixmpp only.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import ssl
import struct
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
import zlib

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

NS = "urn:lectern:sync:1"
C = "jabber:client"
MUC = "http://jabber.org/protocol/muc"
MUC_USER = MUC + "#user"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
_ids = itertools.count(1)


class Failure(AssertionError):
    pass


# ---- HTTP (stdlib only, so it runs unchanged inside a network namespace) ----------------------
def http(base: str, method: str, path: str, body=None, headers=None, timeout=20):
    """Returns (status, bytes)."""
    data = None
    hdrs = dict(headers or {})
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    elif body is not None:
        data = body
    req = urllib.request.Request(base + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_json(base, method, path, body=None, expect=(200, 201)):
    status, raw = http(base, method, path, body)
    if status not in expect:
        raise Failure(f"{method} {path} -> {status}: {raw[:500]!r}")
    return json.loads(raw)


def png(width=64, height=48, seed=90) -> bytes:
    """A small RGB PNG, made with zlib (no imaging library needed)."""
    rows = b"".join(
        b"\0" + bytes(v for x in range(width) for v in ((x * 4) & 255, (y * 5) & 255, seed))
        for y in range(height)
    )

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def upload_png(base: str, data: bytes, name="slide.png", polls=400) -> dict:
    """POST /api/documents (multipart field `file`), poll until ready; returns the manifest."""
    boundary = "lectern" + uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
        f"Content-Type: image/png\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    status, raw = http(base, "POST", "/api/documents", body,
                       {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    if status not in (200, 201, 202):
        raise Failure(f"upload -> {status}: {raw[:500]!r}")
    doc_id = json.loads(raw)["id"]
    return wait_ready(base, doc_id, polls)


def wait_ready(base, doc_id, polls=400):
    import time
    for _ in range(polls):
        m = http_json(base, "GET", f"/api/documents/{doc_id}")
        if m.get("status") == "ready":
            return m
        if m.get("status") in ("failed", "error"):
            raise Failure(f"document {doc_id} failed: {m}")
        time.sleep(0.05)
    raise Failure(f"document {doc_id} never became ready: {m}")


def document_request(manifest: dict) -> str:
    """The <document/> payload for a manifest (hash/w/h copied from the manifest's pages)."""
    pages = manifest["pages"]
    ps = "".join(
        f"<p n='{i}' hash='{p['sha256']}' w='{p.get('width', p.get('w'))}' h='{p.get('height', p.get('h'))}'/>"
        for i, p in enumerate(pages, 1)
    )
    did = manifest["id"]
    return f"<document id='{did}' pages='{len(pages)}' base='/api/documents/{did}/'>{ps}</document>"


# ---- XML helpers ---------------------------------------------------------------------------
def s(el: ET.Element) -> str:
    return ET.tostring(el, encoding="unicode")


def find(el: ET.Element, name: str, ns: str = NS):
    return el.find(f".//{{{ns}}}{name}")


def error_condition(el: ET.Element):
    err = el.find(f"{{{C}}}error")
    if err is None:
        return None
    for child in err:
        if child.tag.startswith(f"{{{STANZAS}}}") and not child.tag.endswith("}text"):
            return child.tag.split("}", 1)[1]
    return None


def seq_of(el: ET.Element) -> int:
    ev = find(el, "event")
    return int(ev.get("seq"))


# ---- the client ------------------------------------------------------------------------------
class Member:
    """One XMPP connection that joins a meeting room and talks to the focus."""

    def __init__(self, name: str, join: dict, host: str, port: int, *, tls: bool):
        self.name = name
        self.join = join
        self.host, self.port = host, port
        login = join["login"]
        if login["mechanism"] == "ANONYMOUS":
            jid, password = login["domain"], ""
        else:
            jid, password = login["jid"], login["password"]
        x = self.xmpp = slixmpp.ClientXMPP(jid, password)
        x.whitespace_keepalive = False
        x.enable_direct_tls = False
        x.enable_starttls = tls
        x.enable_plaintext = True
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # the embedded server's self-signed certificate
            x.ssl_context = ctx
        self.stanzas: list[ET.Element] = []
        self.changed = asyncio.Event()
        self.session = asyncio.get_running_loop().create_future()
        self.errors: list[str] = []
        x.add_event_handler("session_start", lambda _e: self.session.done() or self.session.set_result(True))
        x.add_event_handler("failed_all_auth", lambda _e: self._fail("SASL failed"))
        x.add_event_handler("connection_failed", lambda e: self._fail(f"TCP failed: {e!r}"))
        x.add_event_handler("stream_error", lambda e: self._fail(f"stream error: {e}"))
        x.add_event_handler("disconnected", lambda _e: self._fail("disconnected"))
        for kind in ("message", "presence", "iq"):
            x.register_handler(Callback(f"lectern-{kind}", MatchXPath(f"{{{C}}}{kind}"), self._got))
        self.room = join["room"]
        self.nick = join["nick"]
        self.focus = join["focus"]
        self.number = join["number"]

    def _fail(self, why):
        self.errors.append(why)
        if not self.session.done():
            self.session.set_exception(Failure(f"{self.name}: {why}"))
        self.changed.set()

    def _got(self, stanza):
        self.stanzas.append(stanza.xml)
        self.changed.set()

    # -- waiting -----------------------------------------------------------------------------
    async def wait(self, pred, what, timeout=15.0, since=0) -> ET.Element:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = since
        while True:
            for el in self.stanzas[seen:]:
                if pred(el):
                    return el
            seen = len(self.stanzas)
            left = deadline - loop.time()
            if left <= 0:
                got = "\n  ".join(s(e) for e in self.stanzas[-40:]) or "(nothing)"
                raise Failure(f"{self.name}: no {what} within {timeout}s; last stanzas:\n  {got}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def settle(self, seconds: float):
        """A bounded wait for things that must NOT arrive."""
        await asyncio.sleep(seconds)

    # -- actions -----------------------------------------------------------------------------
    async def connect(self, timeout=15.0):
        self.xmpp.connect(self.host, self.port)
        try:
            await asyncio.wait_for(asyncio.shield(self.session), timeout)
        except asyncio.TimeoutError:
            raise Failure(f"{self.name}: no XMPP session within {timeout}s ({self.errors})") from None
        return self

    def send(self, xml: str):
        self.xmpp.send_raw(xml)

    async def iq(self, kind: str, payload: str, to: str | None = None, timeout=15.0) -> ET.Element:
        iid = f"{self.name}-q{next(_ids)}"
        mark = len(self.stanzas)
        self.send(f"<iq type='{kind}' id='{iid}' to='{to or self.focus}'>{payload}</iq>")
        return await self.wait(
            lambda e: e.tag == f"{{{C}}}iq" and e.get("id") == iid and e.get("type") in ("result", "error"),
            f"answer to iq {iid}", timeout, mark)

    async def enter_room(self, timeout=15.0) -> ET.Element:
        """Presence to room/nick; returns our self-presence (status 110)."""
        occupant = f"{self.room}/{self.nick}"
        mark = len(self.stanzas)
        self.send(f"<presence to='{occupant}'><x xmlns='{MUC}'/></presence>")

        def mine(e):
            if e.tag != f"{{{C}}}presence" or (e.get("from") or "") != occupant:
                return False
            if e.get("type") == "error":
                return True
            return any(st.get("code") == "110" for st in e.iter(f"{{{MUC_USER}}}status"))

        p = await self.wait(mine, f"self-presence in {occupant}", timeout, mark)
        if p.get("type") == "error":
            raise Failure(f"{self.name}: room join refused: {s(p)}")
        return p

    async def hello(self) -> ET.Element:
        return await self.iq("set", f"<hello xmlns='{NS}' meeting='{self.number}' ticket='{self.join['ticket']}'/>")

    def request(self, t: int, payload: str) -> str:
        mid = f"{self.name}-m{next(_ids)}"
        self.send(
            f"<message to='{self.focus}' type='chat' id='{mid}'><event xmlns='{NS}' meeting='{self.number}' "
            f"t='{t}'>{payload}</event><store xmlns='urn:xmpp:hints'/></message>")
        return mid

    def is_event(self, e: ET.Element) -> bool:
        return (e.tag == f"{{{C}}}message" and e.get("from") == f"{self.room}/focus"
                and e.get("type") == "groupchat" and find(e, "event") is not None)

    def is_history(self, e: ET.Element) -> bool:
        return e.find("{urn:xmpp:delay}delay") is not None

    async def next_event(self, since: int, timeout=15.0) -> tuple[int, ET.Element]:
        """The first live event from the focus after stanza index `since`; (index+1, element)."""
        el = await self.wait(lambda e: self.is_event(e) and not self.is_history(e), "sequenced event", timeout, since)
        return self.stanzas.index(el) + 1, el

    def events(self, live_only=True) -> list[ET.Element]:
        return [e for e in self.stanzas if self.is_event(e) and not (live_only and self.is_history(e))]

    async def close(self):
        try:
            await asyncio.wait_for(self.xmpp.disconnect(wait=1.0), 5)
        except Exception:  # noqa: BLE001 - best effort
            self.xmpp.abort()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
