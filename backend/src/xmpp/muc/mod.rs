//! Multi-user chat (XEP-0045) at `conference.<domain>`: a Lectern meeting is a room.
//!
//! Rooms are plain state behind one mutex each; they turn a stanza into a list of
//! [`Delivery`]s and never see a connection. [`Muc::dispatch`] sends those after the room
//! lock is released, and a recipient that has stopped reading is removed from its rooms
//! (status 307/333) instead of slowing them down.

mod admin;
mod archive;
mod config;
mod join;
mod messages;
mod queries;
mod room;
#[cfg(test)]
mod tests;
mod types;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use jid::{BareJid, FullJid, Jid};
use minidom::Element;
use serde::{Deserialize, Serialize};

pub use config::RoomConfig;
pub use types::{Affiliation, Delivery, Role};
/// The XEP-0045 (and neighbouring) namespaces, for clients in this crate such as the focus.
pub use types::{NS_DATA, NS_HINTS, NS_MUC, NS_MUC_OWNER, NS_MUC_USER};

use super::error::StanzaErrorKind;
use super::router::Router;
use super::xml::{self, attr, element, NS_DISCO_INFO, NS_DISCO_ITEMS};
use crate::store::{RoomStore, StoreError};
use room::{deliver, error, Room, Show};
use types::NS_MUC_ADMIN;

/// What a persistent room keeps across restarts; occupants and history do not survive.
#[derive(Serialize, Deserialize)]
struct Saved {
    config: RoomConfig,
    affiliations: Vec<(String, Affiliation)>,
    subject: Option<(String, String)>,
}

pub struct Muc {
    domain: String,
    rooms: RwLock<HashMap<BareJid, Arc<Mutex<Room>>>>,
    store: Arc<dyn RoomStore>,
}

