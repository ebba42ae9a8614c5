//! The MP4 and PDF exports from the real server: a presenter shares a three-page deck whose
//! pages are solid colours, turns pages at known times, draws a yellow stroke on page 2 and
//! points at it, and talks. The video is checked with ffprobe and by decoding frames with
//! ffmpeg; the PDF by rendering it with poppler's pdftoppm — programs nobody on this team wrote.

use std::process::Command;
use std::time::{Duration, Instant};

use lectern_system_tests::documents::{events, finish, json, upload};
use lectern_system_tests::http;
use lectern_system_tests::meeting::{create_meeting, Member};
use lectern_system_tests::{Server, TempDir};
use lopdf::{dictionary, Document, Object, Stream};

/// Page colours, the ink and the laser pointer, far apart in every channel pair.
const PAGES: [[u8; 3]; 3] = [[30, 60, 200], [40, 160, 60], [120, 120, 120]];
const INK: [u8; 3] = [0xff, 0xd6, 0x00];
const LASER: [u8; 3] = [0xff, 0x17, 0x44];
/// Presenter-clock times of the page turns (ms).
const TURN_TO_2: u64 = 2000;
const TURN_TO_3: u64 = 4000;
const END: u64 = 5000;

/// A 16:9 PDF whose pages are solid colours.
fn coloured_deck() -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let resources = doc.add_object(dictionary! {});
    let kids = PAGES
        .iter()
        .map(|[r, g, b]| {
            let [r, g, b] = [r, g, b].map(|c| f32::from(*c) / 255.0);
            let content = format!("{r} {g} {b} rg 0 0 800 450 re f");
            let content = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
            Object::Reference(doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content,
            }))
        })
        .collect();
    finish(
        &mut doc,
        pages_id,
        kids,
        resources,
        [0, 0, 800, 450],
        "Colours",
    );
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// Runs a third-party program; `make test` installs them, so a missing one fails.
fn run(name: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name}: {e} (make test installs ffmpeg and poppler-utils)"));
    assert!(
        out.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn pixel(img: &image::RgbImage, x: f32, y: f32) -> [u8; 3] {
    let (w, h) = img.dimensions();
    let px = img.get_pixel((x * w as f32) as u32, (y * h as f32) as u32);
    px.0
}

fn assert_near(what: &str, got: [u8; 3], want: [u8; 3]) {
    let off = got
        .iter()
        .zip(want)
        .map(|(g, w)| (i32::from(*g) - i32::from(w)).abs())
        .max()
        .unwrap();
    // H.264 on flat colour keeps within a few levels; 4:2:0 and rounding add a little.
    assert!(off <= 24, "{what}: got {got:?}, want {want:?}");
}

/// Plays the meeting: share at 500 ms, turn at 2 s, ink and pointer on page 2, turn at 4 s,
/// voice (Opus silence frames) from 0 to 5 s.
async fn present(server: &Server, number: &str, key: &str) {
    let r = upload(server, "colours.pdf", &coloured_deck());
    assert!(r.status == 200 || r.status == 201, "{}", r.text());
    let doc = json(&r)["id"].as_str().unwrap().to_string();
    // The event stream ends once every page is rendered.
    assert!(events(server, &doc).iter().any(|(e, _)| e == "done"));

    let (mut alice, _) = Member::join(server, number, "Alice", Some(key)).await;
    alice.next_event().await;
    let zeros = "0".repeat(64);
    let pages: String = (1..=3)
        .map(|n| format!("<p n='{n}' hash='{zeros}' w='1' h='1'/>"))
        .collect();
    let mut script: Vec<(u64, String)> = vec![
        (
            500,
            format!("<document id='{doc}' pages='3' base='/x/'>{pages}</document>"),
        ),
        (TURN_TO_2, "<page n='2'/>".into()),
        (2500, "<stroke-begin id='s1' page='2' tool='pen' color='#ffd600' width='0.03'>0.2,0.5 0.35,0.5</stroke-begin>".into()),
        (2600, "<stroke-extend id='s1'>0.5,0.5 0.8,0.5</stroke-extend>".into()),
        (2700, "<stroke-end id='s1'/>".into()),
        (2800, "<pointer page='2' x='0.85' y='0.2'/>".into()),
        (TURN_TO_3, "<page n='3'/>".into()),
    ];
    let frames = ["+P/+"; 3].join(" ");
    for t in (0..END).step_by(60) {
        let audio =
            format!("<audio codec='opus' rate='48000' channels='1' ms='20'>{frames}</audio>");
        script.push((t, audio));
    }
    script.sort_by_key(|(t, _)| *t);
    for (t, payload) in script {
        alice.request(t, &payload).await;
        alice.next_event().await;
    }
}

/// Polls the MP4 until the export is done; each answer until then is a 202 with progress.
fn fetch_mp4(server: &Server, number: &str, key: &str) -> Vec<u8> {
    let path = format!("/api/meetings/{number}/recording.mp4?key={key}");
    let started = http::request(server.http_addr(), "POST", &path, &[], b"");
    assert_eq!(started.status, 202, "{}", started.text());
    assert!(json(&started)["job"].as_u64().is_some());
    // A hang guard, not a speed requirement: a five-second meeting exports in seconds.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let r = http::get(server.http_addr(), &path);
        if r.status == 200 {
            assert_eq!(r.header("content-type"), Some("video/mp4"));
            return r.body;
        }
        assert_eq!(r.status, 202, "{}", r.text());
        let status = json(&r);
        let progress = status["progress"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&progress), "{status}");
        assert!(Instant::now() < deadline, "export never finished: {status}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The picture a player shows at `seconds`. The video has a frame per change of picture, each
/// lasting until the next, so the frame is taken from a constant-rate copy (`fps`), seeking on
/// the output side: input seeking would return the next frame at or after the time instead.
fn frame_at(video: &str, dir: &TempDir, seconds: f64) -> image::RgbImage {
    let png = dir.path().join(format!("frame-{seconds}.png"));
    let png = png.to_str().unwrap();
    let at = format!("{seconds}");
    let args = [
        "-v",
        "error",
        "-i",
        video,
        "-vf",
        "fps=25",
        "-ss",
        &at,
        "-frames:v",
        "1",
        "-y",
        png,
    ];
    run("ffmpeg", &args);
    image::open(png).unwrap().to_rgb8()
}

#[tokio::test]
async fn the_mp4_shows_each_page_with_its_ink_and_carries_the_voice() {
    let server = Server::start();
    let (number, key) = create_meeting(&server);
    present(&server, &number, &key).await;

    let bad = http::get(
        server.http_addr(),
        &format!("/api/meetings/{number}/recording.mp4?key=k-wrong"),
    );
    assert_eq!(bad.status, 403, "{}", bad.text());

    let dir = TempDir::new("recording-mp4");
    let video = dir.path().join("meeting.mp4");
    std::fs::write(&video, fetch_mp4(&server, &number, &key)).unwrap();
    let video = video.to_str().unwrap();

    let probe = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,codec_name,width,height,pix_fmt:format=duration",
            "-of",
            "json",
            video,
        ],
    );
    let info: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    let streams = info["streams"].as_array().unwrap();
    let video_stream = streams.iter().find(|s| s["codec_type"] == "video").unwrap();
    assert_eq!(video_stream["codec_name"], "h264", "{info}");
    assert_eq!(video_stream["pix_fmt"], "yuv420p", "{info}");
    assert_eq!(
        (
            video_stream["width"].as_u64(),
            video_stream["height"].as_u64()
        ),
        (Some(1280), Some(720))
    );
    let audio_stream = streams.iter().find(|s| s["codec_type"] == "audio");
    assert_eq!(
        audio_stream.map(|s| &s["codec_name"]),
        Some(&"aac".into()),
        "{info}"
    );
    let duration: f64 = info["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (duration - END as f64 / 1000.0).abs() < 0.1,
        "the video lasts as long as the meeting: {duration} s"
    );

    // Before the turn: page 1, no ink.
    let before = frame_at(video, &dir, 1.0);
    assert_near("page 1", pixel(&before, 0.5, 0.25), PAGES[0]);
    assert_near(
        "page 1 where ink comes later",
        pixel(&before, 0.5, 0.5),
        PAGES[0],
    );
    // After the turn to page 2, the stroke and the pointer.
    let after = frame_at(video, &dir, 3.5);
    assert_near("page 2", pixel(&after, 0.5, 0.25), PAGES[1]);
    assert_near("the stroke", pixel(&after, 0.5, 0.5), INK);
    assert_near("the stroke's end", pixel(&after, 0.78, 0.5), INK);
    assert_near("the pointer", pixel(&after, 0.85, 0.2), LASER);
    // Page 3 has no ink of its own.
    let last = frame_at(video, &dir, 4.5);
    assert_near("page 3", pixel(&last, 0.5, 0.5), PAGES[2]);
}

