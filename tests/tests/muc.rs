//! Multi-user chat (XEP-0045) behaviour from docs/TEST-CONTRACT.md that needs a raw
//! socket or a restart: a slow occupant is removed without stalling the room, and a
//! persistent room survives a restart while a temporary one does not.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lectern_system_tests::muc::{
    disco_features, field, groupchat, has_status, is_presence_from, item_attr, SERVICE,
};
use lectern_system_tests::xml::{self, Frame};
use lectern_system_tests::{RawClient, Read, Server, TempDir, TIMEOUT};
use tokio::time::Instant;

/// Groupchat bodies of ~2 KB: big enough to fill socket buffers in a bounded number of
/// messages, small enough for healthy readers to keep up.
const BODY_BYTES: usize = 2000;
/// Messages sent before the sender waits for its own echo and for the healthy readers.
const BATCH: usize = 16;

/// What a healthy occupant saw of the flood (and its connection, still in the room).
#[derive(Debug)]
struct Receipt {
    client: RawClient,
    /// The `n` of every `flood-n` groupchat received, in order.
    received: Vec<usize>,
    /// The presences announcing that the slow occupant left.
    slow_left: Vec<String>,
}

/// Read everything until the groupchat `end`; count flood messages into `progress`.
async fn read_flood(c: RawClient, room: String, progress: Arc<AtomicUsize>) -> Receipt {
    let sender = format!("{room}/sender");
    let slow = format!("{room}/slow");
    let mut receipt = Receipt {
        client: c,
        received: Vec::new(),
        slow_left: Vec::new(),
    };
    loop {
        let c = &mut receipt.client;
        let el = match c.next_frame().await {
            Some(Frame::Element(e)) => e,
            Some(_) => continue,
            None => panic!(
                "{}: disconnected during the flood\n{}",
                c.label(),
                c.context()
            ),
        };
        if xml::name(&el) == "message" && xml::attr(&el, "from").as_deref() == Some(sender.as_str())
        {
            let id = xml::attr(&el, "id").unwrap_or_default();
            if id == "end" {
                return receipt;
            }
            if let Some(n) = id.strip_prefix("flood-").and_then(|n| n.parse().ok()) {
                receipt.received.push(n);
                progress.store(receipt.received.len(), Ordering::Release);
            }
        } else if is_presence_from(&el, &slow)
            && xml::attr(&el, "type").as_deref() == Some("unavailable")
        {
            receipt.slow_left.push(el);
        }
    }
}

