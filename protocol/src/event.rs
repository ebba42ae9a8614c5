//! `<event seq t meeting>`: the envelope of every sequenced payload.

use xso::{AsXml, FromXml};

use crate::audio::Audio;
use crate::document::Document;
use crate::error::{checked, ProtocolError, Validate};
use crate::fixed::Digits;
use crate::ink::{Clear, Erase, Redo, Shape, StrokeBegin, StrokeEnd, StrokeExtend, Text, Undo};
use crate::navigation::{Page, Pointer, Presenter, Viewport};
use crate::recording::Recording;
use crate::values::is_meeting_number;
use crate::NS;

/// The one payload an event carries.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml()]
pub enum Payload {
    #[xml(transparent)]
    Document(Document),
    #[xml(transparent)]
    Page(Page),
    #[xml(transparent)]
    Viewport(Viewport),
    #[xml(transparent)]
    Pointer(Pointer),
    #[xml(transparent)]
    Presenter(Presenter),
    #[xml(transparent)]
    StrokeBegin(StrokeBegin),
    #[xml(transparent)]
    StrokeExtend(StrokeExtend),
    #[xml(transparent)]
    StrokeEnd(StrokeEnd),
    #[xml(transparent)]
    Shape(Shape),
    #[xml(transparent)]
    Text(Text),
    #[xml(transparent)]
    Erase(Erase),
    #[xml(transparent)]
    Clear(Clear),
    #[xml(transparent)]
    Undo(Undo),
    #[xml(transparent)]
    Redo(Redo),
    #[xml(transparent)]
    Audio(Audio),
    #[xml(transparent)]
    Recording(Recording),
}

impl Payload {
    /// The payload's element name, for logs and rate bounds.
    pub fn name(&self) -> &'static str {
        match self {
            Payload::Document(_) => "document",
            Payload::Page(_) => "page",
            Payload::Viewport(_) => "viewport",
            Payload::Pointer(_) => "pointer",
            Payload::Presenter(_) => "presenter",
            Payload::StrokeBegin(_) => "stroke-begin",
            Payload::StrokeExtend(_) => "stroke-extend",
            Payload::StrokeEnd(_) => "stroke-end",
            Payload::Shape(_) => "shape",
            Payload::Text(_) => "text",
            Payload::Erase(_) => "erase",
            Payload::Clear(_) => "clear",
            Payload::Undo(_) => "undo",
            Payload::Redo(_) => "redo",
            Payload::Audio(_) => "audio",
            Payload::Recording(_) => "recording",
        }
    }
}

impl Validate for Payload {
    fn validate(&self) -> Result<(), ProtocolError> {
        match self {
            Payload::Document(p) => p.validate(),
            Payload::Page(p) => p.validate(),
            Payload::Viewport(p) => p.validate(),
            Payload::Pointer(p) => p.validate(),
            Payload::Presenter(p) => p.validate(),
            Payload::StrokeBegin(p) => p.validate(),
            Payload::StrokeExtend(p) => p.validate(),
            Payload::StrokeEnd(p) => p.validate(),
            Payload::Shape(p) => p.validate(),
            Payload::Text(p) => p.validate(),
            Payload::Erase(p) => p.validate(),
            Payload::Clear(p) => p.validate(),
            Payload::Undo(p) => p.validate(),
            Payload::Redo(p) => p.validate(),
            Payload::Audio(p) => p.validate(),
            Payload::Recording(p) => p.validate(),
        }
    }
}

/// A request (no `seq`, carries `meeting`) or an event (with the focus-assigned `seq`).
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "event",
    deserialize_callback = checked,
)]
pub struct Event {
    #[xml(attribute(default, codec = Digits))]
    pub seq: Option<u64>,
    #[xml(attribute(codec = Digits))]
    pub t: u64,
    #[xml(attribute(default))]
    pub meeting: Option<String>,
    #[xml(child)]
    pub payload: Payload,
}

impl Event {
    /// A sequenced event as the focus emits it into the room.
    pub fn sequenced(seq: u64, t: u64, payload: Payload) -> Self {
        Event {
            seq: Some(seq),
            t,
            meeting: None,
            payload,
        }
    }

    /// Parses and validates an `<event/>` element.
    pub fn from_element(el: &minidom::Element) -> Result<Self, ProtocolError> {
        crate::error::from_element(el)
    }

    pub fn to_element(&self) -> minidom::Element {
        crate::error::to_element(self)
    }
}

impl Validate for Event {
    fn validate(&self) -> Result<(), ProtocolError> {
        if let Some(meeting) = &self.meeting {
            if !is_meeting_number(meeting) {
                return Err(ProtocolError::invalid("meeting", "not 9 digits"));
            }
        }
        if self.seq == Some(0) {
            return Err(ProtocolError::invalid("seq", "sequence numbers start at 1"));
        }
        self.payload.validate()
    }
}

/// The `seq` of an `<event/>` element even when its payload is unusable, so an attendee can
/// account for an event it ignores (the focus already numbered it; skipping it keeps the
/// sequence gapless).
pub fn event_seq(el: &minidom::Element) -> Option<u64> {
    if !el.is("event", NS) {
        return None;
    }
    let seq = crate::fixed::parse_digits(el.attr("seq")?).ok()?;
    (seq >= 1).then_some(seq)
}

macro_rules! payload_from {
    ($($variant:ident),*) => {$(
        impl From<$variant> for Payload {
            fn from(p: $variant) -> Self {
                Payload::$variant(p)
            }
        }
    )*};
}

payload_from!(
    Document,
    Page,
    Viewport,
    Pointer,
    Presenter,
    StrokeBegin,
    StrokeExtend,
    StrokeEnd,
    Shape,
    Text,
    Erase,
    Clear,
    Undo,
    Redo,
    Recording
);
