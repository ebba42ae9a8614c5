//! `lectern-meeting-bench`: end-to-end latency of a Lectern meeting. Starts the real `lectern`
//! binary (loopback, free ports, temp data dir), creates a meeting over HTTP, joins one presenter
//! and N headless attendees the way the browser does (HTTP join, token login, room, `<hello/>`),
//! shares a 2-page PDF, then the presenter sends page turns and stroke extends at fixed rates.
//! Every attendee records when each sequenced event arrives; the report gives presenter-send →
//! attendee-receive latency per kind, losses, and the server's CPU and memory. Results go into
//! docs/BENCHMARKS.md between `<!-- meeting-latency:begin -->` and `<!-- meeting-latency:end -->`.

#![allow(dead_code)]

mod meeting_browser;
mod meeting_net;
mod meeting_plan;
mod meeting_report;
mod meeting_server;
mod meeting_stats;
mod procfs;
mod xml;

use clap::Parser;
use meeting_browser::{BrowserResult, Browsers};
use meeting_net::{Clock, Member, Res};
use meeting_plan::{plan, two_page_pdf, Kind};
use meeting_report::{json, section, write_section};
use meeting_server::Server;
use meeting_stats::{indexes, kind_stats, pct_ms, KindStats};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Clone)]
#[command(about = "Meeting latency: presenter page turns and ink to N attendees via the focus")]
struct Cli {
    /// The lectern binary (release build).
    #[arg(long, default_value = "target/release/lectern")]
    lectern: PathBuf,
    /// Attendee counts, one fresh server each.
    #[arg(long, value_delimiter = ',', default_value = "200,1000")]
    n: Vec<usize>,
    /// Page turns sent (alternating pages 2 and 1).
    #[arg(long, default_value_t = 200)]
    turns: usize,
    /// Page turns per second.
    #[arg(long, default_value_t = 10.0)]
    turn_rate: f64,
    /// Stroke extends per second, for as long as the page turns last (strokes of 30 extends).
    #[arg(long, default_value_t = 30.0)]
    extend_rate: f64,
    /// Joins in flight at once.
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
    /// Bound on all joins of one run (s).
    #[arg(long, default_value_t = 300)]
    join_limit: u64,
    /// Wait after the last send for stragglers (s); what has not arrived then is lost.
    #[arg(long, default_value_t = 10)]
    drain: u64,
    /// Latency above which a delivery counts as late (ms): the aim.
    #[arg(long, default_value_t = 100.0)]
    late_ms: f64,
    /// Markdown file whose marked section is written (created if missing).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Command line recorded in the report.
    #[arg(long, default_value = "bash bench/meeting.sh")]
    command: String,
    /// Commit recorded in the report.
    #[arg(long, default_value = "unknown")]
    commit: String,
    /// Browser attendees (Chromium via bench/browser/attendees.mjs) joining one run; 0 = none.
    #[arg(long, default_value_t = 0)]
    browsers: usize,
    /// The run (attendee count N) the browsers join; default: the first of `--n`.
    #[arg(long)]
    browsers_at: Option<usize>,
    /// The browser attendees' script.
    #[arg(long, default_value = "bench/browser/attendees.mjs")]
    browser_script: PathBuf,
    /// Node.js, to run the script.
    #[arg(long, default_value = "node")]
    node: String,
}

// --- one run -------------------------------------------------------------------------------

#[derive(Default)]
struct RunResult {
    n: usize,
    joined: usize,
    join_failures: usize,
    first_join_error: Option<String>,
    join_s: f64,
    join_step_p95_ms: [f64; 4],
    events: usize,
    send_s: f64,
    send_lag_max_ms: f64,
    turn: KindStats,
    extend: KindStats,
    share_received: usize,
    gaps: u64,
    out_of_order: u64,
    closed: usize,
    presenter_errors: usize,
    first_presenter_error: Option<String>,
    cpu_join_pct: f64,
    cpu_events_pct: f64,
    gen_cpu_events_pct: f64,
    /// Busy CPU of everything else on the machine during the send window (% of one core).
    other_cpu_events_pct: f64,
    loadavg: String,
    rss_before_mib: f64,
    rss_joined_mib: f64,
    rss_end_mib: f64,
    hwm_mib: f64,
    /// The browser attendees' part, in the run they joined.
    browser: Option<BrowserResult>,
    error: Option<String>,
}

async fn run(cli: &Cli, n: usize) -> RunResult {
    let mut r = RunResult {
        n,
        ..Default::default()
    };
    let server = match Server::start(&cli.lectern, &n.to_string()) {
        Ok(s) => s,
        Err(e) => {
            r.error = Some(e);
            return r;
        }
    };
    if let Err(e) = drive(cli, n, &server, &mut r).await {
        eprintln!("N={n}: {e}");
        r.error = Some(e);
    }
    server.stop();
    r
}

