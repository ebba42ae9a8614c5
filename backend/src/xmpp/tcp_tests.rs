//! Whole streams over `tokio::io::duplex`: negotiation, STARTTLS, routing and bad input.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio_rustls::rustls::{self, pki_types::ServerName, RootCertStore};

use super::connection;
use crate::config::Config;
use crate::store::{AccountStore, MemoryStore};
use crate::xmpp::{tls, Xmpp};

const OPEN: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";

fn server(max_stanza: usize, tls_dir: Option<&std::path::Path>) -> Arc<Xmpp> {
    let store = MemoryStore::default();
    crate::accounts::add(&store, "localhost", "alice@localhost", "secret").unwrap();
    crate::accounts::add(&store, "localhost", "bob@localhost", "hunter2").unwrap();
    let config = Config {
        max_stanza_size: max_stanza,
        ..Config::default()
    };
    let acceptor = tls_dir
        .map(|d| tls::acceptor(None, d, &["localhost".into(), "guest.localhost".into()]).unwrap());
    let store = Arc::new(store);
    let xmpp = Xmpp::new(
        &config,
        store.clone() as Arc<dyn AccountStore>,
        store,
        acceptor,
    );
    Arc::new(xmpp.unwrap())
}

/// A client end that reads until it has seen a marker.
struct Peer<S> {
    io: S,
    seen: String,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Peer<S> {
    async fn send(&mut self, text: &str) {
        self.io.write_all(text.as_bytes()).await.unwrap();
    }

    /// Reads until `marker` appears; returns everything read up to and including it.
    async fn until(&mut self, marker: &str) -> String {
        let mut buf = [0u8; 4096];
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(i) = self.seen.find(marker) {
                    let rest = self.seen.split_off(i + marker.len());
                    return std::mem::replace(&mut self.seen, rest);
                }
                let n = self.io.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed before {marker:?}; got {:?}", self.seen);
                self.seen.push_str(std::str::from_utf8(&buf[..n]).unwrap());
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("timed out waiting for {marker:?}; got {:?}", self.seen))
    }

    /// Reads until the server closes the connection; returns all of it.
    async fn until_closed(&mut self) -> String {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), self.io.read_to_end(&mut rest))
            .await
            .expect("server closes the connection")
            .ok();
        self.seen.push_str(&String::from_utf8_lossy(&rest));
        std::mem::take(&mut self.seen)
    }
}

fn connect(xmpp: &Arc<Xmpp>) -> Peer<DuplexStream> {
    let (client, server) = tokio::io::duplex(64 * 1024);
    tokio::spawn(connection(server, true, xmpp.clone()));
    Peer {
        io: client,
        seen: String::new(),
    }
}

async fn login<S: AsyncRead + AsyncWrite + Unpin>(
    p: &mut Peer<S>,
    user: &str,
    pw: &str,
    res: &str,
) {
    use base64::Engine;
    p.send(OPEN).await;
    p.until("</stream:features>").await;
    let creds = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pw}"));
    p.send(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{creds}</auth>"
    ))
    .await;
    p.until("<success").await;
    p.send(OPEN).await;
    assert!(p.until("</stream:features>").await.contains("xmpp-bind"));
    p.send(&format!(
        "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
         <resource>{res}</resource></bind></iq>"
    ))
    .await;
    p.until("</iq>").await;
}

#[tokio::test]
async fn two_clients_exchange_custom_payloads() {
    let xmpp = server(4096, None);
    let mut a = connect(&xmpp);
    let mut b = connect(&xmpp);
    login(&mut a, "alice", "secret", "desk").await;
    login(&mut b, "bob", "hunter2", "phone").await;
    a.send(
        "<message to='bob@localhost/phone' id='1'><w xmlns='urn:x' k='v'>1 &lt; 2</w></message>",
    )
    .await;
    let got = b.until("</message>").await;
    assert!(got.contains("from='alice@localhost/desk'"), "{got}");
    assert!(got.contains("<w xmlns='urn:x' k='v'>1 &lt; 2</w>"), "{got}");
    // Graceful close is answered in kind.
    a.send("</stream:stream>").await;
    assert!(a.until_closed().await.ends_with("</stream:stream>"));
}

#[tokio::test]
async fn starttls_upgrades_the_stream() {
    let dir = std::env::temp_dir().join(format!("lectern-tls-{}", std::process::id()));
    let xmpp = server(4096, Some(&dir));
    let (client, srv) = tokio::io::duplex(64 * 1024);
    tokio::spawn(connection(srv, false, xmpp.clone()));
    let mut p = Peer {
        io: client,
        seen: String::new(),
    };
    p.send(OPEN).await;
    let f = p.until("</stream:features>").await;
    assert!(
        f.contains("<required/>") && !f.contains("mechanisms"),
        "{f}"
    );
    p.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        .await;
    p.until("<proceed").await;
    let mut roots = RootCertStore::empty();
    let pem = std::fs::read(tls::generated_paths(&dir).0).unwrap();
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), p.io)
        .await
        .expect("handshake verifies the generated certificate");
    let mut p = Peer {
        io: tls,
        seen: String::new(),
    };
    login(&mut p, "alice", "secret", "tls").await;
    p.send("<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    assert!(p.until("type='result'").await.contains("id='p'"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn bad_input_gets_its_stream_error_and_others_carry_on() {
    let xmpp = server(4096, None);
    let mut a = connect(&xmpp);
    let mut b = connect(&xmpp);
    login(&mut a, "alice", "secret", "desk").await;
    login(&mut b, "bob", "hunter2", "phone").await;
    let cases = [
        ("<message><a></b></message>", "not-well-formed"),
        (
            &*format!("<message><body>{}</body></message>", "x".repeat(5000)),
            "policy-violation",
        ),
        ("<!DOCTYPE x [<!ENTITY a 'b'>]>", "restricted-xml"),
    ];
    for (input, condition) in cases {
        let mut c = connect(&xmpp);
        login(&mut c, "alice", "secret", "bad").await;
        c.send(input).await;
        let out = c.until_closed().await;
        assert!(
            out.contains(&format!("<{condition} ")),
            "{condition}: {out}"
        );
        assert!(out.ends_with("</stream:stream>"), "{out}");
        a.send("<message to='bob@localhost/phone'><body>still here</body></message>")
            .await;
        assert!(b.until("</message>").await.contains("still here"));
    }
    // Before authentication, a stanza is refused, and a header still precedes the error.
    let mut early = connect(&xmpp);
    early.send(OPEN).await;
    early.until("</stream:features>").await;
    early.send("<message to='bob@localhost'/>").await;
    assert!(early.until_closed().await.contains("<not-authorized "));
    let mut garbage = connect(&xmpp);
    garbage.send("hello").await;
    let out = garbage.until_closed().await;
    assert!(
        out.starts_with("<?xml") && out.contains("<not-well-formed "),
        "{out}"
    );
}
