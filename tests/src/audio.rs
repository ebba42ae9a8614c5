//! Sound for the shared-audio-file tests: a known recording made with Debian's tools (speech
//! from espeak-ng between tone markers, assembled by sox, converted by ffmpeg), and the
//! attendee's side: Opus decoding and finding the markers again.
//!
//! `tests/audio/setup.sh` installs the tools.

use std::f32::consts::TAU;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::server::workspace_root;

/// The master's rate and length: 4 markers of 0.3 s with 1 s of speech between them.
pub const MASTER_RATE: u32 = 44_100;
pub const MASTER_MS: u64 = 4 * MARKER_MS + 3 * SPEECH_MS;
pub const MARKER_MS: u64 = 300;
const SPEECH_MS: u64 = 1000;
/// Marker frequencies in the order they play: not sorted, so order is really checked, and
/// above the speech's strong harmonics.
pub const MARKERS: [f32; 4] = [2500.0, 1100.0, 3500.0, 1700.0];

/// Where marker `i` starts in the master.
pub fn marker_start_ms(i: usize) -> u64 {
    i as u64 * (MARKER_MS + SPEECH_MS)
}

/// The test recording in each format.
pub struct Fixtures {
    pub wav: PathBuf,
    pub flac: PathBuf,
    pub ogg: PathBuf,
    pub mp3: PathBuf,
    pub m4a: PathBuf,
}

/// Made once into the target directory (bump the version when the recipe changes) and
/// reused by later runs; a static is never dropped, so a temp dir would leak every run.
pub fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"));
        let dir = target.join("audio-fixtures-v1");
        if !dir.join("master.m4a").is_file() {
            // Made beside and renamed into place, so a concurrent run never sees half a set.
            let tmp = target.join(format!("audio-fixtures-v1.tmp-{}", std::process::id()));
            std::fs::create_dir_all(&tmp).expect("create the fixtures directory");
            make_fixtures(&tmp);
            if std::fs::rename(&tmp, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&tmp);
            }
        }
        Fixtures {
            wav: dir.join("master.wav"),
            flac: dir.join("master.flac"),
            ogg: dir.join("master.ogg"),
            mp3: dir.join("master.mp3"),
            m4a: dir.join("master.m4a"),
        }
    })
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is missing ({e}): run `bash tests/audio/setup.sh`"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_fixtures(dir: &Path) {
    let p = |name: &str| dir.join(name);
    let s = |path: &Path| path.to_str().expect("a UTF-8 temp path").to_string();
    run(
        "espeak-ng",
        &[
            "-w",
            &s(&p("speech.wav")),
            "Welcome to the review. This slide shows the results of the third quarter, \
             and the next one the plan for the year ahead.",
        ],
    );
    let seconds = |ms: u64| format!("{}", ms as f64 / 1000.0);
    let mut parts = Vec::new();
    for (i, f) in MARKERS.iter().enumerate() {
        let marker = s(&p(&format!("marker{i}.wav")));
        let rate = MASTER_RATE.to_string();
        let dur = seconds(MARKER_MS);
        let freq = f.to_string();
        run(
            "sox",
            &[
                "-n", "-r", &rate, "-c", "1", "-b", "16", &marker, "synth", &dur, "sine", &freq,
                "vol", "0.5",
            ],
        );
        parts.push(marker);
        if i + 1 < MARKERS.len() {
            // Exactly one second of speech (padded with silence if espeak is quick).
            let speech = s(&p(&format!("speech{i}.wav")));
            let start = seconds(i as u64 * SPEECH_MS);
            run(
                "sox",
                &[
                    &s(&p("speech.wav")),
                    "-r",
                    &rate,
                    "-c",
                    "1",
                    "-b",
                    "16",
                    &speech,
                    "trim",
                    &start,
                    &seconds(SPEECH_MS),
                    "norm",
                    "-18",
                    "pad",
                    "0",
                    &seconds(SPEECH_MS),
                    "trim",
                    "0",
                    &seconds(SPEECH_MS),
                ],
            );
            parts.push(speech);
        }
    }
    let mono = s(&p("mono.wav"));
    let mut args: Vec<&str> = parts.iter().map(String::as_str).collect();
    args.push(&mono);
    run("sox", &args);
    // Stereo, so the server's mix-down is exercised: the right channel is the left at half
    // level, which leaves every marker in the mix.
    let wav = p("master.wav");
    run("sox", &[&mono, &s(&wav), "remix", "1", "1v0.5"]);
    let convert = |ext: &str, codec: &[&str]| {
        let out = p(&format!("master.{ext}"));
        let mut args = vec!["-hide_banner", "-loglevel", "error", "-y", "-i"];
        let wav = s(&wav);
        args.push(&wav);
        args.extend_from_slice(codec);
        let o = s(&out);
        args.push(&o);
        run("ffmpeg", &args);
    };
    convert("flac", &["-c:a", "flac"]);
    convert("ogg", &["-c:a", "libvorbis", "-q:a", "4"]);
    convert("mp3", &["-c:a", "libmp3lame", "-b:a", "128k"]);
    convert("m4a", &["-c:a", "aac", "-b:a", "128k"]);
}

/// Decodes 48 kHz mono Opus packets the way an attendee does, one after another.
pub fn decode_opus(frames: &[Vec<u8>]) -> Vec<f32> {
    let mut d = opus::Decoder::new(48_000, opus::Channels::Mono).expect("an Opus decoder");
    let mut pcm = Vec::new();
    let mut buf = vec![0.0f32; 5760];
    for f in frames {
        let n = d
            .decode_float(f, &mut buf, false)
            .expect("the server's Opus decodes");
        pcm.extend_from_slice(&buf[..n]);
    }
    pcm
}

/// The amplitude of the `freq` component of `x` (a pure sine of peak `a` gives about `a`).
pub fn goertzel(rate: u32, x: &[f32], freq: f32) -> f32 {
    let w = TAU * freq / rate as f32;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &v in x {
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / x.len() as f32
}

/// A marker heard: which one (index into [`MARKERS`]) and from when, in ms of `pcm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heard {
    pub marker: usize,
    pub start_ms: u64,
}

/// Finds the markers in 48 kHz PCM: 10 ms windows where one marker frequency is loud and
/// dominates the others, kept when they last at least half a marker.
pub fn find_markers(pcm: &[f32]) -> Vec<Heard> {
    const WIN: usize = 480;
    let mut runs: Vec<(usize, usize, usize)> = Vec::new(); // (marker, first window, windows)
    for (w, x) in pcm.chunks_exact(WIN).enumerate() {
        let amps: Vec<f32> = MARKERS.iter().map(|&f| goertzel(48_000, x, f)).collect();
        let (best, &amp) = amps
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("markers");
        let others = amps
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != best)
            .map(|(_, a)| *a)
            .fold(0.0f32, f32::max);
        if amp < 0.1 || amp < 4.0 * others {
            continue;
        }
        match runs.last_mut() {
            Some((m, first, n)) if *m == best && *first + *n == w => *n += 1,
            _ => runs.push((best, w, 1)),
        }
    }
    runs.into_iter()
        .filter(|&(_, _, n)| n as u64 * 10 >= MARKER_MS / 2)
        .map(|(marker, first, _)| Heard {
            marker,
            start_ms: first as u64 * 10,
        })
        .collect()
}
