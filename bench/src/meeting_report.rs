//! The meeting benchmark's report: the marked section of docs/BENCHMARKS.md and one JSON line
//! per run.

use std::path::PathBuf;
use std::process::Command;

use crate::meeting_browser::BrowserResult;
use crate::meeting_net::Res;
use crate::meeting_stats::KindStats;
use crate::{Cli, RunResult};

const BEGIN: &str = "<!-- meeting-latency:begin -->";
pub const END: &str = "<!-- meeting-latency:end -->";

pub fn date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_ascii_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or(0.0, |k| k as f64 / 1024.0 / 1024.0);
    format!("{cpu}, {cores} cores, {mem:.0} GiB RAM; server and load generator on the same machine")
}

fn row(label: &str, n: &str, k: &KindStats) -> String {
    format!(
        "| {label} | {n} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} / {:.1} | {:.1} | {} | {} |",
        k.expected,
        k.p.p50,
        k.p.p95,
        k.p.p99,
        k.p.max,
        k.first_p50,
        k.first_p95,
        k.spread_p95,
        k.lost,
        k.late
    )
}

pub fn section(cli: &Cli, results: &[RunResult]) -> String {
    let mut s = String::new();
    let date = date();
    let duration = cli.turns as f64 / cli.turn_rate;
    s.push_str(&format!(
        "{BEGIN}\n## Meeting latency: presenter → focus → attendees\n\n"
    ));
    s.push_str(
        "Aim: **p95 < 100 ms from the presenter's send to each attendee's receive, at 1,000 \
         attendees**, for page turns and for stroke extends.\n\n",
    );
    s.push_str(&format!(
        "- command: `{}`\n- commit: `{}` (release builds of `lectern` and `lectern-meeting-bench`)\n\
         - date: {date}\n- machine: {}\n",
        cli.command,
        cli.commit,
        machine()
    ));
    s.push_str(&format!(
        "- workload: the real `lectern` binary on loopback with a fresh data dir per N; one meeting \
         created over HTTP; 1 presenter and N headless attendees join as the browser does (HTTP \
         join → token login (SASL PLAIN, loopback) → room join → `<hello/>` with the ticket), {} \
         joins in flight; a 2-page PDF is uploaded and shared; then for {duration:.0} s the \
         presenter sends {} page turns ({}/s, alternating pages 2/1) and stroke extends \
         ({}/s, 2 points each, strokes of 30 extends with their begin/end), all as \
         `<message type='chat'>` requests to the focus. Latency = presenter send → attendee \
         receipt of the focus's `groupchat` event (same process, one monotonic clock; the request's \
         `t` carries the event's index). Lost = not received {} s after the last send. Late = \
         over {} ms. \"First attendee\" = per event, the fastest attendee's latency (p50/p95 over events): \
         delay before the room fan-out starts; \"slowest p95\" = p95 over events of the slowest \
         attendee for that event.\n\
         - {}\n\n",
        cli.concurrency,
        cli.turns,
        cli.turn_rate,
        cli.extend_rate,
        cli.drain,
        cli.late_ms,
        browsers_workload(cli, results)
    ));
    s.push_str("| event | attendees | deliveries | p50 ms | p95 ms | p99 ms | max ms | first attendee p50 / p95 ms | slowest p95 ms | lost | late |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in results {
        if r.error.is_some() && r.turn.expected == 0 {
            continue;
        }
        let n = r.n.to_string();
        s.push_str(&row("page turn", &n, &r.turn));
        s.push('\n');
        s.push_str(&row("stroke extend", &n, &r.extend));
        s.push('\n');
        if let Some(b) = r.browser.as_ref().filter(|b| b.error.is_none()) {
            let who = format!(
                "{} browser attendees (Chromium), in the N={} run",
                b.count, r.n
            );
            for (label, k) in [
                ("page turn", &b.turn),
                ("page turn, applied", &b.turn_apply),
                ("stroke extend", &b.extend),
                ("stroke extend, applied", &b.extend_apply),
            ] {
                s.push_str(&row(label, &who, k));
                s.push('\n');
            }
        }
    }
    s.push_str("\n| attendees | joined | join time s | join p95 ms (http / login / room / hello) | server CPU joins | server CPU events | generator CPU events | other CPU events (load avg) | server RSS before / joined / end / peak MiB | seq gaps | presenter errors |\n");
    s.push_str("|---:|---:|---:|---|---:|---:|---:|---|---|---:|---:|\n");
    for r in results {
        s.push_str(&format!(
            "| {} | {} | {:.1} | {:.0} / {:.0} / {:.0} / {:.0} | {:.0} % | {:.0} % | {:.0} % | {:.0} % ({}) | {:.0} / {:.0} / {:.0} / {:.0} | {} | {} |\n",
            r.n,
            r.joined,
            r.join_s,
            r.join_step_p95_ms[0],
            r.join_step_p95_ms[1],
            r.join_step_p95_ms[2],
            r.join_step_p95_ms[3],
            r.cpu_join_pct,
            r.cpu_events_pct,
            r.gen_cpu_events_pct,
            r.other_cpu_events_pct,
            r.loadavg,
            r.rss_before_mib,
            r.rss_joined_mib,
            r.rss_end_mib,
            r.hwm_mib,
            r.gaps,
            r.presenter_errors
        ));
    }
    s.push_str(
        "\nCPU is % of one core (from /proc/PID/stat); \"events\" is the timed send window.\n",
    );
    let mut notes = Vec::new();
    for r in results {
        let aim = r.n >= 1000 && r.turn.p.p95 < cli.late_ms && r.extend.p.p95 < cli.late_ms;
        if r.n >= 1000 && r.turn.expected > 0 {
            notes.push(format!(
                "N={}: aim {} (page turn p95 {:.1} ms, stroke extend p95 {:.1} ms).",
                r.n,
                if aim { "met" } else { "NOT met" },
                r.turn.p.p95,
                r.extend.p.p95
            ));
        }
        for (label, k) in [("page turns", &r.turn), ("stroke extends", &r.extend)] {
            if k.p.p95 > cli.late_ms && k.first_p95 >= 0.7 * k.p.p95 {
                notes.push(format!(
                    "N={}: {label}: the fastest attendee's p95 ({:.0} ms) is most of the p95 ({:.0} ms): \
                     the delay is before the room fan-out (presenter → focus → archive → emit), not in it.",
                    r.n, k.first_p95, k.p.p95
                ));
            }
        }
        let browsers_pct = r.browser.as_ref().map_or(0.0, |b| b.cpu_pct);
        if r.other_cpu_events_pct - browsers_pct > 50.0 {
            notes.push(format!(
                "N={}: other processes used {:.0} % of a core during the send window (load average {}{}): \
                 the machine was shared and busy, so these figures are pessimistic; rerun on a quiet machine \
                 for reference numbers.",
                r.n,
                r.other_cpu_events_pct - browsers_pct,
                r.loadavg,
                if browsers_pct > 0.0 { "; not counting the browser attendees" } else { "" }
            ));
        }
        if let Some(e) = &r.error {
            notes.push(format!("N={}: run error: {e}", r.n));
        }
        if let Some(b) = &r.browser {
            browser_notes(r.n, b, &mut notes);
        }
        if r.join_failures > 0 {
            notes.push(format!(
                "N={}: {} joins failed; first: {}",
                r.n,
                r.join_failures,
                r.first_join_error.as_deref().unwrap_or("?")
            ));
        }
        if r.share_received < r.joined {
            notes.push(format!(
                "N={}: only {} of {} attendees had the document share within 30 s.",
                r.n, r.share_received, r.joined
            ));
        }
        if r.presenter_errors > 0 {
            notes.push(format!(
                "N={}: the focus refused {} presenter requests; first: `{}`",
                r.n,
                r.presenter_errors,
                r.first_presenter_error
                    .as_deref()
                    .unwrap_or("")
                    .replace('`', "'")
            ));
        }
        if r.closed > 0 {
            notes.push(format!(
                "N={}: {} attendee streams closed during the run.",
                r.n, r.closed
            ));
        }
        if r.send_lag_max_ms > 20.0 {
            notes.push(format!(
                "N={}: the generator's sends ran up to {:.0} ms behind schedule (latency is measured from the actual send).",
                r.n, r.send_lag_max_ms
            ));
        }
    }
    if !notes.is_empty() {
        s.push('\n');
        for n in notes {
            s.push_str(&format!("- {n}\n"));
        }
    }
    s.push_str(&format!("{END}\n"));
    s
}

