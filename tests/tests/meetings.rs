//! The focus, driven over real sockets: meetings are created and joined over HTTP, the
//! browser's login is a token account, and the presenter's requests come back into the room
//! as sequenced events that survive a restart. Forged payloads are refused.

use lectern_system_tests::http;
use lectern_system_tests::meeting::{
    create_meeting, json, post_json, seq_of, upload_image, Member, NS,
};
use lectern_system_tests::muc::find_descendant;
use lectern_system_tests::xml;
use lectern_system_tests::{Server, TempDir};

#[tokio::test]
async fn presenter_events_are_sequenced_archived_and_survive_a_restart() {
    let data = TempDir::new("meetings");
    let mut server = Server::builder().data_dir(data.path()).start();
    let (number, key) = create_meeting(&server);

    let (mut alice, hello) = Member::join(&server, &number, "Alice", Some(&key)).await;
    let answer = find_descendant(&hello, "hello", NS).expect("hello answered");
    assert_eq!(xml::attr(answer, "role").as_deref(), Some("presenter"));
    let presenter = alice.next_event().await;
    assert_eq!(seq_of(&presenter), 1);
    assert!(presenter.contains("nick='Alice'") || presenter.contains("nick=\"Alice\""));

    let (mut bob, hello) = Member::join(&server, &number, "Bob", None).await;
    assert_eq!(
        xml::attr(find_descendant(&hello, "hello", NS).unwrap(), "role").as_deref(),
        Some("attendee")
    );

    let doc = upload_image(&server);
    // The presenter claims a bogus hash, size and base; the focus vouches from the manifest.
    let bogus = "0".repeat(64);
    alice
        .request(10, &format!("<document id='{doc}' pages='1' base='/x/' title='Slide'><p n='1' hash='{}' w='9' h='9'/></document>", bogus))
        .await;
    let shared = bob.next_event().await;
    assert_eq!(seq_of(&shared), 2);
    let event = find_descendant(&shared, "event", NS).unwrap();
    let document = xml::child(event, "document").expect("a document payload");
    assert_eq!(xml::attr(document, "pages").as_deref(), Some("1"));
    // A PNG has no title of its own: the presenter's is kept.
    assert_eq!(xml::attr(document, "title").as_deref(), Some("Slide"));
    let manifest = json(&http::get(
        server.http_addr(),
        &format!("/api/documents/{doc}"),
    ));
    let hash = manifest["pages"][0]["sha256"].as_str();
    assert!(
        hash.is_some_and(|h| shared.contains(h)),
        "{manifest} vs {shared}"
    );

    // Out of range: refused with a reason, and the sequence does not move.
    alice.request(20, "<page n='2'/>").await;
    let refused = alice.next_error().await;
    assert!(refused.contains("bad-request"), "{refused}");

    alice
        .request(30, "<stroke-begin id='s1' page='1' tool='pen' color='#e53935' width='0.004'>0.1,0.2</stroke-begin>")
        .await;
    alice
        .request(
            31,
            "<stroke-extend id='s1'>0.2,0.3 0.25,0.35</stroke-extend>",
        )
        .await;
    alice.request(32, "<stroke-end id='s1'/>").await;
    let mut seqs = Vec::new();
    for _ in 0..3 {
        seqs.push(seq_of(&bob.next_event().await));
    }
    assert_eq!(seqs, vec![3, 4, 5], "gapless, in order");

    // An attendee's forged payload is refused by the focus and never reaches the room.
    bob.request(40, "<page n='1'/>").await;
    let forged = bob.next_error().await;
    assert!(forged.contains("forbidden"), "{forged}");

    let snapshot = bob.snapshot().await;
    let state = find_descendant(&snapshot, "snapshot", NS).expect("a snapshot");
    assert!(xml::child(state, "document").is_some(), "{snapshot}");
    assert!(
        snapshot.contains("s1"),
        "the stroke is in the snapshot: {snapshot}"
    );

    let caught_up = bob
        .iq(
            "get",
            &format!("<events xmlns='{NS}' meeting='{number}' since='2'/>"),
        )
        .await;
    let events = find_descendant(&caught_up, "events", NS).unwrap();
    assert_eq!(xml::attr(events, "last").as_deref(), Some("5"));
    assert_eq!(xml::attr(events, "complete").as_deref(), Some("true"));

    drop((alice, bob));
    assert!(server.stop(), "clean shutdown");
    let server = Server::builder().data_dir(data.path()).start();
    let (mut alice, _) = Member::join(&server, &number, "Alice", Some(&key)).await;
    // After the restart the focus still knows who presents, and the sequence continues
    // from the archive.
    alice.request(50, "<page n='1'/>").await;
    let turned = alice.next_event().await;
    assert_eq!(seq_of(&turned), 6, "{turned}");
    let snapshot = alice.snapshot().await;
    assert!(
        snapshot.contains("s1"),
        "ink survives the restart: {snapshot}"
    );
}

