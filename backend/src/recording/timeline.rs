//! A meeting's archive read back as a recording: the sequenced events, the voice batches, and
//! one chapter per page shown, all in recording time — presenter time with the presenter's
//! pauses cut out (`pauses.rs`). Only the archive is read, so a meeting that crashed is a
//! recording up to its last acknowledged event.

use serde::Serialize;

use lectern_protocol::{Event, MeetingState, Payload, Snapshot, NS};

use super::pauses::{self, Pause, Restart};
use super::RecordingError;

/// Voice frames as archived, contiguous in recording time (a batch cut by a pause is split).
pub struct AudioBatch {
    /// Recording ms of the first frame's first sample.
    pub t: u64,
    pub ms: u32,
    pub frames: Vec<Vec<u8>>,
    /// Who spoke, as the focus stamped it (`None`: a file the server played).
    pub speaker: Option<String>,
}

/// A non-audio event, kept as the XML attendees received (its schema is `protocol/README.md`).
#[derive(Debug, Serialize)]
pub struct Entry {
    pub seq: u64,
    /// Recording ms; the XML keeps the presenter's own `t`.
    pub t: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub xml: String,
}

/// A chat line on the recording's clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Said {
    pub t: u64,
    pub nick: String,
    pub body: String,
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
    /// The last event's or audio's end, in recording ms.
    pub end_ms: u64,
    /// The presenter's pauses, in order; their time is cut from everything above.
    pub pauses: Vec<Pause>,
    /// The room's chat, in the order it was said.
    pub chat: Vec<Said>,
    /// What is shown at 0: the meeting as it stood when an earlier recording of it was
    /// deleted (empty for a recording from the meeting's start).
    pub start: MeetingState,
    /// That state as the archive holds it, a `<snapshot/>`; `None` from the meeting's start.
    pub start_xml: Option<String>,
    /// The state after the last event: the PDF's ink, and where a recording deleted now
    /// starts again.
    pub end: MeetingState,
}

impl Timeline {
    /// Reads archived records (`seq`, event XML) in `seq` order. The first may be the
    /// `<snapshot/>` a recording deleted while its meeting went on starts again from
    /// (`Meetings::archive`): it is shown at 0, from the first event after it.
    pub fn from_records(records: &[(u64, Vec<u8>)]) -> Result<Self, RecordingError> {
        let mut parsed = Vec::with_capacity(records.len());
        for (seq, record) in records {
            let el: minidom::Element = std::str::from_utf8(record)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(RecordingError::Corrupt(*seq))?;
            parsed.push((*seq, el));
        }
        let (start, rest) = match parsed.split_first() {
            Some(((seq, el), rest)) if el.is("snapshot", NS) => (Some((*seq, el)), rest),
            _ => (None, &parsed[..]),
        };
        let mut timeline = Timeline::default();
        let mut restart = None;
        if let Some((seq, el)) = start {
            timeline.start = lectern_protocol::from_element::<Snapshot>(el)
                .and_then(|s| MeetingState::from_snapshot(&s))
                .map_err(|_| RecordingError::Corrupt(seq))?;
            timeline.start_xml = Some(String::from(el));
            restart = Some(Restart {
                paused: timeline.start.recording_paused,
                first_t: rest.first().and_then(|(_, e)| e.attr("t")?.parse().ok()),
            });
        }
        let events: Vec<_> = rest
            .iter()
            .map(|(seq, el)| (*seq, Event::from_element(el).ok(), el))
            .collect();
        // The cuts must be known before the first time is placed: an event before a pause
        // keeps its time, one after it moves back by everything paused before it.
        timeline.pauses =
            pauses::collect(restart, events.iter().filter_map(|(_, e, _)| e.as_ref()));
        let mut state = timeline.start.clone();
        if let Some(doc) = &state.document {
            timeline.documents.push(doc.clone());
        }
        timeline.mark_chapter(&state, None, 0);
        for (seq, event, el) in events {
            match event {
                Some(event) => timeline.add(&mut state, event, el),
                // Every receiver ignored it too; it only took its seq.
                None => drop(state.skip(seq)),
            }
        }
        timeline.end = state;
        Ok(timeline)
    }

    /// Recording ms for presenter ms `presenter_t` (an archived event's or chat line's `t`):
    /// the paused time before it is cut, and a time inside a pause is the pause's cut.
    pub fn recording_ms(&self, presenter_t: u64) -> u64 {
        pauses::recording_ms(&self.pauses, presenter_t)
    }

