"""MUC (XEP-0045) helpers for test_muc.py: one `Occupant` per nick in a room, forms, status codes.

Everything is sent as raw XML on a slixmpp stream (lectern_client.Client) so the tests show the
stanzas the XEP shows; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Callable
from xml.sax.saxutils import escape, quoteattr

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout

from lectern_client import Client, XmppFailure, error_condition
from lectern_server import LecternServer

SERVICE = "conference.localhost"
MUC = "http://jabber.org/protocol/muc"
MUC_USER = f"{MUC}#user"
MUC_ADMIN = f"{MUC}#admin"
MUC_OWNER = f"{MUC}#owner"
ROOMCONFIG = f"{MUC}#roomconfig"
DATA = "jabber:x:data"
MAM = "urn:xmpp:mam:2"
RSM = "http://jabber.org/protocol/rsm"
OCCUPANT_ID = "urn:xmpp:occupant-id:0"
FORWARD = "urn:xmpp:forward:0"

ACCOUNTS = {"alice": ("alice@localhost", "alice's secret"), "bob": ("bob@localhost", "bob's secret")}

CUSTOM_NS = "urn:example:custom"
WIDGET = f"{{{CUSTOM_NS}}}widget"
# A payload the server knows nothing about: namespaces, escaped text and attributes, non-ASCII.
PAYLOAD_XML = (
    "<widget xmlns='urn:example:custom' a='1' b='&lt;q&gt; &amp; &quot;t&quot;'>"
    "<part>x &amp; y</part> tail <part n='2'>\u00fcn\u00efc\u00f8d\u00e9 \u2713</part>"
    "<meta xmlns='urn:example:ext' k='v'/><empty/></widget>"
)

_ids = itertools.count(1)


# ---- reading stanzas ------------------------------------------------------------------------------
def frm(stanza) -> str:
    return stanza.xml.get("from", "")


def codes(stanza) -> set[str]:
    """The muc#user status codes of a presence or message."""
    x = stanza.xml.find(f"{{{MUC_USER}}}x")
    return set() if x is None else {s.get("code") for s in x.findall(f"{{{MUC_USER}}}status")}


def item(stanza) -> dict[str, str]:
    """The attributes of the muc#user <item/> of a presence."""
    el = stanza.xml.find(f"{{{MUC_USER}}}x/{{{MUC_USER}}}item")
    assert el is not None, f"no muc#user item in {stanza}"
    return dict(el.attrib)


def room_stanza_ids(msg) -> list[str]:
    """XEP-0359 stanza-ids the room added (by = the room's bare JID)."""
    room = frm(msg).split("/")[0]
    return [s.get("id") for s in msg.xml.findall("{urn:xmpp:sid:0}stanza-id") if s.get("by") == room]


def occupant_id(stanza) -> str | None:
    """XEP-0421 occupant-id, or None; more than one is a failure."""
    found = stanza.xml.findall("{urn:xmpp:occupant-id:0}occupant-id")
    assert len(found) <= 1, f"several occupant-ids in {stanza}"
    return found[0].get("id") if found else None


def payload(stanza, tag: str) -> ET.Element | None:
    found = stanza.xml.find(tag)
    return copy.deepcopy(found) if found is not None else None


def error_of(stanza) -> str | None:
    return error_condition(stanza)


def form_values(x: ET.Element) -> dict[str, list[str]]:
    return {
        f.get("var"): [v.text or "" for v in f.findall(f"{{{DATA}}}value")]
        for f in x.findall(f"{{{DATA}}}field")
        if f.get("var") and f.get("type") != "fixed"
    }


def submit_form(values: dict[str, list[str]]) -> str:
    fields = "".join(
        f"<field var={quoteattr(var)}>" + "".join(f"<value>{escape(v)}</value>" for v in vals) + "</field>"
        for var, vals in values.items()
    )
    return f"<x xmlns='{DATA}' type='submit'>{fields}</x>"


# ---- actors ------------------------------------------------------------------------------------------
def _client(server: LecternServer, jid: str, password: str | None, name: str) -> Client:
    host, port = server.xmpp
    return Client(jid, password, host=host, port=port, cafile=server.cacert, name=name)


