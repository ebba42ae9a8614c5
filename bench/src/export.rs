//! Export benchmark: how long the take-home zip and the MP4 of a long meeting take to make,
//! against the meeting's own length (real time). The meeting is synthetic but shaped like a
//! lecture: a 40-page deck turned every 30 s, two strokes drawn on every slide, a few seconds
//! of laser pointer per slide, and voice all the way through — real Opus packets (ffmpeg's
//! libopus at 32 kb/s, 20 ms frames, as browsers send) in 60 ms batches.
//!
//! The archive is built in memory and handed to the same functions the HTTP routes call
//! (`recording::archive::build`, `recording::mp4::export`); reading it from sled is not timed.
//! Writes its section of docs/BENCHMARKS.md (between the recording-export markers).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Parser;
use lectern::recording::archive::{self, About, PageFile};
use lectern::recording::description;
use lectern::recording::mp4::{self, Options};
use lectern::recording::offline;
use lectern::recording::timeline::{self, Timeline};

#[derive(Parser)]
struct Args {
    /// The meeting's length in minutes.
    #[arg(long, default_value_t = 60)]
    minutes: u64,
    /// The Markdown file whose recording-export section is (re)written; none: print it.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The command line to quote in the report.
    #[arg(long, default_value = "bash bench/export/run.sh")]
    command: String,
}

const PAGES: u32 = 40;
const DOC: &str = "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0";
const BEGIN: &str = "<!-- recording-export:begin -->";
const END: &str = "<!-- recording-export:end -->";