    /// Adds the room's chat lines, `(presenter ms, nick, body)` in the order they were said.
    /// A line said while the recording was paused is off the record: it is left out, as the
    /// voice is, rather than moved to the cut.
    pub fn add_chat(&mut self, lines: impl IntoIterator<Item = (u64, String, String)>) {
        for (t, nick, body) in lines {
            if pauses::overlaps(&self.pauses, t, t + 1) {
                continue;
            }
            let t = self.recording_ms(t);
            self.chat.push(Said { t, nick, body });
        }
    }

    /// Keeps the frames outside every pause, as runs of frames that follow each other.
    fn add_audio(&mut self, t: u64, ms: u32, frames: &[Vec<u8>], speaker: Option<&String>) {
        let step = u64::from(ms);
        let mut run: Option<AudioBatch> = None;
        for (i, frame) in frames.iter().enumerate() {
            let start = t + i as u64 * step;
            if pauses::overlaps(&self.pauses, start, start + step) {
                self.audio.extend(run.take());
                continue;
            }
            let batch = run.get_or_insert_with(|| AudioBatch {
                t: pauses::recording_ms(&self.pauses, start),
                ms,
                frames: Vec::new(),
                speaker: speaker.cloned(),
            });
            batch.frames.push(frame.clone());
            self.end_ms = self.end_ms.max(batch.t + batch.frames.len() as u64 * step);
        }
        self.audio.extend(run);
    }

