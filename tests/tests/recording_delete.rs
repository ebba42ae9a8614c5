//! A recording deleted while its meeting goes on: the meeting is kept as it stood (page, ink),
//! so the recording after it opens on that page from the next event on, and a server restarted
//! afterwards shows whoever joins the same, its event numbers going on.

use lectern_system_tests::meeting::{create_meeting, seq_of, Member};
use lectern_system_tests::recording;
use lectern_system_tests::recording::{
    download, member, ready_deck, share, silent_batch, timeline as described,
};
use lectern_system_tests::{Server, TempDir};

const SHAPE: &str = "<shape id='s1' page='2' kind='line' color='#1e88e5' width='0.003' x1='0.1' y1='0.1' x2='0.4' y2='0.3'/>";

#[tokio::test]
async fn a_recording_deleted_mid_meeting_opens_on_the_page_and_ink_it_left() {
    let data = TempDir::new("recording-delete-live");
    let mut server = Server::builder().data_dir(data.path()).start();
    let (number, key) = create_meeting(&server);
    let (mut alice, _) = Member::join(&server, &number, "Alice", Some(&key)).await;
    alice.next_event().await;
    let doc = ready_deck(&server, 3);
    // seq 2-4: the deck on page 2 with a shape; then the rehearsal is deleted, and an hour
    // later (on the presenter's clock) the talk goes on: voice (5), page 3 (6).
    for (t, payload) in [
        (500, share(&doc)),
        (1000, "<page n='2'/>".into()),
        (1500, SHAPE.into()),
    ] {
        alice.request(t, &payload).await;
        alice.next_event().await;
    }
    let deleted = recording::delete(&server, &number, &format!("key={key}"));
    assert_eq!(deleted.status, 204);
    for (t, payload) in [
        (3_600_000, silent_batch()),
        (3_601_000, "<page n='3'/>".into()),
    ] {
        alice.request(t, &payload).await;
        alice.next_event().await;
    }

    let mut zip = download(&server, &number, &key);
    let timeline = described(&mut zip);
    let start = timeline["start"].as_str().unwrap_or_default();
    assert!(
        start.starts_with("<snapshot") && start.contains("s1"),
        "{start}"
    );
    let chapters = recording::chapters(&timeline);
    assert_eq!(
        chapters,
        [(0, 2), (1000, 3)],
        "it opens on page 2, not an hour of nothing"
    );
    assert_eq!(timeline["duration_ms"], 1000);
    assert_eq!(
        timeline["pauses"],
        serde_json::json!([{"at": 0, "from": 0, "to": 3_600_000}])
    );
    let page2 = timeline["documents"][0]["pages"][1]["file"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !member(&mut zip, &page2).is_empty(),
        "page 2's image is in the zip"
    );
    let seqs: Vec<u64> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        [6],
        "only what came after the deletion (the voice is in audio.ogg)"
    );

    // Restarted, the focus is where the meeting was: a newcomer's snapshot has page 3 and the
    // shape on page 2, and the presenter's next event is seq 7.
    drop(alice);
    assert!(server.stop());
    let server = Server::builder().data_dir(data.path()).start();
    let (mut carol, _) = Member::join(&server, &number, "Carol", None).await;
    let snapshot = carol.snapshot().await;
    assert!(
        snapshot.contains(&doc) && snapshot.contains("s1"),
        "{snapshot}"
    );
    assert!(
        snapshot.contains("n='3'") || snapshot.contains("n=\"3\""),
        "{snapshot}"
    );
    let (mut alice, _) = Member::join(&server, &number, "Alice", Some(&key)).await;
    alice.request(3_602_000, "<page n='1'/>").await;
    let next = alice.next_event().await;
    assert_eq!(seq_of(&next), 7, "{next}");
}
