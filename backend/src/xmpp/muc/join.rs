//! Entering a room (XEP-0045 §7.2): each admission rule is one small check, then the
//! joiner gets the others' presence, its own (110), history and the subject.

use jid::{BareJid, FullJid};
use minidom::Element;

use super::archive::{delayed, HistoryRequest};
use super::room::{deliver, error, now, presence_payload, Occupant, Room, Show};
use super::types::{Affiliation, Delivery, NS_MUC};
use crate::xmpp::error::StanzaErrorKind;
use crate::xmpp::router::Outbound;
use crate::xmpp::xml::{element, NS_CLIENT};

type Check = fn(&Room, &BareJid, &str, &Element) -> Result<(), StanzaErrorKind>;

/// Admission rules, in the order XEP-0045 §7.2 lists their errors.
const CHECKS: &[Check] = &[
    locked,
    banned,
    members_only,
    nick_taken,
    max_users,
    password,
];

/// A locked room (just created, not yet configured) admits only its owner.
fn locked(room: &Room, who: &BareJid, _: &str, _: &Element) -> Result<(), StanzaErrorKind> {
    if room.locked && room.affiliation(who) != Affiliation::Owner {
        return Err(StanzaErrorKind::ItemNotFound);
    }
    Ok(())
}

fn banned(room: &Room, who: &BareJid, _: &str, _: &Element) -> Result<(), StanzaErrorKind> {
    match room.affiliation(who) {
        Affiliation::Outcast => Err(StanzaErrorKind::Forbidden),
        _ => Ok(()),
    }
}

fn members_only(room: &Room, who: &BareJid, _: &str, _: &Element) -> Result<(), StanzaErrorKind> {
    if room.config.members_only && room.affiliation(who) < Affiliation::Member {
        return Err(StanzaErrorKind::RegistrationRequired);
    }
    Ok(())
}

/// One session per nick: a second session of the same account needs its own nick.
fn nick_taken(room: &Room, _: &BareJid, nick: &str, _: &Element) -> Result<(), StanzaErrorKind> {
    if room.occupants.contains_key(nick) {
        return Err(StanzaErrorKind::Conflict);
    }
    Ok(())
}

fn max_users(room: &Room, who: &BareJid, _: &str, _: &Element) -> Result<(), StanzaErrorKind> {
    let full = room.config.max_users > 0 && room.occupants.len() >= room.config.max_users;
    if full && room.affiliation(who) < Affiliation::Admin {
        return Err(StanzaErrorKind::ServiceUnavailable);
    }
    Ok(())
}

fn password(room: &Room, who: &BareJid, _: &str, p: &Element) -> Result<(), StanzaErrorKind> {
    let Some(secret) = &room.config.password else {
        return Ok(());
    };
    let given = p
        .get_child("x", NS_MUC)
        .and_then(|x| x.get_child("password", NS_MUC))
        .map(|e| e.text());
    if given.as_deref() == Some(secret.as_str()) || room.affiliation(who) == Affiliation::Owner {
        return Ok(());
    }
    Err(StanzaErrorKind::NotAuthorized)
}

pub fn join(room: &mut Room, from: &FullJid, nick: &str, p: &Element, out: &mut Vec<Delivery>) {
    let who = from.to_bare();
    if let Some(kind) = CHECKS.iter().find_map(|c| c(room, &who, nick, p).err()) {
        out.push(error(p, kind, &room.jid));
        return;
    }
    let created = room.locked && room.occupants.is_empty();
    let occupant = Occupant::new(
        nick.to_string(),
        from.clone(),
        room.default_role(room.affiliation(&who)),
        room.occupant_id(&who),
        presence_payload(p),
    );
    // The joiner first sees who is here (those whose presence the room broadcasts), as one
    // batch: a big room's roster must not look like a client failing to read.
    let with_jids = room.sees_jids(&occupant);
    let roster: Vec<Outbound> = room
        .occupants
        .values()
        .filter(|o| room.config.presence_broadcast.contains(&o.role))
        .map(|o| Outbound::Shared {
            to: from.to_string(),
            stanza: room.plain_presence(o, with_jids),
        })
        .collect();
    if !roster.is_empty() {
        out.push(Delivery {
            to: from.clone(),
            stanza: Outbound::Batch(roster),
        });
    }
    let codes: &[u16] = if created { &[201] } else { &[] };
    room.occupants.insert(nick.to_string(), occupant);
    let o = &room.occupants[nick];
    room.broadcast_presence(
        o,
        &Show {
            codes,
            ..Default::default()
        },
        out,
    );
    if created {
        return;
    }
    let req = HistoryRequest::from_join(p);
    let room_jid = room.jid.to_string();
    let mut catch_up: Vec<Outbound> = room
        .archive
        .history(room.config.history_length, &req, now())
        .into_iter()
        .map(|item| deliver(from, delayed(item, &room_jid)).stanza)
        .collect();
    catch_up.push(deliver(from, subject_message(room)).stanza);
    out.push(Delivery {
        to: from.clone(),
        stanza: Outbound::Batch(catch_up),
    });
}

/// The subject as a joiner gets it: always sent, empty when unset (§7.2.15).
pub fn subject_message(room: &Room) -> Element {
    let (text, from) = match &room.subject {
        Some((text, nick)) => (text.clone(), room.occupant_jid(nick)),
        None => (String::new(), room.jid.to_string()),
    };
    let mut m = element(
        "message",
        NS_CLIENT,
        &[("type", "groupchat"), ("from", &from)],
    );
    let mut subject = Element::bare("subject", NS_CLIENT);
    if !text.is_empty() {
        subject.append_text(text);
    }
    m.append_child(subject);
    m
}
