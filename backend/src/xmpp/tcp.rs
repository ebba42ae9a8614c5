//! XMPP client-to-server over TCP (RFC 6120), with STARTTLS.
//!
//! One task per connection selects over the socket, its mailbox, its kill switch and its
//! timers. Every write races the kill switch, so a client that stops reading is dropped as
//! soon as the router gives up on it instead of parking this task forever.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::{sleep, sleep_until, Instant};

use super::error::StreamErrorKind;
use super::parser::{Event, StreamParser};
use super::ratelimit::RateLimiter;
use super::router::{mailbox, Kill, Mailbox, Outbound};
use super::session::{Input, Output, Session};
use super::xml::{self, NS_CLIENT, NS_STREAM};
use super::Xmpp;
use tokio::sync::mpsc::Receiver;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Accepts connections until the listener fails.
pub async fn serve(listener: TcpListener, xmpp: Arc<Xmpp>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let xmpp = xmpp.clone();
                tokio::spawn(async move {
                    connection(stream, peer.ip().is_loopback(), xmpp).await;
                    tracing::debug!(%peer, "connection closed");
                });
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Why the loop stopped.
enum Stop {
    /// The peer went away or we are done; nothing more to say.
    Gone,
    /// Close the stream, with an error if given.
    Close(Option<StreamErrorKind>),
}

struct Conn {
    io: Box<dyn Io>,
    kill: Arc<Kill>,
    header_sent: bool,
    last_write: Instant,
    /// Stanzas to write before the closing error.
    farewell: String,
}

impl Conn {
    async fn write(&mut self, data: &[u8]) -> Result<(), Stop> {
        let kill = self.kill.clone();
        let io = &mut self.io;
        let cut_short = async {
            if kill.fired().await == StreamErrorKind::SystemShutdown {
                // Goodbyes at shutdown get a little time instead of being cut off.
                sleep(Duration::from_secs(2)).await;
            }
        };
        tokio::select! {
            r = async { io.write_all(data).await?; io.flush().await } => {
                self.last_write = Instant::now();
                r.map_err(|_| Stop::Gone)
            }
            _ = cut_short => Err(Stop::Gone),
        }
    }

    async fn close(&mut self, error: Option<StreamErrorKind>, domain: &str) {
        let mut out = std::mem::take(&mut self.farewell);
        if let Some(e) = &error {
            if !self.header_sent {
                out.push_str(&header(&super::sasl::random_id(), domain));
            }
            tracing::debug!("closing stream: {e}");
            out.push_str(&xml::stream_error(e));
        }
        out.push_str("</stream:stream>");
        // Best effort within a short time: the peer may be the one not reading.
        let io = &mut self.io;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            io.write_all(out.as_bytes()).await?;
            io.shutdown().await
        })
        .await;
    }
}

fn header(id: &str, from: &str) -> String {
    format!(
        "<?xml version='1.0'?><stream:stream xmlns='{NS_CLIENT}' xmlns:stream='{NS_STREAM}' \
         id='{id}' from='{}' version='1.0' xml:lang='en'>",
        xml::escape(from)
    )
}

/// Serves one client stream over any byte transport (a TCP socket, or a duplex pipe in tests).
pub async fn connection<S>(stream: S, loopback: bool, xmpp: Arc<Xmpp>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (handle, Mailbox { mut rx, kill }) = mailbox(xmpp.limits.outbound_queue);
    let mut session = Session::new(xmpp.env.clone(), handle, loopback, false);
    let mut conn = Conn {
        io: Box::new(stream),
        kill: kill.clone(),
        header_sent: false,
        last_write: Instant::now(),
        farewell: String::new(),
    };
    let stop = drive(&mut conn, &mut session, &mut rx, &xmpp).await;
    session.end();
    if let Stop::Close(error) = stop {
        conn.close(error, &xmpp.env.domain).await;
    }
}

