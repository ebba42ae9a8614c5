//! One measured result, written as a JSON line by the runs and read back by the report writer.

use crate::fanout::FanoutOutcome;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Record {
    /// `lectern`, `prosody` or `ejabberd`.
    pub server: String,
    /// `S1`..`S5`, or `MEM` (memory once settled).
    pub scenario: String,
    /// Attendees asked for.
    pub n: usize,
    /// Human description of the load, e.g. `200 B @ 20/s, 12 s`.
    pub load: String,
    /// Room presence broadcast: `all` or `mod+part`.
    pub broadcast: String,
    pub receivers: Option<usize>,
    pub sent: Option<u64>,
    pub expected: Option<u64>,
    pub delivered: Option<u64>,
    pub lost: Option<u64>,
    pub short_receivers: Option<usize>,
    /// Connections the server closed during the measurement.
    pub dropped: Option<usize>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub deliveries_per_s: Option<f64>,
    /// Wall time of the measurement (CPU shares are over this).
    pub duration_s: Option<f64>,
    /// Fan-out: first send to last delivery.
    pub span_s: Option<f64>,
    pub server_cpu_pct: Option<f64>,
    pub gen_cpu_pct: Option<f64>,
    /// CPU used by other processes on the machine meanwhile (% of one core): noise.
    pub other_cpu_pct: Option<f64>,
    pub server_cpu_us_per_delivery: Option<f64>,
    pub joined: Option<usize>,
    pub joins_per_s: Option<f64>,
    pub join_p50_ms: Option<f64>,
    pub join_p99_ms: Option<f64>,
    pub presences: Option<u64>,
    /// S5: from the first join sent until presences stopped arriving (everyone sees everyone).
    pub presences_done_s: Option<f64>,
    pub logins_per_s: Option<f64>,
    pub rss_base_kib: Option<u64>,
    pub rss_kib: Option<u64>,
    pub rss_per_client_kib: Option<f64>,
    /// Unexpected stanzas and failures, verbatim.
    pub notes: Vec<String>,
}

impl Record {
    pub fn new(server: &str, scenario: &str, n: usize, load: String, broadcast: &str) -> Record {
        Record {
            server: server.to_string(),
            scenario: scenario.to_string(),
            n,
            load,
            broadcast: broadcast.to_string(),
            ..Record::default()
        }
    }

    /// Fill in a fan-out outcome.
    pub fn with_fanout(mut self, o: &FanoutOutcome) -> Record {
        self.receivers = Some(o.receivers);
        self.sent = Some(o.sent);
        self.expected = Some(o.expected);
        self.delivered = Some(o.delivered);
        self.lost = Some(o.lost);
        self.short_receivers = Some(o.short_receivers);
        self.dropped = Some(o.dropped);
        if let Some(p) = o.latency {
            self.p50_ms = Some(p.p50);
            self.p95_ms = Some(p.p95);
            self.p99_ms = Some(p.p99);
            self.max_ms = Some(p.max);
        }
        self.deliveries_per_s = Some(o.deliveries_per_s);
        self.duration_s = Some(o.cpu.wall_s);
        self.span_s = Some(o.span_s);
        self.server_cpu_pct = Some(o.cpu.server_pct());
        self.gen_cpu_pct = Some(o.cpu.gen_pct());
        self.other_cpu_pct = Some(o.cpu.other_pct());
        if o.delivered > 0 {
            self.server_cpu_us_per_delivery = Some(1e6 * o.cpu.server_cpu_s / o.delivered as f64);
        }
        if let Some(e) = &o.send_error {
            self.notes.push(format!("sender failed: {e}"));
        }
        self
    }

    /// Append this record to the JSON-lines file `path` and echo a summary on stderr.
    pub fn append(&self, path: &Path) -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(
            f,
            "{}",
            serde_json::to_string(self).map_err(std::io::Error::other)?
        )?;
        eprintln!("{}", self.summary());
        Ok(())
    }

    fn summary(&self) -> String {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        let u = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
        format!(
            "[{}] {} N={} {} bc={} | delivered {}/{} lost {} | p50 {} p95 {} p99 {} max {} ms | {} deliv/s | \
             joined {} {} joins/s | rss/client {} KiB | server {}% gen {}% | notes {:?}",
            self.server,
            self.scenario,
            self.n,
            self.load,
            self.broadcast,
            u(self.delivered),
            u(self.expected),
            u(self.lost),
            f(self.p50_ms),
            f(self.p95_ms),
            f(self.p99_ms),
            f(self.max_ms),
            f(self.deliveries_per_s),
            self.joined.map_or("-".into(), |j| j.to_string()),
            f(self.joins_per_s),
            f(self.rss_per_client_kib),
            f(self.server_cpu_pct),
            f(self.gen_cpu_pct),
            self.notes
        )
    }
}

/// Read all records of a JSON-lines file (bad lines are skipped with a warning).
pub fn read_all(path: &Path) -> std::io::Result<Vec<Record>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| match serde_json::from_str(l) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("skipping bad result line ({e}): {l}");
                None
            }
        })
        .collect())
}