fn browsers_workload(cli: &Cli, results: &[RunResult]) -> String {
    let Some((n, b)) = results
        .iter()
        .find_map(|r| r.browser.as_ref().map(|b| (r.n, b)))
    else {
        return if cli.browsers == 0 {
            "browser attendees: none in this run (`--browsers 0`).".into()
        } else {
            "browser attendees: none (their run did not start).".into()
        };
    };
    format!(
        "browser attendees: {} headless Chromium{} (Debian's, driven by playwright-core from \
         `bench/browser/attendees.mjs`) open the real web client at `/m/NUMBER` and join the \
         N={n} run's meeting after the headless attendees, over XMPP-over-WebSocket. An init \
         script stamps, in each page, when the WebSocket frame with each event arrived \
         (\"received\") and when the client had applied it and redrawn its canvases (\"applied\"; \
         before the compositor paints), as epoch ms (`performance.timeOrigin + performance.now()`); \
         the presenter's send stamp is the one the headless rows use, mapped to the epoch clock \
         (same machine). The browsers' CPU counts as \"other\" below.",
        b.count,
        if b.chromium.is_empty() {
            String::new()
        } else {
            format!(" {}", b.chromium)
        }
    )
}

fn browser_notes(n: usize, b: &BrowserResult, notes: &mut Vec<String>) {
    if let Some(e) = &b.error {
        notes.push(format!(
            "N={n}: the {} browser attendees failed: {e}",
            b.count
        ));
        return;
    }
    notes.push(format!(
        "N={n}: the {} browsers (Node + Chromium) used {:.0} % of a core during the send window (in \"other\").",
        b.count, b.cpu_pct
    ));
    if b.share_received < b.count || b.not_online > 0 {
        notes.push(format!(
            "N={n}: browsers: {} of {} had the share; {} not online at the end.",
            b.share_received, b.count, b.not_online
        ));
    }
    if b.gaps > 0 || b.dupes > 0 {
        notes.push(format!(
            "N={n}: browsers: {} seq gaps, {} duplicate events.",
            b.gaps, b.dupes
        ));
    }
    if b.page_errors > 0 {
        notes.push(format!(
            "N={n}: browsers logged {} errors; first: `{}`",
            b.page_errors,
            b.first_page_error
                .as_deref()
                .unwrap_or("")
                .replace('`', "'")
        ));
    }
    if b.clock_check_ms > 2.0 {
        notes.push(format!(
            "N={n}: a browser's epoch clock was {:.1} ms off the system clock; its latencies are off by as much.",
            b.clock_check_ms
        ));
    }
}