/// Wait (bounded) until the reader behind `progress` has `n` flood messages.
async fn caught_up(name: &str, progress: &AtomicUsize, n: usize) {
    let deadline = Instant::now() + TIMEOUT;
    while progress.load(Ordering::Acquire) < n {
        assert!(
            Instant::now() < deadline,
            "{name} got {} of {n} messages within {TIMEOUT:?}",
            progress.load(Ordering::Acquire)
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn removed_for_being_slow(presence: &str) -> bool {
    has_status(presence, "307") || has_status(presence, "333")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_occupant_that_stops_reading_is_removed_and_the_room_keeps_delivering() {
    let server = ["sender", "reader1", "reader2", "slow", "late"]
        .iter()
        .fold(Server::builder(), |b, u| b.user(u, &format!("{u}-pw")))
        .arg("--outbound-queue")
        .arg("64")
        .start();
    let addr = server.xmpp_addr();
    let room = format!("flood@{SERVICE}");

    let mut sender = RawClient::login(addr, "sender", "sender-pw", Some("s")).await;
    sender.join_room(&format!("{room}/sender"), "").await;
    sender.configure_room(&room, &[]).await;
    // A small receive buffer, so the server's queue fills rather than the kernel's.
    let mut slow = RawClient::connect_with_recv_buffer(addr, 4096, "slow").await;
    slow.login_on_this_connection("slow", "slow-pw", Some("r"))
        .await;
    slow.join_room(&format!("{room}/slow"), "").await;
    let mut readers = Vec::new();
    for name in ["reader1", "reader2"] {
        let mut c = RawClient::login(addr, name, &format!("{name}-pw"), Some("r")).await;
        c.join_room(&format!("{room}/{name}"), "<history maxstanzas='0'/>")
            .await;
        let progress = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(read_flood(c, room.clone(), progress.clone()));
        readers.push((name, progress, task));
    }

    // From here on `slow` never reads. The sender floods the room in batches, each one
    // echoed back to it and received by the healthy readers before the next, until the
    // room announces that `slow` is gone (bounded in count and time).
    let body = "x".repeat(BODY_BYTES);
    let deadline = Instant::now() + Duration::from_secs(60);
    let slow_jid = format!("{room}/slow");
    let mut sent = 0usize;
    let mut removal = None;
    let mut after_removal = 0;
    while after_removal < 4 {
        assert!(
            sent < 20_000 && Instant::now() < deadline,
            "the occupant that never reads is still in the room after {sent} messages of \
             {BODY_BYTES} B (--outbound-queue 64)"
        );
        for _ in 0..BATCH {
            let stanza = groupchat(&room, &format!("flood-{sent}"), &body);
            if let Err(e) = sender.try_send(&stanza, TIMEOUT).await {
                panic!("the sender was made to wait after {sent} messages: {e}");
            }
            sent += 1;
        }
        let last = format!("flood-{}", sent - 1);
        loop {
            let el = match sender.read_frame(TIMEOUT).await {
                Read::Frame(Frame::Element(e)) => e,
                Read::Frame(_) => continue,
                other => panic!(
                    "sender: {other:?} while waiting for {last}\n{}",
                    sender.context()
                ),
            };
            if is_presence_from(&el, &slow_jid)
                && xml::attr(&el, "type").as_deref() == Some("unavailable")
            {
                removal = Some(el);
            } else if xml::name(&el) == "message"
                && xml::attr(&el, "id").as_deref() == Some(last.as_str())
            {
                assert_ne!(
                    xml::attr(&el, "type").as_deref(),
                    Some("error"),
                    "the room refused {last}: {el}"
                );
                break;
            }
        }
        for (name, progress, _) in &readers {
            caught_up(name, progress, sent).await;
        }
        if removal.is_some() {
            after_removal += 1; // a few more batches after the removal
        }
    }
    sender.send(&groupchat(&room, "end", "that's all")).await;
    eprintln!("the slow occupant was removed; {sent} messages sent");

    let removal = removal.expect("loop ends after the removal");
    assert!(
        removed_for_being_slow(&removal),
        "the sender saw the slow occupant leave without 307/333: {removal}"
    );
    assert_eq!(
        item_attr(&removal, "role").as_deref(),
        Some("none"),
        "{removal}"
    );
    let mut still_in_room = Vec::new();
    for (name, _, task) in readers {
        let receipt = task.await.expect("reader task");
        assert_eq!(
            receipt.received,
            (0..sent).collect::<Vec<_>>(),
            "{name} missed or reordered messages"
        );
        assert_eq!(
            receipt.slow_left.len(),
            1,
            "{name}: {:?}",
            receipt.slow_left
        );
        assert!(
            removed_for_being_slow(&receipt.slow_left[0]),
            "{name}: {}",
            receipt.slow_left[0]
        );
        still_in_room.push(receipt.client);
    }

    // `slow` is gone from the room: a new occupant sees everyone else, not it.
    let mut late = RawClient::login(addr, "late", "late-pw", Some("l")).await;
    let joined = late
        .join_room(&format!("{room}/late"), "<history maxstanzas='0'/>")
        .await;
    let mut present: Vec<String> = joined
        .others
        .iter()
        .filter_map(|p| xml::attr(p, "from"))
        .collect();
    present.sort();
    let expected: Vec<String> = ["reader1", "reader2", "sender"]
        .iter()
        .map(|n| format!("{room}/{n}"))
        .collect();
    assert_eq!(present, expected);
    // ... and its connection was closed.
    assert!(
        slow.drain_until_closed(TIMEOUT).await,
        "the slow occupant is still connected\n{}",
        slow.context()
    );
}

#[tokio::test]
async fn a_persistent_room_survives_a_restart_and_a_temporary_one_does_not() {
    let dir = TempDir::new("muc-restart");
    let data = dir.path().join("data");
    let kept = format!("kept@{SERVICE}");
    let temp = format!("temp@{SERVICE}");

    let mut first = ["owner", "member", "stranger"]
        .iter()
        .fold(Server::builder().data_dir(&data), |b, u| {
            b.user(u, &format!("{u}-pw"))
        })
        .start();
    let mut owner = RawClient::login(first.xmpp_addr(), "owner", "owner-pw", Some("o")).await;
    owner.join_room(&format!("{kept}/owner"), "").await;
    owner
        .configure_room(
            &kept,
            &[
                ("roomname", "Kept room"),
                ("roomdesc", "Survives restarts"),
                ("persistentroom", "1"),
                ("publicroom", "1"),
                ("membersonly", "1"),
            ],
        )
        .await;
    owner
        .admin_item(&kept, "affiliation='member' jid='member@localhost'")
        .await;
    // The owner stays in the temporary room, so only the restart can remove it.
    owner.join_room(&format!("{temp}/owner"), "").await;
    owner
        .configure_room(&temp, &[("roomname", "Temporary"), ("persistentroom", "0")])
        .await;
    let before = owner.disco_info(&temp).await;
    assert_eq!(
        xml::attr(&before, "type").as_deref(),
        Some("result"),
        "{before}"
    );
    assert!(first.stop(), "the server did not stop on SIGTERM");

    let second = Server::builder().data_dir(&data).start();
    let addr = second.xmpp_addr();
    let mut stranger = RawClient::login(addr, "stranger", "stranger-pw", Some("x")).await;

    // disco#info: the saved name and the features of a persistent members-only room.
    let info = stranger.disco_info(&kept).await;
    assert_eq!(
        xml::attr(&info, "type").as_deref(),
        Some("result"),
        "{info}"
    );
    let (features, names) = disco_features(&info);
    assert_eq!(names, ["Kept room"], "{info}");
    for f in [
        "http://jabber.org/protocol/muc",
        "muc_persistent",
        "muc_membersonly",
        "muc_public",
    ] {
        assert!(features.iter().any(|x| x == f), "no {f} in {info}");
    }

    // The owner form shows the saved values.
    let mut owner = RawClient::login(addr, "owner", "owner-pw", Some("o2")).await;
    let form = owner.room_config(&kept).await;
    let value = |var: &str| field(&form, &format!("muc#roomconfig_{var}")).map(<[String]>::to_vec);
    assert_eq!(
        value("roomname"),
        Some(vec!["Kept room".to_owned()]),
        "{form:?}"
    );
    assert_eq!(
        value("roomdesc"),
        Some(vec!["Survives restarts".to_owned()]),
        "{form:?}"
    );
    for var in ["persistentroom", "membersonly", "publicroom"] {
        let v = value(var).unwrap_or_default();
        assert!(
            v == ["1"] || v == ["true"],
            "{var} is {v:?} after the restart: {form:?}"
        );
    }

    // The member gets in; anyone else is refused.
    let mut member = RawClient::login(addr, "member", "member-pw", Some("m")).await;
    let joined = member.join_room(&format!("{kept}/member"), "").await;
    assert_eq!(
        item_attr(&joined.self_presence, "affiliation").as_deref(),
        Some("member")
    );
    assert_eq!(
        stranger.join_refused(&format!("{kept}/stranger")).await,
        "registration-required"
    );

    // The temporary room is gone.
    let gone = stranger.disco_info(&temp).await;
    assert_eq!(xml::attr(&gone, "type").as_deref(), Some("error"), "{gone}");
    assert_eq!(
        xml::stanza_error_condition(&gone).as_deref(),
        Some("item-not-found"),
        "{gone}"
    );
}
