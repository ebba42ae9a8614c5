//! docs/BENCHMARKS.md from the results of one run: a scenario × server summary, then one
//! detailed table per scenario family, memory, failures, and the hand-written observations.

use crate::record::{read_all, Record};
use std::fmt::Write;
use std::path::Path;

const SERVER_ORDER: [&str; 3] = ["lectern", "prosody", "ejabberd"];

fn f1(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.1}"))
}
fn f0(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.0}"))
}
fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.0} %"))
}
/// Seconds with 3 significant-ish digits (short runs need milliseconds).
fn secs(v: Option<f64>) -> String {
    match v {
        Some(v) if v < 10.0 => format!("{v:.3}"),
        other => f1(other),
    }
}
/// CPU shares over runs shorter than this are mostly 10 ms tick noise.
const MIN_CPU_WALL_S: f64 = 0.5;
fn cpu_of(r: &Record, v: Option<f64>) -> String {
    if r.duration_s.unwrap_or(0.0) < MIN_CPU_WALL_S {
        "(too short)".into()
    } else {
        pct(v)
    }
}
fn u(v: Option<u64>) -> String {
    v.map_or("–".into(), |v| v.to_string())
}

/// What most likely bounded a measurement, from CPU use on a 2-core machine.
fn limit(r: &Record) -> &'static str {
    if r.duration_s.unwrap_or(0.0) < MIN_CPU_WALL_S {
        return "–";
    }
    let s = r.server_cpu_pct.unwrap_or(0.0);
    let g = r.gen_cpu_pct.unwrap_or(0.0);
    let o = r.other_cpu_pct.unwrap_or(0.0);
    if s + g + o > 170.0 {
        if o > s + g {
            "machine busy with other processes"
        } else {
            "both cores busy"
        }
    } else if s > 85.0 {
        "server at ~1 core"
    } else if g > 85.0 {
        "generator at ~1 core"
    } else {
        "neither CPU"
    }
}

fn servers(recs: &[Record]) -> Vec<String> {
    let mut out: Vec<String> = SERVER_ORDER
        .iter()
        .filter(|s| recs.iter().any(|r| r.server == **s))
        .map(|s| s.to_string())
        .collect();
    for r in recs {
        if !out.contains(&r.server) {
            out.push(r.server.clone());
        }
    }
    out
}

/// Rows of the summary: (label, scenario, n, broadcast).
fn summary_rows(recs: &[Record]) -> Vec<(String, String, usize, String)> {
    let order = ["S1", "S2", "S3", "S4", "S5", "MEM"];
    let mut keys: Vec<(String, usize, String)> = Vec::new();
    for r in recs.iter().filter(|r| r.scenario != "ERROR") {
        let k = (r.scenario.clone(), r.n, r.broadcast.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.sort_by_key(|(s, n, b)| (order.iter().position(|o| o == s), *n, b.clone()));
    keys.into_iter()
        .map(|(s, n, b)| {
            let what = match s.as_str() {
                "S1" => "S1 200 B @ 20/s, p99 / lost".to_string(),
                "S2" => "S2 1.4 KB @ 10/s, p99 / lost".to_string(),
                "S3" => "S3 flat out, deliveries/s / CPU per delivery".to_string(),
                "S4" => "S4 S2 + S1 together, p99 / lost".to_string(),
                "S5" => format!("S5 join storm (broadcast {b}), joins/s"),
                "MEM" => format!("RSS per attendee (broadcast {b})"),
                other => other.to_string(),
            };
            (what, s, n, b)
        })
        .collect()
}

fn summary_cell(r: &Record) -> String {
    let cell = match r.scenario.as_str() {
        "S1" | "S2" | "S4" => format!("{} ms / {}", f1(r.p99_ms), u(r.lost)),
        "S3" => format!(
            "{} /s, {} µs",
            f0(r.deliveries_per_s),
            f1(r.server_cpu_us_per_delivery)
        ),
        "S5" => {
            let j = r.joined.unwrap_or(0);
            if j < r.n {
                format!("{} ({j}/{} joined)", f1(r.joins_per_s), r.n)
            } else {
                f1(r.joins_per_s)
            }
        }
        "MEM" => format!("{} KiB", f1(r.rss_per_client_kib)),
        _ => String::new(),
    };
    match r.dropped {
        Some(d) if d > 0 => format!("{cell}, **{d} disconnected**"),
        _ => cell,
    }
}

fn find<'a>(recs: &'a [Record], server: &str, s: &str, n: usize, b: &str) -> Option<&'a Record> {
    recs.iter()
        .rev()
        .find(|r| r.server == server && r.scenario == s && r.n == n && r.broadcast == b)
}

