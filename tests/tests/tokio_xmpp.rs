//! tokio-xmpp 6 as a client of the embedded server: SCRAM login for two accounts,
//! messages both ways with a custom payload that must arrive untouched, and an
//! anonymous guest login.

use futures::StreamExt;
use lectern_system_tests::{xml, RawClient, Server, DOMAIN, GUEST_DOMAIN, TIMEOUT};
use tokio::time::Instant;
use tokio_xmpp::connect::{DnsConfig, TcpServerConnector};
use tokio_xmpp::jid::{FullJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::message::{Lang, Message, MessageType};
use tokio_xmpp::xmlstream::Timeouts;
use tokio_xmpp::{Client, Event, Stanza};

/// A payload no server knows about; it must be forwarded untouched.
const PAYLOAD: &str = "<sync xmlns='urn:lectern:test' seq='7' t='1234'>\
    <stroke id='s1' colour='#ff0000'>0.25,0.5 0.3,0.55</stroke><page n='3'/></sync>";

/// Start a client over plain TCP to the server and wait until it is bound.
///
/// tokio-xmpp reconnects silently on failure, so a login that never succeeds
/// shows up as a timeout here.
async fn online(server: &Server, jid: &str, password: &str) -> (Client, FullJid) {
    let connector = TcpServerConnector::from(DnsConfig::addr(&server.xmpp_addr().to_string()));
    let mut client = Client::new_with_connector(
        Jid::new(jid).expect("valid JID"),
        password,
        connector,
        Timeouts::tight(),
    );
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, client.next()).await {
            Ok(Some(Event::Online { bound_jid, .. })) => {
                let full = bound_jid.try_as_full().expect("bound JID is full").clone();
                return (client, full);
            }
            Ok(Some(Event::Disconnected(e))) => panic!("{jid}: disconnected before online: {e}"),
            Ok(Some(_)) => {}
            Ok(None) => panic!("{jid}: client stream ended before online"),
            Err(_) => panic!("{jid}: not online within {TIMEOUT:?} (login or bind failed)"),
        }
    }
}

/// Wait for the next message stanza on `client`, skipping everything else.
async fn next_message(client: &mut Client, who: &str) -> Message {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, client.next()).await {
            Ok(Some(Event::Stanza(Stanza::Message(m)))) => return m,
            Ok(Some(Event::Disconnected(e))) => panic!("{who}: disconnected: {e}"),
            Ok(Some(_)) => {}
            Ok(None) => panic!("{who}: client stream ended"),
            Err(_) => panic!("{who}: no message within {TIMEOUT:?}"),
        }
    }
}

/// The SASL mechanisms offered on a fresh stream `to` a domain.
async fn mechanisms(server: &Server, to: &str) -> Vec<String> {
    let mut raw = RawClient::connect(server.xmpp_addr(), "probe").await;
    let features = raw.open_stream(to).await;
    let mechs = xml::child(&features, "mechanisms")
        .unwrap_or_else(|| panic!("no <mechanisms/> in {features}"));
    xml::children(mechs).into_iter().map(xml::text).collect()
}

fn payload() -> Element {
    PAYLOAD.parse().expect("payload parses")
}

/// `from` sends a chat message with a body and the custom payload to `to_jid`;
/// `to` must receive it with body, payload and `from` intact.
async fn exchange(from: &mut Client, from_jid: &FullJid, to: &mut Client, to_jid: &FullJid) {
    let body = format!("hello from {from_jid}");
    let msg = Message::new_with_type(MessageType::Chat, Some(Jid::from(to_jid.clone())))
        .with_body(Lang::new(), body.clone())
        .with_payloads(vec![payload()]);
    from.send_stanza(msg.into()).await.expect("send message");

    let got = next_message(to, &to_jid.to_string()).await;
    assert_eq!(got.from, Some(Jid::from(from_jid.clone())), "from: {got:?}");
    assert_eq!(got.type_, MessageType::Chat, "type: {got:?}");
    assert_eq!(
        got.get_best_body_cloned(vec![]).map(|(_, b)| b),
        Some(body),
        "body: {got:?}"
    );
    assert_eq!(
        got.payloads,
        vec![payload()],
        "payload not forwarded untouched"
    );
}

#[tokio::test]
async fn two_accounts_login_with_scram_and_exchange_custom_payloads() {
    let server = Server::builder()
        .user("alice", "alice-pw")
        .user("bob", "bob-pw")
        .start();

    let (mut alice, alice_jid) = online(&server, &format!("alice@{DOMAIN}"), "alice-pw").await;
    let (mut bob, bob_jid) = online(&server, &format!("bob@{DOMAIN}"), "bob-pw").await;
    assert_eq!(alice_jid.to_bare().to_string(), format!("alice@{DOMAIN}"));
    assert_eq!(bob_jid.to_bare().to_string(), format!("bob@{DOMAIN}"));

    // tokio-xmpp picks SCRAM-SHA-256 whenever it is offered, so the logins above
    // went through SCRAM if the server advertises it, which it must.
    let mechs = mechanisms(&server, DOMAIN).await;
    assert!(
        mechs.iter().any(|m| m == "SCRAM-SHA-256"),
        "SCRAM-SHA-256 not offered: {mechs:?}"
    );
    assert!(
        !mechs.iter().any(|m| m == "ANONYMOUS"),
        "ANONYMOUS must only be offered on {GUEST_DOMAIN}: {mechs:?}"
    );

    exchange(&mut alice, &alice_jid, &mut bob, &bob_jid).await;
    exchange(&mut bob, &bob_jid, &mut alice, &alice_jid).await;

    alice.send_end().await.expect("alice closes cleanly");
    bob.send_end().await.expect("bob closes cleanly");
}

#[tokio::test]
async fn anonymous_guest_logs_in_and_talks_to_an_account() {
    let server = Server::builder().user("carol", "carol-pw").start();

    // tokio-xmpp needs a node in the JID even for ANONYMOUS; the server picks
    // the real one.
    let mechs = mechanisms(&server, GUEST_DOMAIN).await;
    assert!(
        mechs.iter().any(|m| m == "ANONYMOUS"),
        "ANONYMOUS not offered on {GUEST_DOMAIN}: {mechs:?}"
    );
    let (mut guest, guest_jid) = online(&server, &format!("x@{GUEST_DOMAIN}"), "").await;
    assert_eq!(guest_jid.domain().as_str(), GUEST_DOMAIN, "{guest_jid}");
    assert!(guest_jid.node().is_some(), "{guest_jid} has no node");

    let (mut carol, carol_jid) = online(&server, &format!("carol@{DOMAIN}"), "carol-pw").await;
    exchange(&mut carol, &carol_jid, &mut guest, &guest_jid).await;
    exchange(&mut guest, &guest_jid, &mut carol, &carol_jid).await;

    guest.send_end().await.expect("guest closes cleanly");
    carol.send_end().await.expect("carol closes cleanly");
}

#[tokio::test]
async fn account_added_while_running_logs_in_with_scram() {
    let server = Server::start();
    server.add_user("dave", "dave-pw");
    let (dave, dave_jid) = online(&server, &format!("dave@{DOMAIN}"), "dave-pw").await;
    assert_eq!(dave_jid.to_bare().to_string(), format!("dave@{DOMAIN}"));
    dave.send_end().await.expect("dave closes cleanly");
}
