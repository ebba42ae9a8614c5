//! Stanzas of a bound session (RFC 6120 §8, RFC 6121 subset): stamp the sender, then route
//! to other sessions or answer on behalf of the server. Payloads are never inspected or
//! rewritten here, so anything a client invents reaches its peer untouched.

use std::collections::HashSet;

use jid::{BareJid, FullJid, Jid};
use minidom::Element;

use super::error::{StanzaErrorKind, StreamErrorKind};
use super::router::{Resource, Undeliverable};
use super::session::{Env, Output};
use super::xml::{
    self, attr, element, set_attr, NS_CLIENT, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_ROSTER,
    NS_SESSION,
};

/// Routing state of one bound session.
pub struct Routing {
    jid: FullJid,
    available: bool,
    /// Entities that got directed presence and must hear when we leave.
    directed: HashSet<Jid>,
}

enum Dest {
    Server,
    Account(BareJid),
    Session(FullJid),
    /// The MUC service, a room or an occupant.
    Muc,
    Remote,
}

impl Routing {
    pub fn new(jid: FullJid) -> Self {
        Self {
            jid,
            available: false,
            directed: HashSet::new(),
        }
    }

    pub fn jid(&self) -> &FullJid {
        &self.jid
    }

    pub fn inbound(&mut self, env: &Env, mut stanza: Element) -> Vec<Output> {
        if stanza.ns() != NS_CLIENT || !matches!(stanza.name(), "message" | "presence" | "iq") {
            return vec![Output::Close(Some(StreamErrorKind::UnsupportedStanzaType(
                stanza.name().to_string(),
            )))];
        }
        if let Some(from) = attr(&stanza, "from") {
            let ok = from == self.jid.as_str() || from == self.jid.to_bare().as_str();
            if !ok {
                return vec![Output::Close(Some(StreamErrorKind::BadFormat(
                    "from does not match the session's JID (invalid-from)".into(),
                )))];
            }
        }
        set_attr(&mut stanza, "from", self.jid.to_string());
        let to = match attr(&stanza, "to").map(Jid::new) {
            None => None,
            Some(Ok(j)) => Some(j),
            Some(Err(_)) => {
                return self.bounce(env, &stanza, StanzaErrorKind::BadRequest);
            }
        };
        let dest = classify(env, to.as_ref());
        if let Dest::Muc = dest {
            if stanza.name() == "presence" {
                // Joining is directed presence: remember it so a dropped session leaves.
                let to = to.clone().expect("MUC destinations have an address");
                match attr(&stanza, "type") {
                    None => self.directed.insert(to),
                    Some(_) => self.directed.remove(&to),
                };
            }
            env.muc
                .dispatch(&env.router, env.muc.handle(&self.jid, stanza));
            return Vec::new();
        }
        match stanza.name() {
            "message" => self.message(env, stanza, dest),
            "presence" => self.presence(env, stanza, to, dest),
            _ => self.iq(env, stanza, dest),
        }
    }

    /// Tells everyone who saw us available that we are gone, and leaves the router.
    /// `unreachable`: the session was dropped for not reading; its rooms say so (307/333).
    pub fn end(self, env: &Env, session_id: u64, unreachable: bool) {
        env.router.unbind(&self.jid, session_id);
        if unreachable {
            // Whichever of this and the room's own fan-out gets there first removes it.
            env.muc
                .dispatch(&env.router, env.muc.remove_unreachable(&self.jid));
        }
        // Directed presence (rooms joined included) is undone even for a session that
        // never announced itself available; its own resources only heard of it if it did.
        let mut targets: Vec<Jid> = self.directed.into_iter().collect();
        if self.available {
            let bare = self.jid.to_bare();
            targets.extend(
                env.router
                    .resources(&bare)
                    .into_iter()
                    .map(|r| r.jid.into()),
            );
        }
        for to in targets {
            let p = element(
                "presence",
                NS_CLIENT,
                &[
                    ("type", "unavailable"),
                    ("from", self.jid.as_str()),
                    ("to", to.as_str()),
                ],
            );
            deliver_to_jid(env, &self.jid, &to, p);
        }
    }

    fn bounce(&self, env: &Env, stanza: &Element, kind: StanzaErrorKind) -> Vec<Output> {
        if attr(stanza, "type") == Some("error") {
            return Vec::new();
        }
        let reply = xml::stanza_error(stanza, kind, &env.domain);
        vec![Output::Send(xml::render(&reply))]
    }