#[tokio::test]
async fn the_pdf_has_every_page_with_the_final_ink() {
    let server = Server::start();
    let (number, key) = create_meeting(&server);
    present(&server, &number, &key).await;

    let r = http::get(
        server.http_addr(),
        &format!("/api/meetings/{number}/recording.pdf?key={key}"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    let pdf = Document::load_mem(&r.body).expect("a PDF lopdf reads");
    assert_eq!(pdf.get_pages().len(), 3);

    let dir = TempDir::new("recording-pdf");
    let file = dir.path().join("meeting.pdf");
    std::fs::write(&file, &r.body).unwrap();
    let prefix = dir.path().join("page");
    let (file, prefix) = (file.to_str().unwrap(), prefix.to_str().unwrap());
    run("pdftoppm", &["-r", "40", "-png", file, prefix]);
    let page = |n: u32| image::open(format!("{prefix}-{n}.png")).unwrap().to_rgb8();
    let (one, two, three) = (page(1), page(2), page(3));
    assert_near("page 1", pixel(&one, 0.5, 0.5), PAGES[0]);
    assert_near("page 2", pixel(&two, 0.5, 0.25), PAGES[1]);
    assert_near("page 2's stroke", pixel(&two, 0.5, 0.5), INK);
    assert_near("page 3", pixel(&three, 0.5, 0.5), PAGES[2]);
}
