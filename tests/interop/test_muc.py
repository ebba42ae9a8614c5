"""MUC (XEP-0045) acceptance: slixmpp occupants in rooms on conference.localhost.

Each test is one story told in raw stanzas, as the XEP's examples are, so that a failure shows
exactly which step broke. Every test has its own server (fixture `server`) and its own rooms.
The helpers (an `Occupant` per nick, forms, status codes) are in `muc_support.py`.
"""

from __future__ import annotations

import signal
import xml.etree.ElementTree as ET

from lectern_client import XmppFailure, structure
from lectern_server import LecternServer
from muc_support import (
    DATA,
    MUC_ADMIN,
    MUC_OWNER,
    OCCUPANT_ID,
    PAYLOAD_XML,
    RSM,
    SERVICE,
    WIDGET,
    Occupant,
    cast,
    codes,
    create_room,
    disco,
    error_of,
    frm,
    item,
    occupant_id,
    payload,
    room_stanza_ids,
    stop_all,
)


def test_create_configure_and_join(server, run):
    """A join creates a locked room (110 + 201); the owner's form unlocks and configures it;
    semi-anonymous then non-anonymous joins (172, 100); a taken nick is refused (409); disco."""

    async def story():
        alice, bob, carol, dave = clients = await cast(server)
        room = f"lobby@{SERVICE}"
        a, b, c = Occupant(alice, room, "Alice"), Occupant(bob, room, "Bob"), Occupant(carol, room, "Carol")
        try:
            # Alice's join creates the room: she owns and moderates it, and it is locked.
            joined = await a.join()
            assert {"110", "201"} <= codes(joined.self_presence), joined.self_presence
            assert item(joined.self_presence)["affiliation"] == "owner"
            assert item(joined.self_presence)["role"] == "moderator"
            assert joined.others == [], joined.others

            # Nobody else gets in until the owner has submitted the configuration form.
            assert await b.join_refused() == "item-not-found"

            # The owner form: a muc#roomconfig data form with the standard fields.
            form = await a.config_form()
            assert form["FORM_TYPE"] == ["http://jabber.org/protocol/muc#roomconfig"], form
            for var in ("roomname", "roomdesc", "persistentroom", "publicroom", "moderatedroom",
                        "membersonly", "whois", "changesubject", "historylength"):  # fmt: skip
                assert f"muc#roomconfig_{var}" in form, f"no muc#roomconfig_{var} in {sorted(form)}"
            await a.configure(roomname="Lobby", roomdesc="Where it starts", publicroom="1",
                              persistentroom="0", moderatedroom="0", changesubject="0",
                              whois="moderators")  # fmt: skip
            assert (await a.config_form())["muc#roomconfig_roomname"] == ["Lobby"]

            # Semi-anonymous: Bob sees Alice (without her JID), then himself (110, no 100).
            joined = await b.join()
            assert [frm(p) for p in joined.others] == [a.occupant_jid]
            assert "jid" not in item(joined.others[0]), joined.others[0]
            assert item(joined.others[0])["role"] == "moderator"
            assert "110" in codes(joined.self_presence) and "100" not in codes(joined.self_presence)
            assert item(joined.self_presence)["role"] == "participant"
            assert joined.history == [] and joined.subject_text == "", "no history; an empty <subject/>"
            # ... while Alice, a moderator, is told Bob's real JID.
            seen = await a.presence_of(b)
            assert item(seen)["jid"] == str(bob.jid), seen

            # Alice makes the room non-anonymous: every occupant is told (172).
            mark = {o: o.mark() for o in (a, b)}
            await a.configure(whois="anyone")
            for o in (a, b):
                await o.wait(lambda s: s.name == "message" and frm(s) == room and "172" in codes(s),
                             "a status 172 message", since=mark[o])  # fmt: skip

            # Carol, an anonymous guest, joins: she sees everyone's JID and gets 100 with 110.
            joined = await c.join()
            assert {frm(p) for p in joined.others} == {a.occupant_jid, b.occupant_jid}
            jids = {frm(p): item(p).get("jid") for p in joined.others}
            assert jids[b.occupant_jid] == str(bob.jid) and jids[a.occupant_jid] == str(alice.jid)
            assert {"110", "100"} <= codes(joined.self_presence), joined.self_presence
            assert item(await b.presence_of(c)).get("jid") == str(carol.jid)

            # Dave wants the nick Bob already has: 409 conflict.
            assert await Occupant(dave, room, "Bob").join_refused() == "conflict"

            # disco#info on the room: a conference with the features it was configured with.
            info = await disco(dave, room, "info")
            ident = info.find("{http://jabber.org/protocol/disco#info}identity")
            assert (ident.get("category"), ident.get("type"), ident.get("name")) == ("conference", "text", "Lobby")
            feats = {f.get("var") for f in info.iter("{http://jabber.org/protocol/disco#info}feature")}
            assert {"http://jabber.org/protocol/muc", "muc_public", "muc_nonanonymous", "muc_unmoderated",
                    "muc_temporary", "muc_open", "muc_unsecured", OCCUPANT_ID} <= feats, feats  # fmt: skip
            await disco(dave, room, "items")  # answers (listing occupants is optional)

            # ... and on the service: a conference service whose items list the public room.
            info = await disco(dave, SERVICE, "info")
            ident = info.find("{http://jabber.org/protocol/disco#info}identity")
            assert (ident.get("category"), ident.get("type")) == ("conference", "text")
            feats = {f.get("var") for f in info.iter("{http://jabber.org/protocol/disco#info}feature")}
            assert "http://jabber.org/protocol/muc" in feats, feats
            listed = await disco(dave, SERVICE, "items")
            items = {i.get("jid"): i.get("name") for i in listed.iter("{http://jabber.org/protocol/disco#items}item")}
            assert items.get(room) == "Lobby", items
        finally:
            await stop_all(*clients)

    run(story())


