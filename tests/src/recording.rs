//! What the recording tests share: the download, its members, a ready document, voice made
//! of silent Opus frames, and the third-party checkers (opus-tools, ffmpeg) they run.

use std::io::{Cursor, Read};
use std::process::{Command, Output};
use std::time::Duration;

use crate::documents::{bytes, deck, get_json, json, upload};
use crate::http;
use crate::Server;

/// A 20 ms Opus frame that decodes to silence.
pub const SILENT_FRAME: &str = "+P/+";

/// A voice batch of three silent frames (60 ms).
pub fn silent_batch() -> String {
    let frames = [SILENT_FRAME; 3].join(" ");
    format!("<audio codec='opus' rate='48000' channels='1' ms='20'>{frames}</audio>")
}

pub type Zip = zip::ZipArchive<Cursor<Vec<u8>>>;

/// `GET …/recording.zip?key=…`, which must answer a zip.
pub fn download(server: &Server, number: &str, key: &str) -> Zip {
    let path = format!("/api/meetings/{number}/recording.zip?key={key}");
    let r = http::get(server.http_addr(), &path);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/zip"));
    zip::ZipArchive::new(Cursor::new(r.body)).expect("a zip")
}

/// One member of the zip, which must be there.
pub fn member(zip: &mut Zip, name: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    zip.by_name(name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

/// `timeline.json`'s chapters as `(t, page)`.
pub fn chapters(timeline: &serde_json::Value) -> Vec<(u64, u64)> {
    timeline["chapters"]
        .as_array()
        .expect("chapters")
        .iter()
        .map(|c| (c["t"].as_u64().unwrap(), c["page"].as_u64().unwrap()))
        .collect()
}

/// `DELETE …/recording?ACCESS` (`key=…` or `token=…`).
pub fn delete(server: &Server, number: &str, access: &str) -> http::Response {
    http::request(
        server.http_addr(),
        "DELETE",
        &format!("/api/meetings/{number}/recording?{access}"),
        &[],
        b"",
    )
}

/// The zip's `timeline.json`.
pub fn timeline(zip: &mut Zip) -> serde_json::Value {
    serde_json::from_slice(&member(zip, "timeline.json")).expect("timeline.json is JSON")
}

/// A PDF deck of `pages` pages (text `marker-N` on page N), converted and ready.
pub fn ready_deck(server: &Server, pages: usize) -> String {
    let r = upload(server, "deck.pdf", &bytes(deck(pages, "Deck")));
    assert!(r.status == 200 || r.status == 201, "upload: {}", r.text());
    let id = json(&r)["id"].as_str().unwrap().to_string();
    for _ in 0..600 {
        let status =
            get_json(server.http_addr(), &format!("/api/documents/{id}"))["status"].clone();
        if status == "ready" {
            return id;
        }
        assert_ne!(status, "failed", "conversion failed");
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("document {id} never became ready");
}

/// Runs a third-party checker; without it (outside `make test`, which installs it) the check
/// is skipped with a note, but under CI its absence fails the test.
pub fn tool(name: &str, args: &[&str]) -> Option<Output> {
    match Command::new(name).args(args).output() {
        Ok(out) => Some(out),
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("note: {name} is not installed; skipping that check (make test installs it)");
            None
        }
        Err(e) => panic!("{name}: {e} (make test installs opus-tools and ffmpeg)"),
    }
}

/// Checks an `audio.ogg` with programs nobody on this team wrote: `opusinfo` accepts it
/// without a warning and reports `length` (e.g. `0m:03.993s`), ffprobe sees mono Opus, and
/// ffmpeg's own decoder gives exactly `samples` samples at 48 kHz.
pub fn check_ogg(ogg: &[u8], length: &str, samples: usize) {
    let dir = crate::TempDir::new("recording-ogg");
    let path = dir.path().join("audio.ogg");
    std::fs::write(&path, ogg).unwrap();
    let path = path.to_str().unwrap();
    if let Some(out) = tool("opusinfo", &[path]) {
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "opusinfo: {text}");
        assert!(
            !text.contains("WARNING") && !text.contains("ERROR"),
            "opusinfo: {text}"
        );
        assert!(
            text.contains(&format!("Playback length: {length}")),
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
        path,
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
    let decode = [
        "-v", "error", "-i", path, "-f", "s16le", "-ac", "1", "-ar", "48000", "-",
    ];
    if let Some(out) = tool("ffmpeg", &decode) {
        assert!(
            out.status.success(),
            "ffmpeg: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout.len() / 2, samples, "decoded samples");
    }
}

/// The presenter's share of `doc`: the focus replaces the page list with its own manifest's,
/// so one placeholder page will do.
pub fn share(doc: &str) -> String {
    let zeros = "0".repeat(64);
    format!("<document id='{doc}' pages='1' base='/x/'><p n='1' hash='{zeros}' w='1' h='1'/></document>")
}
