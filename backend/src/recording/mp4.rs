//! The MP4 video: slides with ink and pointer, and the voice, rendered from the archive.
//!
//! Frames are drawn only when the picture changes ([`frames::scenes`]) and handed to Debian's
//! ffmpeg as a variable-frame-rate stream — uncompressed I420 in a minimal Matroska written
//! here, because Matroska carries a timestamp per frame and ffmpeg reads it from a pipe — so a
//! slide shown for a minute is one frame, not 1500. ffmpeg encodes H.264 (libx264, yuv420p,
//! BT.709) and AAC from the zip's Ogg Opus, and moves the index to the front (`+faststart`).

use std::io::{self, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::description;
use super::frames::{self, Composer};
use super::timeline::Timeline;
use super::RecordingError;

/// How the video is made.
#[derive(Debug, Clone)]
pub struct Options {
    /// Frame size in pixels (even numbers: 4:2:0 chroma).
    pub width: u32,
    pub height: u32,
    /// At most one picture change per this many ms (ink animates at up to 1000/slot fps).
    pub slot_ms: u64,
    /// The whole export is abandoned (ffmpeg killed) after this long.
    pub timeout: Duration,
    /// The ffmpeg program.
    pub ffmpeg: String,
}

impl Options {
    /// 1280×720 at up to 10 picture changes a second, with two minutes plus the meeting's own
    /// length to finish: an export slower than real time is a fault, not a long meeting.
    pub fn for_duration(duration_ms: u64) -> Self {
        Options {
            width: 1280,
            height: 720,
            slot_ms: 100,
            timeout: Duration::from_secs(120) + Duration::from_millis(duration_ms),
            ffmpeg: "ffmpeg".into(),
        }
    }
}

/// What went into the video.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Made {
    /// Distinct pictures encoded.
    pub frames: usize,
    pub duration_ms: u64,
}

/// Renders the timeline to `out` (an `.mp4`), using `work` (an existing directory) for the
/// audio and ffmpeg's log. `progress` gets 0..1 as frames are encoded.
pub fn export(
    timeline: &Timeline,
    title: &str,
    load_page: impl FnMut(&str, u32) -> Option<Vec<u8>> + Send,
    out: &Path,
    work: &Path,
    options: &Options,
    progress: &(dyn Fn(f32) + Sync),
) -> Result<Made, RecordingError> {
    let started = Instant::now();
    let audio_path = work.join("audio.ogg");
    // The zip's own audio.ogg (speakers mixed), so both downloads sound the same.
    let audio = description::audio(title, timeline)?;
    std::fs::write(&audio_path, &audio.ogg)?;
    let audio = audio.written;
    let duration_ms = timeline.end_ms.max(audio.duration_ms()).max(1);
    let scenes = frames::scenes(timeline, options.slot_ms);

    let log_path = work.join("ffmpeg.log");
    let mut child = Command::new(&options.ffmpeg)
        .args(ffmpeg_args(&audio_path, out, title))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path)?)
        .spawn()
        .map_err(|e| RecordingError::Ffmpeg(format!("cannot start {}: {e}", options.ffmpeg)))?;
    let stdin = child.stdin.take().expect("piped stdin");
    let composer = Composer::new(options.width, options.height, load_page);
    let size = (options.width, options.height);
    let slot = options.slot_ms.max(1);
    let (fed, status) = std::thread::scope(|scope| {
        // The feed may block on a full pipe; killing ffmpeg on time-out is what unblocks it.
        let feeder = scope.spawn(|| {
            feed(stdin, &scenes, duration_ms, composer, (size, slot), |t| {
                progress(0.99 * t as f32 / duration_ms as f32);
                started.elapsed() < options.timeout
            })
        });
        let status = wait(&mut child, started + options.timeout);
        let fed = feeder.join().unwrap_or(Err(Stop::TimedOut));
        (fed, status)
    });
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    match (fed, status?) {
        (_, None) | (Err(Stop::TimedOut), _) => Err(RecordingError::TimedOut(options.timeout)),
        (_, Some(s)) if !s.success() => Err(RecordingError::Ffmpeg(format!("{s}: {}", log()))),
        (Err(Stop::Io(e)), _) => Err(RecordingError::Ffmpeg(format!("{e}: {}", log()))),
        (Ok(frames), Some(_)) => {
            progress(1.0);
            Ok(Made {
                frames,
                duration_ms,
            })
        }
    }
}

/// Waits for ffmpeg until `deadline`, then kills it (`None`).
fn wait(
    child: &mut std::process::Child,
    deadline: Instant,
) -> io::Result<Option<std::process::ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ffmpeg_args(audio: &Path, out: &Path, title: &str) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = [
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-f",
        "matroska",
        "-i",
        "pipe:0",
        "-i",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.push(audio.into());
    let rest = [
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "stillimage",
        "-crf",
        "23",
        "-pix_fmt",
        "yuv420p",
        // Frames are sparse; a keyframe every 30 keeps seeking cheap.
        "-g",
        "30",
        "-colorspace",
        "bt709",
        "-color_primaries",
        "bt709",
        "-color_trc",
        "bt709",
        "-color_range",
        "tv",
        "-fps_mode",
        "vfr",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-movflags",
        "+faststart",
        "-metadata",
    ];
    args.extend(rest.iter().map(Into::into));
    args.push(format!("title={title}").into());
    args.push("-y".into());
    args.push(out.into());
    args
}

