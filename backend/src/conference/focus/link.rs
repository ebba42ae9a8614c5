//! The focus's XMPP connection: login with tokio-xmpp's stream primitives, then one loop that
//! reads and writes the same stream. (tokio-xmpp's `Client` stops reading while a send waits
//! for queue space, which deadlocks a client that answers every stanza it receives under a
//! flood; owning the stream here keeps reading and writing in one place.)

use std::borrow::Cow;

use futures_util::{SinkExt, StreamExt};
use sasl::common::Credentials;
use tokio::io::BufStream;
use tokio_xmpp::connect::ServerConnector;
use tokio_xmpp::jid::{FullJid, Jid};
use tokio_xmpp::parsers::bind::{BindQuery, BindResponse};
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::stream_features::StreamFeatures;
use tokio_xmpp::xmlstream::{
    FallibleStreamElement, ReadError, StreamHeader, Timeouts, XmppStream, XmppStreamElement,
};
use tokio_xmpp::Stanza;

use super::connector::{Connector, Transport};
use crate::xmpp::xml::NS_CLIENT;

pub type Stream = XmppStream<BufStream<Box<dyn Transport>>>;

/// What ended a connection attempt or a connection.
pub type LinkError = String;

/// Connects, authenticates and binds `jid`'s resource. Returns the stream and bound JID.
pub async fn login(
    connector: &Connector,
    jid: &FullJid,
    password: &str,
) -> Result<(Stream, FullJid), LinkError> {
    let as_jid = Jid::from(jid.clone());
    let (pending, binding) = connector
        .connect(&as_jid, NS_CLIENT, Timeouts::default())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (features, stream): (StreamFeatures, Stream) = pending
        .recv_features()
        .await
        .map_err(|e| format!("stream features: {e}"))?;
    let creds = Credentials::default()
        .with_username(jid.node().map(|n| n.as_str()).unwrap_or_default())
        .with_password(password)
        .with_channel_binding(binding);
    let restarted = tokio_xmpp::client_login(stream, features.sasl_mechanisms, creds)
        .await
        .map_err(|e| format!("authentication: {e}"))?;
    let pending = restarted
        .send_header(StreamHeader {
            to: Some(Cow::Owned(jid.domain().as_str().to_string())),
            from: None,
            id: None,
        })
        .await
        .map_err(|e| format!("stream restart: {e}"))?;
    let (_, mut stream): (StreamFeatures, Stream) = pending
        .recv_features()
        .await
        .map_err(|e| format!("stream features: {e}"))?;
    let bind = Iq::from_set("bind", BindQuery::new(Some(jid.resource().to_string())));
    send(&mut stream, Stanza::Iq(bind)).await?;
    loop {
        match stream.next().await {
            Some(Ok(FallibleStreamElement::Ok(XmppStreamElement::Stanza(Stanza::Iq(iq)))))
                if iq.id() == "bind" =>
            {
                let Iq::Result {
                    payload: Some(payload),
                    ..
                } = iq
                else {
                    return Err("the server refused the resource binding".into());
                };
                let bound =
                    BindResponse::try_from(payload).map_err(|e| format!("bind answer: {e}"))?;
                return Ok((stream, bound.jid));
            }
            Some(Ok(_)) | Some(Err(ReadError::SoftTimeout)) => continue,
            Some(Err(e)) => return Err(format!("binding: {e}")),
            None => return Err("stream closed while binding".into()),
        }
    }
}

pub async fn send(stream: &mut Stream, stanza: Stanza) -> Result<(), LinkError> {
    stream
        .send(&XmppStreamElement::Stanza(stanza))
        .await
        .map_err(|e| format!("write: {e}"))
}
