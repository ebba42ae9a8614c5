//! One client stream's negotiation (RFC 6120 §4–7), independent of the transport.
//!
//! The transport turns bytes or frames into [`Input`]s and carries out the [`Output`]s;
//! this state machine decides everything else. It never touches a socket, so the whole
//! negotiation is unit-tested without one.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use jid::{BareJid, FullJid};
use minidom::Element;

use super::error::{StanzaErrorKind, StreamErrorKind};
use super::muc::Muc;
use super::router::{Router, SessionHandle};
use super::sasl::{self, Failure, Mechanism, Step};
use super::stanzas::Routing;
use super::xml::{self, attr, element, NS_BIND, NS_CLIENT, NS_SASL, NS_SESSION, NS_TLS};
use crate::store::AccountStore;

/// Failed SASL attempts allowed on one connection before it is closed.
const MAX_AUTH_FAILURES: u8 = 3;

/// What every session shares.
pub struct Env {
    pub domain: String,
    /// `Some(guest.<domain>)` when anonymous logins are on.
    pub guest_domain: Option<String>,
    pub accounts: Arc<dyn AccountStore>,
    pub router: Arc<Router>,
    pub muc: Arc<Muc>,
    pub tls_available: bool,
    pub require_tls_on_loopback: bool,
}

#[derive(Debug)]
pub enum Input {
    Open {
        to: Option<String>,
        version: Option<String>,
    },
    Element(Element),
    Close,
}

#[derive(Debug, PartialEq)]
pub enum Output {
    /// Open our side of the stream and advertise features (rendered XML).
    Header {
        id: String,
        from: String,
        features: String,
    },
    Send(String),
    /// Upgrade the transport to TLS now (after `<proceed/>` went out), then expect a new header.
    StartTls,
    /// Discard parser state and expect a new stream header (after SASL success).
    Reset,
    /// End the stream, with an error if given.
    Close(Option<StreamErrorKind>),
}

enum Phase {
    AwaitOpen,
    Open,
    Bound(Routing),
    Closed,
}

pub struct Session {
    env: Arc<Env>,
    handle: SessionHandle,
    secure: bool,
    loopback: bool,
    phase: Phase,
    stream_domain: String,
    authenticated: Option<BareJid>,
    sasl: Option<Mechanism>,
    failures: u8,
}

impl Session {
    /// `secure` is true when the transport is already protected (TLS in front of WebSocket).
    pub fn new(env: Arc<Env>, handle: SessionHandle, loopback: bool, secure: bool) -> Self {
        let domain = env.domain.clone();
        Self {
            env,
            handle,
            secure,
            loopback,
            phase: Phase::AwaitOpen,
            stream_domain: domain,
            authenticated: None,
            sasl: None,
            failures: 0,
        }
    }

    /// The bound JID, once there is one.
    pub fn jid(&self) -> Option<&FullJid> {
        match &self.phase {
            Phase::Bound(r) => Some(r.jid()),
            _ => None,
        }
    }

