//! The stanzas the attendee sends, built once here, and the few it looks for.

use lectern_protocol::NS;
use minidom::Element;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::message::{Message, MessageType};
use tokio_xmpp::parsers::presence::{Presence, Type as PresenceType};
use tokio_xmpp::Stanza;

use crate::error::BridgeError;

const NS_MUC: &str = "http://jabber.org/protocol/muc";
/// XEP-0203: a delayed (history) message says nothing about network delay.
pub const NS_DELAY: &str = "urn:xmpp:delay";
/// XEP-0199 pings from the server are answered.
pub const NS_PING: &str = "urn:xmpp:ping";

fn n(name: &'static str) -> rxml::NcName {
    rxml::NcName::try_from(name).expect("static attribute names are valid")
}

pub fn jid(s: &str) -> Result<Jid, BridgeError> {
    Jid::new(s).map_err(|e| BridgeError::Xmpp(format!("bad JID {s:?}: {e}")))
}

/// Enters the room without history: missed events come by `seq` from the focus, which has
/// all of them, not from the room's short history.
pub fn join_room(occupant: Jid) -> Stanza {
    let history = Element::builder("history", NS_MUC)
        .attr(n("maxstanzas"), "0")
        .build();
    let x = Element::builder("x", NS_MUC).append(history).build();
    let mut presence = Presence::new(PresenceType::None).with_to(occupant);
    presence.payloads.push(x);
    presence.into()
}

fn query(kind: &str, meeting: &str) -> minidom::element::ElementBuilder {
    Element::builder(kind, NS).attr(n("meeting"), meeting)
}

pub fn hello(id: &str, focus: &Jid, meeting: &str, ticket: &str) -> Stanza {
    let payload = query("hello", meeting).attr(n("ticket"), ticket).build();
    Iq::Set {
        from: None,
        to: Some(focus.clone()),
        id: id.to_owned(),
        payload,
    }
    .into()
}

pub fn snapshot(id: &str, focus: &Jid, meeting: &str) -> Stanza {
    Iq::Get {
        from: None,
        to: Some(focus.clone()),
        id: id.to_owned(),
        payload: query("snapshot", meeting).build(),
    }
    .into()
}

pub fn events(id: &str, focus: &Jid, meeting: &str, since: u64) -> Stanza {
    let payload = query("events", meeting)
        .attr(n("since"), since.to_string())
        .build();
    Iq::Get {
        from: None,
        to: Some(focus.clone()),
        id: id.to_owned(),
        payload,
    }
    .into()
}

/// Tells the focus the package's hashes verified.
pub fn preloaded(focus: &Jid, meeting: &str, document: &str) -> Stanza {
    let payload = query("preloaded", meeting)
        .attr(n("document"), document)
        .build();
    Message::new_with_type(MessageType::Chat, Some(focus.clone()))
        .with_payloads(vec![payload])
        .into()
}

/// An empty result to a server's ping.
pub fn pong(to: Option<Jid>, id: &str) -> Stanza {
    Iq::Result {
        from: None,
        to,
        id: id.to_owned(),
        payload: None,
    }
    .into()
}

/// The first child in the Lectern namespace named `name`.
pub fn lectern_child<'a>(payloads: &'a [Element], name: &str) -> Option<&'a Element> {
    payloads.iter().find(|p| p.is(name, NS))
}
