//! The negotiation state machine and routing, driven directly with inputs.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use minidom::Element;

use super::*;
use crate::store::{AccountStore, MemoryStore};
use crate::xmpp::router::{mailbox, Mailbox, Router};
use crate::xmpp::xml::{NS_DISCO_INFO, NS_PING};

fn env() -> Arc<Env> {
    let store = MemoryStore::default();
    crate::accounts::add(&store, "localhost", "alice@localhost", "secret").unwrap();
    crate::accounts::add(&store, "localhost", "bob@localhost", "hunter2").unwrap();
    let rooms = Arc::new(MemoryStore::default());
    Arc::new(Env {
        muc: Arc::new(crate::xmpp::muc::Muc::new("conference.localhost".into(), rooms).unwrap()),
        domain: "localhost".into(),
        guest_domain: Some("guest.localhost".into()),
        accounts: Arc::new(store) as Arc<dyn AccountStore>,
        router: Arc::new(Router::default()),
        tls_available: true,
        require_tls_on_loopback: false,
    })
}

fn recv(mb: &mut Mailbox) -> Element {
    mb.rx.try_recv().unwrap().render().parse().unwrap()
}

fn el(xml: &str) -> Element {
    xml.parse().unwrap()
}

fn open(s: &mut Session, to: &str) -> Vec<Output> {
    s.handle(Input::Open {
        to: Some(to.into()),
        version: Some("1.0".into()),
    })
}

fn features(out: &[Output]) -> String {
    match out {
        [Output::Header { features, .. }] => features.clone(),
        other => panic!("expected a header, got {other:?}"),
    }
}