enum Stop {
    TimedOut,
    Io(io::Error),
}

/// Writes every scene as one frame at its time, and the last again one slot before the end: a
/// frame lasts until the next, and the last one a slot (the track's default duration), so the
/// video lasts exactly as long as the meeting. `go(t)` reports progress and says whether to go on.
fn feed<F: FnMut(&str, u32) -> Option<Vec<u8>>>(
    stdin: impl Write,
    scenes: &[(u64, frames::Scene)],
    duration_ms: u64,
    mut composer: Composer<F>,
    ((width, height), slot_ms): ((u32, u32), u64),
    mut go: impl FnMut(u64) -> bool,
) -> Result<usize, Stop> {
    let out = io::BufWriter::new(stdin);
    let mut mkv = Matroska::start(out, width, height, slot_ms).map_err(Stop::Io)?;
    let mut last = (0, Vec::new());
    let mut count = 0;
    for (t, scene) in scenes.iter().filter(|(t, _)| *t < duration_ms) {
        if !go(*t) {
            return Err(Stop::TimedOut);
        }
        last = (*t, frames::yuv420(&composer.compose(scene)));
        mkv.frame(*t, &last.1).map_err(Stop::Io)?;
        count += 1;
    }
    let end = duration_ms.saturating_sub(slot_ms).max(last.0 + 1);
    mkv.frame(end, &last.1).map_err(Stop::Io)?;
    mkv.finish().map_err(Stop::Io)?;
    Ok(count)
}

/// Just enough Matroska for ffmpeg to read raw frames with timestamps from a pipe: an EBML
/// header, a Segment of unknown size (streaming), one uncompressed I420 video track with a
/// millisecond timebase, and a Cluster per frame. The track's default frame duration (one
/// slot) is what ffmpeg gives the last frame.
struct Matroska<W: Write> {
    out: W,
}

impl<W: Write> Matroska<W> {
    fn start(mut out: W, width: u32, height: u32, slot_ms: u64) -> io::Result<Self> {
        let header = [
            element(0x4286, &uint(1)),
            element(0x42F7, &uint(1)),
            element(0x42F2, &uint(4)),
            element(0x42F3, &uint(8)),
            element(0x4282, b"matroska"),
            element(0x4287, &uint(4)),
            element(0x4285, &uint(2)),
        ]
        .concat();
        out.write_all(&element(0x1A45_DFA3, &header))?;
        // Segment, size unknown: the stream ends when the pipe does.
        out.write_all(&[
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ])?;
        let info = [
            element(0x2A_D7B1, &uint(1_000_000)),
            element(0x4D80, b"lectern"),
            element(0x5741, b"lectern"),
        ]
        .concat();
        out.write_all(&element(0x1549_A966, &info))?;
        let video = [
            element(0xB0, &uint(u64::from(width))),
            element(0xBA, &uint(u64::from(height))),
            element(0x2E_B524, b"I420"),
        ]
        .concat();
        let track = [
            element(0x23_E383, &uint(slot_ms * 1_000_000)),
            element(0xD7, &uint(1)),
            element(0x73C5, &uint(1)),
            element(0x83, &uint(1)),
            element(0x86, b"V_UNCOMPRESSED"),
            element(0xE0, &video),
        ]
        .concat();
        out.write_all(&element(0x1654_AE6B, &element(0xAE, &track)))?;
        Ok(Matroska { out })
    }

    fn frame(&mut self, t_ms: u64, yuv: &[u8]) -> io::Result<()> {
        let timestamp = element(0xE7, &uint(t_ms));
        // SimpleBlock: track 1, timestamp +0 relative to the cluster, keyframe.
        let block_header = [0x81, 0x00, 0x00, 0x80];
        let block_len = (block_header.len() + yuv.len()) as u64;
        let cluster_len = timestamp.len() as u64 + 1 + 8 + block_len;
        self.out.write_all(&id_bytes(0x1F43_B675))?;
        self.out.write_all(&size(cluster_len))?;
        self.out.write_all(&timestamp)?;
        self.out.write_all(&[0xA3])?;
        self.out.write_all(&size(block_len))?;
        self.out.write_all(&block_header)?;
        self.out.write_all(yuv)
    }

    fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn id_bytes(id: u32) -> Vec<u8> {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    bytes[skip..].to_vec()
}

/// An element size as an 8-byte EBML varint (always allowed; simpler than the shortest form).
fn size(n: u64) -> [u8; 8] {
    let mut b = n.to_be_bytes();
    b[0] = 0x01;
    b
}

fn uint(n: u64) -> Vec<u8> {
    n.to_be_bytes().to_vec()
}

fn element(id: u32, body: &[u8]) -> Vec<u8> {
    [
        id_bytes(id),
        size(body.len() as u64).to_vec(),
        body.to_vec(),
    ]
    .concat()
}