    pub fn is_authenticated(&self) -> bool {
        self.authenticated.is_some()
    }

    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        match input {
            Input::Open { to, version } => self.open(to, version),
            Input::Close => {
                self.end();
                vec![Output::Close(None)]
            }
            Input::Element(e) => match &mut self.phase {
                Phase::Bound(routing) => routing.inbound(&self.env, e),
                Phase::Open => self.negotiate(e),
                Phase::AwaitOpen | Phase::Closed => self.fail(StreamErrorKind::NotWellFormed(
                    "element before stream header".into(),
                )),
            },
        }
    }

    /// Called once when the connection ends, however it ends.
    pub fn end(&mut self) {
        if let Phase::Bound(routing) = std::mem::replace(&mut self.phase, Phase::Closed) {
            let unreachable = self.handle.kill_reason() == Some(StreamErrorKind::QueueOverflow);
            routing.end(&self.env, self.handle.id, unreachable);
        }
        self.phase = Phase::Closed;
    }

    fn fail(&mut self, kind: StreamErrorKind) -> Vec<Output> {
        self.end();
        vec![Output::Close(Some(kind))]
    }

    fn must_tls(&self) -> bool {
        !self.secure && (!self.loopback || self.env.require_tls_on_loopback)
    }

    fn open(&mut self, to: Option<String>, version: Option<String>) -> Vec<Output> {
        if !matches!(self.phase, Phase::AwaitOpen) {
            return self.fail(StreamErrorKind::NotWellFormed(
                "unexpected stream header".into(),
            ));
        }
        let to = to.unwrap_or_else(|| self.env.domain.clone()).to_lowercase();
        let allowed = match &self.authenticated {
            Some(jid) => to == jid.domain().as_str(),
            None => to == self.env.domain || Some(&to) == self.env.guest_domain.as_ref(),
        };
        if !allowed {
            return self.fail(StreamErrorKind::HostUnknown(to));
        }
        if version.as_deref() != Some("1.0") {
            return self.fail(StreamErrorKind::UnsupportedVersion);
        }
        self.stream_domain = to;
        self.phase = Phase::Open;
        vec![Output::Header {
            id: sasl::random_id(),
            from: self.stream_domain.clone(),
            features: xml::features(&self.features()),
        }]
    }

    fn guest_stream(&self) -> bool {
        self.env.guest_domain.as_deref() == Some(self.stream_domain.as_str())
    }

    fn offered(&self) -> Vec<&'static str> {
        sasl::offered(self.guest_stream(), self.secure || self.loopback)
    }

    fn features(&self) -> String {
        if self.authenticated.is_some() {
            return format!(
                "<bind xmlns='{NS_BIND}'/><session xmlns='{NS_SESSION}'><optional/></session>"
            );
        }
        let mut out = String::new();
        if self.env.tls_available && !self.secure {
            let required = if self.must_tls() { "<required/>" } else { "" };
            out.push_str(&format!("<starttls xmlns='{NS_TLS}'>{required}</starttls>"));
        }
        if !self.must_tls() {
            out.push_str(&format!("<mechanisms xmlns='{NS_SASL}'>"));
            for m in self.offered() {
                out.push_str(&format!("<mechanism>{m}</mechanism>"));
            }
            out.push_str("</mechanisms>");
        }
        out
    }

    fn negotiate(&mut self, e: Element) -> Vec<Output> {
        let ns = e.ns();
        match (e.name(), ns.as_str()) {
            ("starttls", NS_TLS) if self.authenticated.is_none() => {
                if self.secure || !self.env.tls_available {
                    let mut out = vec![Output::Send(format!("<failure xmlns='{NS_TLS}'/>"))];
                    out.extend(self.fail(StreamErrorKind::PolicyViolation(
                        "TLS is not available here".into(),
                    )));
                    return out;
                }
                self.secure = true;
                self.phase = Phase::AwaitOpen;
                vec![
                    Output::Send(format!("<proceed xmlns='{NS_TLS}'/>")),
                    Output::StartTls,
                ]
            }
            ("auth", NS_SASL) if self.authenticated.is_none() => self.auth(&e),
            ("response", NS_SASL) if self.sasl.is_some() => {
                let data = match decode(&e.text()) {
                    Ok(d) => d,
                    Err(f) => return self.sasl_failure(f),
                };
                self.sasl_step(&data)
            }
            ("abort", NS_SASL) => self.sasl_failure(Failure::Aborted),
            ("iq", NS_CLIENT) if self.authenticated.is_some() => self.bind_or_session(e),
            ("message" | "presence" | "iq", NS_CLIENT) => self.fail(StreamErrorKind::NotAuthorized),
            (name, _) => self.fail(StreamErrorKind::UnsupportedStanzaType(name.to_string())),
        }
    }

    fn auth(&mut self, e: &Element) -> Vec<Output> {
        if self.must_tls() {
            let mut out = vec![Output::Send(format!(
                "<failure xmlns='{NS_SASL}'><encryption-required/></failure>"
            ))];
            out.extend(self.fail(StreamErrorKind::PolicyViolation(
                "use STARTTLS first".into(),
            )));
            return out;
        }
        let name = attr(e, "mechanism").unwrap_or("");
        let mech = match Mechanism::start(name, &self.offered()) {
            Ok(m) => m,
            Err(f) => return self.sasl_failure(f),
        };
        let text = e.text();
        let client_first = mech.client_first();
        self.sasl = Some(mech);
        if text.trim().is_empty() && client_first {
            // The client waits for an empty challenge before sending its first message.
            return vec![Output::Send(format!("<challenge xmlns='{NS_SASL}'/>"))];
        }
        match decode(&text) {
            Ok(data) => self.sasl_step(&data),
            Err(f) => self.sasl_failure(f),
        }
    }

    fn sasl_step(&mut self, data: &[u8]) -> Vec<Output> {
        let Some(mech) = self.sasl.as_mut() else {
            return self.sasl_failure(Failure::MalformedRequest);
        };
        let domain = self.stream_domain.clone();
        let accounts = self.env.accounts.clone();
        let mut lookup = |user: &str| {
            let jid = BareJid::new(&format!("{user}@{domain}")).ok()?;
            match accounts.account(&jid) {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!("account lookup failed: {e}");
                    None
                }
            }
        };
        match mech.step(data, &mut lookup) {
            Ok(Step::Challenge(c)) => vec![Output::Send(format!(
                "<challenge xmlns='{NS_SASL}'>{}</challenge>",
                B64.encode(c)
            ))],
            Ok(Step::Success {
                username,
                additional,
            }) => {
                self.sasl = None;
                let Ok(jid) = BareJid::new(&format!("{username}@{domain}")) else {
                    return self.sasl_failure(Failure::MalformedRequest);
                };
                tracing::info!(%jid, "authenticated");
                self.authenticated = Some(jid);
                self.phase = Phase::AwaitOpen;
                let body = if additional.is_empty() {
                    String::new()
                } else {
                    B64.encode(additional)
                };
                vec![
                    Output::Send(format!("<success xmlns='{NS_SASL}'>{body}</success>")),
                    Output::Reset,
                ]
            }
            Err(f) => self.sasl_failure(f),
        }
    }

    fn sasl_failure(&mut self, f: Failure) -> Vec<Output> {
        self.sasl = None;
        if f != Failure::Aborted {
            self.failures += 1;
        }
        let mut out = vec![Output::Send(format!(
            "<failure xmlns='{NS_SASL}'><{}/></failure>",
            f.condition()
        ))];
        if self.failures >= MAX_AUTH_FAILURES {
            out.extend(self.fail(StreamErrorKind::PolicyViolation(
                "too many failed authentication attempts".into(),
            )));
        }
        out
    }

    fn bind_or_session(&mut self, iq: Element) -> Vec<Output> {
        let set = attr(&iq, "type") == Some("set");
        if set && iq.has_child("session", NS_SESSION) {
            let r = xml::iq_result(&iq, &self.stream_domain, None);
            return vec![Output::Send(xml::render(&r))];
        }
        let Some(bind) = iq.get_child("bind", NS_BIND).filter(|_| set) else {
            return self.fail(StreamErrorKind::NotAuthorized);
        };
        let bare = self.authenticated.clone().expect("checked by caller");
        let wanted = bind
            .get_child("resource", NS_BIND)
            .map(|r| r.text())
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| format!("lectern-{}", sasl::random_id()));
        let Ok(full) = FullJid::new(&format!("{bare}/{wanted}")) else {
            let err = xml::stanza_error(&iq, StanzaErrorKind::BadRequest, &self.stream_domain);
            return vec![Output::Send(xml::render(&err))];
        };
        self.env.router.bind(full.clone(), self.handle.clone());
        tracing::debug!(jid = %full, "bound");
        let mut jid_el = Element::bare("jid", NS_BIND);
        jid_el.append_text(full.to_string());
        let payload = xml::with_child(element("bind", NS_BIND, &[]), jid_el);
        let reply = xml::iq_result(&iq, &self.stream_domain, Some(payload));
        self.phase = Phase::Bound(Routing::new(full));
        vec![Output::Send(xml::render(&reply))]
    }
}

fn decode(text: &str) -> Result<Vec<u8>, Failure> {
    let t = text.trim();
    if t == "=" || t.is_empty() {
        return Ok(Vec::new());
    }
    B64.decode(t).map_err(|_| Failure::IncorrectEncoding)
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