fn sent(out: &[Output]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Logs in with PLAIN on loopback and binds `resource`; returns the session and its mailbox.
fn login(env: &Arc<Env>, user: &str, password: &str, resource: &str) -> (Session, Mailbox) {
    let (handle, mb) = mailbox(16);
    let mut s = Session::new(env.clone(), handle, true, false);
    open(&mut s, "localhost");
    let creds = B64.encode(format!("\0{user}\0{password}"));
    let out = s.handle(Input::Element(el(&format!(
        "<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{creds}</auth>"
    ))));
    assert!(sent(&out)[0].contains("<success"), "{out:?}");
    assert_eq!(out.last(), Some(&Output::Reset));
    assert!(features(&open(&mut s, "localhost")).contains(NS_BIND));
    let out = s.handle(Input::Element(el(&format!(
        "<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='{NS_BIND}'>\
         <resource>{resource}</resource></bind></iq>"
    ))));
    assert!(sent(&out)[0].contains(&format!("{user}@localhost/{resource}")));
    (s, mb)
}

#[test]
fn remote_clients_must_start_tls_before_auth() {
    let (handle, _mb) = mailbox(4);
    let mut s = Session::new(env(), handle, false, false);
    let f = features(&open(&mut s, "localhost"));
    assert!(f.contains("<starttls") && f.contains("<required/>"));
    assert!(!f.contains("<mechanisms"));
    let out = s.handle(Input::Element(el(&format!(
        "<auth xmlns='{NS_SASL}' mechanism='PLAIN'>AGEAYg==</auth>"
    ))));
    assert!(sent(&out)[0].contains("encryption-required"));
    assert!(matches!(out.last(), Some(Output::Close(Some(_)))));
}

#[test]
fn starttls_then_mechanisms_without_starttls() {
    let (handle, _mb) = mailbox(4);
    let mut s = Session::new(env(), handle, false, false);
    open(&mut s, "localhost");
    let out = s.handle(Input::Element(el(&format!("<starttls xmlns='{NS_TLS}'/>"))));
    assert_eq!(out[1], Output::StartTls);
    let f = features(&open(&mut s, "localhost"));
    assert!(!f.contains("starttls"));
    assert!(f.contains("<mechanism>SCRAM-SHA-256</mechanism>"));
    assert!(f.contains("<mechanism>PLAIN</mechanism>"));
}

#[test]
fn loopback_may_skip_tls_and_guests_get_anonymous_only() {
    let (handle, _mb) = mailbox(4);
    let mut s = Session::new(env(), handle, true, false);
    let f = features(&open(&mut s, "localhost"));
    assert!(f.contains("<starttls") && !f.contains("required"));
    assert!(!f.contains("ANONYMOUS"));

    let (handle, _mb) = mailbox(4);
    let mut g = Session::new(env(), handle, true, false);
    let f = features(&open(&mut g, "guest.localhost"));
    assert!(f.contains("<mechanism>ANONYMOUS</mechanism>") && !f.contains("SCRAM"));
    let out = g.handle(Input::Element(el(&format!(
        "<auth xmlns='{NS_SASL}' mechanism='ANONYMOUS'/>"
    ))));
    assert!(sent(&out)[0].starts_with("<success"));
    open(&mut g, "guest.localhost");
    let out = g.handle(Input::Element(el(&format!(
        "<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='{NS_BIND}'/></iq>"
    ))));
    assert!(sent(&out)[0].contains("@guest.localhost/lectern-"));
}

#[test]
fn unknown_host_old_version_and_early_stanzas_end_the_stream() {
    let (handle, _mb) = mailbox(4);
    let mut s = Session::new(env(), handle, true, false);
    assert!(matches!(
        open(&mut s, "example.org")[..],
        [Output::Close(Some(StreamErrorKind::HostUnknown(_)))]
    ));
    let (handle, _mb) = mailbox(4);
    let mut s = Session::new(env(), handle, true, false);
    let out = s.handle(Input::Open {
        to: Some("localhost".into()),
        version: None,
    });
    assert_eq!(
        out,
        [Output::Close(Some(StreamErrorKind::UnsupportedVersion))]
    );
    let (handle, _mb) = mailbox(4);
    let mut s = Session::new(env(), handle, true, false);
    open(&mut s, "localhost");
    let out = s.handle(Input::Element(el(
        "<message xmlns='jabber:client' to='a@localhost'/>",
    )));
    assert_eq!(out, [Output::Close(Some(StreamErrorKind::NotAuthorized))]);
}

#[test]
fn repeated_bad_passwords_close_the_stream() {
    let (handle, _mb) = mailbox(4);
    let mut s = Session::new(env(), handle, true, false);
    open(&mut s, "localhost");
    let bad = B64.encode("\0alice\0wrong");
    let auth = format!("<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{bad}</auth>");
    for _ in 0..MAX_AUTH_FAILURES - 1 {
        let out = s.handle(Input::Element(el(&auth)));
        assert_eq!(
            sent(&out),
            [format!(
                "<failure xmlns='{NS_SASL}'><not-authorized/></failure>"
            )]
        );
    }
    let out = s.handle(Input::Element(el(&auth)));
    assert!(matches!(
        out.last(),
        Some(Output::Close(Some(StreamErrorKind::PolicyViolation(_))))
    ));
}

#[test]
fn messages_route_with_stamped_sender_and_untouched_payload() {
    let env = env();
    let (mut alice, _a) = login(&env, "alice", "secret", "desk");
    let (_bob, mut b) = login(&env, "bob", "hunter2", "phone");
    let payload = "<widget xmlns='urn:example:x' a='1'><part>x &amp; y</part></widget>";
    let msg = el(&format!(
        "<message xmlns='jabber:client' to='bob@localhost/phone' id='m1'>{payload}</message>"
    ));
    assert!(alice.handle(Input::Element(msg)).is_empty());
    let got = recv(&mut b);
    assert_eq!(xml::attr(&got, "from"), Some("alice@localhost/desk"));
    assert_eq!(
        got.get_child("widget", "urn:example:x").unwrap(),
        &el(payload)
    );
    // To the bare JID as well.
    let msg = el(
        "<message xmlns='jabber:client' to='bob@localhost' type='chat'><body>hi</body></message>",
    );
    assert!(alice.handle(Input::Element(msg)).is_empty());
    assert!(b.rx.try_recv().is_ok());
}

#[test]
fn absent_recipients_bounce_and_spoofed_from_is_refused() {
    let env = env();
    let (mut alice, _a) = login(&env, "alice", "secret", "desk");
    let msg = el(
        "<message xmlns='jabber:client' to='nobody@localhost/x' id='q'><body>?</body></message>",
    );
    let out = sent(&alice.handle(Input::Element(msg)));
    assert!(out[0].contains("service-unavailable") && out[0].contains("type='error'"));
    let iq = el(
        "<iq xmlns='jabber:client' to='bob@localhost/none' type='get' id='i'><x xmlns='y'/></iq>",
    );
    assert!(sent(&alice.handle(Input::Element(iq)))[0].contains("service-unavailable"));
    let remote = el("<message xmlns='jabber:client' to='a@elsewhere.example'/>");
    assert!(sent(&alice.handle(Input::Element(remote)))[0].contains("remote-server-not-found"));
    let spoof =
        el("<message xmlns='jabber:client' from='bob@localhost/phone' to='alice@localhost'/>");
    assert!(matches!(
        alice.handle(Input::Element(spoof))[..],
        [Output::Close(Some(StreamErrorKind::BadFormat(_)))]
    ));
}

#[test]
fn server_answers_ping_disco_roster_and_refuses_the_rest() {
    let env = env();
    let (mut alice, _a) = login(&env, "alice", "secret", "desk");
    let ask = |s: &mut Session, body: &str, to: &str| -> String {
        let iq = el(&format!(
            "<iq xmlns='jabber:client' type='get' id='q' {to}>{body}</iq>"
        ));
        sent(&s.handle(Input::Element(iq))).remove(0)
    };
    let ping = ask(
        &mut alice,
        "<ping xmlns='urn:xmpp:ping'/>",
        "to='localhost'",
    );
    assert!(ping.contains("type='result'"), "{ping}");
    let disco = ask(
        &mut alice,
        &format!("<query xmlns='{NS_DISCO_INFO}'/>"),
        "to='localhost'",
    );
    assert!(disco.contains("category='server'") && disco.contains(NS_PING));
    let roster = ask(&mut alice, "<query xmlns='jabber:iq:roster'/>", "");
    assert!(roster.contains("type='result'") && roster.contains("jabber:iq:roster"));
    // Replies come from the address the request went to (RFC 6120 §8.1.2.1).
    let guest = ask(
        &mut alice,
        "<ping xmlns='urn:xmpp:ping'/>",
        "to='guest.localhost'",
    );
    assert!(guest.contains("from='guest.localhost'"), "{guest}");
    let unknown = ask(
        &mut alice,
        "<query xmlns='jabber:iq:version'/>",
        "to='localhost'",
    );
    assert!(unknown.contains("service-unavailable"));
}

#[test]
fn presence_reaches_own_resources_and_directed_targets_hear_unavailable() {
    let env = env();
    let (mut alice, mut a) = login(&env, "alice", "secret", "desk");
    let (mut bob, mut b) = login(&env, "bob", "hunter2", "phone");
    alice.handle(Input::Element(el("<presence xmlns='jabber:client'/>")));
    let own = recv(&mut a);
    assert_eq!(xml::attr(&own, "to"), Some("alice@localhost/desk"));
    bob.handle(Input::Element(el(
        "<presence xmlns='jabber:client' to='alice@localhost/desk'/>",
    )));
    let directed = recv(&mut a);
    assert_eq!(xml::attr(&directed, "from"), Some("bob@localhost/phone"));
    bob.handle(Input::Element(el("<presence xmlns='jabber:client'/>")));
    while b.rx.try_recv().is_ok() {}
    bob.end();
    let gone = recv(&mut a);
    assert_eq!(xml::attr(&gone, "type"), Some("unavailable"));
    assert_eq!(xml::attr(&gone, "from"), Some("bob@localhost/phone"));
    let Mailbox { rx: _, kill: _ } = b;
}
