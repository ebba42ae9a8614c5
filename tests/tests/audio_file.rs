//! Shared audio files through the real server: the presenter posts a recording (speech between
//! four tone markers) in each of the five formats, an attendee in the room collects the
//! `<audio source='file'>` events the focus emits, decodes their Opus like a browser would, and
//! hears the whole file with its markers in order and in place, on a presenter clock that
//! advances 20 ms per frame. Broken, hostile and unauthorised uploads get clear errors and
//! leave the meeting working.
//!
//! Needs espeak-ng, sox and ffmpeg: `bash tests/audio/setup.sh`.

use std::path::Path;
use std::time::Instant;

use base64::Engine;
use lectern_system_tests::audio::{
    decode_opus, find_markers, fixtures, marker_start_ms, Heard, MARKERS, MASTER_MS,
};
use lectern_system_tests::documents::assert_error;
use lectern_system_tests::http::{self, Response};
use lectern_system_tests::meeting::{create_meeting, json, post_json, Member, NS};
use lectern_system_tests::muc::find_descendant;
use lectern_system_tests::{xml, Server};

/// Codec priming and padding a decoder may not trim (AAC in MP4: 1024 samples and up to one
/// more frame), plus Opus's look-ahead and last partial frame.
const LENGTH_SLACK_MS: u64 = 100;
/// Where a marker may be heard relative to the master: the same slack, plus the detector's
/// 10 ms windows.
const PLACE_SLACK_MS: u64 = 70;

fn post_audio(server: &Server, number: &str, query: &str, body: &[u8]) -> Response {
    http::request(
        server.http_addr(),
        "POST",
        &format!("/api/meetings/{number}/audio?{query}"),
        &[("Content-Type", "application/octet-stream")],
        body,
    )
}

/// One `<audio>` batch as the attendee got it.
struct Batch {
    t: u64,
    frames: Vec<Vec<u8>>,
}

/// The next audio event from the focus, skipping any other event.
async fn next_batch(member: &mut Member) -> Batch {
    loop {
        let message = member.next_event().await;
        let event = find_descendant(&message, "event", NS).expect("an event");
        let Some(audio) = xml::child(event, "audio") else {
            continue;
        };
        for (name, value) in [
            ("codec", "opus"),
            ("rate", "48000"),
            ("channels", "1"),
            ("ms", "20"),
            ("source", "file"),
        ] {
            assert_eq!(xml::attr(audio, name).as_deref(), Some(value), "{audio}");
        }
        let t = xml::attr(event, "t").expect("t").parse().unwrap();
        let frames = xml::text(audio)
            .split_ascii_whitespace()
            .map(|w| base64::engine::general_purpose::STANDARD.decode(w).unwrap())
            .collect();
        return Batch { t, frames };
    }
}

async fn plays_and_the_attendee_hears_it(path: &Path) {
    let server = Server::start();
    let (number, key) = create_meeting(&server);
    let (mut bob, _) = Member::join(&server, &number, "Bob", None).await;
    let bytes = std::fs::read(path).unwrap();

    let t0 = 7_000;
    let sent = Instant::now();
    let r = post_audio(&server, &number, &format!("key={key}&t={t0}"), &bytes);
    let round_trip = sent.elapsed().as_millis() as u64;
    assert_eq!(r.status, 202, "{}", r.text());
    let answer = json(&r);
    // The file starts when the server has it ready: after `t0` by the time it spent, which
    // lies within the request's round trip (decoding and encoding seconds of audio take more
    // than a millisecond).
    let start = answer["t"].as_u64().unwrap();
    assert!(
        start > t0 && start - t0 <= round_trip,
        "starts at {start} for t={t0}, the request took {round_trip} ms"
    );
    let duration_ms = answer["duration_ms"].as_u64().unwrap();
    assert!(
        duration_ms.abs_diff(MASTER_MS) <= LENGTH_SLACK_MS,
        "{} ms for a {MASTER_MS} ms file",
        duration_ms
    );
    let batches = answer["batches"].as_u64().unwrap() as usize;

    let mut frames = Vec::new();
    let mut expected_t = start;
    for i in 0..batches {
        let batch = next_batch(&mut bob).await;
        assert_eq!(batch.t, expected_t, "batch {i}: t advances 20 ms per frame");
        let n = batch.frames.len();
        assert!(n == 3 || (i + 1 == batches && (1..=3).contains(&n)), "{n}");
        expected_t += 20 * n as u64;
        frames.extend(batch.frames);
    }
    assert_eq!(frames.len() as u64, answer["frames"].as_u64().unwrap());

    let pcm = decode_opus(&frames);
    let heard_ms = pcm.len() as u64 / 48;
    assert!(
        heard_ms.abs_diff(MASTER_MS) <= LENGTH_SLACK_MS,
        "heard {heard_ms} ms of a {MASTER_MS} ms file"
    );
    let heard = find_markers(&pcm);
    let order: Vec<usize> = heard.iter().map(|h| h.marker).collect();
    assert_eq!(
        order,
        [0, 1, 2, 3],
        "markers {MARKERS:?} in order: {heard:?}"
    );
    for Heard { marker, start_ms } in heard {
        let expected = marker_start_ms(marker);
        assert!(
            start_ms.abs_diff(expected) <= PLACE_SLACK_MS,
            "marker {marker} at {start_ms} ms, expected {expected} ms"
        );
    }
}