    fn message(&mut self, env: &Env, stanza: Element, dest: Dest) -> Vec<Output> {
        let bare = match dest {
            Dest::Server | Dest::Muc => return Vec::new(),
            Dest::Remote => {
                return self.bounce(env, &stanza, StanzaErrorKind::RemoteServerNotFound)
            }
            Dest::Session(full) => match env.router.deliver_full(&full, stanza.clone()) {
                Ok(()) => return Vec::new(),
                Err(Undeliverable::Overflow) => {
                    return self.bounce(env, &stanza, StanzaErrorKind::ServiceUnavailable)
                }
                // RFC 6121 §8.5.3.2.1: a chat/normal message to an absent resource goes to
                // the account's other resources instead.
                Err(Undeliverable::Offline)
                    if matches!(attr(&stanza, "type"), None | Some("normal" | "chat")) =>
                {
                    full.to_bare()
                }
                Err(Undeliverable::Offline) => {
                    return self.bounce(env, &stanza, StanzaErrorKind::ServiceUnavailable)
                }
            },
            Dest::Account(bare) => bare,
        };
        let targets = message_targets(env.router.resources(&bare));
        let delivered = targets
            .iter()
            .filter(|r| env.router.deliver(r, stanza.clone()).is_ok())
            .count();
        if delivered == 0 {
            return self.bounce(env, &stanza, StanzaErrorKind::ServiceUnavailable);
        }
        Vec::new()
    }

    fn presence(&mut self, env: &Env, stanza: Element, to: Option<Jid>, dest: Dest) -> Vec<Output> {
        let kind = attr(&stanza, "type").unwrap_or("available").to_string();
        match (to, dest) {
            (None, _) | (_, Dest::Server) => {
                // Broadcast presence: without rosters its audience is the account's own
                // available resources (RFC 6121 §4.2.2 includes the sender itself).
                if matches!(kind.as_str(), "available" | "unavailable") {
                    self.available = kind == "available";
                    let priority = stanza
                        .get_child("priority", NS_CLIENT)
                        .and_then(|p| p.text().trim().parse().ok())
                        .unwrap_or(0);
                    env.router.set_presence(&self.jid, self.available, priority);
                    for r in env.router.resources(&self.jid.to_bare()) {
                        if r.available || r.jid == self.jid {
                            let _ = env.router.deliver(&r, addressed(&stanza, r.jid.as_str()));
                        }
                    }
                    if !self.available {
                        self.end_directed(env, &stanza);
                    }
                }
                Vec::new()
            }
            (Some(_), Dest::Account(bare)) if kind == "probe" => {
                let mut out = Vec::new();
                for r in env
                    .router
                    .resources(&bare)
                    .into_iter()
                    .filter(|r| r.available)
                {
                    let p = element(
                        "presence",
                        NS_CLIENT,
                        &[("from", r.jid.as_str()), ("to", self.jid.as_str())],
                    );
                    out.push(Output::Send(xml::render(&p)));
                }
                out
            }
            (Some(to), _) => {
                if kind == "available" {
                    self.directed.insert(to.clone());
                } else if kind == "unavailable" {
                    self.directed.remove(&to);
                }
                // Presence to nobody is dropped silently (RFC 6121 §4.6.3).
                deliver_to_jid(env, &self.jid, &to, stanza);
                Vec::new()
            }
        }
    }

    fn end_directed(&mut self, env: &Env, unavailable: &Element) {
        for to in std::mem::take(&mut self.directed) {
            deliver_to_jid(env, &self.jid, &to, addressed(unavailable, to.as_str()));
        }
    }

    fn iq(&mut self, env: &Env, stanza: Element, dest: Dest) -> Vec<Output> {
        let kind = attr(&stanza, "type").unwrap_or("");
        let request = matches!(kind, "get" | "set");
        if !request && !matches!(kind, "result" | "error") {
            return self.bounce(env, &stanza, StanzaErrorKind::BadRequest);
        }
        match dest {
            Dest::Server => self.server_iq(env, &stanza, None),
            Dest::Account(bare) => self.server_iq(env, &stanza, Some(bare)),
            Dest::Remote if request => {
                self.bounce(env, &stanza, StanzaErrorKind::RemoteServerNotFound)
            }
            Dest::Remote => Vec::new(),
            Dest::Muc => unreachable!("handled before dispatch on kind"),
            Dest::Session(full) => match env.router.deliver_full(&full, stanza.clone()) {
                Ok(()) => Vec::new(),
                Err(_) if request => self.bounce(env, &stanza, StanzaErrorKind::ServiceUnavailable),
                Err(_) => Vec::new(),
            },
        }
    }

