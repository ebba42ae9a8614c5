//! A meeting's archive read back as a recording: the sequenced events in presenter time, the
//! voice batches, and one chapter per page shown. Only the archive is read, so a meeting that
//! crashed is a recording up to its last acknowledged event.

use serde::Serialize;

use lectern_protocol::{Event, MeetingState, Payload};

use super::RecordingError;

/// One voice batch as archived.
pub struct AudioBatch {
    pub t: u64,
    pub ms: u32,
    pub frames: Vec<Vec<u8>>,
}

/// A non-audio event, kept as the XML attendees received (its schema is `protocol/README.md`).
#[derive(Debug, Serialize)]
pub struct Entry {
    pub seq: u64,
    pub t: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub xml: String,
}

/// A stretch of the recording showing one page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chapter {
    pub t: u64,
    pub document: String,
    pub page: u32,
    pub title: String,
}

#[derive(Default)]
pub struct Timeline {
    pub events: Vec<Entry>,
    pub audio: Vec<AudioBatch>,
    pub chapters: Vec<Chapter>,
    /// Every document shared, in order of first share.
    pub documents: Vec<lectern_protocol::Document>,
    /// The last event's or audio's end, in presenter ms.
    pub end_ms: u64,
}

impl Timeline {
    /// Reads archived records (`seq`, event XML) in `seq` order.
    pub fn from_records(records: &[(u64, Vec<u8>)]) -> Result<Self, RecordingError> {
        let mut timeline = Timeline::default();
        let mut state = MeetingState::default();
        for (seq, record) in records {
            let el: minidom::Element = std::str::from_utf8(record)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(RecordingError::Corrupt(*seq))?;
            let Ok(event) = Event::from_element(&el) else {
                // Every receiver ignored it too; it only took its seq.
                let _ = state.skip(*seq);
                continue;
            };
            timeline.add(&mut state, event, &el);
        }
        Ok(timeline)
    }

    fn add(&mut self, state: &mut MeetingState, event: Event, el: &minidom::Element) {
        let seq = event.seq.unwrap_or_default();
        let t = event.t;
        if let Payload::Audio(audio) = &event.payload {
            self.end_ms = self.end_ms.max(t + u64::from(audio.duration_ms()));
            self.audio.push(AudioBatch {
                t,
                ms: audio.ms,
                frames: audio.frames.0.clone(),
            });
            let _ = state.skip(seq);
            return;
        }
        self.end_ms = self.end_ms.max(t);
        let before = shown(state);
        if state.apply(&event).is_err() {
            return;
        }
        if let Payload::Document(d) = &event.payload {
            if !self.documents.iter().any(|known| known.id == d.id) {
                self.documents.push(d.clone());
            }
        }
        self.events.push(Entry {
            seq,
            t,
            kind: event.payload.name(),
            xml: String::from(el),
        });
        if let Some((document, page)) = shown(state).filter(|now| Some(now) != before.as_ref()) {
            let title = match state.document.as_ref().and_then(|d| d.title.clone()) {
                Some(doc_title) => format!("{doc_title} — page {page}"),
                None => format!("Page {page}"),
            };
            self.chapters.push(Chapter {
                t,
                document,
                page,
                title,
            });
        }
    }
}

/// What a recordings list shows of one recording.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub duration_ms: u64,
    /// Pages of every document shared.
    pub pages: u32,
    pub documents: usize,
    /// Page changes: the timeline's markers.
    pub chapters: usize,
    pub has_audio: bool,
}

impl Timeline {
    pub fn summary(&self) -> Summary {
        Summary {
            duration_ms: self.end_ms,
            pages: self.documents.iter().map(|d| d.pages).sum(),
            documents: self.documents.len(),
            chapters: self.chapters.len(),
            has_audio: !self.audio.is_empty(),
        }
    }
}

/// The document and page attendees see.
fn shown(state: &MeetingState) -> Option<(String, u32)> {
    state.document.as_ref().map(|d| (d.id.clone(), state.page))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";

    fn records(xml: &[&str]) -> Vec<(u64, Vec<u8>)> {
        xml.iter()
            .enumerate()
            .map(|(i, body)| {
                let seq = i as u64 + 1;
                let (t, body) = body.split_once(' ').unwrap();
                let xml =
                    format!("<event xmlns='urn:lectern:sync:1' seq='{seq}' t='{t}'>{body}</event>");
                (seq, xml.into_bytes())
            })
            .collect()
    }

    fn document() -> String {
        let pages: String = (1..=3)
            .map(|n| format!("<p n='{n}' hash='{}' w='640' h='480'/>", "0".repeat(64)))
            .collect();
        format!("<document id='{DOC}' pages='3' base='/api/documents/{DOC}/' title='Talk'>{pages}</document>")
    }

    #[test]
    fn chapters_follow_the_page_shown_and_audio_is_kept_apart() {
        let doc = document();
        let archive = records(&[
            "0 <presenter nick='Ann'/>",
            &format!("100 {doc}"),
            "150 <audio codec='opus' rate='48000' channels='1' ms='20'>+P/+ +P/+ +P/+</audio>",
            "2000 <page n='2'/>",
            "2500 <page n='2'/>",
            "3000 <page n='9'/>",
            "4000 <page n='3'/>",
            "4100 <audio codec='opus' rate='48000' channels='1' ms='20'>+P/+</audio>",
        ]);
        let tl = Timeline::from_records(&archive).unwrap();
        let pages: Vec<(u64, u32)> = tl.chapters.iter().map(|c| (c.t, c.page)).collect();
        assert_eq!(
            pages,
            vec![(100, 1), (2000, 2), (4000, 3)],
            "no chapter for a repeat or an invalid page"
        );
        assert_eq!(tl.chapters[1].title, "Talk — page 2");
        assert_eq!(tl.audio.len(), 2);
        assert_eq!(tl.audio[0].frames, vec![vec![0xF8, 0xFF, 0xFE]; 3]);
        assert_eq!(tl.end_ms, 4120);
        assert_eq!(tl.documents.len(), 1);
        let kinds: Vec<&str> = tl.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            ["presenter", "document", "page", "page", "page"],
            "the ignored turn is left out"
        );
    }

    #[test]
    fn a_corrupt_record_is_an_error_not_a_shorter_recording() {
        let mut archive = records(&["0 <presenter nick='Ann'/>"]);
        archive.push((2, b"<event".to_vec()));
        assert!(matches!(
            Timeline::from_records(&archive),
            Err(RecordingError::Corrupt(2))
        ));
    }
}