impl Muc {
    /// The service for `domain`, with its persistent rooms loaded.
    pub fn new(domain: String, store: Arc<dyn RoomStore>) -> Result<Self, StoreError> {
        let mut rooms = HashMap::new();
        for (key, record) in store.rooms()? {
            let (Ok(jid), Ok(saved)) =
                (BareJid::new(&key), serde_json::from_slice::<Saved>(&record))
            else {
                tracing::warn!("skipping unreadable saved room {key}");
                continue;
            };
            let mut room = Room::new(jid.clone());
            room.config = saved.config;
            room.subject = saved.subject;
            room.affiliations = saved
                .affiliations
                .into_iter()
                .filter_map(|(j, a)| Some((BareJid::new(&j).ok()?, a)))
                .collect();
            rooms.insert(jid, Arc::new(Mutex::new(room)));
        }
        tracing::info!("{} persistent rooms loaded on {domain}", rooms.len());
        Ok(Self {
            domain,
            rooms: RwLock::new(rooms),
            store,
        })
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    fn room(&self, jid: &BareJid) -> Option<Arc<Mutex<Room>>> {
        self.rooms.read().unwrap().get(jid).cloned()
    }

    /// Everything addressed to the service, a room or an occupant.
    pub fn handle(&self, from: &FullJid, stanza: Element) -> Vec<Delivery> {
        let mut out = Vec::new();
        let to = attr(&stanza, "to").and_then(|t| Jid::new(t).ok());
        let Some(to) = to.filter(|t| t.node().is_some()) else {
            self.service(from, &stanza, &mut out);
            return out;
        };
        let room_jid = to.to_bare();
        let nick = to.resource().map(|r| r.as_str().to_string());
        let kind = attr(&stanza, "type").unwrap_or("");
        let is_join = stanza.name() == "presence" && nick.is_some() && kind.is_empty();
        let room = match self.room(&room_jid) {
            Some(r) => r,
            None if is_join => self.create(&room_jid, from),
            None if stanza.name() == "presence" || matches!(kind, "error" | "result") => {
                return out
            }
            None => {
                out.push(error(&stanza, StanzaErrorKind::ItemNotFound, &room_jid));
                return out;
            }
        };
        let mut r = room.lock().unwrap();
        match (stanza.name(), nick) {
            ("presence", Some(n)) if n.trim().is_empty() => {
                out.push(error(&stanza, StanzaErrorKind::JidMalformed, &room_jid))
            }
            ("presence", Some(n)) => r.presence(from, &n, stanza, &mut out),
            ("presence", None) => {}
            ("message", None) if kind == "groupchat" => r.groupchat(from, stanza, &mut out),
            ("message", Some(n)) => r.private(from, &n, stanza, &mut out),
            ("message", None) if kind != "error" => {
                out.push(error(&stanza, StanzaErrorKind::NotAcceptable, &room_jid))
            }
            ("iq", None) if matches!(kind, "get" | "set") => {
                let ns = stanza.children().next().map(|c| c.ns()).unwrap_or_default();
                match ns.as_str() {
                    NS_MUC_ADMIN => r.admin(from, &stanza, &mut out),
                    NS_MUC_OWNER => r.owner(from, &stanza, &mut out),
                    _ => r.query(from, &stanza, &mut out),
                }
            }
            ("iq", Some(n)) if kind == "get" => {
                // XEP-0410: a client pinging its own occupant JID learns it is still joined.
                let own = r.nick_of(from).as_deref() == Some(n.as_str());
                let is_ping = stanza.has_child("ping", "urn:xmpp:ping");
                if own && is_ping {
                    out.push(deliver(
                        from,
                        xml::iq_result(&stanza, &r.occupant_jid(&n), None),
                    ));
                } else {
                    out.push(error(&stanza, StanzaErrorKind::NotAcceptable, &room_jid));
                }
            }
            _ => {}
        }
        self.settle(&room_jid, &mut r);
        out
    }

    /// Saves and forgets rooms as their state requires; called with the room locked.
    fn settle(&self, jid: &BareJid, room: &mut Room) {
        if room.dirty {
            room.dirty = false;
            let result = if room.destroyed || !room.config.persistent {
                self.store.delete_room(jid.as_str())
            } else {
                let saved = Saved {
                    config: room.config.clone(),
                    affiliations: room
                        .affiliations
                        .iter()
                        .map(|(j, a)| (j.to_string(), *a))
                        .collect(),
                    subject: room.subject.clone(),
                };
                let bytes = serde_json::to_vec(&saved).expect("room record serialises");
                self.store.put_room(jid.as_str(), &bytes)
            };
            if let Err(e) = result {
                tracing::error!(room = %jid, "cannot save room: {e}");
            }
        }
        if room.destroyed {
            self.rooms.write().unwrap().remove(jid);
        }
    }

    fn create(&self, jid: &BareJid, owner: &FullJid) -> Arc<Mutex<Room>> {
        let mut rooms = self.rooms.write().unwrap();
        rooms
            .entry(jid.clone())
            .or_insert_with(|| {
                let mut room = Room::new(jid.clone());
                room.locked = true;
                room.affiliations
                    .insert(owner.to_bare(), Affiliation::Owner);
                tracing::debug!(room = %jid, %owner, "room created");
                Arc::new(Mutex::new(room))
            })
            .clone()
    }

    /// disco on the service itself: what it is, and its public rooms.
    fn service(&self, from: &FullJid, iq: &Element, out: &mut Vec<Delivery>) {
        if iq.name() != "iq" || !matches!(attr(iq, "type"), Some("get" | "set")) {
            return;
        }
        let payload = iq.children().next();
        let get = attr(iq, "type") == Some("get");
        let ns = payload.map(|p| p.ns()).unwrap_or_default();
        let reply = match payload.map(|p| (p.name(), ns.as_str())) {
            Some(("query", ns)) if get && ns == NS_DISCO_INFO => {
                let mut q = Element::bare("query", NS_DISCO_INFO);
                q.append_child(element(
                    "identity",
                    NS_DISCO_INFO,
                    &[
                        ("category", "conference"),
                        ("type", "text"),
                        ("name", "Lectern meetings"),
                    ],
                ));
                for var in [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC, types::NS_MAM] {
                    q.append_child(element("feature", NS_DISCO_INFO, &[("var", var)]));
                }
                q
            }
            Some(("query", ns)) if get && ns == NS_DISCO_ITEMS => {
                let mut q = Element::bare("query", NS_DISCO_ITEMS);
                let rooms: Vec<Arc<Mutex<Room>>> =
                    self.rooms.read().unwrap().values().cloned().collect();
                for room in rooms {
                    let r = room.lock().unwrap();
                    if r.config.public && !r.locked {
                        let name = r.display_name();
                        q.append_child(element(
                            "item",
                            NS_DISCO_ITEMS,
                            &[("jid", r.jid.as_str()), ("name", &name)],
                        ));
                    }
                }
                q
            }
            _ => {
                let e = xml::stanza_error(iq, StanzaErrorKind::ServiceUnavailable, &self.domain);
                out.push(deliver(from, e));
                return;
            }
        };
        out.push(deliver(from, xml::iq_result(iq, &self.domain, Some(reply))));
    }

    /// The server is stopping: every occupant leaves with status 332 (XEP-0045 §9.6 note).
    pub fn shutdown(&self) -> Vec<Delivery> {
        let mut out = Vec::new();
        let rooms: Vec<Arc<Mutex<Room>>> = self.rooms.read().unwrap().values().cloned().collect();
        for room in rooms {
            let mut r = room.lock().unwrap();
            let nicks: Vec<String> = r.occupants.keys().cloned().collect();
            for nick in nicks {
                let show = Show {
                    codes: &[332],
                    ..Default::default()
                };
                r.remove(&nick, &show, &mut out);
            }
        }
        out
    }

    /// Takes a real JID that cannot be reached out of every room it is in.
    pub fn remove_unreachable(&self, jid: &FullJid) -> Vec<Delivery> {
        let mut out = Vec::new();
        let rooms: Vec<(BareJid, Arc<Mutex<Room>>)> = self
            .rooms
            .read()
            .unwrap()
            .iter()
            .map(|(j, r)| (j.clone(), r.clone()))
            .collect();
        for (room_jid, room) in rooms {
            let mut r = room.lock().unwrap();
            if let Some(nick) = r.nick_of(jid) {
                tracing::info!(room = %room_jid, %nick, "removing an occupant that stopped reading");
                let show = Show {
                    codes: &[307, 333],
                    reason: Some(
                        "Your connection stopped reading; removed to keep the meeting moving.",
                    ),
                    ..Default::default()
                };
                r.remove(&nick, &show, &mut out);
                self.settle(&room_jid, &mut r);
            }
        }
        out
    }

    /// Sends deliveries; recipients that are gone or not reading are removed from their
    /// rooms, and the notices that causes are sent in turn (a bounded number of rounds).
    pub fn dispatch(&self, router: &Router, mut deliveries: Vec<Delivery>) {
        for _ in 0..4 {
            let mut gone: Vec<FullJid> = Vec::new();
            for d in deliveries.drain(..) {
                if router.deliver_full(&d.to, d.stanza).is_err() && !gone.contains(&d.to) {
                    gone.push(d.to);
                }
            }
            if gone.is_empty() {
                return;
            }
            for jid in gone {
                deliveries.extend(self.remove_unreachable(&jid));
            }
        }
    }
}
