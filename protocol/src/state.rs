//! The meeting state every receiver holds, built by applying events in `seq` order.
//!
//! Every validity rule here depends only on what the state form shows, never on history the
//! state forgot (pruned items, earlier documents' metadata), so a late joiner who starts from
//! a snapshot accepts and ignores exactly the events that someone present from the start does.

use std::collections::{BTreeMap, HashMap};

use crate::document::Document;
use crate::error::{ProtocolError, Validate};
use crate::event::{event_seq, Event, Payload};
use crate::items::Item;
use crate::navigation::{PointerAt, Viewport};
use crate::page_ink::PageInk;
use crate::values::{ItemId, MAX_STROKE_POINTS};

/// Ink of every document that has any: document id → page number → page ink.
pub type Ink = BTreeMap<String, BTreeMap<u32, PageInk>>;

/// What a receiver shows, and everything needed to apply the next event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeetingState {
    /// The last `seq` accounted for (0 before the first event).
    pub seq: u64,
    /// The presenter's room nick.
    pub presenter: Option<String>,
    /// The current document; `None` before the first share.
    pub document: Option<Document>,
    /// The current page, 1-based; 0 while there is no document.
    pub page: u32,
    pub viewport: Viewport,
    pub pointer: Option<PointerAt>,
    /// The presenter paused the recording: what happens now is cut from it.
    pub recording_paused: bool,
    pub(crate) ink: Ink,
    /// Where every existing item lives, so ids stay unique and extends find their stroke.
    pub(crate) index: HashMap<ItemId, (String, u32)>,
}

impl MeetingState {
    pub fn new() -> Self {
        Self::default()
    }

    /// All ink, kept per document and page (pages without items or actions are absent).
    pub fn ink(&self) -> &Ink {
        &self.ink
    }

    /// The ink of one page of one document.
    pub fn page_ink(&self, document: &str, page: u32) -> Option<&PageInk> {
        self.ink.get(document)?.get(&page)
    }

    /// Applies one sequenced event. A [`ProtocolError::Sequence`] (or a missing `seq`) leaves
    /// the state untouched; any other error means the payload was ignored but its `seq` was
    /// consumed, as the spec requires of invalid events.
    pub fn apply(&mut self, event: &Event) -> Result<(), ProtocolError> {
        let seq = event
            .seq
            .ok_or(ProtocolError::invalid("seq", "an event needs its seq"))?;
        self.consume(seq)?;
        self.apply_payload(&event.payload)
    }

    /// Accounts for an event whose payload is unusable (it still took a `seq`).
    pub fn skip(&mut self, seq: u64) -> Result<(), ProtocolError> {
        self.consume(seq)
    }

    /// Applies an `<event/>` element as an attendee receives it: a malformed payload is
    /// skipped (its `seq` consumed) and reported.
    pub fn apply_element(&mut self, el: &minidom::Element) -> Result<(), ProtocolError> {
        match Event::from_element(el) {
            Ok(event) => self.apply(&event),
            Err(err) => {
                let seq = event_seq(el).ok_or(err.clone())?;
                self.skip(seq)?;
                Err(err)
            }
        }
    }

    fn consume(&mut self, seq: u64) -> Result<(), ProtocolError> {
        if seq != self.seq + 1 {
            return Err(ProtocolError::Sequence {
                last: self.seq,
                got: seq,
            });
        }
        self.seq = seq;
        Ok(())
    }

    /// Applies a payload without touching `seq` (the focus checks, numbers, then applies).
    pub fn apply_payload(&mut self, payload: &Payload) -> Result<(), ProtocolError> {
        payload.validate()?;
        self.check(payload)?;
        self.mutate(payload);
        Ok(())
    }

    /// Whether the payload would take effect on this state: the focus rejects a request
    /// that fails here, and attendees ignore such an event.
    pub fn check(&self, payload: &Payload) -> Result<(), ProtocolError> {
        match payload {
            Payload::Document(_)
            | Payload::Presenter(_)
            | Payload::Audio(_)
            | Payload::Recording(_) => Ok(()),
            Payload::Viewport(_) => self.current().map(drop),
            Payload::Pointer(p) => match p.target() {
                Some(at) => self.check_page(at.page),
                None => Ok(()),
            },
            Payload::Page(p) => self.check_page(p.number),
            Payload::StrokeBegin(b) => self.check_new(&b.id, b.page),
            Payload::Shape(s) => self.check_new(&s.id, s.page),
            Payload::Text(t) => self.check_new(&t.id, t.page),
            Payload::StrokeExtend(e) => {
                let have = self.open_stroke(&e.id)?;
                if have + e.points.0.len() > MAX_STROKE_POINTS {
                    return Err(ProtocolError::TooLarge("points"));
                }
                Ok(())
            }
            Payload::StrokeEnd(e) => self.open_stroke(&e.id).map(drop),
            Payload::Erase(e) => self.check_page(e.page),
            Payload::Clear(c) => self.check_page(c.page),
            Payload::Undo(u) => self.check_page(u.page),
            Payload::Redo(r) => self.check_page(r.page),
        }
    }

