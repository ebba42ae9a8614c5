//! The XMPP side of the meeting benchmark (HTTP is in `meeting_http`): a raw XMPP client that
//! joins a meeting the way the browser does (HTTP join, token login with SASL PLAIN on
//! loopback, room join, `<hello/>` to the focus), then records the arrival time of every
//! sequenced event and audio batch from the focus.

use crate::xml::{self, Frame, Splitter};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::timeout;

pub type Res<T> = Result<T, String>;

pub const NS: &str = "urn:lectern:sync:1";
const STEP: Duration = Duration::from_secs(60);

pub use crate::meeting_http::{http, post_file, post_json};
use crate::meeting_recv::read_loop;
pub use crate::meeting_recv::{Clock, Seen, Slots, AUDIO_T0};

// --- XMPP ----------------------------------------------------------------------------------

pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A member of the meeting after its `<hello/>` was answered.
pub struct Member {
    pub nick: String,
    pub role: String,
    pub seen: Arc<Mutex<Seen>>,
    writer: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    reader: JoinHandle<()>,
    pub focus: String,
    pub number: String,
    /// Time spent in each step: HTTP join, login, room join, hello (ms).
    pub steps_ms: [f64; 4],
}

impl Drop for Member {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

struct Login {
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    sp: Splitter,
}

async fn write(w: &mut OwnedWriteHalf, b: &[u8]) -> Res<()> {
    w.write_all(b).await.map_err(|e| format!("write: {e}"))
}

impl Login {
    async fn next(&mut self) -> Res<Vec<u8>> {
        loop {
            match self.sp.next_frame() {
                Some(Frame::Stanza(s)) if xml::tag_name(s) == b"stream:error" => {
                    return Err(format!("stream error: {}", String::from_utf8_lossy(s)))
                }
                Some(Frame::Stanza(s)) => return Ok(s.to_vec()),
                Some(Frame::Header(_)) => continue,
                Some(Frame::Close) => return Err("server closed the stream".into()),
                None => {}
            }
            let n = timeout(STEP, self.rd.read_buf(self.sp.buffer()))
                .await
                .map_err(|_| "step timed out".to_string())?
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("connection closed".into());
            }
        }
    }

    /// Next stanza matching `want`; others are skipped (pings answered).
    async fn wait(&mut self, what: &str, want: impl Fn(&[u8]) -> bool) -> Res<Vec<u8>> {
        loop {
            let s = self.next().await.map_err(|e| format!("{what}: {e}"))?;
            if want(&s) {
                return Ok(s);
            }
            if let Some(r) = ping_reply(&s) {
                write(&mut self.wr, r.as_bytes()).await?;
            }
        }
    }
}

pub(crate) fn ping_reply(s: &[u8]) -> Option<String> {
    if xml::tag_name(s) == b"iq"
        && xml::attr(s, "type") == Some(b"get")
        && xml::contains(s, b"urn:xmpp:ping")
    {
        let id = String::from_utf8_lossy(xml::attr(s, "id")?).into_owned();
        let from = xml::attr(s, "from").map(|f| String::from_utf8_lossy(f).into_owned());
        return Some(match from {
            Some(f) => format!("<iq type='result' id='{id}' to='{f}'/>"),
            None => format!("<iq type='result' id='{id}'/>"),
        });
    }
    None
}

