//! Moderation and ownership (XEP-0045 §8–10): role changes (kick, voice), affiliation
//! changes (member, ban, admin, owner), the owner's configuration form, and destroy.

use jid::{BareJid, FullJid};
use minidom::Element;

use super::room::{deliver, error, Room, Show};
use super::types::{Affiliation, Delivery, Role, NS_DATA, NS_MUC_ADMIN, NS_MUC_OWNER, NS_MUC_USER};
use crate::xmpp::error::StanzaErrorKind;
use crate::xmpp::xml::{self, attr, element};

type Outcome = Result<(), StanzaErrorKind>;

impl Room {
    fn actor(&self, from: &FullJid) -> (Affiliation, Role) {
        let aff = self.affiliation(&from.to_bare());
        let role = self
            .occupant_by_jid(from)
            .map(|o| o.role)
            .unwrap_or(Role::None);
        (aff, role)
    }

    /// `muc#admin` get/set.
    pub fn admin(&mut self, from: &FullJid, iq: &Element, out: &mut Vec<Delivery>) {
        let query = iq
            .get_child("query", NS_MUC_ADMIN)
            .expect("routed by namespace");
        let items: Vec<&Element> = query
            .children()
            .filter(|c| c.is("item", NS_MUC_ADMIN))
            .collect();
        let result = if attr(iq, "type") == Some("get") {
            match self.admin_list(from, items.first().copied()) {
                Ok(list) => {
                    out.push(deliver(
                        from,
                        xml::iq_result(iq, self.jid.as_str(), Some(list)),
                    ));
                    return;
                }
                Err(e) => Err(e),
            }
        } else {
            items
                .iter()
                .try_for_each(|item| self.admin_item(from, item, out))
        };
        match result {
            Ok(()) => out.push(deliver(from, xml::iq_result(iq, self.jid.as_str(), None))),
            Err(kind) => out.push(error(iq, kind, &self.jid)),
        }
    }

    fn admin_list(
        &self,
        from: &FullJid,
        item: Option<&Element>,
    ) -> Result<Element, StanzaErrorKind> {
        let item = item.ok_or(StanzaErrorKind::BadRequest)?;
        let (aff, role) = self.actor(from);
        let mut q = Element::bare("query", NS_MUC_ADMIN);
        if let Some(a) = attr(item, "affiliation").and_then(Affiliation::parse) {
            if aff < Affiliation::Admin {
                return Err(StanzaErrorKind::Forbidden);
            }
            for (jid, _) in self.affiliations.iter().filter(|(_, x)| **x == a) {
                q.append_child(element(
                    "item",
                    NS_MUC_ADMIN,
                    &[("affiliation", a.as_str()), ("jid", jid.as_str())],
                ));
            }
        } else if let Some(r) = attr(item, "role").and_then(Role::parse) {
            if role != Role::Moderator {
                return Err(StanzaErrorKind::Forbidden);
            }
            for o in self.occupants.values().filter(|o| o.role == r) {
                let aff = self.affiliation(&o.jid.to_bare()).as_str();
                q.append_child(element(
                    "item",
                    NS_MUC_ADMIN,
                    &[
                        ("nick", &o.nick),
                        ("role", r.as_str()),
                        ("affiliation", aff),
                        ("jid", o.jid.as_str()),
                    ],
                ));
            }
        } else {
            return Err(StanzaErrorKind::BadRequest);
        }
        Ok(q)
    }

    fn admin_item(&mut self, from: &FullJid, item: &Element, out: &mut Vec<Delivery>) -> Outcome {
        let reason = item.get_child("reason", NS_MUC_ADMIN).map(|r| r.text());
        if let (Some(nick), Some(role)) = (attr(item, "nick"), attr(item, "role")) {
            let role = Role::parse(role).ok_or(StanzaErrorKind::BadRequest)?;
            return self.set_role(from, nick, role, reason.as_deref(), out);
        }
        let aff = attr(item, "affiliation")
            .and_then(Affiliation::parse)
            .ok_or(StanzaErrorKind::BadRequest)?;
        let target = match (attr(item, "jid"), attr(item, "nick")) {
            (Some(j), _) => BareJid::new(j.split('/').next().unwrap_or(j))
                .map_err(|_| StanzaErrorKind::JidMalformed)?,
            (None, Some(n)) => self
                .occupants
                .get(n)
                .map(|o| o.jid.to_bare())
                .ok_or(StanzaErrorKind::ItemNotFound)?,
            _ => return Err(StanzaErrorKind::BadRequest),
        };
        self.set_affiliation(from, target, aff, reason.as_deref(), out)
    }

