//! The take-home file: one zip with `audio.ogg` (Ogg Opus), `timeline.json` (documented in
//! docs/RECORDINGS.md), `chapters.vtt` and the page images, built from the archive alone.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::description::{self, PageNames};
use super::timeline::Timeline;
use super::RecordingError;

pub use super::description::{About, FORMAT};

/// A page image to include: its file name inside `pages/<document>/`, its bytes, and its
/// thumbnail's bytes when the server has one.
pub struct PageFile {
    pub name: String,
    pub bytes: Vec<u8>,
    pub thumbnail: Option<Vec<u8>>,
    /// The page's text, for the replay's search.
    pub text: String,
}

/// The offline player for `index.html`: the linked player script (`offline.rs`), or why it
/// could not be built — then the zip carries a `README.txt` saying so instead.
pub type Player = Result<super::offline::Player, String>;

/// Builds the zip in memory. `page` fetches a document's page image (`None`: not kept).
pub fn build(
    about: &About<'_>,
    timeline: &Timeline,
    mut page: impl FnMut(&str, u32) -> Option<PageFile>,
    player: &Player,
) -> Result<Vec<u8>, RecordingError> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    // Opus and page images are compressed already; only the text is worth deflating.
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let text = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);

    let audio = description::audio(about.title, timeline)?;
    zip.start_file("audio.ogg", stored).map_err(zip_error)?;
    zip.write_all(&audio.ogg)?;

    let mut kept = std::collections::HashMap::new();
    for doc in &timeline.documents {
        for info in &doc.page_info {
            let Some(f) = page(&doc.id, info.number) else {
                continue;
            };
            zip.start_file(format!("pages/{}/{}", doc.id, f.name), stored)
                .map_err(zip_error)?;
            zip.write_all(&f.bytes)?;
            let thumbnail = match &f.thumbnail {
                Some(bytes) => {
                    let name = description::thumbnail_name(&f.name);
                    zip.start_file(format!("pages/{}/{name}", doc.id), stored)
                        .map_err(zip_error)?;
                    zip.write_all(bytes)?;
                    Some(name)
                }
                None => None,
            };
            let names = PageNames {
                image: f.name,
                thumbnail,
                text: f.text,
            };
            kept.insert((doc.id.clone(), info.number), names);
        }
    }

    let description = description::describe(about, timeline, &audio, |id, n| {
        kept.remove(&(id.to_string(), n))
    });
    zip.start_file("timeline.json", text).map_err(zip_error)?;
    serde_json::to_writer_pretty(&mut zip, &description).map_err(std::io::Error::other)?;

    zip.start_file("chapters.vtt", text).map_err(zip_error)?;
    zip.write_all(description::webvtt(timeline, &audio.written).as_bytes())?;

    match player {
        Ok(player) => {
            zip.start_file("index.html", text).map_err(zip_error)?;
            zip.write_all(super::offline::index_html(&description, player).as_bytes())?;
        }
        Err(why) => {
            zip.start_file("README.txt", text).map_err(zip_error)?;
            let note = format!(
                "This recording has no offline player (index.html): the server could not build it ({why}).\n\
                 audio.ogg plays in any player; timeline.json says what happened when.\n"
            );
            zip.write_all(note.as_bytes())?;
        }
    }

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
        let records = super::super::timeline::archived([
            (
                1000,
                format!("<document id='{doc}' pages='2' base='/x/'>{pages}</document>"),
            ),
            (
                2000,
                "<audio codec='opus' rate='48000' channels='1' ms='20'>+P/+ +P/+</audio>".into(),
            ),
            (3000, "<page n='2'/>".into()),
        ]);
        let timeline = Timeline::from_records(&records).unwrap();
        let about = About {
            meeting: "123456789",
            title: "Talk",
            created: 1,
        };
        let bytes = build(
            &about,
            &timeline,
            |_, n| {
                (n == 1).then(|| PageFile {
                    name: "1.webp".into(),
                    bytes: vec![7; 10],
                    thumbnail: Some(vec![8; 4]),
                    text: "Agenda".into(),
                })
            },
            &Ok(super::super::offline::Player {
                script: "window.played = 1;".into(),
                css: String::new(),
            }),
        )
        .unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut names: Vec<String> = zip.file_names().map(str::to_string).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "audio.ogg".to_string(),
                "chapters.vtt".into(),
                "index.html".into(),
                format!("pages/{doc}/1.thumb.webp"),
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
        assert_eq!(
            v["documents"][0]["pages"][0]["thumbnail"],
            format!("pages/{doc}/1.thumb.webp")
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
