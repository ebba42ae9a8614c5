//! One test per row of "Defined outcomes for bad input" in docs/TEST-CONTRACT.md.
//!
//! Each test checks the exact stream error condition, that `</stream:stream>` and a
//! TCP close follow, and that two sessions logged in beforehand (the witnesses)
//! still work afterwards.

use std::time::Duration;

use lectern_system_tests::raw::{message, stream_header};
use lectern_system_tests::xml::{self, Frame};
use lectern_system_tests::{
    assert_message_delivered, RawClient, Read, Server, ServerBuilder, WithWitnesses, Witnesses,
    DOMAIN, TIMEOUT,
};
use tokio::time::Instant;

const XML_DECL: &str = "<?xml version='1.0'?>";

/// A server with the witnesses and `alice` (password `alice-pw`), started with `args`.
fn server(args: &[&str]) -> Server {
    args.iter()
        .fold(
            Server::builder().with_witnesses().user("alice", "alice-pw"),
            |b: ServerBuilder, a| b.arg(*a),
        )
        .start()
}

async fn alice(server: &Server) -> RawClient {
    RawClient::login(server.xmpp_addr(), "alice", "alice-pw", Some("r")).await
}

/// The classic "billion laughs" internal subset.
fn entity_bomb() -> String {
    let mut dtd = String::from("<!DOCTYPE lolz [<!ENTITY lol0 'lol'>");
    for i in 1..10 {
        let prev = format!("&lol{};", i - 1);
        dtd.push_str(&format!("<!ENTITY lol{i} '{}'>", prev.repeat(10)));
    }
    dtd.push_str("]>");
    dtd
}

#[tokio::test]
async fn malformed_xml_gets_not_well_formed() {
    let server = server(&[]);
    let mut w = Witnesses::login(&server).await;
    let mut alice = alice(&server).await;

    alice.send("<message><a></b>").await;
    alice.expect_stream_error("not-well-formed").await;

    w.assert_alive().await;
}

#[tokio::test]
async fn oversized_stanza_gets_policy_violation_naming_the_limit() {
    let server = server(&["--max-stanza-size", "4096"]);
    let mut w = Witnesses::login(&server).await;
    let mut alice = alice(&server).await;

    // A stanza under the limit is fine.
    let to = w.a.jid().to_owned();
    let id = alice.send_message(&to, &"s".repeat(1000)).await;
    w.a.expect_message(&id).await;

    // 10 KB of body text.
    let big = message(&to, "too-big", &"x".repeat(10 * 1024));
    alice.send(&big).await;
    let error = alice.expect_stream_error("policy-violation").await;
    let text = xml::child(&error, "text")
        .map(xml::text)
        .unwrap_or_default();
    assert!(
        text.contains("4096"),
        "the policy-violation text should name the limit (4096): {error}"
    );

    w.assert_not_delivered_to_a("too-big").await;
    w.assert_alive().await;
}

#[tokio::test]
async fn oversized_start_tag_gets_policy_violation() {
    // The limit must hold while the server is still inside one start tag, not
    // only once an element is complete.
    let server = server(&["--max-stanza-size", "4096"]);
    let mut w = Witnesses::login(&server).await;
    let mut alice = alice(&server).await;

    let to = w.a.jid().to_owned();
    alice
        .send(&format!(
            "<message to='{to}' id='huge-attr' x='{}'/>",
            "a".repeat(10 * 1024)
        ))
        .await;
    alice.expect_stream_error("policy-violation").await;

    w.assert_not_delivered_to_a("huge-attr").await;
    w.assert_alive().await;
}

#[tokio::test]
async fn oversized_element_before_auth_gets_policy_violation() {
    // The limit protects the server from clients that have not authenticated
    // yet too: a 10 KB SASL <auth/> element.
    let server = server(&["--max-stanza-size", "4096"]);
    let mut w = Witnesses::login(&server).await;

    let mut c = RawClient::connect(server.xmpp_addr(), "big-auth").await;
    c.open_stream(DOMAIN).await;
    c.send(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{}</auth>",
        "QUFB".repeat(2560)
    ))
    .await;
    c.expect_stream_error("policy-violation").await;

    w.assert_alive().await;
}

