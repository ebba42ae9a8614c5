//! Browser attendees of the meeting benchmark: `bench/browser/attendees.mjs` (Node +
//! playwright-core driving Debian's Chromium) opens the real web client at `/m/NUMBER` as
//! attendees of the benchmark's meeting and records, in each page, when each event arrived and
//! when the client had applied it (epoch ms). This side starts that script, waits for its
//! `ready` line, and at the end sends `collect` and parses its `result` line.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use crate::meeting_net::Res;
use crate::meeting_plan::{Kind, Planned};
use crate::meeting_stats::{indexes, kind_stats, KindStats};

/// The running script.
pub struct Browsers {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Chromium's version as playwright reports it.
    pub chromium: String,
}

/// What one browser attendee recorded. Times are epoch ms, keyed by the event's `t` (the
/// benchmark's event index).
#[derive(Default)]
pub struct BrowserSeen {
    pub name: String,
    pub recv: HashMap<usize, f64>,
    pub apply: HashMap<usize, f64>,
    pub seq: HashMap<usize, u64>,
    pub status: String,
    pub errors: Vec<String>,
    pub dupes: u64,
    /// The page's epoch clock minus `Date.now()` at collection (ms; Date has ms resolution).
    pub clock_minus_date_ms: f64,
}

impl BrowserSeen {
    /// Arrival or apply times as the headless attendees record them: µs since the benchmark's
    /// `t0` (whose epoch is `epoch0_us`), +1 so 0 means never.
    pub fn as_arrivals(times: &HashMap<usize, f64>, events: usize, epoch0_us: u64) -> Vec<u64> {
        let mut v = vec![0u64; events];
        for (&t, &ms) in times {
            if let Some(slot) = v.get_mut(t) {
                *slot = ((ms * 1000.0) as i64 - epoch0_us as i64).max(0) as u64 + 1;
            }
        }
        v
    }

    /// Jumps in `seq` between consecutive event indexes (the focus numbers in arrival order,
    /// and the presenter sends in index order).
    pub fn seq_gaps(&self) -> u64 {
        let mut s: Vec<u64> = self.seq.values().copied().collect();
        s.sort_unstable();
        s.windows(2).filter(|w| w[1] != w[0] + 1).count() as u64
    }
}

