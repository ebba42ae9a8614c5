//! What the replay page (`/recordings/{number}/replay`) reads: the recording description
//! (`timeline.json`, the same one the zip holds) and the voice (`audio.ogg`, with Range
//! requests, without which Chromium cannot seek an `<audio>`). Page images and thumbnails come
//! from the documents API. Access as for every recording endpoint (docs/RECORDINGS.md).

use std::sync::{Arc, Mutex};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

use super::recordings::{about, authorize, internal, page_names, Access};
use crate::conference::meetings::Meeting;
use crate::conference::{Conference, ConferenceError};
use crate::documents::Documents;
use crate::recording::description::{self, AudioFile};
use crate::recording::timeline::Timeline;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/meetings/{number}/recording/timeline.json",
        web::get().to(timeline_json),
    )
    .route(
        "/api/meetings/{number}/recording/audio.ogg",
        web::get().to(audio_ogg),
    );
}

/// `GET /api/meetings/{number}/recording/timeline.json?key=…|token=…`.
async fn timeline_json(
    conf: web::Data<Arc<Conference>>,
    docs: web::Data<Arc<Documents>>,
    number: web::Path<String>,
    access: web::Query<Access>,
) -> Result<HttpResponse, ConferenceError> {
    let meeting = authorize(&conf, &number, &access)?;
    let (conf, docs) = (conf.get_ref().clone(), docs.get_ref().clone());
    let json = web::block(move || -> Result<serde_json::Value, ConferenceError> {
        let timeline = conf.recording_timeline(&meeting.number)?;
        let audio = cached_audio(&conf, &meeting, || {
            description::audio(&meeting.title, &timeline).map_err(internal)
        })?;
        Ok(description::describe(
            &about(&meeting),
            &timeline,
            &audio,
            |id, n| page_names(&docs, id, n),
        ))
    })
    .await
    .map_err(internal)??;
    // a meeting still running grows: never cache
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json))
}

/// Recently built audio (`audio.ogg` and its waveform): a player seeking asks for many ranges
/// of the same file, and `timeline.json` describes the same audio; building it means reading
/// every archived event, mixing and writing every voice batch, the waveform decoding it all.
/// An entry is good while the archive holds the same events: events are only appended, and a
/// deleted recording moves `deleted_through`, so the two numbers name the archive without
/// reading it.
static AUDIO: Mutex<Vec<AudioEntry>> = Mutex::new(Vec::new());
const AUDIO_KEPT: usize = 4;

struct AudioEntry {
    meeting: String,
    deleted_through: u64,
    last_seq: Option<u64>,
    audio: Arc<AudioFile>,
}

/// The meeting's audio, from the cache or made by `build` (which reads the archive after the
/// numbers naming it were taken: it may hold more, never less).
fn cached_audio(
    conf: &Conference,
    meeting: &Meeting,
    build: impl FnOnce() -> Result<AudioFile, ConferenceError>,
) -> Result<Arc<AudioFile>, ConferenceError> {
    let deleted_through = meeting.recording.deleted_through;
    let last_seq = conf.meetings.last_seq(&meeting.number)?;
    let same = |e: &AudioEntry| {
        e.meeting == meeting.number.as_str()
            && e.deleted_through == deleted_through
            && e.last_seq == last_seq
    };
    if let Some(hit) = AUDIO.lock().expect("audio cache").iter().find(|e| same(e)) {
        return Ok(hit.audio.clone());
    }
    let audio = Arc::new(build()?);
    let mut cache = AUDIO.lock().expect("audio cache");
    cache.retain(|e| e.meeting != meeting.number.as_str());
    if cache.len() >= AUDIO_KEPT {
        cache.remove(0);
    }
    cache.push(AudioEntry {
        meeting: meeting.number.to_string(),
        deleted_through,
        last_seq,
        audio: audio.clone(),
    });
    Ok(audio)
}