#[tokio::test]
async fn wav_plays_into_the_meeting() {
    plays_and_the_attendee_hears_it(&fixtures().wav).await;
}

#[tokio::test]
async fn flac_plays_into_the_meeting() {
    plays_and_the_attendee_hears_it(&fixtures().flac).await;
}

#[tokio::test]
async fn ogg_vorbis_plays_into_the_meeting() {
    plays_and_the_attendee_hears_it(&fixtures().ogg).await;
}

#[tokio::test]
async fn mp3_plays_into_the_meeting() {
    plays_and_the_attendee_hears_it(&fixtures().mp3).await;
}

#[tokio::test]
async fn m4a_aac_plays_into_the_meeting() {
    plays_and_the_attendee_hears_it(&fixtures().m4a).await;
}

#[tokio::test]
async fn broken_hostile_and_unauthorised_files_are_refused_and_the_meeting_goes_on() {
    let server = Server::start();
    let (number, key) = create_meeting(&server);
    let (mut bob, _) = Member::join(&server, &number, "Bob", None).await;
    let wav = std::fs::read(&fixtures().wav).unwrap();
    let m4a = std::fs::read(&fixtures().m4a).unwrap();
    let play = |query: &str, body: &[u8]| post_audio(&server, &number, query, body);
    let with_key = format!("key={key}&t=0");

    let r = play("key=k-wrong&t=0", &wav);
    assert_error(&r, 403, "bad_host_key");
    let r = play("t=0", &wav);
    assert_error(&r, 403, "bad_host_key");
    let r = post_audio(&server, "123456789", &with_key, &wav);
    assert_error(&r, 404, "unknown_meeting");
    let r = play(&format!("key={key}"), &wav);
    assert_error(&r, 400, "bad_request");

    // Not audio at all: a PDF, random bytes, an empty body. The refusal names the formats.
    let mut noise = vec![0u8; 64 * 1024];
    let mut x = 0x2545_f491_u32;
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    for body in [&b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"[..], &noise, b""] {
        let r = play(&with_key, body);
        assert_error(&r, 415, "unsupported_audio");
        assert!(
            r.text()
                .contains("WAV, FLAC, Ogg Vorbis, Ogg Opus, MP3 or M4A/AAC"),
            "{}",
            r.text()
        );
    }
    // Cut short: a WAV header cut mid-way, an M4A without its index (ffmpeg writes the
    // `moov` atom last), a WAV whose header promises samples that never come.
    let r = play(&with_key, &wav[..30]);
    assert_error(&r, 415, "unsupported_audio");
    let r = play(&with_key, &m4a[..m4a.len() / 2]);
    match r.status {
        415 => assert_error(&r, 415, "unsupported_audio"),
        _ => assert_error(&r, 400, "damaged_audio"),
    }
    let r = play(&with_key, &wav[..44]);
    assert_error(&r, 400, "damaged_audio");

    // The refusals put nothing into the room, and a good file plays afterwards: the first
    // audio the attendee hears is its first batch.
    let r = play(&format!("key={key}&t=90000"), &wav);
    assert_eq!(r.status, 202, "{}", r.text());
    let batches = json(&r)["batches"].as_u64().unwrap();
    assert_eq!(Some(next_batch(&mut bob).await.t), json(&r)["t"].as_u64());

    // Stopping: only the presenter may, and the file is cut short (the next file's first
    // batch comes before the rest of this one).
    let stop = |query: &str| {
        http::request(
            server.http_addr(),
            "DELETE",
            &format!("/api/meetings/{number}/audio?{query}"),
            &[],
            b"",
        )
    };
    assert_error(&stop("key=k-wrong"), 403, "bad_host_key");
    let r = stop(&format!("key={key}"));
    assert_eq!((r.status, json(&r)["stopped"].as_bool()), (200, Some(true)));
    let r = stop(&format!("key={key}"));
    assert_eq!(json(&r)["stopped"].as_bool(), Some(false), "nothing left");
    let r = play(&format!("key={key}&t=200000"), &wav);
    assert_eq!(r.status, 202, "{}", r.text());
    let next_start = json(&r)["t"].as_u64().unwrap();
    let mut heard = 1;
    while next_batch(&mut bob).await.t < next_start {
        heard += 1;
    }
    assert!(
        heard < batches,
        "all {batches} batches played despite the stop"
    );

    // A meeting created without audio refuses files before reading them.
    let r = post_json(
        server.http_addr(),
        "/api/meetings",
        serde_json::json!({"title": "Silent", "audio": false}),
    );
    let silent = json(&r);
    let r = post_audio(
        &server,
        silent["number"].as_str().unwrap(),
        &format!("key={}&t=0", silent["host_key"].as_str().unwrap()),
        &wav,
    );
    assert_error(&r, 409, "audio_off");
}
