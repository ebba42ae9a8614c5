//! Recordings from the real server: the take-home zip is built from the archive, its
//! `audio.ogg` is standard Ogg Opus (checked with opus-tools and ffprobe, programs nobody on
//! this team wrote), and a server killed with SIGKILL mid-meeting still hands out everything it
//! had acknowledged.

use lectern_system_tests::http;
use lectern_system_tests::meeting::{create_meeting, seq_of, upload_image, Member, NS};
use lectern_system_tests::muc::find_descendant;
use lectern_system_tests::recording;
use lectern_system_tests::recording::{check_ogg, download, member, share, SILENT_FRAME as FRAME};
use lectern_system_tests::{Server, TempDir};

fn audio(batch: u64) -> (u64, String) {
    let t = 1000 + batch * 60;
    let frames = [FRAME; 3].join(" ");
    (
        t,
        format!("<audio codec='opus' rate='48000' channels='1' ms='20'>{frames}</audio>"),
    )
}

#[tokio::test]
async fn the_recording_zip_holds_standard_ogg_opus_chapters_and_pages() {
    let server = Server::start();
    let (number, key) = create_meeting(&server);
    let (mut alice, _) = Member::join(&server, &number, "Alice", Some(&key)).await;
    alice.next_event().await;
    let doc = upload_image(&server);
    // The focus replaces the presenter's page list with its own manifest's.
    let share = share(&doc);
    alice.request(500, &share).await;
    alice.next_event().await;
    for batch in 0..50 {
        let (t, payload) = audio(batch);
        alice.request(t, &payload).await;
        alice.next_event().await;
    }
    alice.request(4000, "<page n='1'/>").await;
    alice.next_event().await;

    let bad = http::get(
        server.http_addr(),
        &format!("/api/meetings/{number}/recording.zip?key=k-wrong"),
    );
    assert_eq!(bad.status, 403, "{}", bad.text());

    let mut zip = download(&server, &number, &key);
    let timeline: serde_json::Value =
        serde_json::from_slice(&member(&mut zip, "timeline.json")).unwrap();
    assert_eq!(timeline["format"], "lectern-recording/1");
    assert_eq!(timeline["audio"]["packets"], 150);
    // Voice from 1 s to 4 s on the presenter clock: the file starts at presenter time 0 and
    // ends 6.5 ms (the Opus pre-skip, 312 samples) before the last packet's end.
    assert_eq!(timeline["audio"]["duration_ms"], 3993);
    let page = timeline["documents"][0]["pages"][0]["file"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !member(&mut zip, &page).is_empty(),
        "the page image is in the zip"
    );
    let vtt = String::from_utf8(member(&mut zip, "chapters.vtt")).unwrap();
    assert!(
        vtt.starts_with("WEBVTT\n") && vtt.contains("00:00:00.500 --> "),
        "{vtt}"
    );

    // Voice from 1 s to 4 s: ffmpeg's own Opus decoder gives 4 s of packets less the
    // 312-sample pre-skip.
    check_ogg(
        &member(&mut zip, "audio.ogg"),
        "0m:03.993s",
        4000 * 48 - 312,
    );
}

