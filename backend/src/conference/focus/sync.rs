//! The focus's side of the sync protocol: requests parsed and checked with the protocol
//! crate, and the meeting state the events build (the same reducer every client runs).

use minidom::Element;

use super::stanzas::n;

use crate::documents::manifest::{Manifest, Status};
use lectern_protocol::{Event, MeetingState, Payload, NS};

/// Why a request was refused; each maps to one stanza error condition.
#[derive(Debug, thiserror::Error)]
pub enum Reject {
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    NotAuthorized(String),
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("too many events; slow down")]
    Rate,
    #[error("{0}")]
    Internal(String),
}

impl Reject {
    pub fn condition(&self) -> &'static str {
        match self {
            Reject::Forbidden(_) => "forbidden",
            Reject::BadRequest(_) => "bad-request",
            Reject::NotFound(_) => "item-not-found",
            Reject::NotAuthorized(_) => "not-authorized",
            Reject::NotAllowed(_) => "not-allowed",
            Reject::TooLarge(_) => "resource-constraint",
            Reject::Rate => "policy-violation",
            Reject::Internal(_) => "internal-server-error",
        }
    }
}

impl From<lectern_protocol::ProtocolError> for Reject {
    fn from(e: lectern_protocol::ProtocolError) -> Self {
        match e {
            lectern_protocol::ProtocolError::TooLarge(_) => Reject::TooLarge(e.to_string()),
            _ => Reject::BadRequest(e.to_string()),
        }
    }
}

/// One presenter request (or focus-originated event) before it gets its `seq`.
pub struct Request {
    event: Event,
}

impl Request {
    /// Checks the shape: `t`, exactly one known payload, every attribute in range.
    pub fn parse(el: &Element) -> Result<Self, Reject> {
        let event = Event::from_element(el)?;
        if event.seq.is_some() {
            return Err(Reject::BadRequest(
                "seq: assigned by the focus, not the sender".into(),
            ));
        }
        Ok(Self { event })
    }

    pub fn from_focus(payload: Payload, t: u64) -> Self {
        Self {
            event: Event {
                seq: None,
                t,
                meeting: None,
                payload,
            },
        }
    }

    pub fn is_audio(&self) -> bool {
        matches!(self.event.payload, Payload::Audio(_))
    }

    /// Tags audio with whose voice it is; the sender's own claim is never trusted.
    pub fn set_speaker(&mut self, nick: &str) {
        if let Payload::Audio(audio) = &mut self.event.payload {
            audio.speaker = Some(nick.to_string());
        }
    }

    pub fn presenter_nick(&self) -> Option<&str> {
        match &self.event.payload {
            Payload::Presenter(p) => Some(p.nick.as_str()),
            _ => None,
        }
    }

    pub fn document_id(&self) -> Option<String> {
        match &self.event.payload {
            Payload::Document(d) => Some(d.id.clone()),
            _ => None,
        }
    }

    /// The focus, not the presenter, vouches for what a shared document is: page count,
    /// sizes and hashes come from the server's own manifest.
    pub fn use_manifest(&mut self, manifest: &Manifest) -> Result<(), Reject> {
        if manifest.status != Status::Ready {
            return Err(Reject::BadRequest(
                "document: still converting; share it when it is ready".into(),
            ));
        }
        let mut doc = Element::builder("document", NS)
            .attr(n("id"), manifest.id.as_str())
            .attr(n("pages"), manifest.page_count.to_string())
            .attr(n("base"), format!("/api/documents/{}/", manifest.id));
        // The file's own title wins; without one, the name the presenter gave it (usually
        // the file name) is better than none.
        let given = match &self.event.payload {
            Payload::Document(d) => d.title.clone(),
            _ => None,
        };
        if let Some(title) = manifest.title.clone().or(given) {
            doc = doc.attr(n("title"), title);
        }
        for page in &manifest.pages {
            doc = doc.append(
                Element::builder("p", NS)
                    .attr(n("n"), page.number.to_string())
                    .attr(n("hash"), page.sha256.clone().unwrap_or_default())
                    .attr(n("w"), page.width.to_string())
                    .attr(n("h"), page.height.to_string()),
            );
        }
        self.event.payload = lectern_protocol::from_element(&doc.build())?;
        Ok(())
    }

    pub fn sequenced(&self, seq: u64) -> Event {
        Event::sequenced(seq, self.event.t, self.event.payload.clone())
    }
}

/// The meeting state as every attendee holds it, plus the presenter clock's latest time.
#[derive(Default)]
pub struct Sync {
    state: MeetingState,
    last_t: u64,
}

impl Sync {
    /// An empty state whose next event is `seq + 1`.
    pub fn starting_after(seq: u64) -> Self {
        let mut sync = Self::default();
        sync.state.seq = seq;
        sync
    }

    /// The state a deleted recording left (`RecordingPolicy::start`, a `<snapshot/>`): the
    /// meeting as it stood, its next event the snapshot's `seq + 1`.
    pub fn from_snapshot(xml: &str) -> Result<Self, Reject> {
        let el: Element = xml
            .parse()
            .map_err(|_| Reject::Internal("the recording's start is not XML".into()))?;
        let snapshot: lectern_protocol::Snapshot = lectern_protocol::from_element(&el)?;
        Ok(Self {
            state: MeetingState::from_snapshot(&snapshot)?,
            last_t: 0,
        })
    }

    /// Applies an archived event (at start-up, rebuilding from the archive). Its `seq` must
    /// follow on; a payload the state ignores still consumes it, as for every receiver.
    pub fn replay(&mut self, record: &[u8]) -> Result<(), Reject> {
        let el: Element = std::str::from_utf8(record)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Reject::Internal("archived event is not XML".into()))?;
        match self.state.apply_element(&el) {
            Err(e @ lectern_protocol::ProtocolError::Sequence { .. }) => Err(e.into()),
            _ => {
                let t = el.attr("t").and_then(|t| t.parse().ok()).unwrap_or(0);
                self.last_t = self.last_t.max(t);
                Ok(())
            }
        }
    }

    /// Refuses what every receiver would ignore: a page out of range, ink with no document,
    /// extending a stroke that does not exist or has ended.
    pub fn check(&self, request: &Request) -> Result<(), Reject> {
        self.state
            .check(&request.event.payload)
            .map_err(Reject::from)
    }

    /// Applies an event the focus has just sequenced (and checked).
    pub fn apply(&mut self, event: &Event) {
        self.last_t = self.last_t.max(event.t);
        if let Err(e) = self.state.apply(event) {
            tracing::error!("the focus's own state refused event {:?}: {e}", event.seq);
        }
    }

    pub fn presenter(&self) -> Option<String> {
        self.state.presenter.clone()
    }

    pub fn document(&self) -> Option<String> {
        self.state.document.as_ref().map(|d| d.id.clone())
    }

    pub fn last_t(&self) -> u64 {
        self.last_t
    }

    pub fn snapshot(&self, meeting: &str) -> Element {
        lectern_protocol::to_element(&self.state.to_snapshot(meeting))
    }
}
