//! XMPP over WebSocket (RFC 7395) on the HTTP port: one element per text frame, `<open/>`
//! and `<close/>` instead of the stream tags. TLS, if any, is the reverse proxy's job.

use std::sync::Arc;

use actix_web::http::header::{HeaderValue, SEC_WEBSOCKET_PROTOCOL};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use futures_util::StreamExt;
use tokio::time::{sleep, sleep_until, Instant};

use super::error::StreamErrorKind;
use super::parser::parse_frame;
use super::ratelimit::RateLimiter;
use super::router::{mailbox, Mailbox};
use super::session::{Input, Output, Session};
use super::xml::{self, NS_FRAMING};
use super::Xmpp;

/// `GET /xmpp-websocket`: upgrade when the client asks for the `xmpp` subprotocol.
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    xmpp: web::Data<Arc<Xmpp>>,
) -> actix_web::Result<HttpResponse> {
    let wants_xmpp = req
        .headers()
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == "xmpp"));
    if !wants_xmpp {
        return Ok(HttpResponse::BadRequest().body("use the WebSocket subprotocol \"xmpp\"\n"));
    }
    let (mut response, ws, frames) = actix_ws::handle(&req, body)?;
    response
        .headers_mut()
        .insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("xmpp"));
    let loopback = req.peer_addr().is_some_and(|a| a.ip().is_loopback());
    let xmpp = xmpp.get_ref().clone();
    let frames = frames
        .max_frame_size(xmpp.limits.max_stanza_size)
        .aggregate_continuations()
        .max_continuation_size(xmpp.limits.max_stanza_size);
    actix_web::rt::spawn(connection(ws, frames, loopback, xmpp));
    Ok(response)
}

fn open_frame(id: &str, from: &str) -> String {
    format!(
        "<open xmlns='{NS_FRAMING}' id='{id}' from='{}' version='1.0' xml:lang='en'/>",
        xml::escape(from)
    )
}

async fn connection(
    mut ws: actix_ws::Session,
    mut frames: actix_ws::AggregatedMessageStream,
    loopback: bool,
    xmpp: Arc<Xmpp>,
) {
    let limits = &xmpp.limits;
    let (handle, Mailbox { mut rx, kill }) = mailbox(limits.outbound_queue);
    let mut session = Session::new(xmpp.env.clone(), handle, loopback, true);
    let auth_deadline = Instant::now() + limits.auth_timeout;
    let mut limiter = RateLimiter::new(limits.rate_limit, limits.rate_burst);
    let mut last_write = Instant::now();
    let error: Option<StreamErrorKind> = loop {
        let keepalive_at = last_write + limits.keepalive;
        let outputs = tokio::select! {
            frame = frames.next() => match frame {
                Some(Ok(AggregatedMessage::Text(text))) => {
                    let pause = limiter.take(text.len(), std::time::Instant::now());
                    if !pause.is_zero() {
                        sleep(pause).await;
                    }
                    match frame_input(&text, limits.max_stanza_size) {
                        Ok(input) => session.handle(input),
                        Err(kind) => vec![Output::Close(Some(kind))],
                    }
                }
                Some(Ok(AggregatedMessage::Binary(_))) => vec![Output::Close(Some(
                    StreamErrorKind::BadFormat("binary frames are not XMPP".into()),
                ))],
                Some(Ok(AggregatedMessage::Ping(p))) => {
                    let _ = ws.pong(&p).await;
                    continue;
                }
                Some(Ok(AggregatedMessage::Pong(_))) => continue,
                Some(Ok(AggregatedMessage::Close(_))) | None => break None,
                // Oversized or broken frames.
                Some(Err(e)) => vec![Output::Close(Some(StreamErrorKind::PolicyViolation(
                    format!("bad WebSocket frame: {e}"),
                )))],
            },
            Some(first) = rx.recv() => {
                let mut texts = Vec::new();
                first.render_each(&mut texts);
                while texts.len() < 64 {
                    match rx.try_recv() {
                        Ok(e) => e.render_each(&mut texts),
                        Err(_) => break,
                    }
                }
                texts.into_iter().map(Output::Send).collect()
            }
            reason = kill.fired() => {
                let mut farewell = Vec::new();
                if reason == StreamErrorKind::SystemShutdown {
                    while let Ok(o) = rx.try_recv() {
                        o.render_each(&mut farewell);
                    }
                }
                let mut outs: Vec<Output> = farewell.into_iter().map(Output::Send).collect();
                outs.push(Output::Close(Some(reason)));
                outs
            }
            _ = sleep_until(auth_deadline), if !session.is_authenticated() => {
                vec![Output::Close(Some(StreamErrorKind::ConnectionTimeout))]
            }
            _ = sleep_until(keepalive_at) => {
                if ws.ping(b"").await.is_err() { break None; }
                last_write = Instant::now();
                continue;
            }
        };
        let mut closing = None;
        for out in outputs {
            let text = match out {
                Output::Header { id, from, features } => {
                    if ws.text(open_frame(&id, &from)).await.is_err() {
                        break;
                    }
                    features
                }
                Output::Send(text) => text,
                // Each frame is parsed on its own; there is no parser state to reset, and
                // STARTTLS is never offered here.
                Output::Reset | Output::StartTls => continue,
                Output::Close(e) => {
                    closing = Some(e);
                    break;
                }
            };
            // A full socket here blocks only this task; the router already moved on.
            let sent = if kill.reason() == Some(StreamErrorKind::SystemShutdown) {
                let farewell =
                    tokio::time::timeout(std::time::Duration::from_secs(2), ws.text(text));
                matches!(farewell.await, Ok(Ok(())))
            } else {
                tokio::select! {
                    r = ws.text(text) => r.is_ok(),
                    _ = kill.fired() => false,
                }
            };
            if !sent {
                closing = Some(None);
                break;
            }
            last_write = Instant::now();
        }
        if let Some(e) = closing {
            break e;
        }
    };
    session.end();
    if let Some(e) = &error {
        let _ = ws.text(xml::stream_error(e)).await;
    }
    let _ = ws.text(format!("<close xmlns='{NS_FRAMING}'/>")).await;
    let _ = ws
        .close(Some(CloseReason {
            code: CloseCode::Normal,
            description: None,
        }))
        .await;
}

fn frame_input(text: &str, max: usize) -> Result<Input, StreamErrorKind> {
    let e = parse_frame(text, max)?;
    if e.ns() == NS_FRAMING {
        return match e.name() {
            "open" => Ok(Input::Open {
                to: xml::attr(&e, "to").map(str::to_owned),
                version: xml::attr(&e, "version").map(str::to_owned),
            }),
            "close" => Ok(Input::Close),
            other => Err(StreamErrorKind::UnsupportedStanzaType(other.to_string())),
        };
    }
    Ok(Input::Element(e))
}