def test_groupchat_private_message_and_subject(server, run):
    """Groupchat carries an unknown payload untouched, stamped with the room's stanza-id and the
    sender's occupant-id (forged ones are replaced); private messages; subject changes."""

    async def story():
        clients, (a, b, c), room = await create_room(server, "chat", whois="anyone", changesubject="0")
        try:
            # Bob speaks with a payload the server does not know, and tries to forge the ids.
            b.send(f"<message type='groupchat' to='{room}' id='bob-1'><body>Hello, room</body>"
                   f"<stanza-id xmlns='urn:xmpp:sid:0' by='{room}' id='forged'/>"
                   f"<occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/>{PAYLOAD_XML}</message>")  # fmt: skip
            got = [await o.groupchat("bob-1", b) for o in (a, b, c)]
            for m in got:
                assert m.xml.get("type") == "groupchat" and m["body"] == "Hello, room", m
                assert structure(payload(m, WIDGET)) == structure(ET.fromstring(PAYLOAD_XML)), m
                assert len(room_stanza_ids(m)) == 1 and room_stanza_ids(m) != ["forged"], m
                assert occupant_id(m) not in (None, "forged"), m
            assert len({room_stanza_ids(m)[0] for m in got}) == 1, "one stanza-id for everyone"
            bob_oid = {occupant_id(m) for m in got}
            assert len(bob_oid) == 1, "one occupant-id for everyone"
            assert occupant_id(await a.presence_of(b)) in bob_oid, "XEP-0421: same id in presence"

            # Carol speaks: another occupant-id, another stanza-id.
            c.send(f"<message type='groupchat' to='{room}' id='carol-1'><body>Hi Bob</body></message>")
            carol_msg = await a.groupchat("carol-1", c)
            assert occupant_id(carol_msg) not in bob_oid
            assert room_stanza_ids(carol_msg) != room_stanza_ids(got[0])

            # A private message from Carol to Bob through the room; Alice does not see it.
            c.send(f"<message type='chat' to='{b.occupant_jid}' id='pm-1'><body>psst</body>"
                   "<x xmlns='http://jabber.org/protocol/muc#user'/></message>")  # fmt: skip
            pm = await b.wait(lambda s: s.name == "message" and s["id"] == "pm-1", "the private message")
            assert (frm(pm), pm.xml.get("type"), pm["body"]) == (c.occupant_jid, "chat", "psst"), pm

            # The moderator sets the subject; everyone gets it from her occupant JID.
            a.send(f"<message type='groupchat' to='{room}' id='subj-1'><subject>Agenda: MUC</subject></message>")
            for o in (a, b, c):
                s = await o.wait(lambda s: s.name == "message" and s["subject"] == "Agenda: MUC", "the subject")
                assert frm(s) == a.occupant_jid and s.xml.get("type") == "groupchat", s
            # A participant may not (changesubject is off).
            c.send(f"<message type='groupchat' to='{room}' id='subj-2'><subject>Mine now</subject></message>")
            assert error_of(await c.error("subj-2")) == "forbidden"

            # Alice never got the private message: Bob's next groupchat arrives first.
            b.send(f"<message type='groupchat' to='{room}' id='bob-2'><body>marker</body></message>")
            await a.groupchat("bob-2", b)
            assert not [s for s in a.client.stanzas if s["id"] == "pm-1"], "the PM leaked to Alice"
        finally:
            await stop_all(*clients)

    run(story())


