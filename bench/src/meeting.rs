//! `lectern-meeting-bench`: end-to-end latency of a Lectern meeting. Starts the real `lectern`
//! binary (loopback, free ports, temp data dir), creates a meeting over HTTP, joins one presenter
//! and N headless attendees the way the browser does (HTTP join, token login, room, `<hello/>`),
//! shares a 2-page PDF, then the presenter sends page turns and stroke extends at fixed rates.
//! Every attendee records when each sequenced event arrives; the report gives presenter-send →
//! attendee-receive latency per kind, losses, and the server's CPU and memory. Results go into
//! docs/BENCHMARKS.md between `<!-- meeting-latency:begin -->` and `<!-- meeting-latency:end -->`.

#![allow(dead_code)]

mod meeting_audio;
mod meeting_audio_report;
mod meeting_browser;
mod meeting_cli;
mod meeting_http;
mod meeting_net;
mod meeting_plan;
mod meeting_recv;
mod meeting_report;
mod meeting_server;
mod meeting_setup;
mod meeting_stats;
mod procfs;
mod xml;

use clap::Parser;
use meeting_audio::AudioResult;
use meeting_browser::{BrowserResult, Browsers};
use meeting_cli::Cli;
use meeting_net::{Clock, Res, Slots};
use meeting_plan::{plan, Kind};
use meeting_report::{json, section, write_section};
use meeting_server::Server;
use meeting_stats::{indexes, kind_stats, pct_ms, KindStats};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// The audio phase (after the events phase, same attendees).
    audio: Option<AudioResult>,
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
    let slots = Slots {
        events,
        audio: meeting_audio::batches(cli),
        audio_step_ms: cli.audio_ms * cli.audio_frames as u64,
    };
    let clock = Arc::new(Clock::start());
    r.rss_before_mib = procfs::rss_kib(pid).unwrap_or(0) as f64 / 1024.0;
    let meeting = meeting_setup::open(server, clock.clone(), slots).await?;
    let presenter = &meeting.presenter;

    // Attendees, `concurrency` joins in flight.
    let join_meter = procfs::CpuMeter::start(pid);
    let joined = meeting_setup::attendees(
        server,
        &meeting.number,
        n,
        cli.concurrency,
        Duration::from_secs(cli.join_limit),
        clock.clone(),
        slots,
    )
    .await;
    let attendees = joined.attendees;
    (r.join_failures, r.first_join_error) = (joined.failures, joined.first_error);
    r.join_s = joined.secs;
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
            &meeting.number,
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
    let sent: Vec<AtomicU64> = (0..events).map(|_| Default::default()).collect();
    let store = |k: usize, sent: &[AtomicU64]| sent[k].store(clock.now_us(), Ordering::Relaxed);
    store(0, &sent);
    presenter.request(0, &meeting.share_payload()).await?;
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
    let browsers_cpu = browsers.as_ref().map_or(0.0, Browsers::cpu_seconds);
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
    let browsers_cpu_pct = browsers.as_ref().map_or(0.0, |b| {
        100.0 * (b.cpu_seconds() - browsers_cpu) / used.wall_s.max(1e-9)
    });
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
    let sent: Vec<u64> = sent.iter().map(|a| a.load(Ordering::Relaxed)).collect();
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
        // the rest of the drain bound: lost means the same for browsers as for the others
        let wait = drain_by
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1));
        let mut res = match b.collect(events, wait, Duration::from_secs(60)).await {
            Ok(seen) => BrowserResult::new(&seen, &plan, &sent, clock.epoch0_us, late_us),
            Err(e) => BrowserResult::failed(cli.browsers, e),
        };
        res.chromium = chromium;
        res.cpu_pct = browsers_cpu_pct;
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

    // Voice: audio batches to the same attendees.
    if slots.audio > 0 {
        eprintln!("N={n}: audio, {} batches", slots.audio);
        r.audio = Some(
            match meeting_audio::run(cli, pid, presenter, &attendees, &clock).await {
                Ok(a) => a,
                Err(e) => AudioResult {
                    attendees: attendees.len(),
                    error: Some(e),
                    ..Default::default()
                },
            },
        );
    }
    drop(attendees);
    drop(meeting);
    Ok(())
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
    let audio = results.iter().any(|r| r.audio.is_some());
    let audio_sec = meeting_audio_report::section(&cli, &results);
    if audio {
        eprint!("{audio_sec}");
    }
    if let Some(out) = &cli.out {
        if let Err(e) = write_section(out, &sec) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        eprintln!("wrote {}", out.display());
    }
    if let Some(out) = cli
        .audio_out
        .as_ref()
        .or(cli.out.as_ref())
        .filter(|_| audio)
    {
        use meeting_audio_report::{BEGIN, END};
        let after = Some(meeting_report::END);
        if let Err(e) = meeting_report::write_marked(out, BEGIN, END, &audio_sec, after) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        eprintln!("wrote the audio fan-out section to {}", out.display());
    }
    let audio_failed = results
        .iter()
        .any(|r| r.audio.as_ref().is_some_and(|a| a.error.is_some()));
    if audio_failed || results.iter().any(|r| r.error.is_some()) {
        std::process::exit(2);
    }
}
