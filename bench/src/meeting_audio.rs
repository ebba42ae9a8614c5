//! The audio phase of the meeting benchmark: after the page turns and strokes, the presenter
//! sends voice as the web client does — `<audio codec='opus' rate='48000' channels='1' ms='20'>`
//! batches of 3 frames every 60 ms — and every headless attendee records when each batch
//! arrives. The focus does not decode Opus, so the frames are random bytes of realistic sizes
//! (40–80 bytes, what 20 ms of speech at ~24–32 kb/s takes).

use std::time::{Duration, Instant};

use crate::meeting_net::{Clock, Member, Res, AUDIO_T0};
use crate::meeting_stats::{kind_stats, KindStats};
use crate::{procfs, Cli};

/// What the audio phase measured at one N.
#[derive(Default, Clone)]
pub struct AudioResult {
    pub attendees: usize,
    pub batches: usize,
    pub send_s: f64,
    pub send_lag_max_ms: f64,
    /// Mean size of one batch's payload element (bytes), frames base64-encoded.
    pub payload_bytes: f64,
    pub stats: KindStats,
    /// Runs of consecutive missing batches, summed over attendees (each is one concealment).
    pub gap_runs: u64,
    pub attendees_with_loss: usize,
    pub deliveries_per_s: f64,
    pub cpu_server_pct: f64,
    pub cpu_gen_pct: f64,
    pub cpu_other_pct: f64,
    /// Server CPU per delivered batch (µs).
    pub cpu_per_delivery_us: f64,
    pub loadavg: String,
    pub rss_before_mib: f64,
    pub rss_end_mib: f64,
    pub hwm_mib: f64,
    pub presenter_errors: usize,
    pub first_presenter_error: Option<String>,
    pub error: Option<String>,
}

/// Batches sent in the phase.
pub fn batches(cli: &Cli) -> usize {
    if cli.audio_ms == 0 || cli.audio_frames == 0 {
        return 0;
    }
    (cli.audio_s * 1000.0 / (cli.audio_ms * cli.audio_frames as u64) as f64).round() as usize
}

/// Batch `k`'s payload: `frames` frames of 40..=80 pseudo-random bytes (deterministic).
pub fn payload(k: usize, frames: usize, frame_ms: u64) -> String {
    let mut x = (k as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut next = || {
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut text = Vec::with_capacity(frames);
    for _ in 0..frames {
        let len = 40 + (next() % 41) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| (next() >> 56) as u8).collect();
        text.push(crate::meeting_net::base64(&bytes));
    }
    format!(
        "<audio codec='opus' rate='48000' channels='1' ms='{frame_ms}'>{}</audio>",
        text.join(" ")
    )
}

/// Sends the batches on schedule, drains, and measures. `attendees` must have been joined
/// with `Slots::audio == batches(cli)` and `audio_step_ms == audio_ms × audio_frames`.
pub async fn run(
    cli: &Cli,
    pid: u32,
    presenter: &Member,
    attendees: &[Member],
    clock: &Clock,
) -> Res<AudioResult> {
    let n = batches(cli);
    let step_ms = cli.audio_ms * cli.audio_frames as u64;
    let payloads: Vec<String> = (0..n)
        .map(|k| payload(k, cli.audio_frames, cli.audio_ms))
        .collect();
    let mut r = AudioResult {
        attendees: attendees.len(),
        batches: n,
        payload_bytes: payloads.iter().map(String::len).sum::<usize>() as f64 / n.max(1) as f64,
        rss_before_mib: procfs::rss_kib(pid).unwrap_or(0) as f64 / 1024.0,
        ..Default::default()
    };
    let errors_before = presenter.seen.lock().unwrap().errors.len();
    let mut sent = vec![0u64; n];

    let meter = procfs::CpuMeter::start(pid);
    r.loadavg = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let start = Instant::now();
    let base = tokio::time::Instant::now();
    let mut lag_max = 0.0f64;
    for (k, p) in payloads.iter().enumerate() {
        let due = base + Duration::from_millis(k as u64 * step_ms);
        tokio::time::sleep_until(due).await;
        lag_max = lag_max.max(
            tokio::time::Instant::now()
                .duration_since(due)
                .as_secs_f64(),
        );
        sent[k] = clock.now_us();
        presenter.request(AUDIO_T0 + k as u64 * step_ms, p).await?;
    }
    r.send_s = start.elapsed().as_secs_f64();
    r.send_lag_max_ms = lag_max * 1000.0;
    let used = meter.read();
    r.hwm_mib = procfs::peak_rss_kib(pid).unwrap_or(0) as f64 / 1024.0;

    let drain_by = Instant::now() + Duration::from_secs(cli.drain);
    loop {
        let done = attendees.iter().all(|a| {
            let g = a.seen.lock().unwrap();
            g.audio.iter().all(|&t| t != 0) || g.closed.is_some()
        });
        if done || Instant::now() > drain_by {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    r.rss_end_mib = procfs::rss_kib(pid).unwrap_or(0) as f64 / 1024.0;
    r.hwm_mib = r
        .hwm_mib
        .max(procfs::peak_rss_kib(pid).unwrap_or(0) as f64 / 1024.0);

    let arrivals: Vec<Vec<u64>> = attendees
        .iter()
        .map(|a| a.seen.lock().unwrap().audio.clone())
        .collect();
    let idx: Vec<usize> = (0..n).collect();
    let late_us = (cli.late_ms * 1000.0) as u64;
    r.stats = kind_stats(&idx, &sent, arrivals.iter().map(Vec::as_slice), late_us);
    for a in &arrivals {
        let runs = gap_runs(a);
        r.gap_runs += runs;
        r.attendees_with_loss += usize::from(runs > 0);
    }
    r.deliveries_per_s = r.stats.received as f64 / r.send_s.max(1e-9);
    r.cpu_server_pct = used.server_pct();
    r.cpu_gen_pct = used.gen_pct();
    r.cpu_other_pct = used.other_pct();
    r.cpu_per_delivery_us = 1e6 * used.server_cpu_s / r.stats.received.max(1) as f64;
    let g = presenter.seen.lock().unwrap();
    r.presenter_errors = g.errors.len() - errors_before;
    r.first_presenter_error = g.errors.get(errors_before).cloned();
    Ok(r)
}

/// Maximal runs of missing (0) entries.
fn gap_runs(arrivals: &[u64]) -> u64 {
    let mut runs = 0;
    let mut in_gap = false;
    for &a in arrivals {
        if a == 0 && !in_gap {
            runs += 1;
        }
        in_gap = a == 0;
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_three_opus_sized_frames() {
        let p = payload(7, 3, 20);
        assert_eq!(p, payload(7, 3, 20), "deterministic");
        let text = &p[p.find('>').unwrap() + 1..p.rfind('<').unwrap()];
        let frames: Vec<&str> = text.split(' ').collect();
        assert_eq!(frames.len(), 3);
        for f in frames {
            let bytes = f.trim_end_matches('=').len() * 3 / 4;
            assert!((40..=80).contains(&bytes), "{bytes} bytes");
        }
    }

    #[test]
    fn gaps_are_runs_of_missing_batches() {
        assert_eq!(gap_runs(&[1, 0, 0, 2, 0, 3, 0]), 3);
        assert_eq!(gap_runs(&[1, 2]), 0);
    }
}
