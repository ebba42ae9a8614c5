//! What a room answers about itself: disco#info/#items (XEP-0030) and MAM (XEP-0313).

use jid::FullJid;
use minidom::Element;

use super::archive::{mam_result, MamQuery};
use super::room::{deliver, error, Room};
use super::types::{
    Affiliation, Delivery, NS_DATA, NS_MAM, NS_MUC, NS_OCCUPANT_ID, NS_RSM, NS_SID,
};
use crate::xmpp::error::StanzaErrorKind;
use crate::xmpp::xml::{self, attr, element, NS_DISCO_INFO, NS_DISCO_ITEMS};

impl Room {
    /// The configured name, or the room's local part when it has none.
    pub fn display_name(&self) -> String {
        if self.config.name.is_empty() {
            self.jid.node().map(|n| n.to_string()).unwrap_or_default()
        } else {
            self.config.name.clone()
        }
    }

    pub fn disco_info(&self) -> Element {
        let mut q = Element::bare("query", NS_DISCO_INFO);
        let name = self.display_name();
        q.append_child(element(
            "identity",
            NS_DISCO_INFO,
            &[
                ("category", "conference"),
                ("type", "text"),
                ("name", &name),
            ],
        ));
        let c = &self.config;
        let flags = [
            NS_MUC,
            NS_MAM,
            NS_SID,
            NS_OCCUPANT_ID,
            if c.persistent {
                "muc_persistent"
            } else {
                "muc_temporary"
            },
            if c.public { "muc_public" } else { "muc_hidden" },
            if c.members_only {
                "muc_membersonly"
            } else {
                "muc_open"
            },
            if c.moderated {
                "muc_moderated"
            } else {
                "muc_unmoderated"
            },
            if c.password.is_some() {
                "muc_passwordprotected"
            } else {
                "muc_unsecured"
            },
            if c.whois_anyone {
                "muc_nonanonymous"
            } else {
                "muc_semianonymous"
            },
        ];
        for var in flags {
            q.append_child(element("feature", NS_DISCO_INFO, &[("var", var)]));
        }
        let mut form = element("x", NS_DATA, &[("type", "result")]);
        for (var, value) in [
            (
                "FORM_TYPE",
                "http://jabber.org/protocol/muc#roominfo".to_string(),
            ),
            ("muc#roominfo_description", c.description.clone()),
            ("muc#roominfo_occupants", self.occupants.len().to_string()),
        ] {
            let mut f = element("field", NS_DATA, &[("var", var)]);
            let mut v = Element::bare("value", NS_DATA);
            v.append_text(value);
            f.append_child(v);
            form.append_child(f);
        }
        q.append_child(form);
        q
    }

    pub fn query(&mut self, from: &FullJid, iq: &Element, out: &mut Vec<Delivery>) {
        let get = attr(iq, "type") == Some("get");
        let payload = iq.children().next();
        let ns = payload.map(|p| p.ns()).unwrap_or_default();
        let reply = match payload.map(|p| (p.name(), ns.as_str())) {
            Some(("query", ns)) if get && ns == NS_DISCO_INFO => Some(self.disco_info()),
            // Occupant lists stay private to occupants' presence (XEP-0045 §6.5 allows this).
            Some(("query", ns)) if get && ns == NS_DISCO_ITEMS => {
                Some(Element::bare("query", NS_DISCO_ITEMS))
            }
            Some(("query", ns)) if !get && ns == NS_MAM => {
                return self.mam(from, iq, payload.expect("matched"), out)
            }
            Some(("ping", "urn:xmpp:ping")) if get => {
                // XEP-0410 self-ping: answered only for occupants.
                if self.occupant_by_jid(from).is_none() {
                    out.push(error(iq, StanzaErrorKind::NotAcceptable, &self.jid));
                    return;
                }
                None
            }
            _ => {
                out.push(error(iq, StanzaErrorKind::ServiceUnavailable, &self.jid));
                return;
            }
        };
        out.push(deliver(from, xml::iq_result(iq, self.jid.as_str(), reply)));
    }

    fn mam(&mut self, from: &FullJid, iq: &Element, query: &Element, out: &mut Vec<Delivery>) {
        let allowed = self.occupant_by_jid(from).is_some()
            || (!self.config.members_only && self.config.public)
            || self.affiliation(&from.to_bare()) >= Affiliation::Member;
        if !allowed {
            out.push(error(iq, StanzaErrorKind::Forbidden, &self.jid));
            return;
        }
        let q = match parse_query(query) {
            Ok(q) => q,
            Err(kind) => {
                out.push(error(iq, kind, &self.jid));
                return;
            }
        };
        let (page, complete) = match self.archive.query(&q) {
            Ok(r) => r,
            Err(_) => {
                out.push(error(iq, StanzaErrorKind::ItemNotFound, &self.jid));
                return;
            }
        };
        let query_id = attr(query, "queryid");
        let room = self.jid.to_string();
        for item in &page {
            out.push(deliver(
                from,
                mam_result(item, query_id, &room, from.as_str()),
            ));
        }
        let mut set = Element::bare("set", NS_RSM);
        if let (Some(first), Some(last)) = (page.first(), page.last()) {
            let mut f = Element::bare("first", NS_RSM);
            f.append_text(first.id.clone());
            let mut l = Element::bare("last", NS_RSM);
            l.append_text(last.id.clone());
            set.append_child(f);
            set.append_child(l);
        }
        let fin_attrs: &[(&'static str, &str)] = if complete {
            &[("complete", "true")]
        } else {
            &[]
        };
        let mut fin = element("fin", NS_MAM, fin_attrs);
        fin.append_child(set);
        out.push(deliver(from, xml::iq_result(iq, &room, Some(fin))));
    }
}

fn parse_query(query: &Element) -> Result<MamQuery, StanzaErrorKind> {
    let mut q = MamQuery::default();
    let time = |v: &str| humantime::parse_rfc3339_weak(v).map_err(|_| StanzaErrorKind::BadRequest);
    if let Some(form) = query.get_child("x", NS_DATA) {
        for f in form.children().filter(|c| c.is("field", NS_DATA)) {
            let value = f
                .get_child("value", NS_DATA)
                .map(|v| v.text())
                .unwrap_or_default();
            match attr(f, "var").unwrap_or("") {
                "start" => q.start = Some(time(&value)?),
                "end" => q.end = Some(time(&value)?),
                "after-id" => q.after = Some(value),
                "before-id" => q.before = Some(value),
                // Every message in a room is from the room; `with` filters nothing away.
                "FORM_TYPE" | "with" => {}
                _ => return Err(StanzaErrorKind::FeatureNotImplemented),
            }
        }
    }
    if let Some(set) = query.get_child("set", NS_RSM) {
        let text = |n: &str| set.get_child(n, NS_RSM).map(|e| e.text());
        if let Some(max) = text("max") {
            q.max = Some(
                max.trim()
                    .parse()
                    .map_err(|_| StanzaErrorKind::BadRequest)?,
            );
        }
        if let Some(after) = text("after") {
            q.after = Some(after);
        }
        if let Some(before) = text("before") {
            q.before = Some(before);
        }
    }
    Ok(q)
}
