//! A small HTTP/1.1 client for the join API, page images and packages.
//!
//! Written here rather than taken from a crate because it must trust the server exactly as
//! the XMPP connection does (the same pinned certificate, see `tls.rs`) and the engine needs
//! only one request per connection: `Connection: close`, a body read to its end, chunked
//! bodies decoded.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::error::BridgeError;
use crate::tls::{handshake, TlsMode};

/// Longest any request may take; packages of big documents are the slow case.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest body accepted (a package of a long document).
const MAX_BODY: usize = 1 << 30;

/// `http[s]://host[:port]`, the origin requests go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl Origin {
    /// Splits an absolute URL into its origin and its path (with query).
    pub fn split(url: &str) -> Result<(Origin, String), BridgeError> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(BridgeError::Config(format!(
                "{url:?} is not an http(s) URL"
            )));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
                h,
                p.parse()
                    .map_err(|_| BridgeError::Config(format!("bad port in {url:?}")))?,
            ),
            _ => (authority, if tls { 443 } else { 80 }),
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(BridgeError::Config(format!("no host in {url:?}")));
        }
        Ok((Origin { tls, host, port }, path))
    }
}

/// A finished response.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Requests against the meeting server, relative paths resolved against its origin.
#[derive(Clone)]
pub(crate) struct Http {
    origin: Origin,
    tls: Option<TlsConnector>,
}

impl Http {
    pub fn new(server_url: &str, mode: &TlsMode) -> Result<Http, BridgeError> {
        let (origin, _) = Origin::split(server_url)?;
        let tls = mode.connector()?;
        Ok(Http { origin, tls })
    }

    /// The server's host name, the default XMPP host.
    pub fn host(&self) -> &str {
        &self.origin.host
    }

    /// `GET` a path on the server, or an absolute URL (a document `base` may be one).
    pub async fn get(&self, path_or_url: &str) -> Result<Response, BridgeError> {
        self.request("GET", path_or_url, None).await
    }

    pub async fn post_json(&self, path: &str, body: &str) -> Result<Response, BridgeError> {
        self.request("POST", path, Some(body)).await
    }

    async fn request(
        &self,
        method: &str,
        path_or_url: &str,
        json: Option<&str>,
    ) -> Result<Response, BridgeError> {
        let (origin, path) = if path_or_url.starts_with('/') {
            (self.origin.clone(), path_or_url.to_owned())
        } else {
            Origin::split(path_or_url)?
        };
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\nAccept: */*\r\n",
            origin.host, origin.port
        );
        if let Some(body) = json {
            head.push_str("Content-Type: application/json\r\n");
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        head.push_str(json.unwrap_or_default());
        let work = async {
            let tcp = TcpStream::connect((origin.host.as_str(), origin.port))
                .await
                .map_err(|e| BridgeError::Http(format!("connect {}: {e}", origin.host)))?;
            tcp.set_nodelay(true).ok();
            if !origin.tls {
                return exchange(tcp, head.as_bytes()).await;
            }
            let connector = self.tls.as_ref().ok_or_else(|| {
                BridgeError::Config("an https URL with plain-TCP mode configured".into())
            })?;
            exchange(
                handshake(connector, &origin.host, tcp).await?,
                head.as_bytes(),
            )
            .await
        };
        let raw = tokio::time::timeout(REQUEST_TIMEOUT, work)
            .await
            .map_err(|_| BridgeError::Http(format!("{method} {path}: timed out")))??;
        parse(&raw).ok_or_else(|| BridgeError::Http(format!("{method} {path}: bad response")))
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
) -> Result<Vec<u8>, BridgeError> {
    stream.write_all(request).await.map_err(BridgeError::http)?;
    stream.flush().await.map_err(BridgeError::http)?;
    let mut raw = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) => return Ok(raw),
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            // A TLS peer that closes without close_notify still sent a complete response.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(raw),
            Err(e) => return Err(BridgeError::http(e)),
        }
        if raw.len() > MAX_BODY {
            return Err(BridgeError::Http("response too large".into()));
        }
    }
}

fn parse(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut chunked = false;
    let mut length = None;
    for (name, value) in lines.filter_map(|l| l.split_once(':')) {
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "transfer-encoding" && value.contains("chunked") {
            chunked = true;
        } else if name == "content-length" {
            length = value.parse::<usize>().ok();
        }
    }
    let mut body = raw[end + 4..].to_vec();
    if chunked {
        body = dechunk(&body)?;
    } else if let Some(n) = length {
        // A short body is a cut connection, not a response.
        if body.len() < n {
            return None;
        }
        body.truncate(n);
    }
    Some(Response { status, body })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n")?;
        let size_str = std::str::from_utf8(&b[..line_end]).ok()?;
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_paths() {
        let (o, p) = Origin::split("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            (o.tls, o.host.as_str(), o.port, p.as_str()),
            (false, "127.0.0.1", 8080, "/")
        );
        let (o, p) = Origin::split("https://meet.example/api/x?y=1").unwrap();
        assert_eq!((o.tls, o.port, p.as_str()), (true, 443, "/api/x?y=1"));
        let (o, _) = Origin::split("http://[::1]:9/").unwrap();
        assert_eq!((o.host.as_str(), o.port), ("::1", 9));
        assert!(Origin::split("ftp://x").is_err());
    }

    #[test]
    fn chunked_and_sized_bodies() {
        let r = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, b"abcde".as_slice()));
        assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").is_none());
    }
}