    /// Kick (role none, 307), voice (participant/visitor) and moderator grants.
    fn set_role(
        &mut self,
        from: &FullJid,
        nick: &str,
        role: Role,
        reason: Option<&str>,
        out: &mut Vec<Delivery>,
    ) -> Outcome {
        let (aff, actor_role) = self.actor(from);
        let target = self
            .occupants
            .get(nick)
            .ok_or(StanzaErrorKind::ItemNotFound)?;
        let target_aff = self.affiliation(&target.jid.to_bare());
        let allowed = actor_role == Role::Moderator
            && (target_aff < Affiliation::Admin || aff > target_aff)
            && (role != Role::Moderator || aff >= Affiliation::Admin);
        if !allowed {
            return Err(StanzaErrorKind::NotAllowed);
        }
        if role == Role::None {
            let show = Show {
                codes: &[307],
                reason,
                ..Default::default()
            };
            self.remove(nick, &show, out);
            return Ok(());
        }
        if let Some(o) = self.occupants.get_mut(nick) {
            o.role = role;
            o.invalidate();
        }
        let show = Show {
            reason,
            ..Default::default()
        };
        self.broadcast_presence(&self.occupants[nick], &show, out);
        Ok(())
    }

    /// Member, ban (outcast, 301), admin, owner, or none; present occupants follow at once.
    fn set_affiliation(
        &mut self,
        from: &FullJid,
        target: BareJid,
        aff: Affiliation,
        reason: Option<&str>,
        out: &mut Vec<Delivery>,
    ) -> Outcome {
        let (actor, _) = self.actor(from);
        let current = self.affiliation(&target);
        let needs_owner = aff >= Affiliation::Admin || current >= Affiliation::Admin;
        if actor < Affiliation::Admin || (needs_owner && actor < Affiliation::Owner) {
            return Err(StanzaErrorKind::NotAllowed);
        }
        let owners = self
            .affiliations
            .values()
            .filter(|a| **a == Affiliation::Owner)
            .count();
        if current == Affiliation::Owner && aff != Affiliation::Owner && owners == 1 {
            return Err(StanzaErrorKind::Conflict);
        }
        for o in self
            .occupants
            .values_mut()
            .filter(|o| o.jid.to_bare() == target)
        {
            o.invalidate();
        }
        if aff == Affiliation::None {
            self.affiliations.remove(&target);
        } else {
            self.affiliations.insert(target.clone(), aff);
        }
        self.dirty = true;
        let present: Vec<String> = self
            .occupants
            .values()
            .filter(|o| o.jid.to_bare() == target)
            .map(|o| o.nick.clone())
            .collect();
        for nick in present {
            if aff == Affiliation::Outcast {
                self.remove(
                    &nick,
                    &Show {
                        codes: &[301],
                        reason,
                        ..Default::default()
                    },
                    out,
                );
            } else if self.config.members_only && aff < Affiliation::Member {
                self.remove(
                    &nick,
                    &Show {
                        codes: &[321],
                        reason,
                        ..Default::default()
                    },
                    out,
                );
            } else {
                let role = self.default_role(aff);
                if let Some(o) = self.occupants.get_mut(&nick) {
                    o.role = role;
                    o.invalidate();
                }
                self.broadcast_presence(
                    &self.occupants[&nick],
                    &Show {
                        reason,
                        ..Default::default()
                    },
                    out,
                );
            }
        }
        Ok(())
    }

    /// `muc#owner`: the configuration form, its submission, and destroy.
    pub fn owner(&mut self, from: &FullJid, iq: &Element, out: &mut Vec<Delivery>) {
        let reply = self.owner_request(from, iq, out);
        out.push(match reply {
            Ok(payload) => deliver(from, xml::iq_result(iq, self.jid.as_str(), payload)),
            Err(kind) => error(iq, kind, &self.jid),
        });
    }

