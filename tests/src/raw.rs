//! A minimal XMPP client over a plain TCP socket, for tests that need byte-level
//! control over what is sent (malformed XML, DTDs, oversized stanzas, not reading).
//!
//! Everything that waits has a timeout ([`TIMEOUT`] unless told otherwise) so a
//! misbehaving server fails a test instead of hanging it; the panic message shows
//! the last frames received and any unparsed bytes.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use crate::server::DOMAIN;
use crate::xml::{self, Frame};

/// How long any single expectation may wait before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(20);

const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
const NS_STREAMS: &str = "urn:ietf:params:xml:ns:xmpp-streams";

/// The result of one bounded read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// A complete frame.
    Frame(Frame),
    /// The peer closed the connection (FIN or RST).
    Closed,
    /// Nothing complete arrived in time.
    TimedOut,
}

/// A raw XMPP c2s connection.
#[derive(Debug)]
pub struct RawClient {
    label: String,
    stream: TcpStream,
    /// Received bytes not yet split into frames.
    pending: Vec<u8>,
    closed: bool,
    reset: bool,
    /// The last frames received, for failure messages.
    recent: VecDeque<String>,
    jid: Option<String>,
    next_id: u64,
}

impl RawClient {
    /// Connect to `addr`. `label` names this client in failure messages.
    pub async fn connect(addr: SocketAddr, label: &str) -> RawClient {
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| panic!("{label}: connect to {addr} timed out"))
            .unwrap_or_else(|e| panic!("{label}: connect to {addr}: {e}"));
        Self::from_stream(stream, label)
    }

    /// Connect with a small kernel receive buffer, for a client that will stop
    /// reading (so the server's queue fills instead of socket buffers).
    pub async fn connect_with_recv_buffer(addr: SocketAddr, bytes: u32, label: &str) -> Self {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        let stream = tokio::time::timeout(TIMEOUT, socket.connect(addr))
            .await
            .unwrap_or_else(|_| panic!("{label}: connect to {addr} timed out"))
            .unwrap_or_else(|e| panic!("{label}: connect to {addr}: {e}"));
        Self::from_stream(stream, label)
    }

    fn from_stream(stream: TcpStream, label: &str) -> Self {
        stream.set_nodelay(true).ok();
        RawClient {
            label: label.to_owned(),
            stream,
            pending: Vec::new(),
            closed: false,
            reset: false,
            recent: VecDeque::new(),
            jid: None,
            next_id: 0,
        }
    }

    /// The full JID bound by [`RawClient::bind`].
    pub fn jid(&self) -> &str {
        self.jid
            .as_deref()
            .unwrap_or_else(|| panic!("{}: not bound", self.label))
    }

    /// The name given at connect time.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether the peer reset (rather than cleanly closed) the connection.
    pub fn was_reset(&self) -> bool {
        self.reset
    }

    /// Whether bytes were received that are only whitespace so far (keep-alives).
    pub fn has_pending_whitespace(&self) -> bool {
        !self.pending.is_empty() && self.pending.iter().all(|b| b.is_ascii_whitespace())
    }

    /// A fresh id for a stanza sent by this client.
    pub fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("{}-{}", self.label, self.next_id)
    }

    /// Send `text` verbatim; panics if it cannot be written within [`TIMEOUT`].
    pub async fn send(&mut self, text: &str) {
        if let Err(e) = self.try_send(text, TIMEOUT).await {
            panic!("{}: sending {} bytes failed: {e}", self.label, text.len());
        }
    }

    /// Send `text` verbatim, failing if the write does not complete within `timeout`.
    pub async fn try_send(&mut self, text: &str, timeout: Duration) -> io::Result<()> {
        match tokio::time::timeout(timeout, self.stream.write_all(text.as_bytes())).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "write did not complete: the peer is not reading",
            )),
        }
    }

    /// Read the next frame, waiting at most `timeout`.
    pub async fn read_frame(&mut self, timeout: Duration) -> Read {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((frame, used)) = self.split_pending() {
                self.pending.drain(..used);
                self.remember(&frame);
                return Read::Frame(frame);
            }
            if self.closed {
                return Read::Closed;
            }
            let mut chunk = [0u8; 16 * 1024];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => return Read::TimedOut,
                Ok(Ok(0)) => self.closed = true,
                Ok(Ok(n)) => self.pending.extend_from_slice(&chunk[..n]),
                Ok(Err(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    self.closed = true;
                    self.reset = true;
                }
                Ok(Err(e)) => panic!("{}: read error: {e}", self.label),
            }
        }
    }

    fn split_pending(&self) -> Option<(Frame, usize)> {
        let text = match std::str::from_utf8(&self.pending) {
            Ok(t) => t,
            Err(e) if e.error_len().is_none() => {
                std::str::from_utf8(&self.pending[..e.valid_up_to()]).expect("valid prefix")
            }
            Err(e) => panic!("{}: server sent invalid UTF-8: {e}", self.label),
        };
        xml::split_frame(text)
    }

    fn remember(&mut self, frame: &Frame) {
        let s = match frame {
            Frame::Header(h) | Frame::Element(h) | Frame::Text(h) => h.clone(),
            Frame::StreamEnd => "</stream:stream>".to_owned(),
        };
        let s = if s.len() > 600 {
            let mut cut = 600;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}…[{} bytes]", &s[..cut], s.len())
        } else {
            s
        };
        self.recent.push_back(s);
        if self.recent.len() > 12 {
            self.recent.pop_front();
        }
    }

    /// Context for failure messages: the last frames and unparsed bytes.
    pub fn context(&self) -> String {
        let pending = String::from_utf8_lossy(&self.pending);
        let pending: String = pending.chars().take(600).collect();
        format!(
            "{}: last frames received:\n  {}\nunparsed: {:?}\nconnection closed: {}{}",
            self.label,
            self.recent.iter().cloned().collect::<Vec<_>>().join("\n  "),
            pending,
            self.closed,
            if self.reset { " (reset)" } else { "" }
        )
    }

    /// Read the next frame; panics on timeout. `None` means the connection closed.
    pub async fn next_frame(&mut self) -> Option<Frame> {
        match self.read_frame(TIMEOUT).await {
            Read::Frame(f) => Some(f),
            Read::Closed => None,
            Read::TimedOut => panic!(
                "{}: nothing received within {TIMEOUT:?}\n{}",
                self.label,
                self.context()
            ),
        }
    }

    /// Skip frames until an element satisfying `pred` arrives and return it.
    /// Panics on timeout, on close, and on a stream error.
    pub async fn expect_element(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read_frame(left).await {
                Read::Frame(Frame::Element(e)) if pred(&e) => return e,
                Read::Frame(Frame::Element(e)) if xml::is_stream_error(&e) => panic!(
                    "{}: stream error while waiting for {what}: {e}\n{}",
                    self.label,
                    self.context()
                ),
                Read::Frame(Frame::StreamEnd) => panic!(
                    "{}: stream closed while waiting for {what}\n{}",
                    self.label,
                    self.context()
                ),
                Read::Frame(_) => {}
                Read::Closed => panic!(
                    "{}: connection closed while waiting for {what}\n{}",
                    self.label,
                    self.context()
                ),
                Read::TimedOut => panic!(
                    "{}: no {what} within {TIMEOUT:?}\n{}",
                    self.label,
                    self.context()
                ),
            }
        }
    }

    /// Wait for the stream error `condition`, then `</stream:stream>`, then the TCP
    /// close — the contract's outcome for bad input. Returns the error element.
    pub async fn expect_stream_error(&mut self, condition: &str) -> String {
        let error = loop {
            match self.next_frame().await {
                Some(Frame::Element(e)) if xml::is_stream_error(&e) => break e,
                Some(Frame::Header(_)) => {}
                Some(Frame::Element(_) | Frame::Text(_)) => {}
                Some(Frame::StreamEnd) => panic!(
                    "{}: `</stream:stream>` without a stream error (expected {condition})\n{}",
                    self.label,
                    self.context()
                ),
                None => panic!(
                    "{}: connection closed without a stream error (expected {condition})\n{}",
                    self.label,
                    self.context()
                ),
            }
        };
        assert_eq!(
            xml::stream_error_condition(&error).as_deref(),
            Some(condition),
            "{}: wrong stream error condition in {error}",
            self.label
        );
        assert!(
            xml::children(&error)
                .iter()
                .any(|c| xml::attr(c, "xmlns").as_deref() == Some(NS_STREAMS)),
            "{}: stream error condition not in the {NS_STREAMS} namespace: {error}",
            self.label
        );
        match self.next_frame().await {
            Some(Frame::StreamEnd) => {}
            other => panic!(
                "{}: expected `</stream:stream>` after the stream error, got {other:?}\n{}",
                self.label,
                self.context()
            ),
        }
        self.expect_closed().await;
        error
    }

    /// Wait until the connection is closed, failing if any frame arrives first.
    pub async fn expect_closed(&mut self) {
        if let Some(frame) = self.next_frame().await {
            panic!(
                "{}: expected the connection to close, got {frame:?}\n{}",
                self.label,
                self.context()
            );
        }
    }

    /// Read and discard everything until the connection closes; `false` if it
    /// was still open after `timeout`.
    pub async fn drain_until_closed(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read_frame(left).await {
                Read::Frame(_) => {
                    self.recent.clear();
                }
                Read::Closed => return true,
                Read::TimedOut => return false,
            }
        }
    }

    /// Send a stream header `to` a domain (no XML declaration).
    pub async fn send_header(&mut self, to: &str) {
        let header = stream_header(to);
        self.send(&header).await;
    }

    /// Open (or restart) the stream `to` a domain and return the stream features.
    pub async fn open_stream(&mut self, to: &str) -> String {
        self.send(&format!("<?xml version='1.0'?>{}", stream_header(to)))
            .await;
        self.expect_element("stream features", |e| xml::local_name(e) == "features")
            .await
    }

    /// Restart the stream after SASL success (a header without XML declaration)
    /// and return the new stream features.
    pub async fn restart_stream(&mut self, to: &str) -> String {
        self.send_header(to).await;
        self.expect_element("stream features", |e| xml::local_name(e) == "features")
            .await
    }

    /// SASL PLAIN (allowed on loopback). `Err` carries the `<failure/>` element.
    pub async fn auth_plain(&mut self, user: &str, password: &str) -> Result<(), String> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        self.send(&format!(
            "<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{b64}</auth>"
        ))
        .await;
        let reply = self
            .expect_element("SASL success or failure", |e| {
                matches!(xml::local_name(e), "success" | "failure")
            })
            .await;
        match xml::local_name(&reply) {
            "success" => Ok(()),
            _ => Err(reply),
        }
    }

    /// After SASL success: restart the stream and bind `resource` (or let the
    /// server choose). Returns the bound full JID.
    pub async fn bind(&mut self, resource: Option<&str>) -> String {
        let features = self.restart_stream(DOMAIN).await;
        assert!(
            xml::child(&features, "bind").is_some(),
            "{}: no <bind/> in post-auth features: {features}",
            self.label
        );
        let id = self.new_id();
        let resource = resource
            .map(|r| format!("<resource>{}</resource>", xml::escape(r)))
            .unwrap_or_default();
        self.send(&format!(
            "<iq type='set' id='{id}'><bind xmlns='{NS_BIND}'>{resource}</bind></iq>"
        ))
        .await;
        let reply = self.expect_iq_result(&id).await;
        let jid = xml::child(&reply, "bind")
            .and_then(|b| xml::child(b, "jid"))
            .map(xml::text)
            .unwrap_or_else(|| panic!("{}: no <jid/> in bind result {reply}", self.label));
        self.jid = Some(jid.clone());
        jid
    }

    /// Connect, authenticate `user@localhost` with PLAIN and bind. Panics on failure.
    pub async fn login(
        addr: SocketAddr,
        user: &str,
        password: &str,
        resource: Option<&str>,
    ) -> RawClient {
        let mut c = RawClient::connect(addr, user).await;
        c.login_on_this_connection(user, password, resource).await;
        c
    }

    /// Authenticate and bind on an already connected client.
    pub async fn login_on_this_connection(
        &mut self,
        user: &str,
        password: &str,
        resource: Option<&str>,
    ) -> String {
        self.open_stream(DOMAIN).await;
        if let Err(failure) = self.auth_plain(user, password).await {
            panic!("{}: SASL PLAIN as {user} failed: {failure}", self.label);
        }
        self.bind(resource).await
    }

    /// Wait for the reply to iq `id` and check it is `type='result'`.
    pub async fn expect_iq_result(&mut self, id: &str) -> String {
        let reply = self
            .expect_element(&format!("reply to iq {id}"), |e| {
                xml::name(e) == "iq" && xml::attr(e, "id").as_deref() == Some(id)
            })
            .await;
        assert_eq!(
            xml::attr(&reply, "type").as_deref(),
            Some("result"),
            "{}: iq {id} failed: {reply}",
            self.label
        );
        reply
    }

    /// XEP-0199 ping to the server; panics unless it answers with a result.
    pub async fn ping_server(&mut self) {
        let id = self.new_id();
        self.send(&format!(
            "<iq type='get' id='{id}' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
        self.expect_iq_result(&id).await;
    }

    /// Send a chat message with `body` to `to`; returns its id.
    pub async fn send_message(&mut self, to: &str, body: &str) -> String {
        let id = self.new_id();
        self.send(&message(to, &id, body)).await;
        id
    }

    /// Wait for a `<message/>` with the given id.
    pub async fn expect_message(&mut self, id: &str) -> String {
        self.expect_element(&format!("message {id}"), |e| {
            xml::name(e) == "message" && xml::attr(e, "id").as_deref() == Some(id)
        })
        .await
    }
}

/// A stream header from a client `to` a domain.
pub fn stream_header(to: &str) -> String {
    format!(
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
         to='{to}' version='1.0'>"
    )
}

/// A chat message stanza.
pub fn message(to: &str, id: &str, body: &str) -> String {
    format!(
        "<message type='chat' to='{}' id='{}'><body>{}</body></message>",
        xml::escape(to),
        xml::escape(id),
        xml::escape(body)
    )
}

/// `from` sends a message to `to`'s full JID; checks it arrives with the right
/// body and `from`. Returns the received stanza.
pub async fn assert_message_delivered(from: &mut RawClient, to: &mut RawClient) -> String {
    let body = format!("hello {} from {}", to.label(), from.label());
    let target = to.jid().to_owned();
    let id = from.send_message(&target, &body).await;
    let got = to.expect_message(&id).await;
    assert_eq!(
        xml::child(&got, "body").map(xml::text).as_deref(),
        Some(body.as_str()),
        "wrong body in {got}"
    );
    assert_eq!(
        xml::attr(&got, "from").as_deref(),
        Some(from.jid()),
        "wrong from in {got}"
    );
    got
}
