//! A tiny HTTP/1.1 client for the meeting benchmark: the meetings and documents APIs on
//! loopback, one request per connection.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::meeting_net::Res;

const STEP: Duration = Duration::from_secs(60);

pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn json(&self) -> Res<serde_json::Value> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// One request per connection (`Connection: close`), body read to the end.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> Res<HttpResponse> {
    let go = async {
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("http connect: {e}"))?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
             Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(body).await.map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;
        parse_http(&raw).ok_or_else(|| format!("bad HTTP response to {method} {path}"))
    };
    timeout(STEP, go)
        .await
        .map_err(|_| format!("{method} {path}: timed out"))?
}

fn parse_http(raw: &[u8]) -> Option<HttpResponse> {
    let end = memchr::memmem::find(raw, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let mut body = raw[end + 4..].to_vec();
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = memchr::memmem::find(rest, b"\r\n")?;
            let size_txt = std::str::from_utf8(&rest[..nl]).ok()?;
            let size = usize::from_str_radix(size_txt.split(';').next()?.trim(), 16).ok()?;
            rest = &rest[nl + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        body = out;
    }
    Some(HttpResponse { status, body })
}

pub async fn post_json(addr: SocketAddr, path: &str, v: &serde_json::Value) -> Res<HttpResponse> {
    http(
        addr,
        "POST",
        path,
        "application/json",
        v.to_string().as_bytes(),
    )
    .await
}

pub async fn post_file(
    addr: SocketAddr,
    path: &str,
    filename: &str,
    bytes: &[u8],
) -> Res<HttpResponse> {
    let boundary = "lectern-meeting-bench-9d2f7a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    http(
        addr,
        "POST",
        path,
        &format!("multipart/form-data; boundary={boundary}"),
        &body,
    )
    .await
}
