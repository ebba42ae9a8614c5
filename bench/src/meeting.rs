//! `lectern-meeting-bench`: end-to-end latency of a Lectern meeting. Starts the real `lectern`
//! binary (loopback, free ports, temp data dir), creates a meeting over HTTP, joins one presenter
//! and N headless attendees the way the browser does (HTTP join, token login, room, `<hello/>`),
//! shares a 2-page PDF, then the presenter sends page turns and stroke extends at fixed rates.
//! Every attendee records when each sequenced event arrives; the report gives presenter-send →
//! attendee-receive latency per kind, losses, and the server's CPU and memory. Results go into
//! docs/BENCHMARKS.md between `<!-- meeting-latency:begin -->` and `<!-- meeting-latency:end -->`.

#![allow(dead_code)]

mod meeting_net;
mod procfs;
mod xml;

use clap::Parser;
use meeting_net::{Clock, Member, Res};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BEGIN: &str = "<!-- meeting-latency:begin -->";
const END: &str = "<!-- meeting-latency:end -->";

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
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Share,
    Turn,
    Extend,
    Other,
}

struct Planned {
    at: f64,
    kind: Kind,
    payload: String,
}

/// Shortest decimal form with at most 4 decimals (protocol "Numbers").
fn dec(units: i64) -> String {
    let s = format!("{:.4}", units as f64 / 10000.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn plan(cli: &Cli) -> Vec<Planned> {
    let mut ev = Vec::new();
    let duration = cli.turns as f64 / cli.turn_rate;
    for i in 0..cli.turns {
        ev.push(Planned {
            at: i as f64 / cli.turn_rate + 0.013,
            kind: Kind::Turn,
            payload: format!("<page n='{}'/>", if i % 2 == 0 { 2 } else { 1 }),
        });
    }
    let extends = (duration * cli.extend_rate).round() as usize;
    const PER_STROKE: usize = 30;
    for e in 0..extends {
        let at = e as f64 / cli.extend_rate + 0.03;
        let (stroke, i) = (e / PER_STROKE, e % PER_STROKE);
        let x = 1000 + (stroke as i64 % 40) * 200 + i as i64 * 5;
        let y = 1000 + (stroke as i64 % 7) * 1000 + i as i64 * 3;
        if i == 0 {
            ev.push(Planned {
                at: at - 0.004,
                kind: Kind::Other,
                payload: format!(
                    "<stroke-begin id='s{stroke}' page='1' tool='pen' color='#e53935' width='0.004'>{},{}</stroke-begin>",
                    dec(x),
                    dec(y)
                ),
            });
        }
        ev.push(Planned {
            at,
            kind: Kind::Extend,
            payload: format!(
                "<stroke-extend id='s{stroke}'>{},{} {},{}</stroke-extend>",
                dec(x + 2),
                dec(y + 1),
                dec(x + 4),
                dec(y + 3)
            ),
        });
        if i == PER_STROKE - 1 || e == extends - 1 {
            ev.push(Planned {
                at: at + 0.004,
                kind: Kind::Other,
                payload: format!("<stroke-end id='s{stroke}'/>"),
            });
        }
    }
    ev.sort_by(|a, b| a.at.total_cmp(&b.at));
    ev
}

/// A 2-page PDF (800×450 pt slides with a rectangle and a line of text each).
fn two_page_pdf() -> Vec<u8> {
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids = Vec::new();
    for i in 1..=2 {
        let content = format!(
            "0.2 0.3 0.8 rg {} 60 200 120 re f BT /F1 36 Tf 60 360 Td (Benchmark slide {i}) Tj ET",
            100 * i
        );
        let c = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        kids.push(Object::Reference(doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => c,
        })));
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => 2, "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 800.into(), 450.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("PDF written");
    out
}

// --- the server ----------------------------------------------------------------------------

struct Server {
    child: Child,
    pid: u32,
    http: SocketAddr,
    xmpp: SocketAddr,
    dir: PathBuf,
}

impl Server {
    fn start(bin: &PathBuf, tag: &str) -> Res<Server> {
        let dir = std::env::temp_dir().join(format!(
            "lectern-meeting-bench-{}-{tag}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let stderr = std::fs::File::create(dir.join("stderr")).map_err(|e| e.to_string())?;
        let mut child = Command::new(bin)
            .args(["serve", "--http", "127.0.0.1:0", "--xmpp", "127.0.0.1:0"])
            .args(["--domain", "localhost", "--data"])
            .arg(dir.join("data"))
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let (mut http, mut xmpp) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while http.is_none() || xmpp.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) => {
                    if let Some(a) = l.strip_prefix("http listening on ") {
                        http = a.trim().parse().ok();
                    }
                    if let Some(a) = l.strip_prefix("xmpp listening on ") {
                        xmpp = a.trim().parse().ok();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("lectern did not start; see {}", dir.display()));
                }
            }
        }
        Ok(Server {
            child,
            pid,
            http: http.unwrap(),
            xmpp: xmpp.unwrap(),
            dir,
        })
    }

    fn stop(mut self) {
        // SIGTERM by pid (our own child), then SIGKILL if it lingers.
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_dir_all(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_ascii_whitespace().nth(1)?.parse().ok()
}

// --- one run -------------------------------------------------------------------------------

#[derive(Default, Clone, Copy)]
struct KindStats {
    expected: u64,
    received: u64,
    lost: u64,
    late: u64,
    p: procfs::Percentiles,
    /// Per event, the slowest attendee: p95 of those (ms), and the worst.
    spread_p95: f64,
    spread_max: f64,
    /// Per event, the fastest attendee: p50 and p95 of those (ms). High values mean the delay
    /// is before the room fan-out (presenter → focus → archive → emit).
    first_p50: f64,
    first_p95: f64,
}

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
    error: Option<String>,
}

fn pct_ms(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
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
    let clock = Arc::new(Clock { t0: Instant::now() });
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
    loop {
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
            break;
        }
        if m["status"] == "failed" || Instant::now() > ready_by {
            return Err(format!("document not ready: {m}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Attendees, `concurrency` joins in flight.
    let cpu0 = procfs::cpu_seconds(pid).unwrap_or(0.0);
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
    let cpu1 = procfs::cpu_seconds(pid).unwrap_or(0.0);
    r.cpu_join_pct = (cpu1 - cpu0) / r.join_s.max(1e-9) * 100.0;
    r.rss_joined_mib = procfs::rss_kib(pid).unwrap_or(0) as f64 / 1024.0;
    eprintln!(
        "N={n}: {} joined in {:.1} s ({} failed)",
        r.joined, r.join_s, r.join_failures
    );
    if attendees.is_empty() {
        return Err("no attendee joined".into());
    }

    // Share, and wait until every attendee has it (the room has settled after the joins).
    let sent: Arc<Vec<std::sync::atomic::AtomicU64>> =
        Arc::new((0..events).map(|_| Default::default()).collect());
    let store = |k: usize, sent: &Vec<std::sync::atomic::AtomicU64>| {
        sent[k].store(clock.now_us(), std::sync::atomic::Ordering::Relaxed)
    };
    let bogus = "0".repeat(64);
    store(0, &sent);
    presenter
        .request(
            0,
            &format!(
                "<document id='{doc}' pages='2' base='/api/documents/{doc}/' title='Benchmark'>\
                 <p n='1' hash='{bogus}' w='9' h='9'/><p n='2' hash='{bogus}' w='9' h='9'/></document>"
            ),
        )
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
    let cpu_a = procfs::cpu_seconds(pid).unwrap_or(0.0);
    let gen_a = procfs::cpu_seconds(std::process::id()).unwrap_or(0.0);
    let busy_a = procfs::machine_busy_seconds().unwrap_or(0.0);
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
    let cpu_b = procfs::cpu_seconds(pid).unwrap_or(0.0);
    let gen_b = procfs::cpu_seconds(std::process::id()).unwrap_or(0.0);
    let busy_b = procfs::machine_busy_seconds().unwrap_or(0.0);
    r.other_cpu_events_pct =
        ((busy_b - busy_a) - (cpu_b - cpu_a) - (gen_b - gen_a)).max(0.0) / r.send_s * 100.0;
    r.cpu_events_pct = (cpu_b - cpu_a) / r.send_s * 100.0;
    r.gen_cpu_events_pct = (gen_b - gen_a) / r.send_s * 100.0;
    r.hwm_mib = vm_hwm_kib(pid).unwrap_or(0) as f64 / 1024.0;

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
    r.hwm_mib = r.hwm_mib.max(vm_hwm_kib(pid).unwrap_or(0) as f64 / 1024.0);

    // Latencies.
    let sent: Vec<u64> = sent
        .iter()
        .map(|a| a.load(std::sync::atomic::Ordering::Relaxed))
        .collect();
    let late_us = (cli.late_ms * 1000.0) as u64;
    for (kind, out) in [(Kind::Turn, &mut r.turn), (Kind::Extend, &mut r.extend)] {
        let idx: Vec<usize> = plan
            .iter()
            .enumerate()
            .filter(|(_, p)| p.kind == kind)
            .map(|(i, _)| i + 1)
            .collect();
        let mut lat: Vec<u32> = Vec::with_capacity(idx.len() * attendees.len());
        let mut slowest = vec![0u64; idx.len()];
        let mut fastest = vec![u64::MAX; idx.len()];
        let mut lost = 0u64;
        for a in &attendees {
            let g = a.seen.lock().unwrap();
            for (j, &k) in idx.iter().enumerate() {
                let at = g.arrival[k];
                if at == 0 {
                    lost += 1;
                    continue;
                }
                let l = (at - 1).saturating_sub(sent[k]);
                slowest[j] = slowest[j].max(l);
                fastest[j] = fastest[j].min(l);
                lat.push(l.min(u64::from(u32::MAX)) as u32);
            }
        }
        out.expected = (idx.len() * attendees.len()) as u64;
        out.received = lat.len() as u64;
        out.lost = lost;
        out.late = lat.iter().filter(|&&l| u64::from(l) > late_us).count() as u64;
        out.p = procfs::percentiles(lat).unwrap_or_default();
        let mut s: Vec<f64> = slowest.iter().map(|&u| u as f64 / 1000.0).collect();
        out.spread_max = s.iter().cloned().fold(0.0, f64::max);
        out.spread_p95 = pct_ms(&mut s, 0.95);
        let mut f: Vec<f64> = fastest
            .iter()
            .filter(|&&u| u != u64::MAX)
            .map(|&u| u as f64 / 1000.0)
            .collect();
        out.first_p50 = pct_ms(&mut f, 0.5);
        out.first_p95 = pct_ms(&mut f, 0.95);
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

// --- report --------------------------------------------------------------------------------

fn machine() -> String {
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

fn row(label: &str, n: usize, k: &KindStats) -> String {
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

fn section(cli: &Cli, results: &[RunResult]) -> String {
    let mut s = String::new();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
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
         - not covered: the 2 browser attendees (WebSocket, rendering) of the meeting figure — \
         that is the browser harness's part.\n\n",
        cli.concurrency, cli.turns, cli.turn_rate, cli.extend_rate, cli.drain, cli.late_ms
    ));
    s.push_str("| event | attendees | deliveries | p50 ms | p95 ms | p99 ms | max ms | first attendee p50 / p95 ms | slowest p95 ms | lost | late |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in results {
        if r.error.is_some() && r.turn.expected == 0 {
            continue;
        }
        s.push_str(&row("page turn", r.n, &r.turn));
        s.push('\n');
        s.push_str(&row("stroke extend", r.n, &r.extend));
        s.push('\n');
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
        if r.other_cpu_events_pct > 50.0 {
            notes.push(format!(
                "N={}: other processes used {:.0} % of a core during the send window (load average {}): \
                 the machine was shared and busy, so these figures are pessimistic; rerun on a quiet machine \
                 for reference numbers.",
                r.n, r.other_cpu_events_pct, r.loadavg
            ));
        }
        if let Some(e) = &r.error {
            notes.push(format!("N={}: run error: {e}", r.n));
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

fn write_section(path: &PathBuf, section: &str) -> Res<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => {
            let mut rest = &old[e + END.len()..];
            if let Some(r) = rest.strip_prefix('\n') {
                rest = r;
            }
            format!("{}{section}{rest}", &old[..b])
        }
        _ if old.is_empty() => section.to_string(),
        _ => format!(
            "{}\n{section}",
            old.trim_end_matches('\n').to_string() + "\n"
        ),
    };
    std::fs::write(path, new).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn json(r: &RunResult) -> serde_json::Value {
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
        "error": r.error,
    })
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
