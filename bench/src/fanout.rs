//! One sender, N receivers: stamped groupchat messages at a fixed rate (or flat out), counted
//! and timed at every receiver.

use crate::client::Conn;
use crate::procfs::{percentiles, CpuMeter, CpuUse, Percentiles};
use crate::state::{now_ns, BENCH_NS};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use tokio::time::{sleep, sleep_until};

/// One message stream: `count` payloads of `size` bytes at `rate` per second (`None`: flat out).
#[derive(Clone, Copy, Debug)]
pub struct Stream {
    pub size: usize,
    pub rate: Option<f64>,
    pub count: u64,
}

#[derive(Clone, Debug)]
pub struct FanoutSpec {
    /// Stamps this run's messages; receivers count only this tag.
    pub tag: u32,
    pub streams: Vec<Stream>,
    /// Stop waiting for stragglers once deliveries made no progress for this long.
    pub drain: Duration,
    /// Hard bound on sending.
    pub limit: Duration,
    /// Hard bound on waiting for deliveries after the last send (a saturated server may still
    /// be delivering; what has not arrived by then counts as lost).
    pub drain_limit: Duration,
}

#[derive(Clone, Debug, Default)]
pub struct FanoutOutcome {
    pub receivers: usize,
    pub sent: u64,
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    /// Receivers that missed at least one message.
    pub short_receivers: usize,
    /// Receivers whose connection ended during the run (e.g. disconnected by the server).
    pub dropped: usize,
    pub latency: Option<Percentiles>,
    /// Deliveries / (last delivery − first send).
    pub deliveries_per_s: f64,
    pub span_s: f64,
    pub cpu: CpuUse,
    pub send_error: Option<String>,
}

/// The groupchat message carrying stamp `t` (ns since the bench epoch): the payload element
/// `<b xmlns='urn:lectern:bench' .../>` is padded to exactly `size` bytes when `size` allows.
pub fn message(room: &str, tag: u32, seq: u64, size: usize, t: u64) -> String {
    let head = format!("<b xmlns='{BENCH_NS}' k='{tag}' s='{seq:08}' t='{t:016}'>");
    let pad = size.saturating_sub(head.len() + 4);
    format!(
        "<message to='{room}' type='groupchat' id='b{tag}-{seq}'>{head}{}</b></message>",
        "x".repeat(pad)
    )
}

/// Run `spec` from `sender` to `receivers` (all already in `room`).
pub async fn run(
    sender: &Conn,
    receivers: &[Conn],
    room: &str,
    spec: &FanoutSpec,
    server_pid: u32,
) -> FanoutOutcome {
    let live: Vec<&Conn> = receivers
        .iter()
        .filter(|c| c.state.joined() && !c.state.closed())
        .collect();
    for c in &live {
        c.state.begin(spec.tag);
    }
    let meter = CpuMeter::start(server_pid);
    let start = Instant::now();
    let first_ns = now_ns();
    let mut out = FanoutOutcome {
        receivers: live.len(),
        ..FanoutOutcome::default()
    };
    let mut sent = vec![0u64; spec.streams.len()];
    let mut due = vec![start; spec.streams.len()];
    loop {
        let next = (0..spec.streams.len())
            .filter(|&i| sent[i] < spec.streams[i].count)
            .min_by_key(|&i| due[i]);
        let Some(i) = next else { break };
        if start.elapsed() > spec.limit {
            break;
        }
        sleep_until(due[i].into()).await;
        let s = spec.streams[i];
        let seq = out.sent;
        let msg = message(room, spec.tag, seq, s.size, now_ns());
        if let Err(e) = sender.send(msg.as_bytes()).await {
            out.send_error = Some(e);
            break;
        }
        out.sent += 1;
        sent[i] += 1;
        if let Some(rate) = s.rate {
            due[i] = start + Duration::from_secs_f64(sent[i] as f64 / rate);
        }
    }
    out.expected = out.sent * live.len() as u64;
    // Drain: until everything arrived, deliveries stop progressing for `drain`, or the bound.
    let sent_at = Instant::now();
    let mut last_total = 0;
    let mut last_progress = Instant::now();
    loop {
        let total: u64 = live.iter().map(|c| c.state.tagged.load(Relaxed)).sum();
        if total != last_total {
            last_total = total;
            last_progress = Instant::now();
        }
        if total >= out.expected
            || last_progress.elapsed() > spec.drain
            || sent_at.elapsed() > spec.drain_limit
        {
            break;
        }
        sleep(Duration::from_millis(20)).await;
    }
    out.cpu = meter.read();
    let mut samples = Vec::with_capacity(out.expected as usize);
    let mut last_ns = first_ns;
    for c in &live {
        let got = c.state.tagged.load(Relaxed);
        if got < out.sent {
            out.short_receivers += 1;
        }
        if c.state.closed() {
            out.dropped += 1;
        }
        out.delivered += got;
        last_ns = last_ns.max(c.state.last_ns.load(Relaxed));
        samples.extend(c.state.take_samples());
    }
    out.lost = out.expected.saturating_sub(out.delivered);
    out.latency = percentiles(samples);
    out.span_s = (last_ns - first_ns) as f64 / 1e9;
    out.deliveries_per_s = out.delivered as f64 / out.span_s.max(1e-9);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_padded_to_size() {
        let m = message("r@c", 3, 12, 200, 123_456_789);
        let start = m.find("<b ").unwrap();
        let end = m.find("</message>").unwrap();
        assert_eq!(end - start, 200);
        assert!(m.contains("k='3' s='00000012' t='0000000123456789'"));
    }
}
