//! Recording pause/resume from the real server: only the presenter pauses, a late joiner
//! learns it from the snapshot, and the zip the server hands out has the pause cut from
//! `timeline.json` and from `audio.ogg` (measured with opus-tools and ffmpeg, programs nobody
//! on this team wrote).

use lectern_system_tests::meeting::{create_meeting, Member};
use lectern_system_tests::recording;
use lectern_system_tests::recording::{
    check_ogg, download, member, ready_deck, share, timeline as described, SILENT_FRAME as FRAME,
};
use lectern_system_tests::Server;

#[tokio::test]
async fn a_paused_stretch_is_cut_from_the_recording() {
    let server = Server::start();
    let (number, key) = create_meeting(&server);
    let (mut alice, _) = Member::join(&server, &number, "Alice", Some(&key)).await;
    alice.next_event().await;
    let (mut bob, _) = Member::join(&server, &number, "Bob", None).await;
    let doc = ready_deck(&server, 3);
    let share = share(&doc);

    // Voice from 1 s to 4 s in batches of three frames; paused from 2 s to 3 s, with a page
    // turned during the pause and another after it.
    let batch = format!(
        "<audio codec='opus' rate='48000' channels='1' ms='20'>{}</audio>",
        [FRAME; 3].join(" ")
    );
    let mut script: Vec<(u64, String)> = (0..50).map(|b| (1000 + b * 60, batch.clone())).collect();
    script.extend([
        (500, share),
        (2000, "<recording paused='true'/>".to_string()),
        (2500, "<page n='2'/>".to_string()),
        (3000, "<recording paused='false'/>".to_string()),
        (3500, "<page n='3'/>".to_string()),
    ]);
    script.sort_by_key(|(t, _)| *t);
    for (t, payload) in &script {
        alice.request(*t, payload).await;
        alice.next_event().await;
        if *t == 2500 {
            // Mid-pause: an attendee may not resume, and whoever joins now sees the pause.
            bob.request(2600, "<recording paused='false'/>").await;
            let refused = bob.next_error().await;
            assert!(refused.contains("forbidden"), "{refused}");
            let (mut carol, _) = Member::join(&server, &number, "Carol", None).await;
            let snapshot = carol.snapshot().await;
            let paused = snapshot.contains("paused='true'") || snapshot.contains("paused=\"true\"");
            assert!(snapshot.contains("<recording") && paused, "{snapshot}");
        }
    }

    let mut zip = download(&server, &number, &key);
    let timeline = described(&mut zip);

    assert_eq!(
        timeline["pauses"],
        serde_json::json!([{"at": 2000, "from": 2000, "to": 3000}])
    );
    let events = timeline["events"].as_array().unwrap();
    let pages: Vec<(u64, String)> = events
        .iter()
        .filter(|e| e["type"] == "page")
        .map(|e| {
            (
                e["t"].as_u64().unwrap(),
                e["xml"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert_eq!(
        pages[0].0, 2000,
        "the turn during the pause shows at the cut"
    );
    assert!(
        pages[0].1.contains("t='2500'"),
        "the XML keeps presenter time: {}",
        pages[0].1
    );
    assert_eq!(pages[1].0, 2500, "after the pause: 1 s earlier");
    let chapters = recording::chapters(&timeline);
    assert_eq!(chapters, [(500, 1), (2000, 2), (2500, 3)]);
    // 150 frames were sent; the 50 that started in the paused second are gone, and the
    // file is 1 s shorter than the 3.993 s it is unpaused (the recording test's).
    assert_eq!(timeline["audio"]["packets"], 100);
    assert_eq!(timeline["audio"]["duration_ms"], 2993);
    assert_eq!(timeline["duration_ms"], 3000);
    let vtt = String::from_utf8(member(&mut zip, "chapters.vtt")).unwrap();
    assert!(vtt.contains("00:00:02.000 --> 00:00:02.500"), "{vtt}");

    check_ogg(
        &member(&mut zip, "audio.ogg"),
        "0m:02.993s",
        3000 * 48 - 312,
    );
}
