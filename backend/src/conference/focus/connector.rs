//! How the focus reaches its XMPP server: an in-process pipe into the embedded server's
//! ordinary c2s code, or TCP to an external server. Either way it is a normal client stream.

use std::borrow::Cow;
use std::sync::Arc;

use sasl::common::ChannelBinding;
use tokio::io::{AsyncRead, AsyncWrite, BufStream};
use tokio_xmpp::connect::ServerConnector;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::xmlstream::{initiate_stream, PendingFeaturesRecv, StreamHeader, Timeouts};

use crate::xmpp::{tcp, Xmpp};

pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// The pipe's buffer: large enough that one snapshot or catch-up answer fits without the
/// server waiting on the focus.
const PIPE: usize = 1 << 20;

#[derive(Clone)]
pub enum Connector {
    Embedded(Arc<Xmpp>),
    /// `host:port` of an external server, plain TCP (loopback or a trusted network).
    Tcp(String),
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connector::Embedded(_) => f.write_str("Connector::Embedded"),
            Connector::Tcp(addr) => write!(f, "Connector::Tcp({addr})"),
        }
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
        let io: Box<dyn Transport> = match self {
            Connector::Embedded(xmpp) => {
                let (client, server) = tokio::io::duplex(PIPE);
                // Loopback rules apply: the pipe never leaves this process.
                tokio::spawn(tcp::connection(server, true, xmpp.clone()));
                Box::new(client)
            }
            Connector::Tcp(addr) => Box::new(tokio::net::TcpStream::connect(addr).await?),
        };
        let header = StreamHeader {
            to: Some(Cow::Owned(jid.domain().as_str().to_string())),
            from: None,
            id: None,
        };
        let pending = initiate_stream(BufStream::new(io), ns, header, timeouts).await?;
        Ok((pending, ChannelBinding::None))
    }
}