pub fn write_section(path: &PathBuf, section: &str) -> Res<()> {
    write_marked(path, BEGIN, END, section, None)
}

/// Replaces the part of `path` between `begin` and `end` with `section` (which carries the
/// markers). Without the markers, the section goes after the line of the `after` marker if
/// there is one, else at the end.
pub fn write_marked(
    path: &PathBuf,
    begin: &str,
    end: &str,
    section: &str,
    after: Option<&str>,
) -> Res<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let after_at = after.and_then(|a| old.find(a).map(|i| i + a.len()));
    let new = match (old.find(begin), old.find(end), after_at) {
        (Some(b), Some(e), _) if e > b => {
            let mut rest = &old[e + end.len()..];
            if let Some(r) = rest.strip_prefix('\n') {
                rest = r;
            }
            format!("{}{section}{rest}", &old[..b])
        }
        (_, _, Some(a)) => {
            let (head, tail) = old.split_at(a);
            let tail = tail.strip_prefix('\n').unwrap_or(tail);
            format!("{head}\n\n{section}{tail}")
        }
        _ if old.is_empty() => section.to_string(),
        _ => format!(
            "{}\n{section}",
            old.trim_end_matches('\n').to_string() + "\n"
        ),
    };
    std::fs::write(path, new).map_err(|e| format!("writing {}: {e}", path.display()))
}

pub fn json(r: &RunResult) -> serde_json::Value {
    let k = |k: &KindStats| {
        serde_json::json!({"expected": k.expected, "received": k.received, "lost": k.lost,
            "late": k.late, "p50_ms": k.p.p50, "p95_ms": k.p.p95, "p99_ms": k.p.p99,
            "max_ms": k.p.max, "first_p50_ms": k.first_p50, "first_p95_ms": k.first_p95, "slowest_p95_ms": k.spread_p95, "slowest_max_ms": k.spread_max})
    };
    serde_json::json!({
        "n": r.n, "joined": r.joined, "join_failures": r.join_failures, "join_s": r.join_s,
        "join_step_p95_ms": r.join_step_p95_ms, "events": r.events, "send_s": r.send_s,
        "send_lag_max_ms": r.send_lag_max_ms, "page_turn": k(&r.turn), "stroke_extend": k(&r.extend),
        "share_received": r.share_received, "gaps": r.gaps, "out_of_order": r.out_of_order,
        "closed": r.closed, "presenter_errors": r.presenter_errors,
        "server_cpu_join_pct": r.cpu_join_pct, "server_cpu_events_pct": r.cpu_events_pct,
        "generator_cpu_events_pct": r.gen_cpu_events_pct,
        "other_cpu_events_pct": r.other_cpu_events_pct, "loadavg": r.loadavg, "rss_before_mib": r.rss_before_mib,
        "rss_joined_mib": r.rss_joined_mib, "rss_end_mib": r.rss_end_mib, "peak_rss_mib": r.hwm_mib,
        "browser": r.browser.as_ref().map(|b| serde_json::json!({
            "count": b.count, "chromium": b.chromium, "page_turn": k(&b.turn),
            "page_turn_applied": k(&b.turn_apply), "stroke_extend": k(&b.extend),
            "stroke_extend_applied": k(&b.extend_apply), "share_received": b.share_received,
            "gaps": b.gaps, "dupes": b.dupes, "not_online": b.not_online,
            "page_errors": b.page_errors, "cpu_pct": b.cpu_pct, "clock_check_ms": b.clock_check_ms, "error": b.error,
        })),
        "audio": r.audio.as_ref().map(crate::meeting_audio_report::json),
        "error": r.error,
    })
}