#[tokio::test]
async fn a_server_killed_mid_meeting_still_has_every_acknowledged_event() {
    let data = TempDir::new("recording-kill");
    let mut server = Server::builder().data_dir(data.path()).start();
    let (number, key) = create_meeting(&server);
    let (mut alice, _) = Member::join(&server, &number, "Alice", Some(&key)).await;
    let (mut bob, _) = Member::join(&server, &number, "Bob", None).await;
    alice.next_event().await;
    // Everything Bob receives was archived and synced before the focus sent it.
    let mut last_seen = 0;
    for batch in 0..20 {
        let (t, payload) = audio(batch);
        alice.request(t, &payload).await;
        if batch % 5 == 4 {
            alice.request(t + 1, "<pointer hide='true'/>").await;
        }
    }
    for _ in 0..24 {
        last_seen = seq_of(&bob.next_event().await);
    }
    server.kill();
    drop((alice, bob));

    let server = Server::builder().data_dir(data.path()).start();
    let mut zip = download(&server, &number, &key);
    let timeline: serde_json::Value =
        serde_json::from_slice(&member(&mut zip, "timeline.json")).unwrap();
    let events = timeline["events"].as_array().unwrap();
    let last = events.last().and_then(|e| e["seq"].as_u64()).unwrap();
    assert!(
        last >= last_seen,
        "every event an attendee saw is there ({last} vs {last_seen})"
    );
    assert_eq!(
        timeline["audio"]["packets"], 60,
        "every acknowledged voice batch survives"
    );
    let hides = events.iter().filter(|e| e["type"] == "pointer").count();
    assert_eq!(hides, 4);
    // The replay page reads the same recording, up to the same event, and its voice.
    let replay = http::get(
        server.http_addr(),
        &format!("/api/meetings/{number}/recording/timeline.json?key={key}"),
    );
    assert_eq!(replay.status, 200, "{}", replay.text());
    let replay: serde_json::Value = serde_json::from_slice(&replay.body).unwrap();
    assert_eq!(replay["events"], timeline["events"]);
    let ogg = http::get(
        server.http_addr(),
        &format!("/api/meetings/{number}/recording/audio.ogg?key={key}"),
    );
    assert_eq!(ogg.status, 200);
    assert_eq!(
        ogg.body,
        member(&mut zip, "audio.ogg"),
        "the zip's audio.ogg"
    );
    // The meeting goes on after the restart, continuing the sequence.
    let (mut alice, _) = Member::join(&server, &number, "Alice", Some(&key)).await;
    alice.request(9000, "<pointer hide='true'/>").await;
    let next = alice.next_event().await;
    assert!(find_descendant(&next, "event", NS).is_some());
    assert_eq!(seq_of(&next), last + 1);
}