def test_moderation_voice_kick_ban_and_destroy(server, run):
    """Voice revoked in a moderated room (visitor's groupchat: forbidden), kick (307), ban
    (301, rejoin forbidden), destroy (unavailable with <destroy/>)."""

    async def story():
        clients, (a, b, c), room = await create_room(server, "hall", whois="anyone", moderatedroom="1")
        carol_bare = str(c.client.jid.bare)
        try:
            # Alice revokes Carol's voice: everyone sees Carol become a visitor.
            res = await a.admin("set", "nick='Carol' role='visitor'")
            assert res["type"] == "result", res
            for o in (a, b, c):
                p = await o.presence_of(c, lambda p: item(p).get("role") == "visitor")
                assert ("110" in codes(p)) == (o is c), p
            # A visitor's groupchat is refused with forbidden and reaches nobody.
            c.send(f"<message type='groupchat' to='{room}' id='visitor-1'><body>can I?</body></message>")
            assert error_of(await c.error("visitor-1")) == "forbidden"
            a.send(f"<message type='groupchat' to='{room}' id='after-visitor'><body>next</body></message>")
            await b.groupchat("after-visitor", a)
            assert not [s for s in b.client.stanzas if s["id"] == "visitor-1"], "visitor's message delivered"

            # Kick: role none; Carol gets 307 + 110, the others 307.
            res = await a.admin("set", "nick='Carol' role='none'", "<reason>Be quiet</reason>")
            assert res["type"] == "result", res
            for o in (a, b, c):
                p = await o.presence_of(c, lambda p: p["type"] == "unavailable")
                assert "307" in codes(p) and ("110" in codes(p)) == (o is c), p
                assert item(p)["role"] == "none", p
            # A kick is not a ban: Carol can come back.
            await c.join()

            # Ban: affiliation outcast; Carol gets 301 + 110, the others 301; she cannot return.
            res = await a.admin("set", f"affiliation='outcast' jid='{carol_bare}'")
            assert res["type"] == "result", res
            for o in (a, b, c):
                p = await o.presence_of(c, lambda p: p["type"] == "unavailable" and "301" in codes(p))
                assert ("110" in codes(p)) == (o is c) and item(p)["affiliation"] == "outcast", p
            assert await c.join_refused() == "forbidden"
            outcasts = await a.admin("get", "affiliation='outcast'")
            assert carol_bare in {i.get("jid") for i in outcasts.xml.iter(f"{{{MUC_ADMIN}}}item")}, outcasts

            # Destroy: the remaining occupants get unavailable presence carrying <destroy/>.
            res = await a.iq("set", room, f"<query xmlns='{MUC_OWNER}'><destroy jid='lobby@{SERVICE}'>"
                                          "<reason>Meeting over</reason></destroy></query>")  # fmt: skip
            assert res["type"] == "result", res
            for o in (a, b):
                p = await o.wait(lambda s: s.name == "presence" and frm(s) == o.occupant_jid
                                 and s["type"] == "unavailable", "own unavailable presence")  # fmt: skip
                x = p.xml.find("{http://jabber.org/protocol/muc#user}x")
                d = x.find("{http://jabber.org/protocol/muc#user}destroy")
                assert d is not None and d.get("jid") == f"lobby@{SERVICE}", p
                assert d.findtext("{http://jabber.org/protocol/muc#user}reason") == "Meeting over", p
            assert await disco(b.client, room, "info", expect="error") == "item-not-found"
        finally:
            await stop_all(*clients)

    run(story())


def test_membership_changes_remove_occupants(server, run):
    """Instant room (empty form); member list; switching to members-only removes non-members
    (322); revoking membership removes the member (321); both are then refused
    (registration-required)."""

    async def story():
        alice, bob, carol, dave = clients = await cast(server)
        room = f"club@{SERVICE}"
        a, b, d = Occupant(alice, room, "Alice"), Occupant(bob, room, "Bob"), Occupant(dave, room, "Dave")
        try:
            await a.join()
            res = await a.iq("set", room, f"<query xmlns='{MUC_OWNER}'><x xmlns='{DATA}' type='submit'/></query>")
            assert res["type"] == "result", f"an empty submit makes an instant room: {res}"
            bob_bare = str(bob.jid.bare)
            res = await a.admin("set", f"affiliation='member' jid='{bob_bare}'")
            assert res["type"] == "result", res
            members = await a.admin("get", "affiliation='member'")
            assert [i.get("jid") for i in members.xml.iter(f"{{{MUC_ADMIN}}}item")] == [bob_bare], members

            assert item((await b.join()).self_presence)["affiliation"] == "member"
            await d.join()

            # Members-only: Dave (no affiliation) is removed with 322, Bob stays.
            await a.configure(membersonly="1")
            for o in (a, b, d):
                p = await o.presence_of(d, lambda p: p["type"] == "unavailable")
                assert "322" in codes(p) and ("110" in codes(p)) == (o is d), p

            # Bob's membership is revoked: removed with 321.
            res = await a.admin("set", f"affiliation='none' jid='{bob_bare}'")
            assert res["type"] == "result", res
            for o in (a, b):
                p = await o.presence_of(b, lambda p: p["type"] == "unavailable")
                assert "321" in codes(p) and ("110" in codes(p)) == (o is b), p

            assert await b.join_refused() == "registration-required"
            assert await d.join_refused() == "registration-required"
        finally:
            await stop_all(*clients)

    run(story())


