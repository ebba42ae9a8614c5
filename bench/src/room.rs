//! Connecting many clients, creating and configuring the room, joining it.

use crate::client::{Conn, Res};
use crate::state::now_ns;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tokio::time::sleep;

/// Where the server under test listens and what it is called.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    /// Domain with SASL ANONYMOUS (`guest.localhost`).
    pub guest_domain: String,
    /// MUC service (`conference.localhost`).
    pub muc: String,
    /// Server process id, for /proc.
    pub pid: u32,
}

/// Which roles' presence the room broadcasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broadcast {
    /// An instant room: every join is broadcast to everyone.
    All,
    /// A moderated room (joiners are visitors) with
    /// `muc#roomconfig_presencebroadcast` = moderator, participant.
    Limited,
}

impl Broadcast {
    pub fn label(self) -> &'static str {
        match self {
            Broadcast::All => "all",
            Broadcast::Limited => "mod+part",
        }
    }
}

/// Log in `n` clients, at most `parallel` logins in flight. Returns the connections, the errors
/// (first few) and the time it took.
pub async fn connect_many(
    t: &Target,
    n: usize,
    parallel: usize,
    limit: Duration,
) -> (Vec<Conn>, Vec<String>, Duration) {
    let start = Instant::now();
    let mut conns = Vec::with_capacity(n);
    let mut errors = Vec::new();
    let mut set = JoinSet::new();
    let mut started = 0;
    while conns.len() + errors.len() < n {
        while started < n && set.len() < parallel && start.elapsed() < limit {
            let (addr, domain) = (t.addr, t.guest_domain.clone());
            set.spawn(async move { Conn::login(addr, &domain).await });
            started += 1;
        }
        match set.join_next().await {
            Some(Ok(Ok(c))) => conns.push(c),
            Some(Ok(Err(e))) => errors.push(e),
            Some(Err(e)) => errors.push(e.to_string()),
            None => break,
        }
    }
    errors.truncate(5);
    (conns, errors, start.elapsed())
}

/// The presence that joins `room` as `nick`, asking for no history.
pub fn join_stanza(room: &str, nick: &str) -> String {
    format!(
        "<presence to='{room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'>\
         <history maxstanzas='0'/></x></presence>"
    )
}

/// The `muc#owner` submit form for `broadcast`.
fn config_form(broadcast: Broadcast) -> String {
    match broadcast {
        Broadcast::All => "<x xmlns='jabber:x:data' type='submit'/>".to_string(),
        Broadcast::Limited => "<x xmlns='jabber:x:data' type='submit'>\
             <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
             <field var='muc#roomconfig_moderatedroom'><value>1</value></field>\
             <field var='muc#roomconfig_presencebroadcast'>\
             <value>moderator</value><value>participant</value></field>\
             </x>"
            .to_string(),
    }
}

/// Join `room` as its creator and submit the owner form; fails if the room already existed.
pub async fn create_room(owner: &Conn, room: &str, broadcast: Broadcast) -> Res<()> {
    owner.send(join_stanza(room, "host").as_bytes()).await?;
    let start = Instant::now();
    while !owner.state.joined() {
        if start.elapsed() > Duration::from_secs(30) || owner.state.closed() {
            return Err(format!(
                "owner never got its room presence: {:?}",
                owner.state.notes()
            ));
        }
        sleep(Duration::from_millis(5)).await;
    }
    let me = owner.state.self_presence().unwrap_or_default();
    if !(me.contains("code='201'") || me.contains("code=\"201\"")) {
        return Err(format!("room {room} was not new (no status 201): {me}"));
    }
    let iq = format!(
        "<iq type='set' to='{room}' id='cfg1'><query xmlns='http://jabber.org/protocol/muc#owner'>{}</query></iq>",
        config_form(broadcast)
    );
    owner.send(iq.as_bytes()).await?;
    loop {
        if let Some(reply) = owner.state.take_iq("cfg1") {
            let text = String::from_utf8_lossy(&reply).into_owned();
            if crate::xml::attr(&reply, "type") == Some(b"result") {
                return Ok(());
            }
            return Err(format!("room configuration refused: sent {iq} got {text}"));
        }
        if start.elapsed() > Duration::from_secs(30) {
            return Err(format!("no reply to the room configuration {iq}"));
        }
        sleep(Duration::from_millis(5)).await;
    }
}

/// Join `conns` one window at a time (at most `window` joins outstanding). Returns how many
/// joined before `limit`.
pub async fn join_paced(
    conns: &[Conn],
    first_nick: usize,
    room: &str,
    window: usize,
    limit: Duration,
) -> usize {
    let start = Instant::now();
    let mut sent = 0;
    loop {
        let resolved = conns[..sent]
            .iter()
            .filter(|c| c.state.joined() || c.state.closed())
            .count();
        if resolved == conns.len() || start.elapsed() > limit {
            return conns.iter().filter(|c| c.state.joined()).count();
        }
        while sent < conns.len() && sent - resolved < window {
            let nick = format!("r{}", first_nick + sent);
            if conns[sent]
                .send(join_stanza(room, &nick).as_bytes())
                .await
                .is_err()
            {
                conns[sent].state.on_closed("write failed while joining");
            }
            sent += 1;
        }
        sleep(Duration::from_millis(2)).await;
    }
}

/// Wait until every connection has joined, or `limit` from `t0_ns` (a `now_ns()` value).
pub async fn wait_joined(conns: &[Conn], t0_ns: u64, limit: Duration) -> usize {
    loop {
        let done = conns.iter().filter(|c| c.state.joined()).count();
        let closed = conns
            .iter()
            .filter(|c| c.state.closed() && !c.state.joined())
            .count();
        if done + closed >= conns.len() || now_ns() - t0_ns > limit.as_nanos() as u64 {
            return done;
        }
        sleep(Duration::from_millis(10)).await;
    }
}

/// First unexpected events seen on `conns` (stream errors, kicks, error stanzas).
pub fn collect_notes(conns: &[Conn], max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in conns {
        for n in c.state.notes() {
            if out.len() < max && !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}
