//! Lectern's sync protocol (`urn:lectern:sync:1`); the specification is `protocol/README.md`.
//!
//! Payload elements are xso types that check the spec's ranges while parsing, so a value of
//! these types is valid by construction ([`Validate`] re-checks values built in code).
//! [`Event`] wraps exactly one [`Payload`]; [`MeetingState`] applies events in `seq` order and
//! renders the canonical state form and the snapshot.

mod audio;
mod document;
mod error;
mod event;
mod fixed;
mod ink;
mod items;
mod json;
mod navigation;
mod page_ink;
mod query;
mod recording;
mod snapshot;
mod state;
mod values;

pub use audio::{Audio, Frames, MAX_AUDIO_FRAMES, MAX_OPUS_PACKET};
pub use document::{Document, PageInfo};
pub use error::{from_element, to_element, ProtocolError, Validate};
pub use event::{event_seq, Event, Payload};
pub use fixed::{Digits, Fixed, Point, Points, MAX_POINTS_PER_ELEMENT, MAX_SAFE_INTEGER};
pub use ink::{Clear, Erase, Redo, Shape, StrokeBegin, StrokeEnd, StrokeExtend, Text, Undo};
pub use items::{Action, Item, RedoStack, ShapeItem, StrokeItem, TextItem, UndoStack};
pub use navigation::{Page, Pointer, PointerAt, Presenter, Viewport};
pub use page_ink::PageInk;
pub use query::{Events, Hello, Preload, Preloaded, MAX_EVENTS_PER_ANSWER};
pub use recording::Recording;
pub use snapshot::{InkPage, Snapshot};
pub use state::{Ink, MeetingState};
pub use values::*;

/// The protocol's XML namespace; its version is part of it.
pub const NS: &str = "urn:lectern:sync:1";