fn http_json(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let r = http::request(
        server.http_addr(),
        method,
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    let value = serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
    (r.status, value)
}

#[tokio::test]
async fn the_owner_decides_who_sees_a_recording_and_can_delete_it() {
    let server = Server::start();
    let (number, key) = create_meeting(&server);
    let (mut alice, _) = Member::join(&server, &number, "Alice", Some(&key)).await;
    alice.next_event().await;
    for batch in 0..5 {
        let (t, payload) = audio(batch);
        alice.request(t, &payload).await;
        alice.next_event().await;
    }
    let zip_path = |cred: &str| format!("/api/meetings/{number}/recording.zip?{cred}");
    let status = |path: &str| http::get(server.http_addr(), path).status;

    // Only the owner, to begin with.
    assert_eq!(status(&zip_path("")), 403);
    let (code, mine) = http_json(
        &server,
        "GET",
        &format!("/api/meetings/{number}/recording?key={key}"),
        None,
    );
    assert_eq!(code, 200, "{mine}");
    assert_eq!(
        (mine["owner"].as_bool(), mine["access"].as_str()),
        (Some(true), Some("owner"))
    );
    assert_eq!(mine["duration_ms"], 1300);
    let link = mine["link"].as_str().unwrap().to_string();
    let token = link.rsplit("token=").next().unwrap().to_string();
    assert_eq!(
        status(&zip_path(&format!("token={token}"))),
        403,
        "not shared yet"
    );
    let (_, listed) = http_json(&server, "GET", "/api/recordings", None);
    assert_eq!(
        listed["recordings"].as_array().unwrap().len(),
        0,
        "private: not listed"
    );

    // Shared by link: the token opens it; a guest cannot change access.
    let access = format!("/api/meetings/{number}/recording/access?key={key}");
    let (code, _) = http_json(
        &server,
        "PUT",
        &access,
        Some(serde_json::json!({"access": "link"})),
    );
    assert_eq!(code, 200);
    assert_eq!(status(&zip_path(&format!("token={token}"))), 200);
    assert_eq!(status(&zip_path("token=r-guess")), 403);
    let (guest, _) = http_json(
        &server,
        "GET",
        &format!("/api/meetings/{number}/recording?token={token}"),
        None,
    );
    assert_eq!(guest, 200);
    let as_guest = format!("/api/meetings/{number}/recording/access?token={token}");
    let (code, _) = http_json(
        &server,
        "PUT",
        &as_guest,
        Some(serde_json::json!({"access": "public"})),
    );
    assert_eq!(code, 403, "only the owner changes access");

    // Public: listed for everyone and open without credentials.
    let (code, _) = http_json(
        &server,
        "PUT",
        &access,
        Some(serde_json::json!({"access": "public"})),
    );
    assert_eq!(code, 200);
    assert_eq!(status(&zip_path("")), 200);
    let (_, listed) = http_json(&server, "GET", "/api/recordings", None);
    let items = listed["recordings"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0]["number"].as_str(), items[0]["owner"].as_bool()),
        (Some(number.as_str()), Some(false))
    );
    assert!(
        items[0].get("link").is_none(),
        "the link is the owner's to give"
    );

    // Deleted: the archive is gone, the meeting goes on with the next seq.
    let r = recording::delete(&server, &number, &format!("token={token}"));
    assert_eq!(r.status, 403, "a guest cannot delete");
    let r = recording::delete(&server, &number, &format!("key={key}"));
    assert_eq!(r.status, 204, "{}", r.text());
    let (_, after) = http_json(
        &server,
        "GET",
        &format!("/api/meetings/{number}/recording?key={key}"),
        None,
    );
    assert_eq!(after["duration_ms"], 0, "{after}");
    let (_, listed) = http_json(&server, "GET", "/api/recordings", None);
    assert_eq!(
        listed["recordings"].as_array().unwrap().len(),
        0,
        "nothing left to list"
    );
    alice.request(5000, "<pointer hide='true'/>").await;
    assert_eq!(seq_of(&alice.next_event().await), 7);

    // A meeting created without recording never offers one.
    let (code, created) = http_json(
        &server,
        "POST",
        "/api/meetings",
        Some(serde_json::json!({"recording": false})),
    );
    assert_eq!(code, 201);
    let other = created["number"].as_str().unwrap();
    let other_key = created["host_key"].as_str().unwrap();
    let (code, refused) = http_json(
        &server,
        "GET",
        &format!("/api/meetings/{other}/recording.zip?key={other_key}"),
        None,
    );
    assert_eq!(
        (code, refused["error"].as_str()),
        (404, Some("not_recorded"))
    );
}

#[tokio::test]
async fn a_deleted_recording_stays_deleted_across_a_restart_and_the_sequence_goes_on() {
    let data = TempDir::new("recording-delete");
    let mut server = Server::builder().data_dir(data.path()).start();
    let (number, key) = create_meeting(&server);
    let (mut alice, _) = Member::join(&server, &number, "Alice", Some(&key)).await;
    alice.next_event().await;
    alice.request(10, "<pointer hide='true'/>").await;
    assert_eq!(seq_of(&alice.next_event().await), 2);
    let r = recording::delete(&server, &number, &format!("key={key}"));
    assert_eq!(r.status, 204);
    drop(alice);
    assert!(server.stop());
    let server = Server::builder().data_dir(data.path()).start();
    let (mut alice, _) = Member::join(&server, &number, "Alice", Some(&key)).await;
    // The focus rebuilt from the state the deletion kept (Alice presenting, seq 2): her next
    // event is seq 3, not seq 1.
    alice.request(20, "<pointer hide='true'/>").await;
    let next = alice.next_event().await;
    assert_eq!(seq_of(&next), 3, "{next}");
    let (_, after) = http_json(
        &server,
        "GET",
        &format!("/api/meetings/{number}/recording?key={key}"),
        None,
    );
    let events = after["chapters"].as_u64();
    assert_eq!(events, Some(0));
}
