//! A raw XMPP client over plain TCP: SASL ANONYMOUS, resource binding, then a reader task that
//! classifies incoming stanzas at string level and records what the benchmark measures.

use crate::state::ConnState;
use crate::xml::{self, Frame, Splitter};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio::time::timeout;

pub type Res<T> = Result<T, String>;

/// Time allowed for each step of a login.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// One logged-in client connection.
pub struct Conn {
    writer: Arc<Mutex<OwnedWriteHalf>>,
    pub state: Arc<ConnState>,
    reader: JoinHandle<()>,
}

impl Conn {
    /// Connect to `addr`, open a stream to `domain`, log in anonymously and bind a resource.
    pub async fn login(addr: SocketAddr, domain: &str) -> Res<Conn> {
        let tcp = timeout(STEP_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connect to {addr}: timed out"))?
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let (mut rd, mut wr) = tcp.into_split();
        let mut sp = Splitter::default();
        let header = format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams' to='{domain}' version='1.0'>"
        );
        write(&mut wr, header.as_bytes()).await?;
        let features = read_features(&mut rd, &mut sp).await?;
        if !xml::contains(&features, b">ANONYMOUS<") {
            return Err(format!(
                "server offers no SASL ANONYMOUS on {domain}: {}",
                String::from_utf8_lossy(&features)
            ));
        }
        write(
            &mut wr,
            b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'>=</auth>",
        )
        .await?;
        let mut reply = read_stanza(&mut rd, &mut sp).await?;
        if xml::tag_name(&reply) == b"challenge" {
            write(
                &mut wr,
                b"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
            )
            .await?;
            reply = read_stanza(&mut rd, &mut sp).await?;
        }
        if xml::tag_name(&reply) != b"success" {
            return Err(format!("SASL failed: {}", String::from_utf8_lossy(&reply)));
        }
        write(&mut wr, header.as_bytes()).await?;
        let features = read_features(&mut rd, &mut sp).await?;
        write(
            &mut wr,
            b"<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>",
        )
        .await?;
        let needs_session = xml::contains(&features, b"urn:ietf:params:xml:ns:xmpp-session")
            && !xml::contains(&features, b"<optional");
        if needs_session {
            write(
                &mut wr,
                b"<iq type='set' id='sess'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>",
            )
            .await?;
        }
        let bound = read_stanza(&mut rd, &mut sp).await?;
        match (xml::attr(&bound, "type"), xml::child_text(&bound, "jid")) {
            (Some(b"result"), Some(_jid)) => {}
            _ => return Err(format!("bind failed: {}", String::from_utf8_lossy(&bound))),
        }
        if needs_session {
            let r = read_stanza(&mut rd, &mut sp).await?;
            if xml::attr(&r, "type") != Some(b"result") {
                return Err(format!("session failed: {}", String::from_utf8_lossy(&r)));
            }
        }
        let writer = Arc::new(Mutex::new(wr));
        let state = Arc::new(ConnState::default());
        let reader = tokio::spawn(read_loop(rd, sp, state.clone(), writer.clone()));
        Ok(Conn {
            writer,
            state,
            reader,
        })
    }

    /// Write raw bytes (one or more stanzas).
    pub async fn send(&self, bytes: &[u8]) -> Res<()> {
        let mut w = self.writer.lock().await;
        write(&mut w, bytes).await
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

async fn write(w: &mut OwnedWriteHalf, bytes: &[u8]) -> Res<()> {
    w.write_all(bytes).await.map_err(|e| format!("write: {e}"))
}

/// Next stanza during login (stream headers are skipped; a stream error or close fails).
async fn read_stanza(rd: &mut OwnedReadHalf, sp: &mut Splitter) -> Res<Vec<u8>> {
    loop {
        match sp.next_frame() {
            Some(Frame::Stanza(s)) if xml::tag_name(s) == b"stream:error" => {
                return Err(format!("stream error: {}", String::from_utf8_lossy(s)));
            }
            Some(Frame::Stanza(s)) => return Ok(s.to_vec()),
            Some(Frame::Header(_)) => continue,
            Some(Frame::Close) => return Err("server closed the stream".into()),
            None => {}
        }
        let n = timeout(STEP_TIMEOUT, rd.read_buf(sp.buffer()))
            .await
            .map_err(|_| "login step timed out".to_string())?
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed during login".into());
        }
    }
}

async fn read_features(rd: &mut OwnedReadHalf, sp: &mut Splitter) -> Res<Vec<u8>> {
    let f = read_stanza(rd, sp).await?;
    if xml::tag_name(&f) != b"stream:features" {
        return Err(format!(
            "expected stream features, got {}",
            String::from_utf8_lossy(&f)
        ));
    }
    Ok(f)
}

/// Reads until the connection ends, recording every stanza in `state`.
async fn read_loop(
    mut rd: OwnedReadHalf,
    mut sp: Splitter,
    state: Arc<ConnState>,
    writer: Arc<Mutex<OwnedWriteHalf>>,
) {
    loop {
        let mut replies: Vec<Vec<u8>> = Vec::new();
        while let Some(frame) = sp.next_frame() {
            match frame {
                Frame::Stanza(s) => {
                    if let Some(reply) = state.on_stanza(s) {
                        replies.push(reply);
                    }
                }
                Frame::Close => state.on_closed("server closed the stream"),
                Frame::Header(_) => {}
            }
        }
        if !replies.is_empty() {
            let mut w = writer.lock().await;
            for r in replies {
                let _ = w.write_all(&r).await;
            }
        }
        match rd.read_buf(sp.buffer()).await {
            Ok(0) => {
                state.on_closed("connection closed by the server");
                return;
            }
            Ok(_) => {}
            Err(e) => {
                state.on_closed(&format!("read error: {e}"));
                return;
            }
        }
    }
}
