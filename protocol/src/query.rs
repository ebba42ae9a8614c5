//! The other queries and notices: `<events/>` (catch-up), `<hello/>` (who a connection is)
//! and the LAN pre-load notices `<preload/>` and `<preloaded/>`. The snapshot query is in
//! `snapshot.rs`, next to the state it carries.

use xso::{AsXml, FromXml};

use crate::error::{checked, ProtocolError, Validate};
use crate::event::Event;
use crate::fixed::Digits;
use crate::values::{is_document_id, is_meeting_number, is_nick, Role, MAX_NAME_BYTES};
use crate::NS;

fn check_meeting(meeting: &str) -> Result<(), ProtocolError> {
    if is_meeting_number(meeting) {
        Ok(())
    } else {
        Err(ProtocolError::invalid("meeting", "not 9 digits"))
    }
}

/// Events answered per catch-up query at most; `complete='false'` says there are more.
pub const MAX_EVENTS_PER_ANSWER: u32 = 500;

/// Catch-up. The query carries `since` (and optionally `max`); the answer carries `last`,
/// `complete` and the events after `since`, in `seq` order, exactly as they were emitted.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "events",
    deserialize_callback = checked,
)]
pub struct Events {
    #[xml(attribute)]
    pub meeting: String,
    #[xml(attribute(default, codec = Digits))]
    pub since: Option<u64>,
    #[xml(attribute(default, codec = Digits))]
    pub max: Option<u32>,
    #[xml(attribute(default, codec = Digits))]
    pub last: Option<u64>,
    #[xml(attribute(default))]
    pub complete: Option<bool>,
    #[xml(child(n = ..))]
    pub events: Vec<Event>,
}

impl Events {
    pub fn query(meeting: &str, since: u64, max: Option<u32>) -> Self {
        Events {
            meeting: meeting.to_owned(),
            since: Some(since),
            max,
            last: None,
            complete: None,
            events: Vec::new(),
        }
    }
}

impl Validate for Events {
    fn validate(&self) -> Result<(), ProtocolError> {
        check_meeting(&self.meeting)?;
        if self.max == Some(0) {
            return Err(ProtocolError::invalid("max", "must be at least 1"));
        }
        if self.events.iter().any(|e| e.seq.is_none()) {
            return Err(ProtocolError::invalid(
                "seq",
                "catch-up events carry their seq",
            ));
        }
        Ok(())
    }
}

/// The first thing a client sends after joining: the query carries the join `ticket`, the
/// answer the `role` and whether the client is on the presenter's LAN.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "hello",
    deserialize_callback = checked,
)]
pub struct Hello {
    #[xml(attribute)]
    pub meeting: String,
    #[xml(attribute(default))]
    pub ticket: Option<String>,
    #[xml(attribute(default))]
    pub role: Option<Role>,
    #[xml(attribute(default))]
    pub lan: Option<bool>,
}

impl Validate for Hello {
    fn validate(&self) -> Result<(), ProtocolError> {
        check_meeting(&self.meeting)?;
        if self
            .ticket
            .as_ref()
            .is_some_and(|t| t.len() > MAX_NAME_BYTES)
        {
            return Err(ProtocolError::TooLarge("ticket"));
        }
        Ok(())
    }
}

/// Focus → LAN attendee: fetch this document's package now.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "preload",
    deserialize_callback = checked,
)]
pub struct Preload {
    #[xml(attribute)]
    pub meeting: String,
    #[xml(attribute)]
    pub document: String,
    #[xml(attribute)]
    pub url: String,
}

impl Validate for Preload {
    fn validate(&self) -> Result<(), ProtocolError> {
        check_meeting(&self.meeting)?;
        if !is_document_id(&self.document) {
            return Err(ProtocolError::invalid(
                "document",
                "not 64 lowercase hex digits",
            ));
        }
        if self.url.is_empty() || self.url.len() > MAX_NAME_BYTES {
            return Err(ProtocolError::invalid("url", "empty or too long"));
        }
        Ok(())
    }
}

/// Attendee → focus (`meeting`, `document`): the package's hashes verified. Focus →
/// presenter (`nick`, `document`): that attendee is pre-loaded.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "preloaded",
    deserialize_callback = checked,
)]
pub struct Preloaded {
    #[xml(attribute(default))]
    pub meeting: Option<String>,
    #[xml(attribute(default))]
    pub nick: Option<String>,
    #[xml(attribute)]
    pub document: String,
}

impl Validate for Preloaded {
    fn validate(&self) -> Result<(), ProtocolError> {
        if let Some(meeting) = &self.meeting {
            check_meeting(meeting)?;
        }
        if self.nick.as_ref().is_some_and(|n| !is_nick(n)) {
            return Err(ProtocolError::invalid("nick", "not a room nick"));
        }
        if !is_document_id(&self.document) {
            return Err(ProtocolError::invalid(
                "document",
                "not 64 lowercase hex digits",
            ));
        }
        Ok(())
    }
}