/// `GET /api/meetings/{number}/recording/audio.ogg?key=…|token=…`: the zip's `audio.ogg`,
/// whole (`200`) or one byte range (`206`; `416` when it lies outside the file).
async fn audio_ogg(
    req: HttpRequest,
    conf: web::Data<Arc<Conference>>,
    number: web::Path<String>,
    access: web::Query<Access>,
) -> Result<HttpResponse, ConferenceError> {
    let meeting = authorize(&conf, &number, &access)?;
    let conf = conf.get_ref().clone();
    let audio = web::block(move || {
        cached_audio(&conf, &meeting, || {
            let records = conf.meetings.archive(&meeting.number)?;
            let timeline = Timeline::from_records(&records).map_err(internal)?;
            description::audio(&meeting.title, &timeline).map_err(internal)
        })
    })
    .await
    .map_err(internal)??;
    let ogg = &audio.ogg;
    let len = ogg.len() as u64;
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| byte_range(v, len));
    let ok = |mut resp: actix_web::HttpResponseBuilder| {
        resp.content_type("audio/ogg")
            .insert_header((header::ACCEPT_RANGES, "bytes"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .take()
    };
    Ok(match range {
        None | Some(Range::Ignore) => ok(HttpResponse::Ok()).body(ogg.to_vec()),
        Some(Range::Bytes(start, end)) => {
            let body = ogg[start as usize..=end as usize].to_vec();
            ok(HttpResponse::PartialContent())
                .insert_header((
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes {start}-{end}/{len}"))
                        .map_err(internal)?,
                ))
                .body(body)
        }
        Some(Range::Unsatisfiable) => HttpResponse::RangeNotSatisfiable()
            .insert_header((header::CONTENT_RANGE, format!("bytes */{len}")))
            .finish(),
    })
}

#[derive(Debug, PartialEq)]
enum Range {
    /// First and last byte, inclusive.
    Bytes(u64, u64),
    Unsatisfiable,
    /// Not a single byte range we serve (several ranges, another unit): the whole file.
    Ignore,
}

/// One `Range: bytes=…` header for a body of `len` bytes (RFC 9110 §14.1.2).
fn byte_range(header: &str, len: u64) -> Range {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Range::Ignore;
    };
    if spec.contains(',') {
        return Range::Ignore;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Range::Ignore;
    };
    let (first, last) = (first.trim(), last.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    match (first.is_empty(), last.is_empty()) {
        // the last N bytes
        (true, false) => match parse(last) {
            Some(0) | None if len == 0 => Range::Unsatisfiable,
            Some(0) => Range::Unsatisfiable,
            Some(n) => Range::Bytes(len.saturating_sub(n), len - 1),
            None => Range::Ignore,
        },
        (false, _) => {
            let Some(start) = parse(first) else {
                return Range::Ignore;
            };
            let end = if last.is_empty() {
                Some(u64::MAX)
            } else {
                parse(last)
            };
            match end {
                None => Range::Ignore,
                Some(end) if end < start => Range::Ignore,
                Some(_) if start >= len => Range::Unsatisfiable,
                Some(end) => Range::Bytes(start, end.min(len - 1)),
            }
        }
        (true, true) => Range::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges() {
        assert_eq!(byte_range("bytes=0-", 10), Range::Bytes(0, 9));
        assert_eq!(byte_range("bytes=2-4", 10), Range::Bytes(2, 4));
        assert_eq!(byte_range("bytes=5-99", 10), Range::Bytes(5, 9));
        assert_eq!(byte_range("bytes=-3", 10), Range::Bytes(7, 9));
        assert_eq!(byte_range("bytes=-30", 10), Range::Bytes(0, 9));
        assert_eq!(byte_range("bytes=10-", 10), Range::Unsatisfiable);
        assert_eq!(byte_range("bytes=-0", 10), Range::Unsatisfiable);
        assert_eq!(byte_range("bytes=0-", 0), Range::Unsatisfiable);
        assert_eq!(byte_range("bytes=4-2", 10), Range::Ignore);
        assert_eq!(byte_range("bytes=0-1,4-5", 10), Range::Ignore);
        assert_eq!(byte_range("items=0-1", 10), Range::Ignore);
    }
}