async fn xmpp_login(addr: SocketAddr, domain: &str, local: &str, password: &str) -> Res<Login> {
    let tcp = timeout(STEP, TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let (rd, wr) = tcp.into_split();
    let mut c = Login {
        rd,
        wr,
        sp: Splitter::default(),
    };
    let header = format!(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
         xmlns:stream='http://etherx.jabber.org/streams' to='{domain}' version='1.0'>"
    );
    write(&mut c.wr, header.as_bytes()).await?;
    let f = c.next().await?;
    if !xml::contains(&f, b">PLAIN<") {
        return Err(format!(
            "no SASL PLAIN offered: {}",
            String::from_utf8_lossy(&f)
        ));
    }
    let cred = base64(format!("\0{local}\0{password}").as_bytes());
    write(
        &mut c.wr,
        format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{cred}</auth>")
            .as_bytes(),
    )
    .await?;
    let r = c.next().await?;
    if xml::tag_name(&r) != b"success" {
        return Err(format!(
            "SASL PLAIN failed: {}",
            String::from_utf8_lossy(&r)
        ));
    }
    write(&mut c.wr, header.as_bytes()).await?;
    let features = c.next().await?;
    write(
        &mut c.wr,
        b"<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>",
    )
    .await?;
    let bound = c
        .wait("bind", |s| xml::attr(s, "id") == Some(b"bind"))
        .await?;
    if xml::attr(&bound, "type") != Some(b"result") {
        return Err(format!("bind failed: {}", String::from_utf8_lossy(&bound)));
    }
    if xml::contains(&features, b"urn:ietf:params:xml:ns:xmpp-session")
        && !xml::contains(&features, b"<optional")
    {
        write(
            &mut c.wr,
            b"<iq type='set' id='sess'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>",
        )
        .await?;
        c.wait("session", |s| xml::attr(s, "id") == Some(b"sess"))
            .await?;
    }
    Ok(c)
}

/// HTTP join, token login, room join, hello: the browser's way in.
pub async fn join(
    http_addr: SocketAddr,
    xmpp_addr: SocketAddr,
    number: &str,
    name: &str,
    key: Option<&str>,
    clock: Arc<Clock>,
    slots: Slots,
) -> Res<Member> {
    let mut steps = [0.0; 4];
    let mut t = Instant::now();
    let mut lap = |i: usize, steps: &mut [f64; 4]| {
        steps[i] = t.elapsed().as_secs_f64() * 1000.0;
        t = Instant::now();
    };
    let mut body = serde_json::json!({ "name": name });
    if let Some(k) = key {
        body["key"] = k.into();
    }
    let r = post_json(http_addr, &format!("/api/meetings/{number}/join"), &body).await?;
    if r.status != 200 {
        return Err(format!(
            "join: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        ));
    }
    let j = r.json()?;
    let s = |k: &str| j[k].as_str().unwrap_or_default().to_string();
    let (room, nick, focus, domain, ticket) =
        (s("room"), s("nick"), s("focus"), s("domain"), s("ticket"));
    let role = s("role");
    let jid = j["login"]["jid"].as_str().unwrap_or_default();
    let password = j["login"]["password"].as_str().unwrap_or_default();
    let local = jid.split('@').next().unwrap_or_default();
    lap(0, &mut steps);
    let mut c = xmpp_login(xmpp_addr, &domain, local, password).await?;
    lap(1, &mut steps);
    let occupant = format!("{room}/{nick}");
    write(
        &mut c.wr,
        format!(
            "<presence to='{occupant}'><x xmlns='http://jabber.org/protocol/muc'>\
             <history maxstanzas='0'/></x></presence>"
        )
        .as_bytes(),
    )
    .await?;
    let me = c
        .wait("room join", |s| {
            xml::tag_name(s) == b"presence"
                && xml::attr(s, "from") == Some(occupant.as_bytes())
                && (xml::contains(s, b"code='110'")
                    || xml::contains(s, b"code=\"110\"")
                    || xml::attr(s, "type") == Some(b"error"))
        })
        .await?;
    if xml::attr(&me, "type") == Some(b"error") {
        return Err(format!(
            "room join refused: {}",
            String::from_utf8_lossy(&me)
        ));
    }
    lap(2, &mut steps);
    write(
        &mut c.wr,
        format!(
            "<iq type='set' id='hello' to='{focus}'><hello xmlns='{NS}' meeting='{number}' \
             ticket='{ticket}'/></iq>"
        )
        .as_bytes(),
    )
    .await?;
    let hello = c
        .wait("hello", |s| {
            xml::tag_name(s) == b"iq" && xml::attr(s, "id") == Some(b"hello")
        })
        .await?;
    if xml::attr(&hello, "type") != Some(b"result") {
        return Err(format!(
            "hello refused: {}",
            String::from_utf8_lossy(&hello)
        ));
    }
    lap(3, &mut steps);
    let seen = Arc::new(Mutex::new(Seen::new(slots)));
    let writer = Arc::new(tokio::sync::Mutex::new(c.wr));
    let from = format!("{room}/focus");
    let reader = tokio::spawn(read_loop(
        c.rd,
        c.sp,
        seen.clone(),
        writer.clone(),
        from,
        clock,
    ));
    Ok(Member {
        nick,
        role,
        seen,
        writer,
        reader,
        focus,
        number: number.to_string(),
        steps_ms: steps,
    })
}

impl Member {
    /// A presenter request with presenter time `t` (the benchmark's event index).
    pub async fn request(&self, t: u64, payload: &str) -> Res<()> {
        let stanza = format!(
            "<message to='{}' type='chat' id='r{t}'><event xmlns='{NS}' meeting='{}' t='{t}'>{payload}</event></message>",
            self.focus, self.number
        );
        let mut w = self.writer.lock().await;
        write(&mut w, stanza.as_bytes()).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"\0u\0pw"), "AHUAcHc=");
    }
}