    fn owner_request(
        &mut self,
        from: &FullJid,
        iq: &Element,
        out: &mut Vec<Delivery>,
    ) -> Result<Option<Element>, StanzaErrorKind> {
        if self.affiliation(&from.to_bare()) != Affiliation::Owner {
            return Err(StanzaErrorKind::Forbidden);
        }
        let query = iq
            .get_child("query", NS_MUC_OWNER)
            .expect("routed by namespace");
        if attr(iq, "type") == Some("get") {
            let mut q = Element::bare("query", NS_MUC_OWNER);
            q.append_child(self.config.form());
            return Ok(Some(q));
        }
        if let Some(destroy) = query.get_child("destroy", NS_MUC_OWNER) {
            self.destroy(destroy, out);
            return Ok(None);
        }
        let x = query
            .get_child("x", NS_DATA)
            .ok_or(StanzaErrorKind::BadRequest)?;
        match attr(x, "type") {
            Some("cancel") if self.locked => {
                // Abandoning the first configuration abandons the room.
                self.destroy(&Element::bare("destroy", NS_MUC_OWNER), out);
                Ok(None)
            }
            Some("cancel") => Ok(None),
            Some("submit") => {
                let was_persistent = self.config.persistent;
                let was_whois_anyone = self.config.whois_anyone;
                self.config
                    .apply(x)
                    .map_err(|_| StanzaErrorKind::NotAcceptable)?;
                let was_locked = std::mem::replace(&mut self.locked, false);
                self.dirty = self.config.persistent || was_persistent;
                if !was_locked {
                    // §10.2.1: occupants hear of the change (104), and of privacy changes.
                    let mut codes = vec![104];
                    match (was_whois_anyone, self.config.whois_anyone) {
                        (false, true) => codes.push(172),
                        (true, false) => codes.push(173),
                        _ => {}
                    }
                    self.announce(&codes, out);
                }
                if self.config.members_only {
                    let outsiders: Vec<String> = self
                        .occupants
                        .values()
                        .filter(|o| self.affiliation(&o.jid.to_bare()) < Affiliation::Member)
                        .map(|o| o.nick.clone())
                        .collect();
                    for nick in outsiders {
                        self.remove(
                            &nick,
                            &Show {
                                codes: &[322],
                                ..Default::default()
                            },
                            out,
                        );
                    }
                }
                Ok(None)
            }
            _ => Err(StanzaErrorKind::BadRequest),
        }
    }

    /// A status message from the room itself to every occupant.
    fn announce(&self, codes: &[u16], out: &mut Vec<Delivery>) {
        let mut x = Element::bare("x", NS_MUC_USER);
        for code in codes {
            x.append_child(element(
                "status",
                NS_MUC_USER,
                &[("code", &code.to_string())],
            ));
        }
        let mut m = element(
            "message",
            crate::xmpp::xml::NS_CLIENT,
            &[("type", "groupchat"), ("from", self.jid.as_str())],
        );
        m.append_child(x);
        for o in self.occupants.values() {
            out.push(deliver(&o.jid, m.clone()));
        }
    }

    /// Everyone leaves with `<destroy/>` (and its reason and alternate venue, as given).
    pub fn destroy(&mut self, destroy: &Element, out: &mut Vec<Delivery>) {
        let mut notice = element("destroy", NS_MUC_USER, &[]);
        if let Some(j) = attr(destroy, "jid") {
            xml::set_attr(&mut notice, "jid", j);
        }
        if let Some(r) = destroy.get_child("reason", NS_MUC_OWNER) {
            let mut reason = Element::bare("reason", NS_MUC_USER);
            reason.append_text(r.text());
            notice.append_child(reason);
        }
        let show = Show {
            unavailable: true,
            extra: Some(notice),
            ..Default::default()
        };
        for o in self.occupants.values() {
            out.push(deliver(&o.jid, self.presence_of(o, &show, true)));
        }
        self.occupants.clear();
        self.destroyed = true;
        self.dirty = true;
    }
}