    fn current(&self) -> Result<&Document, ProtocolError> {
        self.document.as_ref().ok_or(ProtocolError::NoDocument)
    }

    fn check_page(&self, page: u32) -> Result<(), ProtocolError> {
        if (1..=self.current()?.pages).contains(&page) {
            Ok(())
        } else {
            Err(ProtocolError::NoSuchPage(page))
        }
    }

    fn check_new(&self, id: &ItemId, page: u32) -> Result<(), ProtocolError> {
        self.check_page(page)?;
        if self.index.contains_key(id) {
            return Err(ProtocolError::DuplicateId(id.to_string()));
        }
        Ok(())
    }

    /// The number of points of the unfinished stroke `id`.
    fn open_stroke(&self, id: &ItemId) -> Result<usize, ProtocolError> {
        let not_open = || ProtocolError::NoOpenStroke(id.to_string());
        let (doc, page) = self.index.get(id).ok_or_else(not_open)?;
        match self.page_ink(doc, *page).and_then(|p| p.item(id)) {
            Some(Item::Stroke(s)) if !s.done => Ok(s.points.0.len()),
            _ => Err(not_open()),
        }
    }

    /// The page of the current document that an ink payload works on, created on demand.
    fn page_mut(&mut self, page: u32) -> (String, &mut PageInk) {
        let doc = self.document.as_ref().expect("checked").id.clone();
        let ink = self
            .ink
            .entry(doc.clone())
            .or_default()
            .entry(page)
            .or_default();
        (doc, ink)
    }

    fn mutate(&mut self, payload: &Payload) {
        match payload {
            Payload::Document(d) => {
                self.document = Some(d.clone());
                self.turn_to(1);
            }
            Payload::Page(p) => self.turn_to(p.number),
            Payload::Viewport(v) => self.viewport = *v,
            Payload::Pointer(p) => self.pointer = p.target(),
            Payload::Presenter(p) => {
                self.presenter = Some(p.nick.clone());
                self.pointer = None;
                self.end_open_strokes();
            }
            Payload::StrokeBegin(b) => self.add(b.page, Item::stroke(b)),
            Payload::Shape(s) => self.add(s.page, Item::shape(s)),
            Payload::Text(t) => self.add(t.page, Item::text(t)),
            Payload::StrokeExtend(e) => {
                if let Some(Item::Stroke(s)) = self.item_mut(&e.id) {
                    s.points.0.extend_from_slice(&e.points.0);
                }
            }
            Payload::StrokeEnd(e) => {
                if let Some(Item::Stroke(s)) = self.item_mut(&e.id) {
                    s.done = true;
                }
            }
            // Voice is played, not kept: it leaves the state form as it was.
            Payload::Audio(_) => {}
            Payload::Recording(r) => self.recording_paused = r.paused,
            Payload::Erase(e) => self.edit(e.page, |ink| ink.erase(&e.ids.0)),
            Payload::Clear(c) => self.edit(c.page, PageInk::clear),
            Payload::Undo(u) => self.edit(u.page, PageInk::undo),
            Payload::Redo(r) => self.edit(r.page, PageInk::redo),
        }
    }

    fn turn_to(&mut self, page: u32) {
        self.page = page;
        self.viewport = Viewport::WHOLE_PAGE;
        self.pointer = None;
    }

    fn add(&mut self, page: u32, item: Item) {
        let id = item.id().clone();
        let doc = self.document.as_ref().expect("checked").id.clone();
        self.index.insert(id, (doc, page));
        self.edit(page, |ink| ink.add(item));
    }

    /// Runs one page action, forgets the items it pruned, and drops the page once empty.
    fn edit(&mut self, page: u32, action: impl FnOnce(&mut PageInk) -> Vec<ItemId>) {
        let (doc, ink) = self.page_mut(page);
        let dropped = action(ink);
        let empty = ink.is_empty();
        for id in dropped {
            self.index.remove(&id);
        }
        if empty {
            self.remove_page(&doc, page);
        }
    }

    fn remove_page(&mut self, doc: &str, page: u32) {
        if let Some(pages) = self.ink.get_mut(doc) {
            pages.remove(&page);
            if pages.is_empty() {
                self.ink.remove(doc);
            }
        }
    }

    fn item_mut(&mut self, id: &ItemId) -> Option<&mut Item> {
        let (doc, page) = self.index.get(id)?;
        self.ink.get_mut(doc)?.get_mut(page)?.item_mut(id)
    }

    /// Only the presenter draws, so every unfinished stroke is the previous presenter's.
    fn end_open_strokes(&mut self) {
        let items = self.ink.values_mut().flat_map(|p| p.values_mut());
        for item in items.flat_map(|p| p.items.iter_mut()) {
            if let Item::Stroke(s) = item {
                s.done = true;
            }
        }
    }
}