    fn add(&mut self, state: &mut MeetingState, event: Event, el: &minidom::Element) {
        let seq = event.seq.unwrap_or_default();
        let t = self.recording_ms(event.t);
        if let Payload::Audio(audio) = &event.payload {
            self.add_audio(event.t, audio.ms, &audio.frames.0, audio.speaker.as_ref());
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
        self.mark_chapter(state, before, t);
    }

    /// A chapter at `t` if the page shown is no longer `before`.
    fn mark_chapter(&mut self, state: &MeetingState, before: Option<(String, u32)>, t: u64) {
        let Some((document, page)) = shown(state).filter(|now| Some(now) != before.as_ref()) else {
            return;
        };
        let title = match state.document.as_ref().and_then(|d| d.title.clone()) {
            Some(doc_title) => format!("{doc_title} — page {page}"),
            None => format!("Page {page}"),
        };
        // Pages turned during a pause all show at its cut: only the last one is a chapter.
        if self.chapters.last().is_some_and(|c| c.t == t) {
            self.chapters.pop();
        }
        let same = |c: &Chapter| c.document == document && c.page == page;
        if !self.chapters.last().is_some_and(same) {
            self.chapters.push(Chapter {
                t,
                document,
                page,
                title,
            });
        }
    }
}

/// Archive records as the focus writes them: payloads at presenter times, given `seq` 1, 2, …
/// in order. For building recordings without a meeting (tests, the export benchmark).
pub fn archived<B: AsRef<str>>(bodies: impl IntoIterator<Item = (u64, B)>) -> Vec<(u64, Vec<u8>)> {
    bodies
        .into_iter()
        .zip(1u64..)
        .map(|((t, body), seq)| {
            let body = body.as_ref();
            let xml =
                format!("<event xmlns='urn:lectern:sync:1' seq='{seq}' t='{t}'>{body}</event>");
            (seq, xml.into_bytes())
        })
        .collect()
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

    /// Records from `"T PAYLOAD"` lines.
    fn records(xml: &[&str]) -> Vec<(u64, Vec<u8>)> {
        archived(xml.iter().map(|line| {
            let (t, body) = line.split_once(' ').unwrap();
            (t.parse::<u64>().unwrap(), body)
        }))
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

    const FRAME: &str = "+P/+";

    /// Voice from `from` to `to` (presenter ms) as batches of ten 20 ms frames, and the
    /// other events given, in time order.
    fn meeting(voice: (u64, u64), others: &[(u64, String)]) -> Vec<(u64, Vec<u8>)> {
        let batch = format!(
            "<audio codec='opus' rate='48000' channels='1' ms='20'>{}</audio>",
            [FRAME; 10].join(" ")
        );
        let mut timed: Vec<(u64, String)> = (voice.0..voice.1)
            .step_by(200)
            .map(|t| (t, batch.clone()))
            .chain(others.iter().cloned())
            .collect();
        timed.sort_by_key(|(t, _)| *t);
        let bodies: Vec<String> = timed.iter().map(|(t, b)| format!("{t} {b}")).collect();
        records(&bodies.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn at(t: u64, xml: &str) -> (u64, String) {
        (t, xml.to_string())
    }

    fn ogg_ms(tl: &Timeline) -> u64 {
        use crate::recording::ogg_opus::{write, Batch};
        let batches: Vec<Batch<'_>> = tl
            .audio
            .iter()
            .map(|a| Batch {
                t: a.t,
                ms: a.ms,
                frames: &a.frames,
            })
            .collect();
        write(Vec::new(), "t", &batches).unwrap().duration_ms()
    }

    fn times(tl: &Timeline, kind: &str) -> Vec<u64> {
        tl.events
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.t)
            .collect()
    }

    #[test]
    fn a_pause_is_cut_from_events_chapters_and_voice() {
        let doc = document();
        let others = [
            at(0, "<presenter nick='Ann'/>"),
            at(100, &doc),
            at(1000, "<recording paused='true'/>"),
            at(1500, "<page n='2'/>"),
            at(2000, "<recording paused='false'/>"),
            at(3000, "<page n='3'/>"),
        ];
        let plain: Vec<(u64, String)> = others
            .iter()
            .filter(|(_, xml)| !xml.starts_with("<recording"))
            .cloned()
            .collect();
        let unpaused = Timeline::from_records(&meeting((0, 4000), &plain)).unwrap();
        let tl = Timeline::from_records(&meeting((0, 4000), &others)).unwrap();

        assert_eq!(
            tl.pauses,
            [Pause {
                at: 1000,
                from: 1000,
                to: Some(2000)
            }]
        );
        assert_eq!(
            times(&tl, "page"),
            [1000, 2000],
            "after the pause: 1 s earlier"
        );
        assert_eq!(times(&tl, "recording"), [1000, 1000]);
        let chapters: Vec<(u64, u32)> = tl.chapters.iter().map(|c| (c.t, c.page)).collect();
        assert_eq!(
            chapters,
            [(100, 1), (1000, 2), (2000, 3)],
            "the turn in the pause shows at the cut"
        );
        assert!(
            tl.events.iter().any(|e| e.xml.contains("t='1500'")),
            "the archived XML keeps the presenter's time"
        );

        let frames = |tl: &Timeline| tl.audio.iter().map(|a| a.frames.len()).sum::<usize>();
        assert_eq!(
            frames(&unpaused) - frames(&tl),
            50,
            "1 s of 20 ms frames is cut"
        );
        assert!(tl
            .audio
            .iter()
            .all(|a| a.t + 20 * a.frames.len() as u64 <= 1000 || a.t >= 1000));
        assert_eq!((unpaused.end_ms, tl.end_ms), (4000, 3000));
        assert_eq!(
            ogg_ms(&unpaused) - ogg_ms(&tl),
            1000,
            "audio.ogg is 1 s shorter"
        );
        assert_eq!(tl.recording_ms(2500), 1500);
    }

    #[test]
    fn a_pause_never_resumed_runs_to_the_end() {
        let others = [
            at(0, "<presenter nick='Ann'/>"),
            at(100, &document()),
            at(1010, "<recording paused='true'/>"),
            at(3000, "<page n='2'/>"),
        ];
        let tl = Timeline::from_records(&meeting((0, 4000), &others)).unwrap();
        assert_eq!(tl.pauses[0].to, None);
        assert_eq!(times(&tl, "page"), [1010]);
        assert_eq!(tl.end_ms, 1010);
        // The frame from 1000 to 1020 straddles the pause's start, so it is left out too.
        assert_eq!(tl.audio.iter().map(|a| a.frames.len()).sum::<usize>(), 50);
        assert_eq!(ogg_ms(&tl), 1000 - 7, "less the encoder's pre-skip");
    }

    #[test]
    fn pauses_repeat_and_a_resume_without_a_pause_is_ignored() {
        let others = [
            at(0, "<presenter nick='Ann'/>"),
            at(100, &document()),
            at(200, "<recording paused='false'/>"),
            at(1000, "<recording paused='true'/>"),
            at(1200, "<recording paused='true'/>"),
            at(1500, "<recording paused='false'/>"),
            at(1600, "<recording paused='false'/>"),
            at(2000, "<recording paused='true'/>"),
            at(2600, "<recording paused='false'/>"),
            at(3000, "<page n='3'/>"),
        ];
        let tl = Timeline::from_records(&meeting((0, 4000), &others)).unwrap();
        let spans: Vec<(u64, u64, Option<u64>)> =
            tl.pauses.iter().map(|p| (p.at, p.from, p.to)).collect();
        assert_eq!(spans, [(1000, 1000, Some(1500)), (1500, 2000, Some(2600))]);
        assert_eq!(times(&tl, "page"), [1900]);
        assert_eq!(
            times(&tl, "recording"),
            [200, 1000, 1000, 1000, 1100, 1500, 1500]
        );
        assert_eq!((tl.end_ms, ogg_ms(&tl)), (2900, 2900 - 7));
    }

    /// A meeting recorded on after its recording was deleted at `seq` 4 (page 2, a shape on
    /// it): the start record as `Meetings::archive` gives it, then what came after.
    fn restarted(paused: bool, after: &[&str]) -> Vec<(u64, Vec<u8>)> {
        let doc = document();
        let shape = "<shape id='s1' page='2' kind='line' color='#1e88e5' width='0.003' x1='0.1' y1='0.1' x2='0.4' y2='0.3'/>";
        let pause = if paused {
            "<recording paused='true'/>"
        } else {
            "<pointer hide='true'/>"
        };
        let mut lines = vec![
            "0 <presenter nick='Ann'/>".to_string(),
            format!("100 {doc}"),
            "2000 <page n='2'/>".to_string(),
            format!("2100 {shape}"),
            format!("2200 {pause}"),
        ];
        lines.extend(after.iter().map(|l| l.to_string()));
        let all = records(&lines.iter().map(String::as_str).collect::<Vec<_>>());
        let state = Timeline::from_records(&all[..5]).unwrap().end;
        assert_eq!(
            (state.seq, state.page, state.recording_paused),
            (5, 2, paused)
        );
        let start = String::from(&lectern_protocol::to_element(
            &state.to_snapshot("123456789"),
        ));
        let mut out = vec![(5, start.into_bytes())];
        out.extend_from_slice(&all[5..]);
        out
    }

    #[test]
    fn a_recording_deleted_mid_meeting_opens_on_the_page_it_left_from_the_next_event() {
        let voice = "<audio codec='opus' rate='48000' channels='1' ms='20'>+P/+ +P/+ +P/+</audio>";
        let tl = Timeline::from_records(&restarted(
            false,
            &[&format!("60000 {voice}"), "61000 <page n='3'/>"],
        ))
        .unwrap();
        assert_eq!((tl.start.page, tl.start.seq), (2, 5));
        assert!(tl.start_xml.as_deref().unwrap().contains("<snapshot"));
        assert_eq!(
            tl.start.page_ink(DOC, 2).unwrap().items.len(),
            1,
            "the ink is kept"
        );
        let pages: Vec<(u64, u32)> = tl.chapters.iter().map(|c| (c.t, c.page)).collect();
        assert_eq!(pages, [(0, 2), (1000, 3)]);
        assert_eq!(tl.documents.len(), 1, "the page images go into the zip");
        assert_eq!(tl.audio[0].t, 0, "the voice starts the recording");
        assert_eq!(tl.end_ms, 1000);
        assert_eq!(
            tl.pauses,
            [Pause {
                at: 0,
                from: 0,
                to: Some(60_000)
            }]
        );
        // the video's first frame, too
        let scenes = super::super::frames::scenes(&tl, 40);
        let first = &scenes[0].1;
        assert_eq!(first.page.as_ref().map(|p| p.1), Some(2));
        assert_eq!(first.items.len(), 1);
    }

    #[test]
    fn a_recording_deleted_while_paused_starts_at_the_resume() {
        let tl = Timeline::from_records(&restarted(
            true,
            &[
                "60000 <page n='3'/>",
                "70000 <recording paused='false'/>",
                "71000 <page n='1'/>",
            ],
        ))
        .unwrap();
        let pages: Vec<(u64, u32)> = tl.chapters.iter().map(|c| (c.t, c.page)).collect();
        assert_eq!(
            pages,
            [(0, 3), (1000, 1)],
            "the turn while paused shows at 0"
        );
        assert_eq!(tl.end_ms, 1000);
    }
}