    /// Requests the server answers itself, or on behalf of an account (`account`).
    fn server_iq(&self, env: &Env, iq: &Element, account: Option<BareJid>) -> Vec<Output> {
        if !matches!(attr(iq, "type"), Some("get" | "set")) {
            return Vec::new();
        }
        let get = attr(iq, "type") == Some("get");
        let own = account.as_ref().is_none_or(|a| *a == self.jid.to_bare());
        // RFC 6120 §8.1.2.1: the reply comes from the address the request went to
        // (the domain, the guest domain, or the account).
        let responder = attr(iq, "to").unwrap_or(&env.domain).to_string();
        let payload = iq.children().next();
        let ns = payload.map(|p| p.ns()).unwrap_or_default();
        let reply = match (payload.map(|p| p.name()), ns.as_str(), get) {
            (Some("ping"), NS_PING, true) => Some(None),
            (Some("query"), NS_DISCO_INFO, true) => Some(Some(disco_info(account.is_some()))),
            (Some("query"), NS_DISCO_ITEMS, true) => {
                Some(Some(element("query", NS_DISCO_ITEMS, &[])))
            }
            (Some("query"), NS_ROSTER, true) if own => Some(Some(element("query", NS_ROSTER, &[]))),
            (Some("session"), NS_SESSION, false) if account.is_none() => Some(None),
            _ => None,
        };
        let element = match reply {
            Some(payload) => {
                let mut r = xml::iq_result(iq, &responder, payload);
                if account.is_none() && attr(iq, "to").is_none() {
                    xml::remove_attr(&mut r, "from");
                }
                r
            }
            // RFC 6120 §8.4: a request nobody here understands.
            None => xml::stanza_error(iq, StanzaErrorKind::ServiceUnavailable, &env.domain),
        };
        vec![Output::Send(xml::render(&element))]
    }
}

/// Where a `to` address points, from this server's point of view.
fn classify(env: &Env, to: Option<&Jid>) -> Dest {
    let Some(to) = to else {
        return Dest::Server;
    };
    let domain = to.domain().as_str();
    if domain == env.muc.domain() {
        return Dest::Muc;
    }
    let local = domain == env.domain || Some(domain) == env.guest_domain.as_deref();
    if !local {
        return Dest::Remote;
    }
    match (to.node(), to.resource()) {
        (None, _) => Dest::Server,
        (Some(_), None) => Dest::Account(to.to_bare()),
        (Some(_), Some(_)) => Dest::Session(to.clone().try_into_full().expect("has resource")),
    }
}

/// RFC 6121 §8.5.2.1: non-negative available resources; a session that has not sent
/// presence yet still counts when it is the only kind there is (simple bots and tests).
fn message_targets(resources: Vec<Resource>) -> Vec<Resource> {
    let available: Vec<Resource> = resources
        .iter()
        .filter(|r| r.available && r.priority >= 0)
        .cloned()
        .collect();
    if available.is_empty() {
        resources.into_iter().filter(|r| !r.available).collect()
    } else {
        available
    }
}

fn deliver_to_jid(env: &Env, from: &FullJid, to: &Jid, stanza: Element) {
    if to.domain().as_str() == env.muc.domain() {
        env.muc.dispatch(&env.router, env.muc.handle(from, stanza));
        return;
    }
    match to.clone().try_into_full() {
        Ok(full) => {
            let _ = env.router.deliver_full(&full, stanza);
        }
        Err(bare) => {
            for r in env
                .router
                .resources(&bare)
                .into_iter()
                .filter(|r| r.available)
            {
                let _ = env.router.deliver(&r, stanza.clone());
            }
        }
    }
}

fn addressed(stanza: &Element, to: &str) -> Element {
    let mut s = stanza.clone();
    set_attr(&mut s, "to", to);
    s
}

fn disco_info(account: bool) -> Element {
    let mut q = element("query", NS_DISCO_INFO, &[]);
    let identity = if account {
        element(
            "identity",
            NS_DISCO_INFO,
            &[("category", "account"), ("type", "registered")],
        )
    } else {
        element(
            "identity",
            NS_DISCO_INFO,
            &[("category", "server"), ("type", "im"), ("name", "Lectern")],
        )
    };
    q.append_child(identity);
    for var in [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING] {
        q.append_child(element("feature", NS_DISCO_INFO, &[("var", var)]));
    }
    q
}
