//! The meeting benchmark's command line.

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser, Clone)]
#[command(about = "Meeting latency: presenter page turns and ink to N attendees via the focus")]
pub struct Cli {
    /// The lectern binary (release build).
    #[arg(long, default_value = "target/release/lectern")]
    pub lectern: PathBuf,
    /// Attendee counts, one fresh server each.
    #[arg(long, value_delimiter = ',', default_value = "200,1000")]
    pub n: Vec<usize>,
    /// Page turns sent (alternating pages 2 and 1).
    #[arg(long, default_value_t = 200)]
    pub turns: usize,
    /// Page turns per second.
    #[arg(long, default_value_t = 10.0)]
    pub turn_rate: f64,
    /// Stroke extends per second, for as long as the page turns last (strokes of 30 extends).
    #[arg(long, default_value_t = 30.0)]
    pub extend_rate: f64,
    /// Joins in flight at once.
    #[arg(long, default_value_t = 50)]
    pub concurrency: usize,
    /// Bound on all joins of one run (s).
    #[arg(long, default_value_t = 300)]
    pub join_limit: u64,
    /// Wait after the last send for stragglers (s); what has not arrived then is lost.
    #[arg(long, default_value_t = 10)]
    pub drain: u64,
    /// Latency above which a delivery counts as late (ms): the aim.
    #[arg(long, default_value_t = 100.0)]
    pub late_ms: f64,
    /// Markdown file whose marked section is written (created if missing).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Command line recorded in the report.
    #[arg(long, default_value = "bash bench/meeting.sh")]
    pub command: String,
    /// Commit recorded in the report.
    #[arg(long, default_value = "unknown")]
    pub commit: String,
    /// Browser attendees (Chromium via bench/browser/attendees.mjs) joining one run; 0 = none.
    #[arg(long, default_value_t = 0)]
    pub browsers: usize,
    /// The run (attendee count N) the browsers join; default: the first of `--n`.
    #[arg(long)]
    pub browsers_at: Option<usize>,
    /// The browser attendees' script.
    #[arg(long, default_value = "bench/browser/attendees.mjs")]
    pub browser_script: PathBuf,
    /// Node.js, to run the script.
    #[arg(long, default_value = "node")]
    pub node: String,
    /// Length of the audio phase (s); 0 = no audio phase.
    #[arg(long, default_value_t = 20.0)]
    pub audio_s: f64,
    /// Duration of one Opus frame (ms).
    #[arg(long, default_value_t = 20)]
    pub audio_ms: u64,
    /// Frames per audio batch (one message every audio_ms × audio_frames ms).
    #[arg(long, default_value_t = 3)]
    pub audio_frames: usize,
    /// Markdown file whose audio fan-out section is written; default: `--out`.
    #[arg(long)]
    pub audio_out: Option<PathBuf>,
}
