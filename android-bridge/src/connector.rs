//! The c2s transport for tokio-xmpp: TCP with STARTTLS under our own trust policy.
//!
//! tokio-xmpp's `StartTlsServerConnector` trusts only the platform's root store (and pulls in
//! a DNS resolver); the embedded server's certificate is self-signed, so the engine upgrades
//! the stream itself with the connector from `tls.rs`.

use std::borrow::Cow;
use std::io;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use sasl::common::ChannelBinding;
use tokio::io::{AsyncRead, AsyncWrite, BufStream};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_xmpp::connect::ServerConnector;
use tokio_xmpp::error::ProtocolError;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::parsers::starttls::{self, Request};
use tokio_xmpp::xmlstream::{
    initiate_stream, FallibleStreamElement, PendingFeaturesRecv, ReadError, StreamHeader, Timeouts,
    XmppStreamElement,
};

use crate::shared::Shared;
use crate::tls::handshake;

/// A byte stream the XMPP session runs over (plain or TLS).
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// Connects to `address` (`host:port`) and upgrades with STARTTLS when `tls` is set.
/// tokio-xmpp retries failed connections by itself; each failure is also told to the app
/// through `shared` (a certificate that does not match the pin shows up there).
#[derive(Clone)]
pub(crate) struct Connector {
    pub address: String,
    pub tls: Option<TlsConnector>,
    pub shared: Arc<Shared>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Connector({}, tls: {})",
            self.address,
            self.tls.is_some()
        )
    }
}

fn header(jid: &Jid) -> StreamHeader<'static> {
    StreamHeader {
        to: Some(Cow::Owned(jid.domain().as_str().to_string())),
        from: None,
        id: None,
    }
}

impl ServerConnector for Connector {
    type Stream = BufStream<Box<dyn Transport>>;

    async fn connect(
        &self,
        jid: &Jid,
        ns: &'static str,
        timeouts: Timeouts,
    ) -> Result<(PendingFeaturesRecv<Self::Stream>, ChannelBinding), tokio_xmpp::Error> {
        let result = self.open(jid, ns, timeouts).await;
        if let Err(e) = &result {
            self.shared
                .problem(format!("xmpp connection to {}: {e}", self.address));
        }
        result
    }
}

impl Connector {
    async fn open(
        &self,
        jid: &Jid,
        ns: &'static str,
        timeouts: Timeouts,
    ) -> Result<
        (
            PendingFeaturesRecv<BufStream<Box<dyn Transport>>>,
            ChannelBinding,
        ),
        tokio_xmpp::Error,
    > {
        let tcp = TcpStream::connect(&self.address).await?;
        tcp.set_nodelay(true).ok();
        let Some(tls) = &self.tls else {
            let io: Box<dyn Transport> = Box::new(tcp);
            let pending = initiate_stream(BufStream::new(io), ns, header(jid), timeouts).await?;
            return Ok((pending, ChannelBinding::None));
        };
        let plain = initiate_stream(BufStream::new(tcp), ns, header(jid), timeouts).await?;
        let (features, mut plain) = plain.recv_features::<FallibleStreamElement>().await?;
        if !features.can_starttls() {
            return Err(tokio_xmpp::Error::Protocol(ProtocolError::NoTls));
        }
        plain
            .send(&XmppStreamElement::Starttls(starttls::Nonza::Request(
                Request,
            )))
            .await?;
        loop {
            match plain
                .next()
                .await
                .map(|v| v.and_then(|v| v.into_read_error()))
            {
                Some(Ok(XmppStreamElement::Starttls(starttls::Nonza::Proceed(_)))) => break,
                Some(Ok(_)) | Some(Err(ReadError::SoftTimeout)) => {}
                Some(Err(ReadError::HardError(e))) => return Err(e.into()),
                Some(Err(ReadError::ParseError(e))) => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e).into())
                }
                None | Some(Err(ReadError::StreamFooterReceived)) => {
                    return Err(tokio_xmpp::Error::Disconnected)
                }
            }
        }
        let tcp = plain.into_inner().into_inner();
        let secured = handshake(tls, jid.domain().as_str(), tcp)
            .await
            .map_err(io::Error::other)?;
        let io: Box<dyn Transport> = Box::new(secured);
        let pending = initiate_stream(BufStream::new(io), ns, header(jid), timeouts).await?;
        Ok((pending, ChannelBinding::None))
    }
}