#[tokio::test]
async fn bad_joins_and_tickets_get_clear_errors() {
    let server = Server::start();
    let (number, _) = create_meeting(&server);
    let r = post_json(
        server.http_addr(),
        &format!("/api/meetings/{number}/join"),
        serde_json::json!({"name": "Eve", "key": "k-wrong"}),
    );
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (403, Some("bad_host_key"))
    );
    let r = post_json(
        server.http_addr(),
        "/api/meetings/123456789/join",
        serde_json::json!({"name": "Eve"}),
    );
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (404, Some("unknown_meeting"))
    );
    let r = post_json(
        server.http_addr(),
        &format!("/api/meetings/{number}/join"),
        serde_json::json!({"name": ""}),
    );
    assert_eq!(r.status, 400);

    let (mut eve, _) = Member::join(&server, &number, "Eve", None).await;
    let bad = eve
        .iq(
            "set",
            &format!("<hello xmlns='{NS}' meeting='{number}' ticket='forged'/>"),
        )
        .await;
    assert_eq!(xml::attr(&bad, "type").as_deref(), Some("error"));
    assert!(bad.contains("not-authorized"), "{bad}");
}

#[tokio::test]
async fn a_flooding_presenter_is_slowed_not_served_forever() {
    let server = Server::start();
    let (number, key) = create_meeting(&server);
    let (mut alice, _) = Member::join(&server, &number, "Alice", Some(&key)).await;
    alice.next_event().await;
    for i in 0..1000u64 {
        alice.request(i, "<pointer hide='true'/>").await;
    }
    let refused = alice.next_error().await;
    assert!(refused.contains("policy-violation"), "{refused}");
    // The meeting still works afterwards.
    let snapshot = alice.snapshot().await;
    assert_eq!(
        xml::attr(&snapshot, "type").as_deref(),
        Some("result"),
        "{snapshot}"
    );
}

#[tokio::test]
async fn voice_reaches_attendees_in_order_and_a_meeting_without_audio_refuses_it() {
    let server = Server::start();
    let (number, key) = create_meeting(&server);
    let (mut alice, hello) = Member::join(&server, &number, "Alice", Some(&key)).await;
    assert!(hello.contains("audio='true'"), "{hello}");
    alice.next_event().await;
    let (mut bob, _) = Member::join(&server, &number, "Bob", None).await;
    let frames = ["/Hx+/g==", "/Hx/AAE=", "/HwAAQI="];
    for i in 0..20u64 {
        let batch = frames.join(" ");
        alice
            .request(
                1000 + i * 60,
                &format!("<audio codec='opus' rate='48000' channels='1' ms='20'>{batch}</audio>"),
            )
            .await;
    }
    let mut last = 0;
    for i in 0..20u64 {
        let event = bob.next_event().await;
        let seq = seq_of(&event);
        assert!(seq > last, "in order: {seq} after {last}");
        last = seq;
        assert!(event.contains(&format!("t='{}'", 1000 + i * 60)), "{event}");
        assert!(event.contains(&frames.join(" ")), "frames intact: {event}");
    }
    bob.request(
        5000,
        "<audio codec='opus' rate='48000' channels='1' ms='20'>/Hx+/g==</audio>",
    )
    .await;
    assert!(bob.next_error().await.contains("forbidden"));

    let r = post_json(
        server.http_addr(),
        "/api/meetings",
        serde_json::json!({"title": "Silent", "audio": false}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let silent = json(&r);
    let number = silent["number"].as_str().unwrap();
    let (mut carol, hello) =
        Member::join(&server, number, "Carol", silent["host_key"].as_str()).await;
    assert!(hello.contains("audio='false'"), "{hello}");
    carol.next_event().await;
    carol
        .request(
            10,
            "<audio codec='opus' rate='48000' channels='1' ms='20'>/Hx+/g==</audio>",
        )
        .await;
    assert!(carol.next_error().await.contains("not-allowed"));
}