async fn drive(
    conn: &mut Conn,
    session: &mut Session,
    rx: &mut Receiver<Outbound>,
    xmpp: &Xmpp,
) -> Stop {
    let limits = &xmpp.limits;
    let auth_deadline = Instant::now() + limits.auth_timeout;
    let mut parser = StreamParser::new(limits.max_stanza_size);
    let mut limiter = RateLimiter::new(limits.rate_limit, limits.rate_burst);
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let keepalive_at = conn.last_write + limits.keepalive;
        tokio::select! {
            read = conn.io.read(&mut chunk) => {
                let n = match read {
                    Ok(0) | Err(_) => return Stop::Gone,
                    Ok(n) => n,
                };
                pending.extend_from_slice(&chunk[..n]);
                let mut rest: &[u8] = &pending;
                let mut consumed_all = true;
                loop {
                    let event = match parser.next_event(&mut rest) {
                        Ok(Some(ev)) => ev,
                        Ok(None) => break,
                        Err(kind) => return Stop::Close(Some(kind)),
                    };
                    let input = match to_input(event) {
                        Ok(i) => i,
                        Err(kind) => return Stop::Close(Some(kind)),
                    };
                    for out in session.handle(input) {
                        match out {
                            Output::Header { id, from, features } => {
                                conn.header_sent = true;
                                let text = header(&id, &from) + &features;
                                if let Err(s) = conn.write(text.as_bytes()).await {
                                    return s;
                                }
                            }
                            Output::Send(text) => {
                                if let Err(s) = conn.write(text.as_bytes()).await {
                                    return s;
                                }
                            }
                            Output::Reset => {
                                parser = StreamParser::new(limits.max_stanza_size);
                                conn.header_sent = false;
                            }
                            Output::StartTls => {
                                let Some(acceptor) = xmpp.tls.clone() else {
                                    return Stop::Close(Some(StreamErrorKind::PolicyViolation("no TLS".into())));
                                };
                                let io = std::mem::replace(&mut conn.io, Box::new(tokio::io::duplex(1).0));
                                match tokio::time::timeout(limits.auth_timeout, acceptor.accept(io)).await {
                                    Ok(Ok(tls)) => conn.io = Box::new(tls),
                                    _ => return Stop::Gone,
                                }
                                parser = StreamParser::new(limits.max_stanza_size);
                                conn.header_sent = false;
                                // Anything the client sent before the handshake was not TLS.
                                consumed_all = false;
                            }
                            Output::Close(error) => return Stop::Close(error),
                        }
                    }
                    if !consumed_all {
                        break;
                    }
                }
                // What this chunk queued for us (a sender's own echoes in a busy room) goes
                // out now, not only when the mailbox branch next wins: a busy reader must not
                // fill its own queue and be taken for a slow one.
                let mut echo = String::new();
                drain(rx, &mut echo, BATCH_BYTES);
                if !echo.is_empty() {
                    if let Err(s) = conn.write(echo.as_bytes()).await {
                        return s;
                    }
                }
                let used = pending.len() - rest.len();
                if consumed_all { pending.drain(..used); } else { pending.clear(); }
                let pause = limiter.take(n, std::time::Instant::now());
                if !pause.is_zero() {
                    sleep(pause).await;
                }
            }
            Some(first) = rx.recv() => {
                // Batch what is already queued into one write.
                let mut text = first.render();
                drain(rx, &mut text, BATCH_BYTES);
                if let Err(s) = conn.write(text.as_bytes()).await {
                    return s;
                }
            }
            reason = conn.kill.fired() => {
                if reason == StreamErrorKind::SystemShutdown {
                    // Say goodbye with what is queued (rooms announce their shutdown).
                    drain(rx, &mut conn.farewell, usize::MAX);
                }
                return Stop::Close(Some(reason));
            }
            _ = sleep_until(auth_deadline), if !session.is_authenticated() => {
                return Stop::Close(Some(StreamErrorKind::ConnectionTimeout));
            }
            _ = sleep_until(keepalive_at), if conn.header_sent => {
                if let Err(s) = conn.write(b" ").await {
                    return s;
                }
            }
        }
    }
}

/// Bytes gathered into one write when stanzas are already queued.
const BATCH_BYTES: usize = 64 * 1024;

/// Appends what is already queued, without waiting, until `text` holds `limit` bytes.
fn drain(rx: &mut Receiver<Outbound>, text: &mut String, limit: usize) {
    while text.len() < limit {
        match rx.try_recv() {
            Ok(o) => text.push_str(&o.render()),
            Err(_) => break,
        }
    }
}

fn to_input(event: Event) -> Result<Input, StreamErrorKind> {
    Ok(match event {
        Event::Open(h) => {
            if !h.is("stream", NS_STREAM) {
                return Err(StreamErrorKind::InvalidNamespace);
            }
            Input::Open {
                to: xml::attr(&h, "to").map(str::to_owned),
                version: xml::attr(&h, "version").map(str::to_owned),
            }
        }
        Event::Stanza(e) => Input::Element(e),
        Event::Close => Input::Close,
    })
}

#[cfg(test)]
#[path = "tcp_tests.rs"]
mod tests;