def test_history_and_archive_for_a_late_joiner(server, run):
    """History honours maxstanzas and includes a body-less <store/> message; the late joiner
    pages through the room's MAM archive (urn:xmpp:mam:2) with RSM."""

    async def story():
        clients, (a, b), room = await create_room(server, "records", whois="anyone", joiners=("Bob",))
        carol = clients[2]
        try:
            sids = []
            for n in range(1, 5):
                b.send(f"<message type='groupchat' to='{room}' id='m{n}'><body>note {n}</body></message>")
                sids.append(room_stanza_ids(await b.groupchat(f"m{n}", b))[0])
            b.send(f"<message type='groupchat' to='{room}' id='m5'><store xmlns='urn:xmpp:hints'/>"
                   f"{PAYLOAD_XML}</message>")  # fmt: skip
            sids.append(room_stanza_ids(await b.groupchat("m5", b))[0])

            # Carol joins late asking for 3 stanzas of history: notes 3 and 4, then the payload.
            c = Occupant(carol, room, "Carol")
            joined = await c.join(history="<history maxstanzas='3'/>")
            assert [(m["body"] or None) for m in joined.history] == ["note 3", "note 4", None], joined.history
            assert payload(joined.history[2], WIDGET) is not None, joined.history[2]
            for m in joined.history:
                assert frm(m) == b.occupant_jid and m.xml.get("type") == "groupchat", m
                assert m.xml.find("{urn:xmpp:delay}delay") is not None, f"history without <delay/>: {m}"

            # MAM, two at a time: the pages give all five, in order, with the live stanza-ids.
            pages, after = [], ""
            for _ in range(5):
                results, fin = await c.mam(f"<set xmlns='{RSM}'><max>2</max>{after}</set>")
                pages.append(results)
                if fin.get("complete") == "true":
                    break
                last = fin.findtext(f"{{{RSM}}}set/{{{RSM}}}last")
                assert last == results[-1][0], (last, results)
                after = f"<after>{last}</after>"
            assert [len(p) for p in pages] == [2, 2, 1], pages
            got = [r for p in pages for r in p]
            assert [r[0] for r in got] == sids
            assert [r[1]["body"] or None for r in got] == ["note 1", "note 2", "note 3", "note 4", None]
            assert all(frm(r[1]) == b.occupant_jid for r in got)
            assert structure(payload(got[4][1], WIDGET)) == structure(payload(joined.history[2], WIDGET))

            # The last page (empty <before/>) and the page before note 3.
            results, _ = await c.mam(f"<set xmlns='{RSM}'><max>2</max><before/></set>")
            assert [r[0] for r in results] == sids[3:]
            results, _ = await c.mam(f"<set xmlns='{RSM}'><max>2</max><before>{sids[2]}</before></set>")
            assert [r[0] for r in results] == sids[:2]
        finally:
            await stop_all(*clients)

    run(story())


def test_shutdown_removes_occupants_with_332(workdir, request, run):
    """When the server stops (SIGTERM), occupants are told they were removed because of a
    shutdown (332) before their streams close."""
    srv = LecternServer(workdir)  # not the `server` fixture: this test stops it on purpose
    request.node.lectern_servers = [srv]
    srv.start()

    async def story():
        clients, (a, b), _room = await create_room(srv, "closing", joiners=("Bob",))
        try:
            srv.proc.send_signal(signal.SIGTERM)
            for o in (a, b):
                try:
                    p = await o.wait(lambda s: s.name == "presence" and frm(s) == o.occupant_jid
                                     and s["type"] == "unavailable", "own unavailable presence")  # fmt: skip
                except XmppFailure as e:
                    raise AssertionError(f"{o.nick} got no unavailable presence (332) before the server went "
                                         f"away (stream closed: {o.client.disconnected})") from e  # fmt: skip
                assert {"110", "332"} <= codes(p), p
        finally:
            await stop_all(*clients)

    try:
        run(story())
    finally:
        srv.stop()