async def cast(server: LecternServer) -> list[Client]:
    """alice and bob (accounts), carol and dave (anonymous guests), all logged in."""
    for jid, password in ACCOUNTS.values():
        server.user_add(jid, password)
    clients = [
        _client(server, *ACCOUNTS["alice"], "alice"),
        _client(server, *ACCOUNTS["bob"], "bob"),
        _client(server, server.guest_domain, None, "carol"),
        _client(server, server.guest_domain, None, "dave"),
    ]
    try:
        await asyncio.gather(*(c.start() for c in clients))
    except BaseException:
        await stop_all(*clients)
        raise
    return clients


async def stop_all(*clients: Client) -> None:
    for c in clients:
        await c.stop()


async def create_room(server: LecternServer, name: str, joiners=("Bob", "Carol"), **config):
    """alice creates and configures NAME@conference.localhost as Alice; then bob (Bob) and carol
    (Carol) join, as many as `joiners` names. Returns (clients, occupants, room JID)."""
    clients = await cast(server)
    room = f"{name}@{SERVICE}"
    occupants = [Occupant(clients[0], room, "Alice")]
    occupants += [Occupant(c, room, nick) for c, nick in zip(clients[1:], joiners)]
    try:
        await occupants[0].join()
        await occupants[0].configure(**config)
        for o in occupants[1:]:
            await o.join()
    except BaseException:
        await stop_all(*clients)
        raise
    return clients, occupants, room


async def disco(client: Client, to: str, kind: str, expect: str = "result"):
    """disco#info / disco#items query: the <query/> of the result, or the error condition."""
    ns = f"http://jabber.org/protocol/disco#{kind}"
    reply = await Occupant.send_iq(client, "get", to, f"<query xmlns='{ns}'/>")
    assert reply["type"] == expect, f"disco#{kind} on {to}: expected {expect}, got {reply}"
    return reply.xml.find(f"{{{ns}}}query") if expect == "result" else error_of(reply)


@dataclass
class Joined:
    """What a joiner received, in order: others' presence, its own, history, the subject
    (None for the creator of a new room)."""

    others: list
    self_presence: slixmpp.Presence
    history: list
    subject: slixmpp.Message | None

    @property
    def subject_text(self) -> str | None:
        return None if self.subject is None else self.subject.xml.findtext("{jabber:client}subject") or ""


