//! Rooms as transcripts: stanzas in, deliveries out, no connections involved.

use std::sync::Arc;

use jid::FullJid;
use minidom::Element;

use super::*;
use crate::store::MemoryStore;
use crate::xmpp::router::{mailbox, Router};
use crate::xmpp::xml::attr;

const ROOM: &str = "physics@conference.localhost";

fn service(store: Arc<MemoryStore>) -> Muc {
    Muc::new("conference.localhost".into(), store).unwrap()
}

fn jid(s: &str) -> FullJid {
    FullJid::new(s).unwrap()
}

/// Sends `xml` from `from` (stamped as the c2s layer does) and returns (to, stanza) pairs.
fn send(muc: &Muc, from: &str, xml: &str) -> Vec<(String, Element)> {
    let mut e: Element = xml.parse().unwrap();
    crate::xmpp::xml::set_attr(&mut e, "from", from);
    let mut out = Vec::new();
    for d in muc.handle(&jid(from), e) {
        let mut texts = Vec::new();
        d.stanza.render_each(&mut texts);
        out.extend(texts.iter().map(|t| (d.to.to_string(), t.parse().unwrap())));
    }
    out
}

fn codes(p: &Element) -> Vec<String> {
    p.get_child("x", types::NS_MUC_USER)
        .map(|x| {
            x.children()
                .filter(|c| c.name() == "status")
                .map(|c| attr(c, "code").unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn item<'a>(p: &'a Element, name: &str) -> Option<&'a str> {
    let x = p.get_child("x", types::NS_MUC_USER)?;
    attr(x.get_child("item", types::NS_MUC_USER)?, name)
}

fn join(muc: &Muc, who: &str, nick: &str) -> Vec<(String, Element)> {
    send(
        muc,
        who,
        &format!(
            "<presence xmlns='jabber:client' to='{ROOM}/{nick}'><x xmlns='{NS_MUC}'/></presence>"
        ),
    )
}

fn condition(e: &Element) -> String {
    let err = e.get_child("error", "jabber:client").expect("an error");
    err.children().next().unwrap().name().to_string()
}

const INSTANT: &str = "<iq xmlns='jabber:client' type='set' id='c' to='physics@conference.localhost'>\
    <query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>";

/// Alice creates and unlocks the room; Bob joins.
fn room_with_two() -> Muc {
    let muc = service(Arc::new(MemoryStore::default()));
    join(&muc, "alice@localhost/a", "Alice");
    send(&muc, "alice@localhost/a", INSTANT);
    join(&muc, "bob@localhost/b", "Bob");
    muc
}

#[test]
fn creating_locks_until_the_owner_configures() {
    let muc = service(Arc::new(MemoryStore::default()));
    let out = join(&muc, "alice@localhost/a", "Alice");
    assert_eq!(out.len(), 1, "only the creator's own presence");
    let own = &out[0].1;
    assert_eq!(codes(own), ["201", "110"]);
    assert_eq!(
        (item(own, "affiliation"), item(own, "role")),
        (Some("owner"), Some("moderator"))
    );
    let refused = join(&muc, "bob@localhost/b", "Bob");
    assert_eq!(condition(&refused[0].1), "item-not-found");
    let ok = send(&muc, "alice@localhost/a", INSTANT);
    assert_eq!(attr(&ok[0].1, "type"), Some("result"));
    let out = join(&muc, "bob@localhost/b", "Bob");
    // Bob: Alice's presence, his own (110), the empty subject; Alice: Bob's presence.
    let to_bob: Vec<&Element> = out
        .iter()
        .filter(|(t, _)| t == "bob@localhost/b")
        .map(|(_, e)| e)
        .collect();
    assert_eq!(
        attr(to_bob[0], "from"),
        Some("physics@conference.localhost/Alice")
    );
    assert_eq!(codes(to_bob[1]), ["110"]);
    assert!(to_bob[2].has_child("subject", "jabber:client"));
    assert!(out
        .iter()
        .any(|(t, e)| t == "alice@localhost/a" && item(e, "jid") == Some("bob@localhost/b")));
    let conflict = join(&muc, "carol@localhost/c", "Bob");
    assert_eq!(condition(&conflict[0].1), "conflict");
}

#[test]
fn groupchat_gets_ids_and_late_joiners_get_history() {
    let muc = room_with_two();
    let out = send(
        &muc,
        "bob@localhost/b",
        &format!("<message xmlns='jabber:client' type='groupchat' to='{ROOM}'><body>hi</body><w xmlns='urn:x'/></message>"),
    );
    assert_eq!(out.len(), 2);
    let m = &out[0].1;
    assert_eq!(attr(m, "from"), Some("physics@conference.localhost/Bob"));
    let sid = m.get_child("stanza-id", types::NS_SID).unwrap();
    assert_eq!(attr(sid, "by"), Some(ROOM));
    assert!(m.has_child("occupant-id", types::NS_OCCUPANT_ID) && m.has_child("w", "urn:x"));
    send(&muc, "bob@localhost/b", &format!("<message xmlns='jabber:client' type='groupchat' to='{ROOM}'><ink xmlns='urn:x'/><store xmlns='urn:xmpp:hints'/></message>"));
    send(&muc, "bob@localhost/b", &format!("<message xmlns='jabber:client' type='groupchat' to='{ROOM}'><ink xmlns='urn:x'/></message>"));
    let late = send(
        &muc,
        "carol@localhost/c",
        &format!("<presence xmlns='jabber:client' to='{ROOM}/Carol'><x xmlns='{NS_MUC}'><history maxstanzas='5'/></x></presence>"),
    );
    let history: Vec<&Element> = late
        .iter()
        .filter(|(t, e)| t == "carol@localhost/c" && e.has_child("delay", types::NS_DELAY))
        .map(|(_, e)| e)
        .collect();
    assert_eq!(
        history.len(),
        2,
        "the body and the store-hinted message, not the unhinted one"
    );
    assert!(history[1].has_child("ink", "urn:x"));
    let one = send(&muc, "dave@localhost/d", &format!("<presence xmlns='jabber:client' to='{ROOM}/Dave'><x xmlns='{NS_MUC}'><history maxstanzas='1'/></x></presence>"));
    assert_eq!(
        one.iter()
            .filter(|(_, e)| e.has_child("delay", types::NS_DELAY))
            .count(),
        1
    );
}

#[test]
fn moderation_voice_kick_and_ban() {
    let muc = room_with_two();
    let admin = |xml: &str| {
        format!("<iq xmlns='jabber:client' type='set' id='m' to='{ROOM}'><query xmlns='{NS_MUC_ADMIN}'>{xml}</query></iq>")
    };
    let out = send(
        &muc,
        "alice@localhost/a",
        &admin("<item nick='Bob' role='visitor'/>"),
    );
    assert!(out
        .iter()
        .any(|(t, e)| t == "bob@localhost/b" && item(e, "role") == Some("visitor")));
    // A later joiner sees the new role: cached presence renders follow changes.
    let carol = join(&muc, "carol@localhost/c", "Carol");
    let bob_seen = carol
        .iter()
        .find(|(t, e)| {
            t == "carol@localhost/c" && attr(e, "from") == Some("physics@conference.localhost/Bob")
        })
        .unwrap();
    assert_eq!(item(&bob_seen.1, "role"), Some("visitor"));
    // Unmoderated rooms let visitors speak only if moderation is on: turn it on.
    send(&muc, "alice@localhost/a", &format!("<iq xmlns='jabber:client' type='set' id='c' to='{ROOM}'><query xmlns='{NS_MUC_OWNER}'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_moderatedroom'><value>1</value></field></x></query></iq>"));
    let refused = send(
        &muc,
        "bob@localhost/b",
        &format!(
            "<message xmlns='jabber:client' type='groupchat' to='{ROOM}'><body>x</body></message>"
        ),
    );
    assert_eq!(condition(&refused[0].1), "forbidden");
    // Bob may not kick Alice.
    let out = send(
        &muc,
        "bob@localhost/b",
        &admin("<item nick='Alice' role='none'/>"),
    );
    assert_eq!(condition(&out[0].1), "not-allowed");
    let out = send(
        &muc,
        "alice@localhost/a",
        &admin("<item nick='Bob' role='none'><reason>bye</reason></item>"),
    );
    let kicked = out.iter().find(|(t, _)| t == "bob@localhost/b").unwrap();
    assert_eq!(attr(&kicked.1, "type"), Some("unavailable"));
    assert!(codes(&kicked.1).contains(&"307".to_string()));
    join(&muc, "bob@localhost/b", "Bob");
    let out = send(
        &muc,
        "alice@localhost/a",
        &admin("<item jid='bob@localhost' affiliation='outcast'/>"),
    );
    assert!(out
        .iter()
        .any(|(t, e)| t == "bob@localhost/b" && codes(e).contains(&"301".to_string())));
    let refused = join(&muc, "bob@localhost/b", "Bob");
    assert_eq!(condition(&refused[0].1), "forbidden");
}

#[test]
fn persistent_rooms_come_back_with_config_and_affiliations() {
    let store = Arc::new(MemoryStore::default());
    let muc = service(store.clone());
    join(&muc, "alice@localhost/a", "Alice");
    let form = "<field var='muc#roomconfig_persistentroom'><value>1</value></field>\
        <field var='muc#roomconfig_membersonly'><value>1</value></field>\
        <field var='muc#roomconfig_roomname'><value>Physics</value></field>";
    send(&muc, "alice@localhost/a", &format!("<iq xmlns='jabber:client' type='set' id='c' to='{ROOM}'><query xmlns='{NS_MUC_OWNER}'><x xmlns='jabber:x:data' type='submit'>{form}</x></query></iq>"));
    send(&muc, "alice@localhost/a", &format!("<iq xmlns='jabber:client' type='set' id='m' to='{ROOM}'><query xmlns='{NS_MUC_ADMIN}'><item jid='bob@localhost' affiliation='member'/></query></iq>"));
    drop(muc);
    let muc = service(store);
    let info = send(&muc, "bob@localhost/b", &format!("<iq xmlns='jabber:client' type='get' id='i' to='{ROOM}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    assert!(xml::render(&info[0].1).contains("name='Physics'"));
    let bob = join(&muc, "bob@localhost/b", "Bob");
    assert!(bob.iter().any(|(_, e)| codes(e) == ["110"]));
    let carol = join(&muc, "carol@localhost/c", "Carol");
    assert_eq!(condition(&carol[0].1), "registration-required");
}

#[test]
fn mam_pages_through_the_archive() {
    let muc = room_with_two();
    for i in 0..5 {
        send(&muc, "alice@localhost/a", &format!("<message xmlns='jabber:client' type='groupchat' to='{ROOM}'><body>{i}</body></message>"));
    }
    let query = |rsm: &str| {
        format!("<iq xmlns='jabber:client' type='set' id='q' to='{ROOM}'><query xmlns='urn:xmpp:mam:2' queryid='f'><set xmlns='http://jabber.org/protocol/rsm'>{rsm}</set></query></iq>")
    };
    let out = send(&muc, "bob@localhost/b", &query("<max>3</max>"));
    assert_eq!(out.len(), 4, "three results and the fin");
    let fin = out[3].1.get_child("fin", "urn:xmpp:mam:2").unwrap();
    assert_eq!(attr(fin, "complete"), None);
    let last = fin
        .get_child("set", "http://jabber.org/protocol/rsm")
        .unwrap()
        .get_child("last", "http://jabber.org/protocol/rsm")
        .unwrap()
        .text();
    let out = send(
        &muc,
        "bob@localhost/b",
        &query(&format!("<max>3</max><after>{last}</after>")),
    );
    assert_eq!(out.len(), 3);
    let fin = out[2].1.get_child("fin", "urn:xmpp:mam:2").unwrap();
    assert_eq!(attr(fin, "complete"), Some("true"));
}

#[test]
fn a_slow_occupant_is_removed_and_the_room_carries_on() {
    let muc = room_with_two();
    let router = Router::default();
    let (ha, mut ma) = mailbox(1000);
    let (hb, _mb) = mailbox(2);
    router.bind(jid("alice@localhost/a"), ha);
    router.bind(jid("bob@localhost/b"), hb);
    for i in 0..5 {
        let mut m: Element = format!("<message xmlns='jabber:client' type='groupchat' to='{ROOM}'><body>{i}</body></message>").parse().unwrap();
        crate::xmpp::xml::set_attr(&mut m, "from", "alice@localhost/a");
        muc.dispatch(&router, muc.handle(&jid("alice@localhost/a"), m));
    }
    let mut got = Vec::new();
    while let Ok(o) = ma.rx.try_recv() {
        let mut texts = Vec::new();
        o.render_each(&mut texts);
        got.extend(texts.iter().map(|t| t.parse::<Element>().unwrap()));
    }
    let bodies = got
        .iter()
        .filter(|e| e.has_child("body", "jabber:client"))
        .count();
    assert_eq!(bodies, 5, "Alice got every message");
    let gone = got
        .iter()
        .find(|e| attr(e, "type") == Some("unavailable"))
        .expect("Bob's removal");
    assert_eq!(codes(gone), ["307", "333"]);
    assert!(ma.rx.try_recv().is_err());
}

#[test]
fn config_changes_are_announced_and_shutdown_says_332() {
    let muc = room_with_two();
    let form = "<field var='muc#roomconfig_whois'><value>anyone</value></field>";
    let out = send(
        &muc,
        "alice@localhost/a",
        &format!("<iq xmlns='jabber:client' type='set' id='c' to='{ROOM}'><query xmlns='{NS_MUC_OWNER}'><x xmlns='jabber:x:data' type='submit'>{form}</x></query></iq>"),
    );
    let notices: Vec<&(String, Element)> =
        out.iter().filter(|(_, e)| e.name() == "message").collect();
    assert_eq!(notices.len(), 2, "both occupants hear of it");
    assert_eq!(codes(&notices[0].1), ["104", "172"]);
    let mut bye: Vec<(String, Vec<String>)> = Vec::new();
    for d in muc.shutdown() {
        let e: Element = d.stanza.render().parse().unwrap();
        if d.to.to_string() == attr(&e, "to").unwrap() && codes(&e).contains(&"110".to_string()) {
            bye.push((d.to.to_string(), codes(&e)));
        }
    }
    bye.sort();
    assert_eq!(
        bye,
        [
            (
                "alice@localhost/a".to_string(),
                vec!["332".to_string(), "110".to_string()]
            ),
            (
                "bob@localhost/b".to_string(),
                vec!["332".to_string(), "110".to_string()]
            ),
        ]
    );
}
