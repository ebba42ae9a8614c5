//! A room's core: who is in it and how presence flows (XEP-0045 §7.1–7.2, §7.14).
//! Features with their own rules live beside it: `join` (admission checks), `messages`,
//! `admin` (roles, affiliations, owner form), `queries` (disco, MAM).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use jid::{BareJid, FullJid};
use minidom::Element;
use sha2::{Digest, Sha256};

use super::archive::Archive;
use super::config::RoomConfig;
use super::types::{Affiliation, Delivery, Role, NS_MUC, NS_MUC_USER, NS_OCCUPANT_ID};
use crate::xmpp::error::StanzaErrorKind;
use crate::xmpp::router::{Outbound, Rendered};
use crate::xmpp::sasl::random_bytes;
use crate::xmpp::xml::{self, attr, element, NS_CLIENT};

pub struct Occupant {
    pub nick: String,
    pub jid: FullJid,
    pub role: Role,
    pub occupant_id: String,
    /// The occupant's own presence children (show, status, caps…), re-broadcast as given.
    pub payload: Vec<Element>,
    /// Its plain presence rendered once, without and with the real JID: a join sends every
    /// occupant's presence to the joiner, so a lecture hall fills at the cost of copies.
    cached: [OnceLock<Arc<Rendered>>; 2],
}

impl Occupant {
    pub fn new(
        nick: String,
        jid: FullJid,
        role: Role,
        occupant_id: String,
        payload: Vec<Element>,
    ) -> Self {
        Self {
            nick,
            jid,
            role,
            occupant_id,
            payload,
            cached: Default::default(),
        }
    }

    /// Call after anything its presence shows has changed.
    pub fn invalidate(&mut self) {
        self.cached = Default::default();
    }
}

pub struct Room {
    pub jid: BareJid,
    pub config: RoomConfig,
    /// New rooms stay locked until their owner configures them (status 201).
    pub locked: bool,
    pub affiliations: HashMap<BareJid, Affiliation>,
    pub occupants: HashMap<String, Occupant>,
    pub subject: Option<(String, String)>,
    pub archive: Archive,
    salt: [u8; 16],
    /// Configuration or affiliations changed and must be saved.
    pub dirty: bool,
    pub destroyed: bool,
}

/// How an occupant's presence is shown: the codes and the extra `<item/>` details.
#[derive(Default, Clone)]
pub struct Show<'a> {
    pub unavailable: bool,
    pub codes: &'a [u16],
    pub new_nick: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// Extra element inside `<x/>`, e.g. `<destroy/>`.
    pub extra: Option<Element>,
}

impl Show<'_> {
    /// Nothing but the occupant's current state: the form every roster copy takes.
    fn is_plain(&self) -> bool {
        !self.unavailable
            && self.codes.is_empty()
            && self.new_nick.is_none()
            && self.reason.is_none()
            && self.extra.is_none()
    }
}

impl Room {
    pub fn new(jid: BareJid) -> Self {
        Self {
            jid,
            config: RoomConfig::default(),
            locked: false,
            affiliations: HashMap::new(),
            occupants: HashMap::new(),
            subject: None,
            archive: Archive::default(),
            salt: random_bytes(),
            dirty: false,
            destroyed: false,
        }
    }

    pub fn affiliation(&self, jid: &BareJid) -> Affiliation {
        self.affiliations
            .get(jid)
            .copied()
            .unwrap_or(Affiliation::None)
    }

    pub fn occupant_by_jid(&self, jid: &FullJid) -> Option<&Occupant> {
        self.occupants.values().find(|o| o.jid == *jid)
    }

    pub fn nick_of(&self, jid: &FullJid) -> Option<String> {
        self.occupant_by_jid(jid).map(|o| o.nick.clone())
    }