#[tokio::test]
async fn stanzas_before_auth_get_not_authorized() {
    let server = server(&[]);
    let mut w = Witnesses::login(&server).await;
    let to = w.a.jid().to_owned();

    for stanza in [
        format!("<message to='{to}' id='early'><body>hi</body></message>"),
        format!("<iq type='get' id='early' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>"),
        "<presence/>".to_owned(),
    ] {
        let mut c = RawClient::connect(server.xmpp_addr(), "unauthenticated").await;
        c.open_stream(DOMAIN).await;
        c.send(&stanza).await;
        c.expect_stream_error("not-authorized").await;
    }

    w.assert_not_delivered_to_a("early").await;
    w.assert_alive().await;
}

#[tokio::test]
async fn doctype_in_the_prolog_gets_restricted_xml() {
    let server = server(&[]);
    let mut w = Witnesses::login(&server).await;

    let mut c = RawClient::connect(server.xmpp_addr(), "prolog-bomb").await;
    c.send(&format!(
        "{XML_DECL}{}{}<message to='{}' id='bomb'><body>&lol9;</body></message>",
        entity_bomb(),
        stream_header(DOMAIN),
        w.a.jid()
    ))
    .await;
    c.expect_stream_error("restricted-xml").await;

    w.assert_not_delivered_to_a("bomb").await;
    w.assert_alive().await;
}

#[tokio::test]
async fn doctype_mid_stream_gets_restricted_xml() {
    let server = server(&[]);
    let mut w = Witnesses::login(&server).await;
    let mut alice = alice(&server).await;

    alice
        .send(&format!(
            "{}<message to='{}' id='bomb'><body>&lol9;</body></message>",
            entity_bomb(),
            w.a.jid()
        ))
        .await;
    alice.expect_stream_error("restricted-xml").await;

    w.assert_not_delivered_to_a("bomb").await;
    w.assert_alive().await;
}

#[tokio::test]
async fn entity_declaration_mid_stream_gets_restricted_xml() {
    let server = server(&[]);
    let mut w = Witnesses::login(&server).await;
    let mut alice = alice(&server).await;

    alice.send("<!ENTITY lol 'lol'>").await;
    alice.expect_stream_error("restricted-xml").await;

    w.assert_alive().await;
}

#[tokio::test]
async fn stream_to_an_unknown_domain_gets_host_unknown() {
    let server = server(&[]);
    let mut w = Witnesses::login(&server).await;

    let mut c = RawClient::connect(server.xmpp_addr(), "stranger").await;
    c.send(&format!("{XML_DECL}{}", stream_header("example.org")))
        .await;
    c.expect_stream_error("host-unknown").await;

    w.assert_alive().await;
}

#[tokio::test]
async fn same_full_jid_twice_gives_the_old_session_conflict() {
    let server = server(&[]);
    let mut w = Witnesses::login(&server).await;

    let mut old = alice(&server).await;
    let mut new = RawClient::connect(server.xmpp_addr(), "alice-new").await;
    let jid = new
        .login_on_this_connection("alice", "alice-pw", Some("r"))
        .await;
    assert_eq!(
        jid,
        format!("alice@{DOMAIN}/r"),
        "the new session keeps the resource"
    );

    old.expect_stream_error("conflict").await;

    // The new session owns the full JID now.
    new.ping_server().await;
    assert_message_delivered(&mut w.a, &mut new).await;
    assert_message_delivered(&mut new, &mut w.b).await;
    w.assert_alive().await;
}

#[tokio::test]
async fn no_auth_within_the_timeout_gets_connection_timeout() {
    let server = server(&["--auth-timeout", "1"]);
    let mut w = Witnesses::login(&server).await;

    let mut c = RawClient::connect(server.xmpp_addr(), "idle-after-features").await;
    c.open_stream(DOMAIN).await;
    c.expect_stream_error("connection-timeout").await;

    // Authenticated sessions are not subject to it: the witnesses logged in
    // before the timeout and are still there after it.
    w.assert_alive().await;
}

#[tokio::test]
async fn silent_connection_gets_connection_timeout() {
    // The client never even sends a stream header.
    let server = server(&["--auth-timeout", "1"]);
    let mut w = Witnesses::login(&server).await;

    let mut c = RawClient::connect(server.xmpp_addr(), "silent").await;
    c.expect_stream_error("connection-timeout").await;

    w.assert_alive().await;
}