async fn drive(cli: &Cli, n: usize, server: &Server, r: &mut RunResult) -> Res<()> {
    let pid = server.pid;
    let plan = Arc::new(plan(cli));
    let events = plan.len() + 1; // index 0: the share
    r.events = events;
    let clock = Arc::new(Clock::start());
    r.rss_before_mib = procfs::rss_kib(pid).unwrap_or(0) as f64 / 1024.0;

    let created = meeting_net::post_json(
        server.http,
        "/api/meetings",
        &serde_json::json!({"title": "Benchmark"}),
    )
    .await?;
    if created.status != 201 {
        return Err(format!(
            "create: {}",
            String::from_utf8_lossy(&created.body)
        ));
    }
    let j = created.json()?;
    let number = j["number"].as_str().unwrap_or_default().to_string();
    let key = j["host_key"].as_str().unwrap_or_default().to_string();

    let presenter = meeting_net::join(
        server.http,
        server.xmpp,
        &number,
        "Presenter",
        Some(&key),
        clock.clone(),
        events,
    )
    .await
    .map_err(|e| format!("presenter join: {e}"))?;
    if presenter.role != "presenter" {
        return Err(format!("presenter joined as {}", presenter.role));
    }

    // The document: a 2-page PDF, converted before the share.
    let up =
        meeting_net::post_file(server.http, "/api/documents", "deck.pdf", &two_page_pdf()).await?;
    if up.status != 200 && up.status != 201 {
        return Err(format!(
            "upload: {} {}",
            up.status,
            String::from_utf8_lossy(&up.body)
        ));
    }
    let doc = up.json()?["id"].as_str().unwrap_or_default().to_string();
    let ready_by = Instant::now() + Duration::from_secs(60);
    let manifest = loop {
        let m = meeting_net::http(
            server.http,
            "GET",
            &format!("/api/documents/{doc}"),
            "text/plain",
            b"",
        )
        .await?
        .json()?;
        if m["status"] == "ready" {
            break m;
        }
        if m["status"] == "failed" || Instant::now() > ready_by {
            return Err(format!("document not ready: {m}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Attendees, `concurrency` joins in flight.
    let join_meter = procfs::CpuMeter::start(pid);
    let joins_started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(cli.concurrency));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let (sem, clock, number) = (sem.clone(), clock.clone(), number.clone());
        let (h, x) = (server.http, server.xmpp);
        set.spawn(async move {
            let _p = sem.acquire_owned().await;
            meeting_net::join(h, x, &number, &format!("att-{i:04}"), None, clock, events).await
        });
    }
    let mut attendees: Vec<Member> = Vec::with_capacity(n);
    let join_deadline = tokio::time::sleep(Duration::from_secs(cli.join_limit));
    tokio::pin!(join_deadline);
    loop {
        tokio::select! {
            next = set.join_next() => match next {
                None => break,
                Some(Ok(Ok(m))) => attendees.push(m),
                Some(Ok(Err(e))) => {
                    r.join_failures += 1;
                    r.first_join_error.get_or_insert(e);
                }
                Some(Err(e)) => {
                    r.join_failures += 1;
                    r.first_join_error.get_or_insert(e.to_string());
                }
            },
            _ = &mut join_deadline => {
                r.join_failures += set.len();
                r.first_join_error.get_or_insert(format!("join limit of {} s reached", cli.join_limit));
                set.abort_all();
                break;
            }
        }
    }
    r.join_s = joins_started.elapsed().as_secs_f64();
    r.joined = attendees.len();
    for s in 0..4 {
        let mut v: Vec<f64> = attendees.iter().map(|a| a.steps_ms[s]).collect();
        r.join_step_p95_ms[s] = pct_ms(&mut v, 0.95);
    }
    r.cpu_join_pct = join_meter.read().server_pct();
    r.rss_joined_mib = procfs::rss_kib(pid).unwrap_or(0) as f64 / 1024.0;
    eprintln!(
        "N={n}: {} joined in {:.1} s ({} failed)",
        r.joined, r.join_s, r.join_failures
    );
    if attendees.is_empty() {
        return Err("no attendee joined".into());
    }
    let browsers = if cli.browsers > 0 && cli.browsers_at.unwrap_or(cli.n[0]) == n {
        eprintln!("N={n}: starting {} browser attendees", cli.browsers);
        let b = Browsers::start(
            &cli.node,
            &cli.browser_script,
            server.http,
            &number,
            cli.browsers,
            Duration::from_secs(120),
        )
        .await;
        match b {
            Ok(b) => Some(b),
            Err(e) => {
                r.browser = Some(BrowserResult::failed(cli.browsers, e));
                None
            }
        }
    } else {
        None
    };

    // Share, and wait until every attendee has it (the room has settled after the joins).
    let sent: Arc<Vec<std::sync::atomic::AtomicU64>> =
        Arc::new((0..events).map(|_| Default::default()).collect());
    let store = |k: usize, sent: &Vec<std::sync::atomic::AtomicU64>| {
        sent[k].store(clock.now_us(), std::sync::atomic::Ordering::Relaxed)
    };
    store(0, &sent);
    presenter
        .request(0, &share_payload(&doc, &manifest))
        .await?;
    let settle_by = Instant::now() + Duration::from_secs(30);
    loop {
        let got = attendees
            .iter()
            .filter(|a| a.seen.lock().unwrap().arrival[0] != 0)
            .count();
        r.share_received = got;
        if got == attendees.len() || Instant::now() > settle_by {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The timed part: page turns and strokes at their rates.
    let meter = procfs::CpuMeter::start(pid);
    r.loadavg = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let start = Instant::now();
    let base = tokio::time::Instant::now();
    let mut lag_max = 0.0f64;
    for (i, p) in plan.iter().enumerate() {
        let due = base + Duration::from_secs_f64(p.at);
        tokio::time::sleep_until(due).await;
        lag_max = lag_max.max(
            tokio::time::Instant::now()
                .duration_since(due)
                .as_secs_f64(),
        );
        store(i + 1, &sent);
        presenter.request((i + 1) as u64, &p.payload).await?;
    }
    r.send_s = start.elapsed().as_secs_f64();
    r.send_lag_max_ms = lag_max * 1000.0;
    let used = meter.read();
    r.other_cpu_events_pct = used.other_pct();
    r.cpu_events_pct = used.server_pct();
    r.gen_cpu_events_pct = used.gen_pct();
    r.hwm_mib = procfs::peak_rss_kib(pid).unwrap_or(0) as f64 / 1024.0;

    // Drain: until everyone has everything, or the bound.
    let drain_by = Instant::now() + Duration::from_secs(cli.drain);
    loop {
        let done = attendees.iter().all(|a| {
            let g = a.seen.lock().unwrap();
            g.arrival.iter().all(|&t| t != 0) || g.closed.is_some()
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

    // Latencies.
    let sent: Vec<u64> = sent
        .iter()
        .map(|a| a.load(std::sync::atomic::Ordering::Relaxed))
        .collect();
    let late_us = (cli.late_ms * 1000.0) as u64;
    let arrivals: Vec<Vec<u64>> = attendees
        .iter()
        .map(|a| a.seen.lock().unwrap().arrival.clone())
        .collect();
    for (kind, out) in [(Kind::Turn, &mut r.turn), (Kind::Extend, &mut r.extend)] {
        let idx = indexes(&plan, kind);
        *out = kind_stats(&idx, &sent, arrivals.iter().map(Vec::as_slice), late_us);
    }
    if let Some(b) = browsers {
        let chromium = b.chromium.clone();
        let mut res = match b.collect(Duration::from_secs(60)).await {
            Ok(seen) => BrowserResult::new(&seen, &plan, &sent, clock.epoch0_us, late_us),
            Err(e) => BrowserResult::failed(cli.browsers, e),
        };
        res.chromium = chromium;
        r.browser = Some(res);
    }
    for a in &attendees {
        let g = a.seen.lock().unwrap();
        r.gaps += g.gaps;
        r.out_of_order += g.out_of_order;
        r.closed += usize::from(g.closed.is_some());
    }
    {
        let g = presenter.seen.lock().unwrap();
        r.presenter_errors = g.errors.len();
        r.first_presenter_error = g.errors.first().cloned();
    }
    drop(attendees);
    drop(presenter);
    Ok(())
}

/// The `<document/>` share the web client's presenter sends: per page its image hash and size.
fn share_payload(doc: &str, manifest: &serde_json::Value) -> String {
    let mut pages = String::new();
    for p in manifest["pages"].as_array().into_iter().flatten() {
        pages.push_str(&format!(
            "<p n='{}' hash='{}' w='{}' h='{}'/>",
            p["number"],
            p["sha256"].as_str().unwrap_or_default(),
            p["width"],
            p["height"]
        ));
    }
    format!(
        "<document id='{doc}' pages='{}' base='/api/documents/{doc}/' title='Benchmark'>{pages}</document>",
        manifest["page_count"]
    )
}

fn main() {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut results = Vec::new();
    for &n in &cli.n {
        eprintln!("== N={n}");
        let r = rt.block_on(run(&cli, n));
        println!("{}", json(&r));
        results.push(r);
    }
    rt.shutdown_timeout(Duration::from_secs(2));
    let sec = section(&cli, &results);
    eprint!("{sec}");
    if let Some(out) = &cli.out {
        if let Err(e) = write_section(out, &sec) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        eprintln!("wrote {}", out.display());
    }
    if results.iter().any(|r| r.error.is_some()) {
        std::process::exit(2);
    }
}
