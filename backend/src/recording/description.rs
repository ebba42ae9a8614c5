//! The recording description (`timeline.json`, docs/RECORDINGS.md): one function builds it for
//! both the zip and the replay page's `timeline.json` endpoint, so the offline player and the
//! online one read exactly the same thing.

use std::sync::OnceLock;

use serde_json::{json, Value};

use super::mix::{self, MixStats, Voice};
use super::ogg_opus::{self, Written};
use super::timeline::Timeline;
use super::waveform::{self, Waveform};
use super::{chapters, RecordingError};

/// The format name and version written into `timeline.json`.
pub const FORMAT: &str = "lectern-recording/1";

/// What the archive is about, beyond the events.
pub struct About<'a> {
    pub meeting: &'a str,
    pub title: &'a str,
    /// Unix seconds.
    pub created: u64,
}

/// Where a page's files are inside the recording folder (`pages/DOC/…`), when kept.
pub struct PageNames {
    /// The image's file name, e.g. `1.webp`.
    pub image: String,
    /// The thumbnail's file name inside the folder, e.g. `1.thumb.webp`.
    pub thumbnail: Option<String>,
    /// The page's text (from the document; empty for images), for the replay's search.
    pub text: String,
}

/// A thumbnail's name inside `pages/DOC/`: the page image's stem with `.thumb` before the
/// extension, so it sorts next to its page and never collides with one.
pub fn thumbnail_name(server_name: &str) -> String {
    match server_name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.thumb.{ext}"),
        None => format!("{server_name}.thumb"),
    }
}

/// The description of a recording whose audio was written as `audio`. `names` says which
/// files a page has (`None`: the document is gone from the server).
pub fn describe(
    about: &About<'_>,
    timeline: &Timeline,
    audio: &AudioFile,
    mut names: impl FnMut(&str, u32) -> Option<PageNames>,
) -> Value {
    let wave = audio.waveform(about.meeting);
    let (mixed, audio) = (audio.mixed, &audio.written);
    let mut documents = Vec::new();
    for doc in &timeline.documents {
        let pages: Vec<Value> = doc
            .page_info
            .iter()
            .map(|info| {
                let found = names(&doc.id, info.number);
                let path = |name: &str| format!("pages/{}/{}", doc.id, name);
                json!({
                    "n": info.number,
                    "file": found.as_ref().map(|f| path(&f.image)),
                    "thumbnail": found.as_ref().and_then(|f| f.thumbnail.as_deref().map(path)),
                    "text": found.as_ref().map_or("", |f| f.text.as_str()),
                    "sha256": info.hash,
                    "width": info.w,
                    "height": info.h,
                })
            })
            .collect();
        documents.push(json!({"id": doc.id, "title": doc.title, "pages": pages}));
    }
    json!({
        "format": FORMAT,
        "meeting": about.meeting,
        "title": about.title,
        "created": about.created,
        "duration_ms": duration_ms(timeline, audio),
        "audio": {
            "file": "audio.ogg",
            "codec": "opus",
            "duration_ms": audio.duration_ms(),
            "packets": audio.packets,
            "silence_packets": audio.silence,
            "pre_skip": ogg_opus::PRE_SKIP,
            "mixed_stretches": mixed.stretches,
        },
        "documents": documents,
        "chapters": timeline.chapters,
        "start": timeline.start_xml,
        "events": timeline.events,
        "pauses": timeline.pauses,
        "chat": timeline.chat,
        "waveform": wave,
    })
}

/// The recording's length: its last event or the end of its audio, whichever is later.
pub fn duration_ms(timeline: &Timeline, audio: &Written) -> u64 {
    timeline.end_ms.max(audio.duration_ms())
}

/// `audio.ogg` in memory and what went into it.
pub struct AudioFile {
    pub ogg: Vec<u8>,
    pub written: Written,
    pub mixed: MixStats,
    has_voice: bool,
    /// Decoded on first use: the zip and `timeline.json` need it, the MP4 does not.
    waveform: OnceLock<Option<Waveform>>,
}

impl AudioFile {
    /// The waveform the replay's timeline draws, when the recording has voice. It is a
    /// drawing aid: if the audio does not decode, the recording still replays without one.
    pub fn waveform(&self, meeting: &str) -> Option<&Waveform> {
        self.waveform
            .get_or_init(|| {
                if !self.has_voice {
                    return None;
                }
                waveform::of_ogg(&self.ogg, waveform::STEP_MS)
                    .inspect_err(|e| tracing::warn!(meeting, "no waveform: {e}"))
                    .ok()
            })
            .as_ref()
    }
}

/// Writes `audio.ogg`: one Opus stream, speakers who talked at once mixed (`mix.rs`).
pub fn audio(title: &str, timeline: &Timeline) -> Result<AudioFile, RecordingError> {
    let voices: Vec<Voice<'_>> = timeline
        .audio
        .iter()
        .map(|a| Voice {
            t: a.t,
            ms: a.ms,
            frames: &a.frames,
            speaker: a.speaker.as_deref(),
        })
        .collect();
    let (stream, mixed) = mix::mix(&voices)?;
    let batches: Vec<ogg_opus::Batch<'_>> = stream
        .iter()
        .map(|m| ogg_opus::Batch {
            t: m.t,
            ms: m.ms,
            frames: &m.frames,
        })
        .collect();
    let mut ogg = Vec::new();
    let written = ogg_opus::write(&mut ogg, title, &batches)?;
    Ok(AudioFile {
        ogg,
        written,
        mixed,
        has_voice: !timeline.audio.is_empty(),
        waveform: OnceLock::new(),
    })
}

/// `chapters.vtt`.
pub fn webvtt(timeline: &Timeline, audio: &Written) -> String {
    chapters::webvtt(&timeline.chapters, duration_ms(timeline, audio))
}