#[tokio::test]
async fn authenticated_but_unbound_session_outlives_the_auth_timeout() {
    let server = server(&["--auth-timeout", "1"]);
    let mut c = RawClient::connect(server.xmpp_addr(), "slow-binder").await;
    c.open_stream(DOMAIN).await;
    c.auth_plain("alice", "alice-pw")
        .await
        .expect("PLAIN on loopback");
    // Several times the auth timeout (a delay, not a measurement).
    tokio::time::sleep(Duration::from_secs(3)).await;
    c.bind(Some("late")).await;
    c.ping_server().await;
}

#[tokio::test]
async fn a_client_that_never_reads_is_disconnected_and_senders_never_wait() {
    let server = Server::builder()
        .user("slow", "slow-pw")
        .user("sender", "sender-pw")
        .user("third", "third-pw")
        .arg("--outbound-queue")
        .arg("64")
        .start();
    let addr = server.xmpp_addr();

    // A small receive buffer so the server's queue, not the kernel, fills up.
    let mut slow = RawClient::connect_with_recv_buffer(addr, 4096, "slow").await;
    slow.login_on_this_connection("slow", "slow-pw", Some("r"))
        .await;
    let slow_jid = slow.jid().to_owned();
    let mut b = RawClient::login(addr, "sender", "sender-pw", Some("b")).await;
    let mut c = RawClient::login(addr, "third", "third-pw", Some("c")).await;
    assert_message_delivered(&mut b, &mut c).await;

    // From here on `slow` never reads. B floods it with ~8 KB messages (bounded
    // in count and time) until one bounces with service-unavailable.
    let body = "x".repeat(8 * 1024);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut sent = 0usize;
    let mut other_errors = Vec::new();
    let bounce = 'flood: loop {
        assert!(
            sent < 20_000 && Instant::now() < deadline,
            "no service-unavailable bounce after {sent} messages of 8 KB to a client that \
             never reads (--outbound-queue 64); other errors: {other_errors:?}\n{}",
            b.context()
        );
        for _ in 0..16 {
            let stanza = message(&slow_jid, &format!("flood-{sent}"), &body);
            if let Err(e) = b.try_send(&stanza, TIMEOUT).await {
                panic!("the sender was made to wait after {sent} messages: {e}");
            }
            sent += 1;
        }
        loop {
            match b.read_frame(Duration::from_millis(1)).await {
                Read::Frame(Frame::Element(e)) if xml::is_stream_error(&e) => {
                    panic!("the sender got a stream error after {sent} messages: {e}")
                }
                Read::Frame(Frame::Element(e))
                    if xml::name(&e) == "message"
                        && xml::attr(&e, "type").as_deref() == Some("error") =>
                {
                    match xml::stanza_error_condition(&e).as_deref() {
                        Some("service-unavailable") => break 'flood e,
                        _ => other_errors.push(e),
                    }
                }
                Read::Frame(_) => {}
                Read::Closed => panic!("the sender was disconnected after {sent} messages"),
                Read::TimedOut => break,
            }
        }
    };
    assert_eq!(
        xml::attr(&bounce, "from").as_deref(),
        Some(slow_jid.as_str()),
        "the bounce comes from the unreachable full JID: {bounce}"
    );
    eprintln!("bounce after {sent} messages");

    // A message sent now bounces too: the session is gone.
    let id = b.send_message(&slow_jid, "are you there?").await;
    let after = b.expect_message(&id).await;
    assert_eq!(
        xml::attr(&after, "type").as_deref(),
        Some("error"),
        "{after}"
    );
    assert_eq!(
        xml::stanza_error_condition(&after).as_deref(),
        Some("service-unavailable"),
        "{after}"
    );

    // The slow client was disconnected (it sees the end once it reads again).
    assert!(
        slow.drain_until_closed(TIMEOUT).await,
        "the client that never read is still connected\n{}",
        slow.context()
    );

    // Everyone else carries on.
    b.ping_server().await;
    assert_message_delivered(&mut b, &mut c).await;
    assert_message_delivered(&mut c, &mut b).await;
}