/// A Markdown table; a header starting with `<` is left-aligned, others right-aligned.
fn table(out: &mut String, head: &[&str], rows: Vec<Vec<String>>) {
    let names: Vec<&str> = head.iter().map(|h| h.trim_start_matches('<')).collect();
    let aligns: Vec<&str> = head
        .iter()
        .map(|h| if h.starts_with('<') { "---" } else { "---:" })
        .collect();
    let _ = writeln!(out, "| {} |", names.join(" | "));
    let _ = writeln!(out, "|{}|", aligns.join("|"));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
}

fn summary(out: &mut String, recs: &[Record], servers: &[String]) {
    let mut head = vec!["<Scenario", "N"];
    head.extend(servers.iter().map(|s| s.as_str()));
    let rows = summary_rows(recs)
        .into_iter()
        .map(|(label, s, n, b)| {
            let mut row = vec![label, n.to_string()];
            row.extend(
                servers
                    .iter()
                    .map(|srv| find(recs, srv, &s, n, &b).map_or("–".into(), summary_cell)),
            );
            row
        })
        .collect();
    table(out, &head, rows);
}

fn sorted<'a>(recs: &'a [Record], servers: &[String], scen: &[&str]) -> Vec<&'a Record> {
    let mut v: Vec<&Record> = recs
        .iter()
        .filter(|r| scen.contains(&r.scenario.as_str()))
        .collect();
    v.sort_by_key(|r| {
        (
            scen.iter().position(|s| *s == r.scenario),
            r.n,
            r.broadcast.clone(),
            servers.iter().position(|s| *s == r.server),
        )
    });
    v
}

fn dropped(r: &Record) -> String {
    r.dropped.map_or("–".into(), |d| d.to_string())
}

fn fanout_table(out: &mut String, recs: &[Record], servers: &[String]) {
    let head = [
        "<Scenario",
        "<Load",
        "N",
        "<Server",
        "Delivered / expected",
        "Lost or late",
        "Disconnected",
        "p50",
        "p95",
        "p99",
        "max (ms)",
        "Deliveries/s",
        "Server CPU",
        "Generator CPU",
        "Other CPU",
        "<Limit",
    ];
    let rows = sorted(recs, servers, &["S1", "S2", "S4", "S3"])
        .into_iter()
        .map(|r| {
            vec![
                r.scenario.clone(),
                r.load.clone(),
                r.receivers.unwrap_or(r.n).to_string(),
                r.server.clone(),
                format!("{} / {}", u(r.delivered), u(r.expected)),
                u(r.lost),
                dropped(r),
                f1(r.p50_ms),
                f1(r.p95_ms),
                f1(r.p99_ms),
                f1(r.max_ms),
                f0(r.deliveries_per_s),
                cpu_of(r, r.server_cpu_pct),
                cpu_of(r, r.gen_cpu_pct),
                cpu_of(r, r.other_cpu_pct),
                limit(r).to_string(),
            ]
        })
        .collect();
    table(out, &head, rows);
    let _ = writeln!(
        out,
        "\nS3 server CPU per delivery (utime + stime from /proc/PID/stat over the run ÷ deliveries):\n"
    );
    let head = [
        "<Server",
        "N",
        "Messages",
        "First send to last delivery (s)",
        "Deliveries/s",
        "Server CPU per delivery (µs)",
    ];
    let rows = sorted(recs, servers, &["S3"])
        .into_iter()
        .map(|r| {
            vec![
                r.server.clone(),
                r.receivers.unwrap_or(r.n).to_string(),
                u(r.sent),
                secs(r.span_s),
                f0(r.deliveries_per_s),
                f1(r.server_cpu_us_per_delivery),
            ]
        })
        .collect();
    table(out, &head, rows);
}

