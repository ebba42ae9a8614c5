//! Latency statistics of the meeting benchmark: per event kind, from the presenter's send
//! stamps and every attendee's arrival stamps (µs since the run's `t0`, +1 so 0 = never).

use crate::meeting_plan::{Kind, Planned};
use crate::procfs;

#[derive(Default, Clone, Copy)]
pub struct KindStats {
    pub expected: u64,
    pub received: u64,
    pub lost: u64,
    pub late: u64,
    pub p: procfs::Percentiles,
    /// Per event, the slowest attendee: p95 of those (ms), and the worst.
    pub spread_p95: f64,
    pub spread_max: f64,
    /// Per event, the fastest attendee: p50 and p95 of those (ms). High values mean the delay
    /// is before the room fan-out (presenter → focus → archive → emit).
    pub first_p50: f64,
    pub first_p95: f64,
}

/// The `q` quantile (nearest rank) of `v`, sorting it; 0 when empty.
pub fn pct_ms(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Indexes (event `t`) of the planned events of `kind`; index 0 is the share.
pub fn indexes(plan: &[Planned], kind: Kind) -> Vec<usize> {
    plan.iter()
        .enumerate()
        .filter(|(_, p)| p.kind == kind)
        .map(|(i, _)| i + 1)
        .collect()
}

/// Send → arrival latency of the events `idx` over all `arrivals` (one vector per attendee,
/// indexed by event), with `sent` the send stamps (µs since `t0`).
pub fn kind_stats<'a>(
    idx: &[usize],
    sent: &[u64],
    arrivals: impl Iterator<Item = &'a [u64]>,
    late_us: u64,
) -> KindStats {
    let mut out = KindStats::default();
    let mut lat: Vec<u32> = Vec::new();
    let mut slowest = vec![0u64; idx.len()];
    let mut fastest = vec![u64::MAX; idx.len()];
    let mut attendees = 0u64;
    for arrival in arrivals {
        attendees += 1;
        for (j, &k) in idx.iter().enumerate() {
            let at = arrival.get(k).copied().unwrap_or(0);
            if at == 0 {
                out.lost += 1;
                continue;
            }
            let l = (at - 1).saturating_sub(sent[k]);
            slowest[j] = slowest[j].max(l);
            fastest[j] = fastest[j].min(l);
            lat.push(l.min(u64::from(u32::MAX)) as u32);
        }
    }
    out.expected = idx.len() as u64 * attendees;
    out.received = lat.len() as u64;
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_from_stamps() {
        // events 1 and 2, two attendees; attendee 2 never got event 2
        let sent = [0, 1000, 2000];
        let a = [0u64, 1000 + 500 + 1, 2000 + 700 + 1];
        let b = [0u64, 1000 + 900 + 1, 0];
        let k = kind_stats(&[1, 2], &sent, [&a[..], &b[..]].into_iter(), 800);
        assert_eq!((k.expected, k.received, k.lost, k.late), (4, 3, 1, 1));
        assert_eq!(k.spread_max, 0.9);
        assert_eq!(k.first_p50, 0.5);
    }
}
