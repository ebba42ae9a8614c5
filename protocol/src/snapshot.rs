//! `<snapshot/>`: the snapshot query and its answer, the state form as XML.

use std::collections::HashSet;

use xso::{AsXml, FromXml};

use crate::document::Document;
use crate::error::{checked, ProtocolError, Validate};
use crate::fixed::Digits;
use crate::items::{Item, RedoStack, UndoStack};
use crate::navigation::{Page, Pointer, Viewport};
use crate::page_ink::PageInk;
use crate::recording::Recording;
use crate::state::MeetingState;
use crate::values::{is_document_id, is_meeting_number, is_nick, UNDO_DEPTH};
use crate::NS;

/// The query (`meeting` only) and the answer (`seq`, `presenter` and the state as children:
/// document, page, viewport and pointer when there is a document, then the ink pages).
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "snapshot",
    deserialize_callback = checked,
)]
pub struct Snapshot {
    #[xml(attribute)]
    pub meeting: String,
    #[xml(attribute(default, codec = Digits))]
    pub seq: Option<u64>,
    #[xml(attribute(default))]
    pub presenter: Option<String>,
    #[xml(child(default))]
    pub document: Option<Document>,
    #[xml(child(default))]
    pub page: Option<Page>,
    #[xml(child(default))]
    pub viewport: Option<Viewport>,
    #[xml(child(default))]
    pub pointer: Option<Pointer>,
    /// `<recording paused='true'/>` while the recording is paused, absent otherwise.
    #[xml(child(default))]
    pub recording: Option<Recording>,
    #[xml(child(n = ..))]
    pub ink: Vec<InkPage>,
}

/// `<ink document page>`: one page's items (creation order) and stacks (bottom first).
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(namespace = NS, on_unknown_attribute = Discard, on_unknown_child = Discard, name = "ink")]
pub struct InkPage {
    #[xml(attribute)]
    pub document: String,
    #[xml(attribute(codec = Digits))]
    pub page: u32,
    #[xml(child(n = ..))]
    pub items: Vec<Item>,
    #[xml(child(default))]
    pub undo: UndoStack,
    #[xml(child(default))]
    pub redo: RedoStack,
}

impl Snapshot {
    /// The query a client sends.
    pub fn query(meeting: &str) -> Self {
        Snapshot {
            meeting: meeting.to_owned(),
            seq: None,
            presenter: None,
            document: None,
            page: None,
            viewport: None,
            pointer: None,
            recording: None,
            ink: Vec::new(),
        }
    }
}

impl Validate for Snapshot {
    fn validate(&self) -> Result<(), ProtocolError> {
        if !is_meeting_number(&self.meeting) {
            return Err(ProtocolError::invalid("meeting", "not 9 digits"));
        }
        if let Some(nick) = &self.presenter {
            if !is_nick(nick) {
                return Err(ProtocolError::invalid("presenter", "not a room nick"));
            }
        }
        Ok(())
    }
}

impl MeetingState {
    /// The snapshot answer for this state.
    pub fn to_snapshot(&self, meeting: &str) -> Snapshot {
        let mut ink = Vec::new();
        for (doc, pages) in &self.ink {
            for (&page, p) in pages {
                ink.push(InkPage {
                    document: doc.clone(),
                    page,
                    items: p.items.clone(),
                    undo: UndoStack {
                        actions: p.undo.clone(),
                    },
                    redo: RedoStack {
                        actions: p.redo.clone(),
                    },
                });
            }
        }
        let has_doc = self.document.is_some();
        Snapshot {
            meeting: meeting.to_owned(),
            seq: Some(self.seq),
            presenter: self.presenter.clone(),
            document: self.document.clone(),
            page: has_doc.then_some(Page { number: self.page }),
            viewport: has_doc.then_some(self.viewport),
            pointer: self.pointer.map(Pointer::at),
            recording: self.recording_paused.then_some(Recording::PAUSED),
            ink,
        }
    }

    /// The state a snapshot answer describes. Its consistency is checked (pages in range,
    /// unique ids, actions naming items of their page); hidden items nothing refers to are
    /// pruned, as they would have been had the events been applied.
    pub fn from_snapshot(snapshot: &Snapshot) -> Result<Self, ProtocolError> {
        let seq = snapshot.seq.ok_or(ProtocolError::invalid(
            "seq",
            "a snapshot answer needs its seq",
        ))?;
        let mut state = MeetingState {
            seq,
            presenter: snapshot.presenter.clone(),
            recording_paused: snapshot.recording.is_some_and(|r| r.paused),
            ..MeetingState::default()
        };
        match (&snapshot.document, snapshot.page) {
            (Some(doc), Some(page)) => {
                if !(1..=doc.pages).contains(&page.number) {
                    return Err(ProtocolError::NoSuchPage(page.number));
                }
                state.document = Some(doc.clone());
                state.page = page.number;
                state.viewport = snapshot.viewport.unwrap_or_default();
            }
            (None, None) if snapshot.viewport.is_none() => {}
            _ => {
                return Err(ProtocolError::invalid(
                    "page",
                    "a page goes with a document",
                ))
            }
        }
        if let Some(pointer) = &snapshot.pointer {
            let at = pointer.target().ok_or(ProtocolError::invalid(
                "pointer",
                "a hidden pointer is left out",
            ))?;
            state.check(&(*pointer).into())?;
            state.pointer = Some(at);
        }
        for ink in &snapshot.ink {
            state.load_page(ink)?;
        }
        Ok(state)
    }

    fn load_page(&mut self, ink: &InkPage) -> Result<(), ProtocolError> {
        if !is_document_id(&ink.document) {
            return Err(ProtocolError::invalid(
                "document",
                "not 64 lowercase hex digits",
            ));
        }
        if ink.page == 0 {
            return Err(ProtocolError::invalid("page", "pages are numbered from 1"));
        }
        let pages = self.ink.entry(ink.document.clone()).or_default();
        if pages.contains_key(&ink.page) {
            return Err(ProtocolError::invalid("page", "the same page twice"));
        }
        let mut page = PageInk {
            items: ink.items.clone(),
            undo: ink.undo.actions.clone(),
            redo: ink.redo.actions.clone(),
        };
        if page.undo.len() + page.redo.len() > UNDO_DEPTH {
            return Err(ProtocolError::TooLarge("undo"));
        }
        let here: HashSet<&str> = page.items.iter().map(|i| i.id().as_str()).collect();
        let actions = page.undo.iter().chain(&page.redo);
        if actions
            .flat_map(|a| a.ids())
            .any(|id| !here.contains(id.as_str()))
        {
            return Err(ProtocolError::invalid(
                "ids",
                "an action names an item not on its page",
            ));
        }
        page.prune();
        for item in &page.items {
            let place = (ink.document.clone(), ink.page);
            if self.index.insert(item.id().clone(), place).is_some() {
                return Err(ProtocolError::DuplicateId(item.id().to_string()));
            }
        }
        if page.is_empty() {
            if pages.is_empty() {
                self.ink.remove(&ink.document);
            }
        } else {
            pages.insert(ink.page, page);
        }
        Ok(())
    }
}