fn main() {
    let args = Args::parse();
    let work = std::env::temp_dir().join(format!("lectern-export-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("a work folder");
    let duration_ms = args.minutes * 60_000;

    let voice = opus_packets(&work);
    let pages: Vec<Vec<u8>> = (1..=PAGES).map(page_png).collect();
    let records = meeting(duration_ms, &voice);
    let page = |_: &str, n: u32| pages.get(n as usize - 1).cloned();

    let t = Instant::now();
    let timeline = Timeline::from_records(&records).expect("the synthetic archive reads");
    let read = t.elapsed().as_secs_f64();

    let about = About {
        meeting: "123456789",
        title: "Synthetic lecture",
        created: 0,
    };
    let t = Instant::now();
    // linking the offline player is part of every zip export, as on the server
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    let player = offline::player(&web).map_err(|e| e.to_string());
    let zip = archive::build(
        &about,
        &timeline,
        |id, n| {
            page(id, n).map(|bytes| PageFile {
                name: format!("{n}.png"),
                bytes,
                thumbnail: None,
                text: String::new(),
            })
        },
        &player,
    )
    .expect("the zip builds");
    let zip_s = t.elapsed().as_secs_f64();

    let out = work.join("meeting.mp4");
    let options = Options::for_duration(duration_ms);
    let t = Instant::now();
    let made = mp4::export(&timeline, about.title, page, &out, &work, &options, &|_| {})
        .expect("the MP4 exports");
    let mp4_s = t.elapsed().as_secs_f64();
    let mp4_bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);

    let real = duration_ms as f64 / 1000.0;
    let audio_batches = timeline.audio.len();
    let ffmpeg = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_default();
    let report = format!(
        "{BEGIN}\n## Recording export: a {minutes}-minute meeting\n\n\
         Command: `{command}` (release build; `bench/src/export.rs`). The synthetic meeting: \
         a {PAGES}-page 1600×900 deck turned every 30 s, two strokes on every slide (a point \
         every 40 ms), 3 s of laser pointer per slide, and voice throughout — {audio_batches} \
         batches of three 20 ms Opus packets from libopus at 32 kb/s, with a second speaker \
         talking over the presenter for 10 s every 5 minutes (mixed: {stretches} stretches). \
         The zip includes mixing those, decoding `audio.ogg` for the waveform and linking the \
         offline player. {events} archived events \
         in all. Timed: the functions the download routes call, from the archive in memory \
         (reading it from sled is not included). Anchor: the meeting's own length.\n\n\
         | step | time | × real time | output |\n| --- | ---: | ---: | --- |\n\
         | read the archive into a timeline | {read:.2} s | {rr:.4} | {n_events} events, {n_chapters} chapters |\n\
         | zip (`recording.zip`) | {zip_s:.2} s | {zr:.4} | {zip_mb:.1} MB |\n\
         | MP4 (`recording.mp4`, 1280×720 H.264 + AAC) | {mp4_s:.1} s | {mr:.4} | {mp4_mb:.1} MB, {frames} distinct frames |\n\n\
         × real time is export time ÷ meeting length: {ratio:.0}× faster than real time for \
         the MP4. Machine: {cores} cores shared with other work; {ffmpeg}.\n{END}\n",
        minutes = args.minutes,
        command = args.command,
        events = records.len(),
        stretches = description::audio(about.title, &timeline)
            .map(|a| a.mixed.stretches)
            .unwrap_or_default(),
        rr = read / real,
        n_events = timeline.events.len(),
        n_chapters = timeline.chapters.len(),
        zr = zip_s / real,
        zip_mb = zip.len() as f64 / 1e6,
        mr = mp4_s / real,
        mp4_mb = mp4_bytes as f64 / 1e6,
        frames = made.frames,
        ratio = real / mp4_s,
        cores = std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let _ = std::fs::remove_dir_all(&work);
    match args.out {
        Some(path) => write_section(&path, &report),
        None => print!("{report}"),
    }
}

/// Replaces the section between the markers, or appends it.
fn write_section(path: &Path, section: &str) {
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (doc.find(BEGIN), doc.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!(
                "{}{}{}",
                &doc[..b],
                section,
                doc[e + END.len()..].trim_start_matches('\n')
            )
        }
        _ => format!("{}\n{section}", doc.trim_end()),
    };
    std::fs::write(path, new).expect("the report is written");
    eprintln!("wrote the recording-export section of {}", path.display());
}

/// Ten seconds of real voice-like Opus from ffmpeg's libopus, split into packets.
fn opus_packets(work: &Path) -> Vec<Vec<u8>> {
    let ogg = work.join("voice.ogg");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i"])
        .arg("sine=frequency=180:duration=10,volume=0.5")
        .args(["-f", "lavfi", "-i", "anoisesrc=d=10:a=0.05"])
        .args([
            "-filter_complex",
            "amix=inputs=2",
            "-ac",
            "1",
            "-ar",
            "48000",
        ])
        .args(["-c:a", "libopus", "-b:a", "32k", "-frame_duration", "20"])
        .args(["-application", "voip", "-y"])
        .arg(&ogg)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made the voice sample");
    let bytes = std::fs::read(&ogg).expect("the voice sample");
    let mut reader = ogg::PacketReader::new(Cursor::new(bytes));
    let mut packets = Vec::new();
    while let Ok(Some(p)) = reader.read_packet() {
        // Skip OpusHead and OpusTags.
        if !p.data.starts_with(b"Opus") {
            packets.push(p.data);
        }
    }
    packets
}

/// A slide: a tinted background with bars standing in for text and a chart.
fn page_png(n: u32) -> Vec<u8> {
    let tint = [
        (n * 53 % 200) as u8,
        (n * 97 % 200) as u8,
        (n * 31 % 200) as u8,
    ];
    let img = image::RgbImage::from_fn(1600, 900, |x, y| {
        let text =
            (y / 40) % 2 == 0 && y > 160 && y < 600 && x > 120 && x < 120 + (y * 7 + n * 13) % 900;
        let bar = x > 1100 && x < 1500 && y > 900 - ((x / 60 * 37 + n) % 600);
        match (text, bar) {
            (true, _) => image::Rgb([30, 30, 30]),
            (_, true) => image::Rgb(tint),
            _ => image::Rgb([250, 250, 245]),
        }
    });
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("PNG encodes");
    png
}

/// The archive: (seq, event XML) in seq order.
fn meeting(duration_ms: u64, voice: &[Vec<u8>]) -> Vec<(u64, Vec<u8>)> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut events: Vec<(u64, String)> = vec![(0, "<presenter nick='Ann'/>".into())];
    let infos: String = (1..=PAGES)
        .map(|n| format!("<p n='{n}' hash='{}' w='1600' h='900'/>", "0".repeat(64)))
        .collect();
    events.push((
        100,
        format!(
            "<document id='{DOC}' pages='{PAGES}' base='/x/' title='Lecture'>{infos}</document>"
        ),
    ));
    let mut stroke = 0;
    for (slide, start) in (0..duration_ms).step_by(30_000).enumerate() {
        let page = slide as u32 % PAGES + 1;
        if slide > 0 {
            events.push((start, format!("<page n='{page}'/>")));
        }
        for k in 0..2u64 {
            stroke += 1;
            let t0 = start + 5_000 + k * 8_000;
            let y = 0.3 + 0.3 * k as f64;
            let point = |i: u64| {
                format!(
                    "{:.4},{:.4}",
                    0.1 + i as f64 * 0.012,
                    y + 0.02 * ((i as f64) / 3.0).sin()
                )
            };
            events.push((t0, format!("<stroke-begin id='s{stroke}' page='{page}' tool='pen' color='#e53935' width='0.004'>{}</stroke-begin>", point(0))));
            for i in 1..50 {
                events.push((
                    t0 + i * 40,
                    format!("<stroke-extend id='s{stroke}'>{}</stroke-extend>", point(i)),
                ));
            }
            events.push((t0 + 2_000, format!("<stroke-end id='s{stroke}'/>")));
        }
        for i in 0..30 {
            let x = 0.2 + i as f64 * 0.02;
            events.push((
                start + 20_000 + i * 100,
                format!("<pointer page='{page}' x='{x:.4}' y='0.7'/>"),
            ));
        }
        events.push((start + 23_000, "<pointer hide='true'/>".into()));
    }
    for (batch, t) in (0..duration_ms).step_by(60).enumerate() {
        let frames: Vec<String> = (0..3)
            .map(|i| b64.encode(&voice[(batch * 3 + i) % voice.len()]))
            .collect();
        let audio = format!(
            "<audio codec='opus' rate='48000' channels='1' ms='20' speaker='Ann'>{}</audio>",
            frames.join(" ")
        );
        events.push((t, audio));
        // An attendee given the floor talks over the presenter for 10 s every 5 minutes:
        // the zip and the MP4 mix those stretches.
        if t % 300_000 >= 290_000 {
            let frames: Vec<String> = (0..3)
                .map(|i| b64.encode(&voice[(batch * 3 + i + 7) % voice.len()]))
                .collect();
            let audio = format!(
                "<audio codec='opus' rate='48000' channels='1' ms='20' speaker='Bob'>{}</audio>",
                frames.join(" ")
            );
            events.push((t + 10, audio));
        }
    }
    events.sort_by_key(|(t, _)| *t);
    timeline::archived(events)
}