#[tokio::test]
async fn closing_the_stream_is_answered_with_a_stream_close() {
    let server = server(&[]);
    let mut w = Witnesses::login(&server).await;

    // Logged in.
    let mut alice = alice(&server).await;
    alice.send("</stream:stream>").await;
    expect_graceful_close(&mut alice).await;

    // Not yet authenticated.
    let mut c = RawClient::connect(server.xmpp_addr(), "leaver").await;
    c.open_stream(DOMAIN).await;
    c.send("</stream:stream>").await;
    expect_graceful_close(&mut c).await;

    w.assert_alive().await;
}

async fn expect_graceful_close(c: &mut RawClient) {
    loop {
        match c.next_frame().await {
            Some(Frame::StreamEnd) => break,
            Some(Frame::Element(e)) if xml::is_stream_error(&e) => {
                panic!("graceful close answered with a stream error: {e}")
            }
            Some(_) => {}
            None => panic!(
                "connection closed without `</stream:stream>`\n{}",
                c.context()
            ),
        }
    }
    c.expect_closed().await;
}

#[tokio::test]
async fn whitespace_keepalives_are_accepted() {
    let server = server(&[]);
    let mut w = Witnesses::login(&server).await;
    let addr = server.xmpp_addr();

    let mut c = RawClient::connect(addr, "alice").await;
    c.send(&format!("{XML_DECL}{}", stream_header(DOMAIN)))
        .await;
    c.send(" \n").await;
    c.expect_element("stream features", |e| xml::local_name(e) == "features")
        .await;
    c.send("\n \t \r\n").await;
    c.auth_plain("alice", "alice-pw")
        .await
        .expect("PLAIN on loopback");
    c.bind(Some("r")).await;

    for _ in 0..3 {
        c.send(" ").await;
        c.send("\n").await;
    }
    c.ping_server().await;

    // Whitespace between two stanzas in one write, and after the last.
    let to = w.a.jid().to_owned();
    c.send(&format!(
        "<iq type='get' id='ka-1' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>\n \n{}  \n",
        message(&to, "ka-2", "between keep-alives")
    ))
    .await;
    c.expect_iq_result("ka-1").await;
    w.a.expect_message("ka-2").await;

    c.ping_server().await;
    w.assert_alive().await;
}

// Whitespace before the root element is allowed XML when there is no XML
// declaration (`prolog ::= XMLDecl? Misc*`, `Misc` includes `S`).

#[tokio::test]
async fn whitespace_before_the_first_stream_header_is_accepted() {
    let server = server(&[]);
    let mut c = RawClient::connect(server.xmpp_addr(), "alice").await;
    c.send(&format!(" \n{}", stream_header(DOMAIN))).await;
    c.expect_element("stream features", |e| xml::local_name(e) == "features")
        .await;
    c.auth_plain("alice", "alice-pw")
        .await
        .expect("PLAIN on loopback");
    c.bind(Some("r")).await;
    c.ping_server().await;
}

#[tokio::test]
async fn whitespace_before_the_restarted_stream_header_is_accepted() {
    // After SASL success a client's keep-alive timer can easily put a space
    // right before the new stream header.
    let server = server(&[]);
    let mut c = RawClient::connect(server.xmpp_addr(), "alice").await;
    c.open_stream(DOMAIN).await;
    c.auth_plain("alice", "alice-pw")
        .await
        .expect("PLAIN on loopback");
    c.send(" ").await;
    c.bind(Some("r")).await;
    c.ping_server().await;
}

#[tokio::test]
async fn server_sends_whitespace_keepalives() {
    let server = server(&["--keepalive", "1"]);
    let mut c = alice(&server).await;
    // While the client is idle, whitespace (and nothing else) arrives.
    let deadline = Instant::now() + TIMEOUT;
    while !c.has_pending_whitespace() {
        assert!(
            Instant::now() < deadline,
            "no whitespace keep-alive within {TIMEOUT:?} with --keepalive 1\n{}",
            c.context()
        );
        match c.read_frame(Duration::from_millis(200)).await {
            Read::TimedOut => {}
            other => panic!("unexpected while idle: {other:?}\n{}", c.context()),
        }
    }
    c.ping_server().await;
}
