//! The audio fan-out section of docs/BENCHMARKS.md (between `<!-- audio-fanout:begin -->` and
//! `<!-- audio-fanout:end -->`), from the audio phase of each run.

use crate::meeting_report::{date, machine};
use crate::{Cli, RunResult};

pub const BEGIN: &str = "<!-- audio-fanout:begin -->";
pub const END: &str = "<!-- audio-fanout:end -->";

/// The whole voice path's aim (issue 6): mouth to ear.
const BUDGET_MS: f64 = 300.0;

pub fn section(cli: &Cli, results: &[RunResult]) -> String {
    let step_ms = cli.audio_ms * cli.audio_frames as u64;
    let mut s = format!("{BEGIN}\n## Audio fan-out: the presenter's voice → focus → attendees\n\n");
    s.push_str(&format!(
        "Aim for the whole voice path (issue 6): **< {BUDGET_MS:.0} ms mouth-to-ear**. This is the \
         fan-out part of it: the presenter's send of an audio batch → each headless attendee's \
         receipt, at 200 and 1,000 attendees.\n\n"
    ));
    let payload = results
        .iter()
        .filter_map(|r| r.audio.as_ref())
        .map(|a| a.payload_bytes)
        .fold(0.0, f64::max);
    s.push_str(&format!(
        "- command: `{}`\n- commit: `{}` (release builds of `lectern` and `lectern-meeting-bench`)\n\
         - date: {}\n- machine: {}\n\
         - workload: the meeting-latency runs above (same server and N headless attendees, after \
         their page turns and strokes, browsers gone); for {:.0} s the presenter sends \
         `<audio codec='opus' rate='48000' channels='1' ms='{}'>` batches of {} frames every \
         {step_ms} ms ({:.1} messages/s, ~{payload:.0} bytes per payload) as `<message type='chat'>` \
         requests to the focus, which validates, sequences, archives and emits each into the room. \
         Frames are random bytes of Opus-like sizes (40–80 bytes, base64): the focus does not \
         decode. Latency = presenter send → attendee receipt (one process, one monotonic clock). \
         Lost = not received {} s after the last send; gaps = runs of consecutive missing batches \
         (each one a concealment at the receiver). Late = over {} ms.\n\n",
        cli.command,
        cli.commit,
        date(),
        machine(),
        cli.audio_s,
        cli.audio_ms,
        cli.audio_frames,
        1000.0 / step_ms as f64,
        cli.drain,
        cli.late_ms
    ));
    s.push_str("| attendees | batches sent | deliveries | p50 ms | p95 ms | p99 ms | max ms | first attendee p50 / p95 ms | slowest p95 ms | lost | late | gaps (attendees with loss) | deliveries/s |\n");
    s.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in results {
        let Some(a) = r.audio.as_ref().filter(|a| a.batches > 0) else {
            continue;
        };
        let k = &a.stats;
        s.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} / {:.1} | {:.1} | {} | {} | {} ({}) | {:.0} |\n",
            a.attendees, a.batches, k.received, k.p.p50, k.p.p95, k.p.p99, k.p.max, k.first_p50,
            k.first_p95, k.spread_p95, k.lost, k.late, a.gap_runs, a.attendees_with_loss,
            a.deliveries_per_s
        ));
    }
    s.push_str("\n| attendees | server CPU | server CPU per delivery µs | generator CPU | other CPU (load avg) | server RSS before / end MiB | server peak RSS MiB (process lifetime) | presenter errors |\n");
    s.push_str("|---:|---:|---:|---:|---|---|---:|---:|\n");
    for r in results {
        let Some(a) = r.audio.as_ref().filter(|a| a.batches > 0) else {
            continue;
        };
        s.push_str(&format!(
            "| {} | {:.0} % | {:.0} | {:.0} % | {:.0} % ({}) | {:.0} / {:.0} | {:.0} | {} |\n",
            a.attendees,
            a.cpu_server_pct,
            a.cpu_per_delivery_us,
            a.cpu_gen_pct,
            a.cpu_other_pct,
            a.loadavg,
            a.rss_before_mib,
            a.rss_end_mib,
            a.hwm_mib,
            a.presenter_errors
        ));
    }
    s.push_str("\nCPU is % of one core (from /proc/PID/stat) over the audio send window.\n\n");
    for r in results {
        let Some(a) = &r.audio else { continue };
        let n = r.n;
        if let Some(e) = &a.error {
            s.push_str(&format!("- N={n}: audio phase error: {e}\n"));
            continue;
        }
        if a.batches == 0 {
            continue;
        }
        let k = &a.stats;
        s.push_str(&format!(
            "- N={n}: share of the {BUDGET_MS:.0} ms budget: fan-out p95 {:.0} ms ({:.0} %), p99 {:.0} ms \
             ({:.0} %). With the sender's batching (a batch of {} frames leaves once its last frame \
             is encoded, so its first sample has waited {step_ms} ms), batching + fan-out take {:.0} ms at p95, \
             leaving {:.0} ms for capture, encoding, the receiver's jitter buffer and audio output.\n",
            k.p.p95,
            100.0 * k.p.p95 / BUDGET_MS,
            k.p.p99,
            100.0 * k.p.p99 / BUDGET_MS,
            cli.audio_frames,
            step_ms as f64 + k.p.p95,
            BUDGET_MS - step_ms as f64 - k.p.p95
        ));
        if a.cpu_other_pct > 50.0 {
            s.push_str(&format!(
                "- N={n}: other processes used {:.0} % of a core during the audio window (load average {}): \
                 the machine was shared and busy, so these figures are pessimistic.\n",
                a.cpu_other_pct, a.loadavg
            ));
        }
        if a.presenter_errors > 0 {
            s.push_str(&format!(
                "- N={n}: the focus refused {} audio batches; first: `{}`\n",
                a.presenter_errors,
                a.first_presenter_error
                    .as_deref()
                    .unwrap_or("")
                    .replace('`', "'")
            ));
        }
        if a.send_lag_max_ms > 20.0 {
            s.push_str(&format!(
                "- N={n}: the generator's sends ran up to {:.0} ms behind schedule (latency is measured from the actual send).\n",
                a.send_lag_max_ms
            ));
        }
    }
    s.push_str(&format!("{END}\n"));
    s
}

pub fn json(a: &crate::meeting_audio::AudioResult) -> serde_json::Value {
    let k = &a.stats;
    serde_json::json!({
        "attendees": a.attendees, "batches": a.batches, "send_s": a.send_s,
        "send_lag_max_ms": a.send_lag_max_ms, "payload_bytes": a.payload_bytes,
        "received": k.received, "lost": k.lost, "late": k.late, "p50_ms": k.p.p50,
        "p95_ms": k.p.p95, "p99_ms": k.p.p99, "max_ms": k.p.max, "first_p50_ms": k.first_p50,
        "first_p95_ms": k.first_p95, "slowest_p95_ms": k.spread_p95, "gap_runs": a.gap_runs,
        "attendees_with_loss": a.attendees_with_loss, "deliveries_per_s": a.deliveries_per_s,
        "server_cpu_pct": a.cpu_server_pct, "server_cpu_per_delivery_us": a.cpu_per_delivery_us,
        "generator_cpu_pct": a.cpu_gen_pct, "other_cpu_pct": a.cpu_other_pct, "loadavg": a.loadavg,
        "rss_before_mib": a.rss_before_mib, "rss_end_mib": a.rss_end_mib, "peak_rss_mib": a.hwm_mib,
        "presenter_errors": a.presenter_errors, "error": a.error,
    })
}
