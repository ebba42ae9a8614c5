//! CPU time and resident memory of a process from /proc, and latency percentiles.

use std::time::{Duration, Instant};

/// Linux reports utime/stime in USER_HZ ticks, which is 100 on every mainstream architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// utime + stime of `pid` (all threads) in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// Resident set size of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// Peak resident set size of `pid` in KiB.
#[allow(dead_code)] // only the meeting benchmark, one of the two binaries sharing this module
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// Busy CPU time of the whole machine in seconds (all cores; /proc/stat, idle and iowait excluded).
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_ascii_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy = v.get(..8)?.iter().sum::<u64>() - v[3] - v[4];
    Some(busy as f64 / TICKS_PER_SECOND)
}

/// CPU used by the server, by this generator and by everything else over an interval.
pub struct CpuMeter {
    server: u32,
    server_cpu: f64,
    own_cpu: f64,
    machine: f64,
    start: Instant,
}

/// What a [`CpuMeter`] measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuUse {
    pub wall_s: f64,
    pub server_cpu_s: f64,
    pub gen_cpu_s: f64,
    /// Busy time of every other process on the machine (noise from outside the benchmark).
    pub other_cpu_s: f64,
}

impl CpuUse {
    /// Server CPU as a percentage of one core.
    pub fn server_pct(&self) -> f64 {
        100.0 * self.server_cpu_s / self.wall_s.max(1e-9)
    }
    /// Generator CPU as a percentage of one core.
    pub fn gen_pct(&self) -> f64 {
        100.0 * self.gen_cpu_s / self.wall_s.max(1e-9)
    }
    /// Other processes' CPU as a percentage of one core.
    pub fn other_pct(&self) -> f64 {
        100.0 * self.other_cpu_s.max(0.0) / self.wall_s.max(1e-9)
    }
}

impl CpuMeter {
    pub fn start(server: u32) -> CpuMeter {
        CpuMeter {
            server,
            server_cpu: cpu_seconds(server).unwrap_or(0.0),
            own_cpu: cpu_seconds(std::process::id()).unwrap_or(0.0),
            machine: machine_busy_seconds().unwrap_or(0.0),
            start: Instant::now(),
        }
    }

    pub fn read(&self) -> CpuUse {
        let server_cpu_s = cpu_seconds(self.server).unwrap_or(0.0) - self.server_cpu;
        let gen_cpu_s = cpu_seconds(std::process::id()).unwrap_or(0.0) - self.own_cpu;
        let busy = machine_busy_seconds().unwrap_or(0.0) - self.machine;
        CpuUse {
            wall_s: self.start.elapsed().as_secs_f64(),
            server_cpu_s,
            gen_cpu_s,
            other_cpu_s: busy - server_cpu_s - gen_cpu_s,
        }
    }
}

/// Wait (at most `limit`) until the server uses less than 5 % of a core over 500 ms windows,
/// so work queued by one step (e.g. leave presences) does not bleed into the next.
pub async fn wait_idle(server: u32, limit: Duration) -> Duration {
    let start = Instant::now();
    while start.elapsed() < limit {
        let before = cpu_seconds(server).unwrap_or(0.0);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let used = cpu_seconds(server).unwrap_or(0.0) - before;
        if used < 0.025 {
            break;
        }
    }
    start.elapsed()
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// Percentiles (nearest rank) of samples in microseconds.
pub fn percentiles(mut us: Vec<u32>) -> Option<Percentiles> {
    if us.is_empty() {
        return None;
    }
    us.sort_unstable();
    let at = |q: f64| {
        let rank = ((q * us.len() as f64).ceil() as usize).clamp(1, us.len());
        f64::from(us[rank - 1]) / 1000.0
    };
    Some(Percentiles {
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: at(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let p = percentiles((1..=100).map(|i| i * 1000).collect()).unwrap();
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
        assert!(percentiles(Vec::new()).is_none());
    }

    #[test]
    fn reads_own_process() {
        let me = std::process::id();
        assert!(cpu_seconds(me).is_some());
        assert!(rss_kib(me).unwrap() > 0);
        assert!(machine_busy_seconds().unwrap() > 0.0);
    }
}
