//! The take-home file: one zip with `audio.ogg` (Ogg Opus), `timeline.json` (documented in
//! docs/RECORDINGS.md), `chapters.vtt` and the page images, built from the archive alone.

use std::io::{Cursor, Write};

use serde_json::json;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::ogg_opus::{self, Batch};
use super::timeline::Timeline;
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

/// A page image to include: its file name inside `pages/<document>/` and its bytes.
pub struct PageFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Builds the zip in memory. `page` fetches a document's page image (`None`: not kept).
pub fn build(
    about: &About<'_>,
    timeline: &Timeline,
    mut page: impl FnMut(&str, u32) -> Option<PageFile>,
) -> Result<Vec<u8>, RecordingError> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    // Opus and page images are compressed already; only the text is worth deflating.
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let text = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);

    let batches: Vec<Batch<'_>> = timeline
        .audio
        .iter()
        .map(|a| Batch {
            t: a.t,
            ms: a.ms,
            frames: &a.frames,
        })
        .collect();
    let mut ogg = Vec::new();
    let audio = ogg_opus::write(&mut ogg, about.title, &batches)?;
    zip.start_file("audio.ogg", stored).map_err(zip_error)?;
    zip.write_all(&ogg)?;

    let mut documents = Vec::new();
    for doc in &timeline.documents {
        let mut pages = Vec::new();
        for info in &doc.page_info {
            let file = page(&doc.id, info.number).map(|f| {
                let path = format!("pages/{}/{}", doc.id, f.name);
                (path, f.bytes)
            });
            if let Some((path, bytes)) = &file {
                zip.start_file(path.as_str(), stored).map_err(zip_error)?;
                zip.write_all(bytes)?;
            }
            pages.push(json!({
                "n": info.number,
                "file": file.map(|(path, _)| path),
                "sha256": info.hash,
                "width": info.w,
                "height": info.h,
            }));
        }
        documents.push(json!({"id": doc.id, "title": doc.title, "pages": pages}));
    }

    let duration_ms = timeline.end_ms.max(audio.duration_ms());
    let description = json!({
        "format": FORMAT,
        "meeting": about.meeting,
        "title": about.title,
        "created": about.created,
        "duration_ms": duration_ms,
        "audio": {
            "file": "audio.ogg",
            "codec": "opus",
            "duration_ms": audio.duration_ms(),
            "packets": audio.packets,
            "silence_packets": audio.silence,
            "pre_skip": ogg_opus::PRE_SKIP,
        },
        "documents": documents,
        "chapters": timeline.chapters,
        "pauses": timeline.pauses,
        "events": timeline.events,
    });
    zip.start_file("timeline.json", text).map_err(zip_error)?;
    serde_json::to_writer_pretty(&mut zip, &description).map_err(std::io::Error::other)?;

    zip.start_file("chapters.vtt", text).map_err(zip_error)?;
    zip.write_all(chapters::webvtt(&timeline.chapters, duration_ms).as_bytes())?;

    let cursor = zip.finish().map_err(zip_error)?;
    Ok(cursor.into_inner())
}

fn zip_error(e: zip::result::ZipError) -> RecordingError {
    RecordingError::Io(std::io::Error::other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_zip_holds_audio_timeline_chapters_and_pages() {
        let doc = "b".repeat(64);
        let pages: String = (1..=2)
            .map(|n| format!("<p n='{n}' hash='{}' w='640' h='480'/>", "0".repeat(64)))
            .collect();
        let records: Vec<(u64, Vec<u8>)> = [
            format!("<document id='{doc}' pages='2' base='/x/'>{pages}</document>"),
            "<audio codec='opus' rate='48000' channels='1' ms='20'>+P/+ +P/+</audio>".into(),
            "<page n='2'/>".into(),
        ]
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let seq = i as u64 + 1;
            let t = seq * 1000;
            let xml =
                format!("<event xmlns='urn:lectern:sync:1' seq='{seq}' t='{t}'>{body}</event>");
            (seq, xml.into_bytes())
        })
        .collect();
        let timeline = Timeline::from_records(&records).unwrap();
        let about = About {
            meeting: "123456789",
            title: "Talk",
            created: 1,
        };
        let bytes = build(&about, &timeline, |_, n| {
            (n == 1).then(|| PageFile {
                name: "1.webp".into(),
                bytes: vec![7; 10],
            })
        })
        .unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut names: Vec<String> = zip.file_names().map(str::to_string).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "audio.ogg".to_string(),
                "chapters.vtt".into(),
                format!("pages/{doc}/1.webp"),
                "timeline.json".into()
            ]
        );
        let mut json = String::new();
        zip.by_name("timeline.json")
            .unwrap()
            .read_to_string(&mut json)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["format"], FORMAT);
        assert_eq!(v["duration_ms"], 3000);
        assert_eq!(v["audio"]["packets"], 2);
        assert_eq!(
            v["documents"][0]["pages"][1]["file"],
            serde_json::Value::Null
        );
        assert_eq!(v["chapters"][1]["page"], 2);
        assert_eq!(v["events"].as_array().unwrap().len(), 2);
        let mut vtt = String::new();
        zip.by_name("chapters.vtt")
            .unwrap()
            .read_to_string(&mut vtt)
            .unwrap();
        assert!(
            vtt.contains("00:00:03.000 --> 00:00:03.001\nPage 2"),
            "{vtt}"
        );
    }
}