    /// The role an affiliation earns on entry.
    pub fn default_role(&self, aff: Affiliation) -> Role {
        match aff {
            Affiliation::Owner | Affiliation::Admin => Role::Moderator,
            Affiliation::Member => Role::Participant,
            _ if self.config.moderated => Role::Visitor,
            _ => Role::Participant,
        }
    }

    /// XEP-0421: stable per room and real bare JID, revealing neither.
    pub fn occupant_id(&self, jid: &BareJid) -> String {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(jid.as_str().as_bytes());
        h.finalize()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn occupant_jid(&self, nick: &str) -> String {
        format!("{}/{nick}", self.jid)
    }

    /// Whether `viewer` may see real JIDs.
    pub fn sees_jids(&self, viewer: &Occupant) -> bool {
        self.config.whois_anyone || viewer.role == Role::Moderator
    }

    /// An occupant's presence as the room shows it.
    pub fn presence_of(&self, o: &Occupant, show: &Show, with_jid: bool) -> Element {
        let from = self.occupant_jid(&o.nick);
        let mut p = element("presence", NS_CLIENT, &[("from", &from)]);
        if show.unavailable {
            xml::set_attr(&mut p, "type", "unavailable");
        } else {
            for c in &o.payload {
                p.append_child(c.clone());
            }
        }
        let aff = self.affiliation(&o.jid.to_bare());
        let role = if show.unavailable { Role::None } else { o.role };
        let mut item = element(
            "item",
            NS_MUC_USER,
            &[("affiliation", aff.as_str()), ("role", role.as_str())],
        );
        if with_jid {
            xml::set_attr(&mut item, "jid", o.jid.to_string());
        }
        if let Some(n) = show.new_nick {
            xml::set_attr(&mut item, "nick", n);
        }
        if let Some(r) = show.reason {
            let mut reason = Element::bare("reason", NS_MUC_USER);
            reason.append_text(r.to_string());
            item.append_child(reason);
        }
        let mut x = Element::bare("x", NS_MUC_USER);
        x.append_child(item);
        for code in show.codes {
            x.append_child(element(
                "status",
                NS_MUC_USER,
                &[("code", &code.to_string())],
            ));
        }
        if let Some(e) = &show.extra {
            x.append_child(e.clone());
        }
        p.append_child(x);
        p.append_child(element(
            "occupant-id",
            NS_OCCUPANT_ID,
            &[("id", &o.occupant_id)],
        ));
        p
    }

    /// `o`'s plain presence, rendered at most once while it stays the same.
    pub fn plain_presence(&self, o: &Occupant, with_jid: bool) -> Arc<Rendered> {
        o.cached[usize::from(with_jid)]
            .get_or_init(|| {
                Arc::new(Rendered::new(&self.presence_of(
                    o,
                    &Show::default(),
                    with_jid,
                )))
            })
            .clone()
    }

    /// Sends `o`'s presence to everyone who should see it, and to `o` itself with 110.
    /// Others see it only when the room broadcasts presence of `o`'s role.
    pub fn broadcast_presence(&self, o: &Occupant, show: &Show, out: &mut Vec<Delivery>) {
        let mut own_codes = show.codes.to_vec();
        own_codes.push(110);
        if self.config.whois_anyone && !show.unavailable {
            own_codes.push(100);
        }
        let own = Show {
            codes: &own_codes,
            ..show.clone()
        };
        out.push(deliver(&o.jid, self.presence_of(o, &own, true)));
        if !self.config.presence_broadcast.contains(&o.role) {
            return;
        }
        let mut with_jid = None;
        let mut without = None;
        for other in self.occupants.values().filter(|x| x.jid != o.jid) {
            let slot = if self.sees_jids(other) {
                &mut with_jid
            } else {
                &mut without
            };
            let sees = self.sees_jids(other);
            let shared = slot
                .get_or_insert_with(|| {
                    if show.is_plain() {
                        self.plain_presence(o, sees)
                    } else {
                        Arc::new(Rendered::new(&self.presence_of(o, show, sees)))
                    }
                })
                .clone();
            out.push(Delivery {
                to: other.jid.clone(),
                stanza: Outbound::Shared {
                    to: other.jid.to_string(),
                    stanza: shared,
                },
            });
        }
    }

    /// Removes an occupant and tells the room (and them) why.
    pub fn remove(&mut self, nick: &str, show: &Show, out: &mut Vec<Delivery>) {
        let Some(o) = self.occupants.remove(nick) else {
            return;
        };
        let show = Show {
            unavailable: true,
            ..show.clone()
        };
        // Everyone still here, then the leaver (broadcast_presence covers both).
        self.broadcast_presence(&o, &show, out);
        if self.occupants.is_empty() && !self.config.persistent {
            self.destroyed = true;
        }
    }

    /// A presence from an occupant (or a would-be one) to `room/nick`.
    pub fn presence(&mut self, from: &FullJid, nick: &str, p: Element, out: &mut Vec<Delivery>) {
        let kind = attr(&p, "type").unwrap_or("available");
        let current = self.nick_of(from);
        match (kind, current) {
            ("unavailable" | "error", Some(cur)) => self.remove(&cur, &Show::default(), out),
            ("unavailable" | "error", None) => {}
            ("available", None) => super::join::join(self, from, nick, &p, out),
            ("available", Some(cur)) if cur == nick => {
                let payload = presence_payload(&p);
                if let Some(o) = self.occupants.get_mut(&cur) {
                    o.payload = payload;
                    o.invalidate();
                }
                let o = &self.occupants[&cur];
                self.broadcast_presence(o, &Show::default(), out);
            }
            ("available", Some(cur)) => self.change_nick(from, &cur, nick, &p, out),
            _ => out.push(error(&p, StanzaErrorKind::BadRequest, &self.jid)),
        }
    }

    /// XEP-0045 §7.6: unavailable with 303 under the old nick, then available under the new.
    fn change_nick(
        &mut self,
        from: &FullJid,
        old: &str,
        new: &str,
        p: &Element,
        out: &mut Vec<Delivery>,
    ) {
        if self.occupants.contains_key(new) {
            out.push(error(p, StanzaErrorKind::Conflict, &self.jid));
            return;
        }
        let Some(mut o) = self.occupants.remove(old) else {
            return;
        };
        let gone = Show {
            unavailable: true,
            codes: &[303],
            new_nick: Some(new),
            ..Default::default()
        };
        self.broadcast_presence(&o, &gone, out);
        o.nick = new.to_string();
        o.payload = presence_payload(p);
        o.invalidate();
        debug_assert_eq!(o.jid, *from);
        self.occupants.insert(new.to_string(), o);
        let o = &self.occupants[new];
        self.broadcast_presence(o, &Show::default(), out);
    }
}

/// The presence children an occupant chose (the MUC join element is ours to replace).
pub fn presence_payload(p: &Element) -> Vec<Element> {
    p.children()
        .filter(|c| !c.has_ns(NS_MUC) && !c.has_ns(NS_MUC_USER) && !c.has_ns(NS_OCCUPANT_ID))
        .cloned()
        .collect()
}

pub fn deliver(to: &FullJid, e: Element) -> Delivery {
    let mut e = e;
    xml::set_attr(&mut e, "to", to.to_string());
    Delivery {
        to: to.clone(),
        stanza: Outbound::Element(e),
    }
}

/// An error reply to `stanza` (which carries the sender in `from`).
pub fn error(stanza: &Element, kind: StanzaErrorKind, room: &BareJid) -> Delivery {
    let reply = xml::stanza_error(stanza, kind, room.as_str());
    let to = attr(stanza, "from")
        .and_then(|f| FullJid::new(f).ok())
        .expect("stanzas reaching a room carry their sender's full JID");
    Delivery {
        to,
        stanza: Outbound::Element(reply),
    }
}

pub fn now() -> SystemTime {
    SystemTime::now()
}
