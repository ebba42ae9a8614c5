"""A thin, bounded-wait wrapper around slixmpp's ClientXMPP for the interop tests.

Everything here is plain slixmpp; the wrapper only records what happened on the
stream (TLS, SASL mechanism, failures, stanzas) and turns every wait into an
``asyncio.wait_for`` so a broken server fails a test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import ssl
import xml.etree.ElementTree as ET
from typing import Callable

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

log = logging.getLogger("interop.client")

CLIENT_NS = "jabber:client"
STANZA_ERR_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"


class XmppFailure(AssertionError):
    """The client could not reach the state a test asked for."""


def canonical(elem: ET.Element) -> str:
    """Canonical (C14N 2.0) serialisation of an element, for equivalence checks."""
    return ET.canonicalize(ET.tostring(elem, encoding="unicode"))


def structure(elem: ET.Element) -> tuple:
    """Name/namespace, attributes, text and children of an element, recursively.

    Independent of namespace prefixes and attribute order, exact on text."""
    return (
        elem.tag,
        tuple(sorted(elem.attrib.items())),
        elem.text or "",
        tuple(structure(child) + (child.tail or "",) for child in elem),
    )


class Client:
    """One slixmpp client connection to a Lectern server over c2s TCP."""

    def __init__(
        self,
        jid: str,
        password: str | None,
        *,
        host: str,
        port: int,
        cafile: str,
        name: str | None = None,
    ) -> None:
        self.name = name or jid
        self.host = host
        self.port = port
        self.xmpp = slixmpp.ClientXMPP(jid, password or "")
        x = self.xmpp
        x.register_plugin("xep_0030")  # service discovery
        x.register_plugin("xep_0199")  # XMPP ping (answers pings too)
        x.whitespace_keepalive = False
        # Only STARTTLS on the given port: no direct-TLS attempt first, no plaintext fallback.
        x.enable_direct_tls = False
        x.enable_plaintext = False
        x.enable_starttls = True
        # Trust exactly the server's self-signed certificate, with hostname checks on.
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        x.ssl_context = ctx

        self.tls_ok = False
        self.tls_error: object = None
        self.peer_cert_pem: str | None = None
        self.mechanism: str | None = None
        self.auth_failures: list[tuple[str, str, str]] = []  # (mechanism, condition, stanza)
        self.stream_errors: list[tuple[str, str]] = []  # (condition, stanza)
        self.disconnected = False
        self.messages: list[slixmpp.Message] = []
        self.presences: list[slixmpp.Presence] = []
        self.stanzas: list = []  # messages and presences together, in arrival order
        self._changed = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._session: asyncio.Future = loop.create_future()
        # Mark a failure as retrieved even when no test awaits it (no "never retrieved" noise).
        self._session.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._gone: asyncio.Future = loop.create_future()

        x.add_event_handler("tls_success", self._on_tls)
        x.add_event_handler("ssl_cert", self._on_cert)
        x.add_event_handler("ssl_invalid_chain", self._on_bad_chain)
        x.add_event_handler("auth_success", self._on_auth_success)
        x.add_event_handler("failed_auth", self._on_failed_auth)
        x.add_event_handler("failed_all_auth", self._on_failed_all_auth)
        x.add_event_handler("no_auth", self._on_failed_all_auth)
        x.add_event_handler("session_start", self._on_session_start)
        x.add_event_handler("stream_error", self._on_stream_error)
        x.add_event_handler("connection_failed", self._on_connection_failed)
        x.add_event_handler("disconnected", self._on_disconnected)
        # Every <message/> (slixmpp's own 'message' event needs a <body/>) and <presence/>.
        x.register_handler(
            Callback("interop-any-message", MatchXPath(f"{{{CLIENT_NS}}}message"), self._on_message)
        )
        x.register_handler(
            Callback("interop-any-presence", MatchXPath(f"{{{CLIENT_NS}}}presence"), self._on_presence)
        )

    # ---- event handlers -------------------------------------------------------------------
    def _fail_session(self, why: str) -> None:
        if not self._session.done():
            self._session.set_exception(XmppFailure(f"{self.name}: {why}"))
        self._changed.set()

    def _on_tls(self, _event=None) -> None:
        self.tls_ok = True

    def _on_cert(self, pem: str) -> None:
        self.peer_cert_pem = pem

    def _on_bad_chain(self, err) -> None:
        self.tls_error = err
        self._fail_session(f"TLS certificate verification failed: {err!r}")
        self.xmpp.abort()

    def _on_auth_success(self, _stanza) -> None:
        self.mechanism = self.xmpp.plugin["feature_mechanisms"].mech.name

    def _on_failed_auth(self, stanza) -> None:
        mech = self.xmpp.plugin["feature_mechanisms"].mech
        self.auth_failures.append((mech.name if mech else "?", stanza["condition"], str(stanza)))
        self._changed.set()

    def _on_failed_all_auth(self, _event=None) -> None:
        self._fail_session(f"SASL failed for every mechanism: {self.auth_failures}")

    def _on_session_start(self, _event=None) -> None:
        if not self._session.done():
            self._session.set_result(True)
        self._changed.set()

    def _on_stream_error(self, err) -> None:
        self.stream_errors.append((err["condition"], str(err)))
        self._fail_session(f"stream error: {err}")

    def _on_connection_failed(self, err) -> None:
        self._fail_session(f"TCP connection failed: {err!r}")
        self.xmpp.cancel_connection_attempt()

    def _on_disconnected(self, _reason=None) -> None:
        self.disconnected = True
        self._fail_session("disconnected before the session started")
        if not self._gone.done():
            self._gone.set_result(True)

    def _on_message(self, msg) -> None:
        self.messages.append(msg)
        self.stanzas.append(msg)
        self._changed.set()

    def _on_presence(self, pres) -> None:
        self.presences.append(pres)
        self.stanzas.append(pres)
        self._changed.set()

    # ---- actions ----------------------------------------------------------------------------
    @property
    def jid(self) -> slixmpp.JID:
        return self.xmpp.boundjid

    async def start(self, timeout: float = 10) -> "Client":
        """Connect, STARTTLS, SASL, bind; returns once the session has started."""
        self.xmpp.connect(self.host, self.port)
        try:
            await asyncio.wait_for(asyncio.shield(self._session), timeout)
        except asyncio.TimeoutError:
            raise XmppFailure(
                f"{self.name}: no session within {timeout}s "
                f"(tls={self.tls_ok}, mechanism={self.mechanism}, "
                f"auth_failures={self.auth_failures}, stream_errors={self.stream_errors})"
            ) from None
        return self

    async def attempt(self, timeout: float = 10) -> bool:
        """Connect and wait until the session starts (True) or the attempt ends (False)."""
        self.xmpp.connect(self.host, self.port)
        try:
            await asyncio.wait_for(asyncio.shield(self._session), timeout)
            return True
        except XmppFailure:
            return False
        except asyncio.TimeoutError:
            raise XmppFailure(
                f"{self.name}: the login attempt neither succeeded nor ended within {timeout}s "
                f"(tls={self.tls_ok}, auth_failures={self.auth_failures}, "
                f"stream_errors={self.stream_errors})"
            ) from None

    async def stop(self, timeout: float = 5) -> None:
        x = self.xmpp
        x.cancel_connection_attempt()
        started = self._session.done() and not self._session.cancelled() and self._session.exception() is None
        if not started and not self.disconnected:
            x.abort()  # nothing to close gracefully
        elif not self.disconnected:
            try:
                await asyncio.wait_for(x.disconnect(wait=2.0), timeout)
            except (asyncio.TimeoutError, Exception) as e:  # noqa: BLE001 - best effort cleanup
                log.debug("%s: disconnect: %r", self.name, e)
            if not self.disconnected:
                x.abort()

    async def wait_message(
        self, pred: Callable[[slixmpp.Message], bool], what: str, timeout: float = 10
    ) -> slixmpp.Message:
        return await self._wait(self.messages, pred, what, timeout)

    async def wait_presence(
        self, pred: Callable[[slixmpp.Presence], bool], what: str, timeout: float = 10
    ) -> slixmpp.Presence:
        return await self._wait(self.presences, pred, what, timeout)

    async def wait_stanza(self, pred: Callable, what: str, timeout: float = 10, since: int = 0):
        """The first message or presence (in arrival order, from index `since`) matching `pred`."""
        return await self._wait(self.stanzas, pred, what, timeout, since)

    async def _wait(self, items: list, pred, what: str, timeout: float, since: int = 0):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = since
        while True:
            for item in items[seen:]:
                if pred(item):
                    return item
            seen = len(items)
            left = deadline - loop.time()
            if left <= 0:
                got = "\n".join(str(i) for i in items) or "(nothing)"
                raise XmppFailure(f"{self.name}: timed out after {timeout}s waiting for {what}; got:\n{got}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass


def payload_of(stanza, tag: str) -> ET.Element | None:
    """A deep copy of the first child element of a stanza with the given {ns}name."""
    found = stanza.xml.find(tag)
    return copy.deepcopy(found) if found is not None else None


def error_condition(stanza) -> str | None:
    """The defined condition of a stanza's <error/>, read from the raw XML."""
    err = stanza.xml.find(f"{{{CLIENT_NS}}}error")
    if err is None:
        return None
    for child in err:
        if child.tag.startswith(f"{{{STANZA_ERR_NS}}}") and not child.tag.endswith("}text"):
            return child.tag.split("}", 1)[1]
    return None
