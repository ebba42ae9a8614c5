//! Recordings from the real server: the take-home zip is built from the archive, its
//! `audio.ogg` is standard Ogg Opus (checked with opus-tools and ffprobe, programs nobody on
//! this team wrote), and a server killed with SIGKILL mid-meeting still hands out everything it
//! had acknowledged.

use std::io::{Cursor, Read};
use std::process::Command;

use lectern_system_tests::http;
use lectern_system_tests::meeting::{create_meeting, seq_of, upload_image, Member, NS};
use lectern_system_tests::muc::find_descendant;
use lectern_system_tests::{Server, TempDir};

/// A 20 ms Opus frame that decodes to silence; the batches below are three of them.
const FRAME: &str = "+P/+";

fn audio(batch: u64) -> (u64, String) {
    let t = 1000 + batch * 60;
    let frames = [FRAME; 3].join(" ");
    (
        t,
        format!("<audio codec='opus' rate='48000' channels='1' ms='20'>{frames}</audio>"),
    )
}

fn download(server: &Server, number: &str, key: &str) -> zip::ZipArchive<Cursor<Vec<u8>>> {
    let path = format!("/api/meetings/{number}/recording.zip?key={key}");
    let r = http::get(server.http_addr(), &path);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/zip"));
    zip::ZipArchive::new(Cursor::new(r.body)).expect("a zip")
}

fn member(zip: &mut zip::ZipArchive<Cursor<Vec<u8>>>, name: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    zip.by_name(name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

/// Runs a third-party checker; without it (outside `make test`, which installs it) the check
/// is skipped with a note, but under CI its absence fails the test.
fn tool(name: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(name).args(args).output() {
        Ok(out) => Some(out),
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("note: {name} is not installed; skipping that check (make test installs it)");
            None
        }
        Err(e) => panic!("{name}: {e} (make test installs opus-tools and ffmpeg)"),
    }
}

#[tokio::test]
async fn the_recording_zip_holds_standard_ogg_opus_chapters_and_pages() {
    let server = Server::start();
    let (number, key) = create_meeting(&server);
    let (mut alice, _) = Member::join(&server, &number, "Alice", Some(&key)).await;
    alice.next_event().await;
    let doc = upload_image(&server);
    // The focus replaces the presenter's page list with its own manifest's.
    let zeros = "0".repeat(64);
    let share = format!(
        "<document id='{doc}' pages='1' base='/x/'><p n='1' hash='{zeros}' w='1' h='1'/></document>"
    );
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

    let dir = TempDir::new("recording");
    let ogg = dir.path().join("audio.ogg");
    std::fs::write(&ogg, member(&mut zip, "audio.ogg")).unwrap();
    let ogg = ogg.to_str().unwrap();
    if let Some(out) = tool("opusinfo", &[ogg]) {
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "opusinfo: {text}");
        assert!(
            !text.contains("WARNING") && !text.contains("ERROR"),
            "opusinfo: {text}"
        );
        assert!(
            text.contains("Playback length: 0m:03.993s"),
            "opusinfo: {text}"
        );
    }
    let probe = [
        "-v",
        "error",
        "-show_entries",
        "stream=codec_name,channels",
        "-of",
        "default=nw=1",
        ogg,
    ];
    if let Some(out) = tool("ffprobe", &probe) {
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "ffprobe: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("codec_name=opus") && text.contains("channels=1"),
            "{text}"
        );
    }
    // Decoded by ffmpeg's own Opus decoder: 4 s of packets less the 312-sample pre-skip.
    let decode = [
        "-v", "error", "-i", ogg, "-f", "s16le", "-ac", "1", "-ar", "48000", "-",
    ];
    if let Some(out) = tool("ffmpeg", &decode) {
        assert!(
            out.status.success(),
            "ffmpeg: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout.len() / 2, 4000 * 48 - 312, "decoded samples");
    }
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
    // The meeting goes on after the restart, continuing the sequence.
    let (mut alice, _) = Member::join(&server, &number, "Alice", Some(&key)).await;
    alice.request(9000, "<pointer hide='true'/>").await;
    let next = alice.next_event().await;
    assert!(find_descendant(&next, "event", NS).is_some());
    assert_eq!(seq_of(&next), last + 1);
}
