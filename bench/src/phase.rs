//! The scenarios, grouped into phases that each run on a freshly started server:
//! `fanout` (S1, S2 at two sizes, S3, memory) and `storm` (S5 at one size and broadcast mode,
//! optionally followed by S4 and memory in the same room).

use crate::client::Conn;
use crate::fanout::{self, FanoutSpec, Stream};
use crate::procfs::{percentiles, rss_kib, wait_idle, CpuMeter};
use crate::record::Record;
use crate::room::{self, Broadcast, Target};
use crate::state::now_ns;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// Knobs of a phase (bench/run.sh passes smaller ones for `QUICK=1`).
#[derive(Clone, Debug)]
pub struct Params {
    pub server: String,
    pub out: PathBuf,
    /// Seconds of sending per S1/S2/S4 point.
    pub seconds: f64,
    /// Messages sent flat out in S3.
    pub s3_count: u64,
    /// Bound on joining the receivers of the fan-out phase, and on each S5 storm.
    pub join_limit: Duration,
    /// Logins in flight at once.
    pub parallel: usize,
}

const S1: (usize, f64) = (200, 20.0);
const S2: (usize, f64) = (1400, 10.0);
const SETTLE: Duration = Duration::from_secs(30);
/// Bound on waiting for a storm's last presences after the joins (or the join bound) ended.
const PRESENCE_SETTLE: Duration = Duration::from_secs(20);

fn room_name(t: &Target, what: &str) -> String {
    format!("bench-{what}-{}@{}", now_ns() % 1_000_000_007, t.muc)
}

fn paced(p: &Params, tag: u32, loads: &[(usize, f64)]) -> FanoutSpec {
    let streams = loads
        .iter()
        .map(|&(size, rate)| Stream {
            size,
            rate: Some(rate),
            count: (rate * p.seconds).round() as u64,
        })
        .collect();
    FanoutSpec {
        tag,
        streams,
        drain: Duration::from_secs(5),
        limit: Duration::from_secs_f64(p.seconds * 1.5 + 5.0),
        drain_limit: Duration::from_secs_f64(p.seconds * 4.0 + 10.0),
    }
}

fn load_label(loads: &[(usize, f64)], seconds: f64) -> String {
    let parts: Vec<String> = loads
        .iter()
        .map(|(size, rate)| format!("{size} B @ {rate}/s"))
        .collect();
    format!("{} for {seconds} s", parts.join(" + "))
}

/// Settle, then record server RSS per connected attendee.
async fn memory(p: &Params, t: &Target, n: usize, joined: usize, base: u64, bc: Broadcast) -> u64 {
    wait_idle(t.pid, SETTLE).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss = rss_kib(t.pid).unwrap_or(0);
    let mut r = Record::new(
        &p.server,
        "MEM",
        n,
        "connected, in the room, idle".into(),
        bc.label(),
    );
    r.joined = Some(joined);
    r.rss_base_kib = Some(base);
    r.rss_kib = Some(rss);
    r.rss_per_client_kib = Some(rss.saturating_sub(base) as f64 / joined.max(1) as f64);
    let _ = r.append(&p.out);
    rss
}

async fn fanout_point(
    p: &Params,
    t: &Target,
    sender: &Conn,
    receivers: &[Conn],
    room: &str,
    (scenario, tag, loads): (&str, u32, &[(usize, f64)]),
    bc: Broadcast,
) {
    wait_idle(t.pid, SETTLE).await;
    let spec = paced(p, tag, loads);
    let o = fanout::run(sender, receivers, room, &spec, t.pid).await;
    let mut r = Record::new(
        &p.server,
        scenario,
        receivers.len(),
        load_label(loads, p.seconds),
        bc.label(),
    )
    .with_fanout(&o);
    r.notes
        .extend(room::collect_notes(std::slice::from_ref(sender), 2));
    r.notes.extend(room::collect_notes(receivers, 3));
    let _ = r.append(&p.out);
}