fn storm_table(out: &mut String, recs: &[Record], servers: &[String]) {
    let head = [
        "N",
        "<Broadcast",
        "<Server",
        "Joined",
        "Time (s)",
        "Joins/s",
        "Join p50 (ms)",
        "Join p99 (ms)",
        "Presences received",
        "Last presence at (s)",
        "Disconnected",
        "Logins/s before",
        "Server CPU",
        "Generator CPU",
        "Other CPU",
        "<Limit",
    ];
    let rows = sorted(recs, servers, &["S5"])
        .into_iter()
        .map(|r| {
            vec![
                r.n.to_string(),
                r.broadcast.clone(),
                r.server.clone(),
                r.joined.map_or("–".into(), |j| j.to_string()),
                secs(r.duration_s),
                f1(r.joins_per_s),
                f0(r.join_p50_ms),
                f0(r.join_p99_ms),
                u(r.presences),
                secs(r.presences_done_s),
                dropped(r),
                f0(r.logins_per_s),
                cpu_of(r, r.server_cpu_pct),
                cpu_of(r, r.gen_cpu_pct),
                cpu_of(r, r.other_cpu_pct),
                limit(r).to_string(),
            ]
        })
        .collect();
    table(out, &head, rows);
}

fn memory_table(out: &mut String, recs: &[Record], servers: &[String]) {
    let head = [
        "<Server",
        "N",
        "<Broadcast",
        "Attendees in room",
        "RSS before (MiB)",
        "RSS settled (MiB)",
        "KiB per attendee",
    ];
    let mib = |k: Option<u64>| k.map_or("–".into(), |k| format!("{:.1}", k as f64 / 1024.0));
    let rows = sorted(recs, servers, &["MEM"])
        .into_iter()
        .map(|r| {
            vec![
                r.server.clone(),
                r.n.to_string(),
                r.broadcast.clone(),
                r.joined.map_or("–".into(), |j| j.to_string()),
                mib(r.rss_base_kib),
                mib(r.rss_kib),
                f1(r.rss_per_client_kib),
            ]
        })
        .collect();
    table(out, &head, rows);
}

fn failures(out: &mut String, recs: &[Record]) {
    let noted: Vec<&Record> = recs.iter().filter(|r| !r.notes.is_empty()).collect();
    if noted.is_empty() {
        let _ = writeln!(
            out,
            "None: no error stanzas, kicks, stream errors or failed phases."
        );
        return;
    }
    for r in noted {
        let _ = writeln!(
            out,
            "- **{} {} N={} ({})**:",
            r.server, r.scenario, r.n, r.broadcast
        );
        for n in &r.notes {
            let _ = writeln!(out, "  - `{}`", n.replace('`', "'").replace('\n', " "));
        }
    }
}

/// Write the report.
pub fn write(
    results: &Path,
    out_path: &Path,
    machine: Option<&Path>,
    notes: Option<&Path>,
    command: &str,
) -> std::io::Result<()> {
    let recs = read_all(results)?;
    let servers = servers(&recs);
    let read = |p: Option<&Path>| {
        p.and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    };
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks: MUC fan-out and join storms\n");
    let _ = writeln!(
        out,
        "Generated by `lectern-bench` (bench/). Regenerate with:\n\n    {command}\n"
    );
    out.push_str(include_str!("report_method.md"));
    let _ = writeln!(
        out,
        "\n## Machine and software\n\n```\n{}```\n",
        read(machine)
    );
    let _ = writeln!(out, "## Summary (scenario × server)\n");
    summary(&mut out, &recs, &servers);
    let _ = writeln!(out, "\n## Fan-out: S1, S2, S4 (paced) and S3 (flat out)\n");
    fanout_table(&mut out, &recs, &servers);
    let _ = writeln!(out, "\n## S5: join storms\n");
    storm_table(&mut out, &recs, &servers);
    let _ = writeln!(
        out,
        "\n## Memory: server RSS per connected attendee, settled\n"
    );
    memory_table(&mut out, &recs, &servers);
    let _ = writeln!(
        out,
        "\n## Unexpected stanzas and failures (verbatim, first few)\n"
    );
    failures(&mut out, &recs);
    let obs = read(notes);
    if !obs.trim().is_empty() {
        let _ = writeln!(out, "\n{}", obs.trim_end());
    }
    std::fs::write(out_path, out)
}