class Occupant:
    """One client's nick in one room."""

    def __init__(self, client: Client, room: str, nick: str) -> None:
        self.client, self.room, self.nick = client, room, nick
        self.occupant_jid = f"{room}/{nick}"

    def send(self, xml: str) -> None:
        self.client.xmpp.send_raw(xml)

    def mark(self) -> int:
        return len(self.client.stanzas)

    async def wait(self, pred: Callable, what: str, since: int = 0, timeout: float = 10):
        return await self.client.wait_stanza(pred, f"{self.nick}: {what}", timeout, since)

    @staticmethod
    async def send_iq(client: Client, itype: str, to: str, payload_xml: str, timeout: float = 10):
        iq = client.xmpp.make_iq(ito=to, itype=itype)
        iq.append(ET.fromstring(payload_xml))
        try:
            return await iq.send(timeout=timeout)
        except IqError as e:
            return e.iq
        except IqTimeout:
            raise XmppFailure(f"{client.name}: no reply within {timeout}s to {iq}") from None

    async def iq(self, itype: str, to: str, payload_xml: str):
        return await self.send_iq(self.client, itype, to, payload_xml)

    async def admin(self, itype: str, item_attrs: str, inner: str = ""):
        """A muc#admin query on the room with one <item/>; returns the reply."""
        query = f"<query xmlns='{MUC_ADMIN}'><item {item_attrs}>{inner}</item></query>"
        return await self.iq(itype, self.room, query)

    # ---- entering ---------------------------------------------------------------------------
    def _send_join(self, history: str) -> str:
        pid = f"join-{next(_ids)}"
        self.send(f"<presence to={quoteattr(self.occupant_jid)} id='{pid}'><x xmlns='{MUC}'>{history}</x></presence>")
        return pid

    async def join(self, history: str = "") -> Joined:
        start = self.mark()
        self._send_join(history)
        me = await self.wait(
            lambda s: s.name == "presence" and frm(s) == self.occupant_jid
            and (s["type"] == "error" or "110" in codes(s)),
            "own presence (110) after joining", since=start,
        )  # fmt: skip
        if me["type"] == "error":
            raise XmppFailure(f"{self.nick} could not join {self.room}: {me}")
        subject = None
        if "201" not in codes(me):  # the creator of a locked room need not get a subject (§10.1.1)
            subject = await self.wait(
                lambda s: s.name == "message" and frm(s).split("/")[0] == self.room
                and s.xml.find("{jabber:client}subject") is not None and s.xml.find("{jabber:client}body") is None,
                "the room subject after joining", since=start,
            )  # fmt: skip
        seen = [s for s in self.client.stanzas[start:] if frm(s).split("/")[0] == self.room]
        i_me = next(i for i, s in enumerate(seen) if s is me)
        i_subject = next((i for i, s in enumerate(seen) if s is subject), i_me + 1)
        return Joined(
            others=[s for s in seen[:i_me] if s.name == "presence"],
            self_presence=me,
            history=[s for s in seen[i_me + 1 : i_subject] if s.name == "message"],
            subject=subject,
        )

    async def join_refused(self) -> str | None:
        """Try to join; expect a presence error and return its condition."""
        start = self.mark()
        pid = self._send_join("")
        reply = await self.wait(
            lambda s: s.name == "presence" and (s["id"] == pid or frm(s) == self.occupant_jid),
            "an answer to the join", since=start,
        )  # fmt: skip
        assert reply["type"] == "error", f"{self.nick} was let into {self.room}: {reply}"
        assert frm(reply) == self.occupant_jid, f"error not from the occupant JID: {reply}"
        return error_of(reply)

    # ---- seeing -----------------------------------------------------------------------------------
    async def presence_of(self, other: "Occupant", pred: Callable = lambda p: True, since: int = 0):
        return await self.wait(
            lambda s: s.name == "presence" and frm(s) == other.occupant_jid and pred(s),
            f"a presence from {other.nick}", since=since,
        )  # fmt: skip

    async def groupchat(self, mid: str, sender: "Occupant"):
        return await self.wait(
            lambda s: s.name == "message" and s["id"] == mid and frm(s) == sender.occupant_jid
            and s.xml.get("type") != "error",
            f"groupchat {mid} from {sender.nick}",
        )  # fmt: skip

    async def error(self, mid: str):
        return await self.wait(lambda s: s["id"] == mid and s["type"] == "error", f"the error reply to {mid}")

    # ---- owning ---------------------------------------------------------------------------------------
    async def config_form(self) -> dict[str, list[str]]:
        reply = await self.iq("get", self.room, f"<query xmlns='{MUC_OWNER}'/>")
        assert reply["type"] == "result", f"owner form request failed: {reply}"
        x = reply.xml.find(f"{{{MUC_OWNER}}}query/{{{DATA}}}x")
        assert x is not None and x.get("type") == "form", f"no data form in {reply}"
        return form_values(x)

    async def configure(self, **changes: str) -> None:
        """Fetch the owner form, change `muc#roomconfig_<key>` fields, submit it (as clients do)."""
        values = await self.config_form()
        for key, value in changes.items():
            values[f"muc#roomconfig_{key}"] = value if isinstance(value, list) else [value]
        reply = await self.iq("set", self.room, f"<query xmlns='{MUC_OWNER}'>{submit_form(values)}</query>")
        assert reply["type"] == "result", f"configuration {changes} refused: {reply}"

    # ---- archive ----------------------------------------------------------------------------------------
    async def mam(self, rsm_xml: str, timeout: float = 10):
        """A MAM query on the room. Returns ([(archive id, forwarded message)], <fin/>)."""
        qid = f"q{next(_ids)}"
        start = self.mark()
        reply = await self.iq("set", self.room, f"<query xmlns='{MAM}' queryid='{qid}'>{rsm_xml}</query>")
        assert reply["type"] == "result", f"MAM query refused: {reply}"
        fin = reply.xml.find(f"{{{MAM}}}fin")
        assert fin is not None, f"no <fin/> in {reply}"
        results = []
        for s in self.client.stanzas[start:]:
            r = s.xml.find(f"{{{MAM}}}result")
            if s.name == "message" and r is not None and r.get("queryid") == qid:
                assert frm(s) == self.room, f"MAM result not from the room: {s}"
                inner = r.find(f"{{{FORWARD}}}forwarded/{{jabber:client}}message")
                assert inner is not None, f"no forwarded message in {s}"
                results.append((r.get("id"), slixmpp.Message(xml=copy.deepcopy(inner))))
        return results, fin