/// Server RSS once its start-up work has settled.
async fn base_rss(t: &Target) -> u64 {
    wait_idle(t.pid, SETTLE).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    rss_kib(t.pid).unwrap_or(0)
}

/// `sender` if it is still connected, else a new sender that joined `room` (the server may
/// disconnect a sender; the phase goes on and the record of the run that lost it says so).
async fn live_sender(t: &Target, room: &str, sender: Conn, k: &mut usize) -> Result<Conn, String> {
    if !sender.state.closed() {
        return Ok(sender);
    }
    *k += 1;
    let c = Conn::login(t.addr, &t.guest_domain).await?;
    c.send(room::join_stanza(room, &format!("host{k}")).as_bytes())
        .await?;
    let start = std::time::Instant::now();
    while !c.state.joined() {
        if start.elapsed() > Duration::from_secs(30) || c.state.closed() {
            return Err(format!(
                "a new sender could not join: {:?}",
                c.state.notes()
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!("the sender was disconnected; a new one joined as host{k}");
    Ok(c)
}

/// S3: `p.s3_count` messages flat out to `receivers`.
async fn flat_out(p: &Params, t: &Target, sender: &Conn, receivers: &[Conn], room: &str, tag: u32) {
    wait_idle(t.pid, SETTLE).await;
    let spec = FanoutSpec {
        tag,
        streams: vec![Stream {
            size: S1.0,
            rate: None,
            count: p.s3_count,
        }],
        drain: Duration::from_secs(5),
        limit: Duration::from_secs(120),
        drain_limit: Duration::from_secs(120),
    };
    let o = fanout::run(sender, receivers, room, &spec, t.pid).await;
    let load = format!("{} x {} B flat out", p.s3_count, S1.0);
    let mut r = Record::new(&p.server, "S3", receivers.len(), load, "all").with_fanout(&o);
    r.notes
        .extend(room::collect_notes(std::slice::from_ref(sender), 2));
    r.notes.extend(room::collect_notes(receivers, 3));
    let _ = r.append(&p.out);
}

/// S1 and S2 at `small` and `large` receivers, S3 at `small`, memory at both sizes.
pub async fn fanout_phase(
    p: &Params,
    t: &Target,
    small: usize,
    large: usize,
) -> Result<(), String> {
    let base = base_rss(t).await;
    let mut sender = Conn::login(t.addr, &t.guest_domain).await?;
    let room = room_name(t, "fanout");
    room::create_room(&sender, &room, Broadcast::All).await?;
    let mut receivers: Vec<Conn> = Vec::new();
    let mut senders = 0;
    let bc = Broadcast::All;
    for (i, &n) in [small, large].iter().enumerate() {
        let (more, errors, _) =
            room::connect_many(t, n - receivers.len(), p.parallel, p.join_limit).await;
        if !errors.is_empty() {
            eprintln!("login errors: {errors:?}");
        }
        let first = receivers.len();
        receivers.extend(more);
        let joined = room::join_paced(&receivers[first..], first, &room, 50, p.join_limit).await;
        eprintln!("[{}] {} of {n} receivers joined", p.server, first + joined);
        let in_room = receivers.iter().filter(|c| c.state.joined()).count();
        memory(p, t, n, in_room, base, bc).await;
        let tag = 10 * (i as u32 + 1);
        sender = live_sender(t, &room, sender, &mut senders).await?;
        let point = ("S1", tag + 1, &[S1][..]);
        fanout_point(p, t, &sender, &receivers, &room, point, bc).await;
        sender = live_sender(t, &room, sender, &mut senders).await?;
        let point = ("S2", tag + 2, &[S2][..]);
        fanout_point(p, t, &sender, &receivers, &room, point, bc).await;
        if i == 0 {
            sender = live_sender(t, &room, sender, &mut senders).await?;
            flat_out(p, t, &sender, &receivers, &room, tag + 3).await;
        }
    }
    Ok(())
}

/// Wait (at most `limit`) until no presence arrived for a second; returns the presences
/// received and when the last one arrived.
async fn presences_settled(conns: &[Conn], limit: Duration) -> (u64, u64) {
    let count = || -> u64 { conns.iter().map(|c| c.state.presences.load(Relaxed)).sum() };
    let start = now_ns();
    let mut last = count();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = count();
        if now == last || now_ns() - start > limit.as_nanos() as u64 {
            break;
        }
        last = now;
    }
    let done = conns
        .iter()
        .map(|c| c.state.last_presence_ns.load(Relaxed))
        .max()
        .unwrap_or(0);
    (count(), done)
}

/// S5: `n` attendees, already logged in, join one room at once. With `s4`, then S4 in that room.
pub async fn storm_phase(
    p: &Params,
    t: &Target,
    n: usize,
    bc: Broadcast,
    s4: bool,
) -> Result<(), String> {
    let base = base_rss(t).await;
    let owner = Conn::login(t.addr, &t.guest_domain).await?;
    let room = room_name(t, "storm");
    room::create_room(&owner, &room, bc).await?;
    let (conns, errors, took) = room::connect_many(t, n, p.parallel, p.join_limit).await;
    let mut r = Record::new(&p.server, "S5", n, "join storm".into(), bc.label());
    r.logins_per_s = Some(conns.len() as f64 / took.as_secs_f64().max(1e-9));
    r.notes.extend(errors);
    wait_idle(t.pid, SETTLE).await;
    let stanzas: Vec<String> = (0..conns.len())
        .map(|i| room::join_stanza(&room, &format!("a{i}")))
        .collect();
    let meter = CpuMeter::start(t.pid);
    let t0 = now_ns();
    for (c, s) in conns.iter().zip(&stanzas) {
        if c.send(s.as_bytes()).await.is_err() {
            c.state.on_closed("write failed while joining");
        }
    }
    let joined = room::wait_joined(&conns, t0, p.join_limit).await;
    let cpu = meter.read();
    let times: Vec<u64> = conns
        .iter()
        .filter(|c| c.state.joined())
        .map(|c| c.state.joined_ns.load(Relaxed) - t0)
        .collect();
    let last = times.iter().copied().max().unwrap_or(0) as f64 / 1e9;
    let span = if joined == conns.len() {
        last
    } else {
        p.join_limit.as_secs_f64()
    };
    r.joined = Some(joined);
    r.duration_s = Some(span);
    r.joins_per_s = Some(joined as f64 / span.max(1e-9));
    if let Some(pc) = percentiles(
        times
            .iter()
            .map(|&ns| (ns / 1000).min(u32::MAX as u64) as u32)
            .collect(),
    ) {
        r.join_p50_ms = Some(pc.p50);
        r.join_p99_ms = Some(pc.p99);
    }
    r.server_cpu_pct = Some(cpu.server_pct());
    r.gen_cpu_pct = Some(cpu.gen_pct());
    r.other_cpu_pct = Some(cpu.other_pct());
    // Presences of the last joins may still be on their way to the first joiners.
    let (presences, done_ns) = presences_settled(&conns, PRESENCE_SETTLE).await;
    r.presences = Some(presences);
    r.presences_done_s = Some(done_ns.saturating_sub(t0) as f64 / 1e9);
    r.dropped = Some(conns.iter().filter(|c| c.state.closed()).count());
    if joined < conns.len() {
        r.notes.push(format!(
            "{} of {} joined within the {} s bound",
            joined,
            conns.len(),
            p.join_limit.as_secs()
        ));
    }
    r.notes.extend(room::collect_notes(&conns, 3));
    let _ = r.append(&p.out);
    if s4 {
        memory(p, t, n, joined, base, bc).await;
        let loads = [S2, S1];
        fanout_point(p, t, &owner, &conns, &room, ("S4", 41, &loads), bc).await;
    }
    Ok(())
}