impl Browsers {
    /// Starts `node SCRIPT` and waits until every attendee is online.
    pub async fn start(
        node: &str,
        script: &Path,
        http: SocketAddr,
        number: &str,
        count: usize,
        limit: Duration,
    ) -> Res<Browsers> {
        let mut child = Command::new(node)
            .arg(script)
            .args(["--url", &format!("http://{http}"), "--number", number])
            .args(["--count", &count.to_string()])
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting {node} {}: {e}", script.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut b = Browsers {
            child,
            stdin,
            lines,
            chromium: String::new(),
        };
        let ready = b.line("ready", limit).await?;
        let v: serde_json::Value =
            serde_json::from_str(&ready).map_err(|e| format!("ready line: {e}"))?;
        b.chromium = v["chromium"].as_str().unwrap_or_default().to_string();
        Ok(b)
    }

    /// CPU time (s) of the script and every process under it (Chromium's), from /proc.
    pub fn cpu_seconds(&self) -> f64 {
        let mut procs: Vec<(u32, u32, f64)> = Vec::new(); // pid, ppid, cpu s
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some(close) = stat.rfind(')') else {
                continue;
            };
            let f: Vec<&str> = stat[close + 2..].split_ascii_whitespace().collect();
            let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            procs.push((pid, num(1) as u32, (num(11) + num(12)) as f64 / 100.0));
        }
        let mut tree = vec![self.child.id()];
        let mut total = 0.0;
        while let Some(p) = tree.pop() {
            for &(pid, ppid, cpu) in &procs {
                if pid == p {
                    total += cpu;
                }
                if ppid == p {
                    tree.push(pid);
                }
            }
        }
        total
    }

    /// The payload of the next stdout line starting with `word `.
    async fn line(&mut self, word: &str, limit: Duration) -> Res<String> {
        let until = Instant::now() + limit;
        loop {
            match self.lines.try_recv() {
                Ok(l) => {
                    if let Some(rest) = l.strip_prefix(word).and_then(|r| r.strip_prefix(' ')) {
                        return Ok(rest.to_string());
                    }
                    eprintln!("browser attendees: {l}");
                }
                Err(TryRecvError::Disconnected) => {
                    return Err(format!("browser attendees exited before `{word}`"))
                }
                Err(TryRecvError::Empty) => {}
            }
            if Instant::now() > until {
                return Err(format!("browser attendees: no `{word}` within {limit:?}"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asks for the recordings once every page has events 1..`events` (at most `wait`); the
    /// script closes the browser and exits afterwards.
    pub async fn collect(
        mut self,
        events: usize,
        wait: Duration,
        limit: Duration,
    ) -> Res<Vec<BrowserSeen>> {
        if let Some(w) = self.stdin.as_mut() {
            w.write_all(format!("collect {events} {}\n", wait.as_millis()).as_bytes())
                .and_then(|_| w.flush())
                .map_err(|e| format!("browser attendees: {e}"))?;
        }
        let result = self.line("result", wait + limit).await?;
        let v: serde_json::Value =
            serde_json::from_str(&result).map_err(|e| format!("result line: {e}"))?;
        let times = |o: &serde_json::Value| -> HashMap<usize, f64> {
            o.as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_f64()?)))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut out = Vec::new();
        for a in v["attendees"].as_array().into_iter().flatten() {
            out.push(BrowserSeen {
                name: a["name"].as_str().unwrap_or_default().to_string(),
                recv: times(&a["recv"]),
                apply: times(&a["apply"]),
                seq: times(&a["seq"])
                    .into_iter()
                    .map(|(k, s)| (k, s as u64))
                    .collect(),
                status: a["status"].as_str().unwrap_or_default().to_string(),
                errors: a["errors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect(),
                dupes: a["dupes"].as_u64().unwrap_or(0),
                clock_minus_date_ms: a["clockMinusDate"].as_f64().unwrap_or(0.0),
            });
        }
        Ok(out)
    }
}

impl Drop for Browsers {
    fn drop(&mut self) {
        // Closing stdin makes the script close Chromium and exit; kill it if it lingers.
        self.stdin.take();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The browser attendees' part of a run, for the report.
#[derive(Default)]
pub struct BrowserResult {
    pub count: usize,
    pub chromium: String,
    /// Presenter send → WebSocket frame received in the page.
    pub turn: KindStats,
    pub extend: KindStats,
    /// Presenter send → event applied and the canvases redrawn.
    pub turn_apply: KindStats,
    pub extend_apply: KindStats,
    pub share_received: usize,
    pub gaps: u64,
    pub dupes: u64,
    pub not_online: usize,
    pub page_errors: usize,
    pub first_page_error: Option<String>,
    /// CPU of the script and its Chromium processes during the timed window (% of one core).
    pub cpu_pct: f64,
    /// Largest |page epoch clock − Date.now()| (ms): a check that the clocks agree.
    pub clock_check_ms: f64,
    pub error: Option<String>,
}

impl BrowserResult {
    pub fn failed(count: usize, e: String) -> BrowserResult {
        eprintln!("browser attendees: {e}");
        BrowserResult {
            count,
            error: Some(e),
            ..Default::default()
        }
    }

    pub fn new(
        seen: &[BrowserSeen],
        plan: &[Planned],
        sent: &[u64],
        epoch0_us: u64,
        late_us: u64,
    ) -> BrowserResult {
        let events = sent.len();
        let recv: Vec<Vec<u64>> = seen
            .iter()
            .map(|b| BrowserSeen::as_arrivals(&b.recv, events, epoch0_us))
            .collect();
        let apply: Vec<Vec<u64>> = seen
            .iter()
            .map(|b| BrowserSeen::as_arrivals(&b.apply, events, epoch0_us))
            .collect();
        let (turns, extends) = (indexes(plan, Kind::Turn), indexes(plan, Kind::Extend));
        let stats = |idx: &[usize], v: &[Vec<u64>]| {
            kind_stats(idx, sent, v.iter().map(Vec::as_slice), late_us)
        };
        let errors: Vec<&String> = seen.iter().flat_map(|b| &b.errors).collect();
        BrowserResult {
            count: seen.len(),
            chromium: String::new(),
            cpu_pct: 0.0,
            turn: stats(&turns, &recv),
            extend: stats(&extends, &recv),
            turn_apply: stats(&turns, &apply),
            extend_apply: stats(&extends, &apply),
            share_received: seen.iter().filter(|b| b.recv.contains_key(&0)).count(),
            gaps: seen.iter().map(BrowserSeen::seq_gaps).sum(),
            dupes: seen.iter().map(|b| b.dupes).sum(),
            not_online: seen.iter().filter(|b| b.status != "online").count(),
            page_errors: errors.len(),
            first_page_error: errors.first().map(|e| e.to_string()),
            clock_check_ms: seen
                .iter()
                .map(|b| b.clock_minus_date_ms.abs())
                .fold(0.0, f64::max),
            error: None,
        }
    }
}
