//! Messages in a room: groupchat fan-out with stanza-id and occupant-id, subject changes,
//! and private messages between occupants (XEP-0045 §7.4–7.5, §8.1).

use std::sync::Arc;

use jid::FullJid;
use minidom::Element;

use super::archive::Archived;
use super::room::{error, now, Room};
use super::types::{Delivery, Role, NS_HINTS, NS_MUC_USER, NS_OCCUPANT_ID, NS_SID};
use crate::xmpp::error::StanzaErrorKind;
use crate::xmpp::router::{Outbound, Rendered};
use crate::xmpp::sasl::random_id;
use crate::xmpp::xml::{self, attr, element, NS_CLIENT};

impl Room {
    pub fn groupchat(&mut self, from: &FullJid, m: Element, out: &mut Vec<Delivery>) {
        let Some(nick) = self.nick_of(from) else {
            out.push(error(&m, StanzaErrorKind::NotAcceptable, &self.jid));
            return;
        };
        let role = self.occupants[&nick].role;
        if role == Role::Visitor && self.config.moderated || role == Role::None {
            out.push(error(&m, StanzaErrorKind::Forbidden, &self.jid));
            return;
        }
        let subject = m.get_child("subject", NS_CLIENT).map(|s| s.text());
        if let (Some(text), false) = (&subject, m.has_child("body", NS_CLIENT)) {
            if !self.config.change_subject && role != Role::Moderator {
                out.push(error(&m, StanzaErrorKind::Forbidden, &self.jid));
                return;
            }
            self.subject = (!text.is_empty()).then(|| (text.clone(), nick.clone()));
        }
        let mut stamped = m;
        xml::remove_attr(&mut stamped, "to");
        xml::set_attr(&mut stamped, "from", self.occupant_jid(&nick));
        // Ids are the room's to give: drop any a client tried to supply.
        let room = self.jid.to_string();
        stamped = without(stamped, |c| {
            (c.is("stanza-id", NS_SID) && attr(c, "by") == Some(room.as_str()))
                || c.is("occupant-id", NS_OCCUPANT_ID)
        });
        let id = random_id() + &random_id();
        stamped.append_child(element("stanza-id", NS_SID, &[("id", &id), ("by", &room)]));
        let occupant_id = self.occupants[&nick].occupant_id.clone();
        stamped.append_child(element(
            "occupant-id",
            NS_OCCUPANT_ID,
            &[("id", &occupant_id)],
        ));
        if keep(&stamped) {
            let chars = xml::render(&stamped).len();
            self.archive.push(Archived {
                id,
                stamp: now(),
                stanza: stamped.clone(),
                chars,
            });
        }
        let shared = Arc::new(Rendered::new(&stamped));
        out.extend(self.occupants.values().map(|o| Delivery {
            to: o.jid.clone(),
            stanza: Outbound::Shared {
                to: o.jid.to_string(),
                stanza: shared.clone(),
            },
        }));
    }

    /// A private message to `room/nick`.
    pub fn private(&mut self, from: &FullJid, nick: &str, m: Element, out: &mut Vec<Delivery>) {
        if attr(&m, "type") == Some("groupchat") {
            out.push(error(&m, StanzaErrorKind::BadRequest, &self.jid));
            return;
        }
        let Some(sender) = self.nick_of(from) else {
            out.push(error(&m, StanzaErrorKind::NotAcceptable, &self.jid));
            return;
        };
        if !self.config.allow_pm && self.occupants[&sender].role != Role::Moderator {
            out.push(error(&m, StanzaErrorKind::Forbidden, &self.jid));
            return;
        }
        let Some(target) = self.occupants.get(nick) else {
            out.push(error(&m, StanzaErrorKind::ItemNotFound, &self.jid));
            return;
        };
        let mut pm = m;
        xml::set_attr(&mut pm, "from", self.occupant_jid(&sender));
        xml::set_attr(&mut pm, "to", target.jid.to_string());
        if !pm.has_child("x", NS_MUC_USER) {
            pm.append_child(Element::bare("x", NS_MUC_USER));
        }
        out.push(Delivery {
            to: target.jid.clone(),
            stanza: Outbound::Element(pm),
        });
    }
}

/// History keeps messages with a body or subject, and body-less ones that ask to be stored
/// (XEP-0334), unless they ask not to be.
fn keep(m: &Element) -> bool {
    if m.has_child("no-store", NS_HINTS) || m.has_child("no-permanent-store", NS_HINTS) {
        return false;
    }
    m.has_child("body", NS_CLIENT) || m.has_child("store", NS_HINTS)
}

fn without(mut e: Element, drop: impl Fn(&Element) -> bool) -> Element {
    let kept: Vec<minidom::Node> = e
        .take_nodes()
        .into_iter()
        .filter(|n| !matches!(n, minidom::Node::Element(c) if drop(c)))
        .collect();
    for n in kept {
        e.append_node(n);
    }
    e
}
