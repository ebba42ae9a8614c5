//! Shared audio files over HTTP (docs/MEETINGS-API.md, "Audio files"): the presenter posts a
//! file, the server decodes and encodes it on the blocking pool, answers once it knows the
//! file plays, and streams it into the meeting in the background.
//!
//! This is the one place where [`MediaError`] becomes an HTTP status.

use std::sync::Arc;
use std::time::Instant;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;

use crate::conference::meetings::Meeting;
use crate::conference::{Conference, ConferenceError};
use crate::media::{self, MediaError, Player, MAX_FILE_BYTES};

/// The files playing in every meeting; one per server, shared by the HTTP workers.
pub type FilePlayer = Player<Conference>;

/// The player, streaming on the server's runtime (call from inside it).
pub fn player(conference: &Arc<Conference>) -> web::Data<FilePlayer> {
    web::Data::new(Player::new(
        conference.clone(),
        tokio::runtime::Handle::current(),
    ))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/meetings/{number}/audio", web::post().to(play))
        .route("/api/meetings/{number}/audio", web::delete().to(stop));
}

impl ResponseError for MediaError {
    fn status_code(&self) -> StatusCode {
        match self {
            MediaError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            MediaError::Corrupt(_) | MediaError::Empty => StatusCode::BAD_REQUEST,
            MediaError::TooLarge | MediaError::TooLong => StatusCode::PAYLOAD_TOO_LARGE,
            MediaError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            MediaError::Unsupported(_) => "unsupported_audio",
            MediaError::Corrupt(_) => "damaged_audio",
            MediaError::Empty => "empty_audio",
            MediaError::TooLarge => "too_large",
            MediaError::TooLong => "too_long",
            MediaError::Internal(_) => "internal",
        };
        if let MediaError::Internal(e) = self {
            tracing::error!("audio files: {e}");
        }
        HttpResponse::build(self.status_code())
            .json(json!({"error": code, "message": self.to_string()}))
    }
}

#[derive(Deserialize)]
struct PlayQuery {
    key: Option<String>,
    /// The presenter's clock (ms) when the request was sent.
    t: Option<u64>,
}

/// The meeting, if `key` is its host key: only the presenter plays files into it.
fn presenter_meeting(
    conf: &Conference,
    number: &str,
    key: Option<&str>,
) -> Result<Meeting, ConferenceError> {
    let meeting = conf.meeting(number)?;
    match key {
        Some(k) if meeting.host_key_matches(k) => Ok(meeting),
        _ => Err(ConferenceError::BadHostKey),
    }
}

/// `POST /api/meetings/{number}/audio?key=HOST_KEY&t=MS` with the file as the body.
/// Everything that can be refused without reading the body (key, audio off, size from
/// `Content-Length`, `t`) is refused first. The file starts when it is ready, at `t` plus the
/// time spent receiving and preparing it: stamped at `t`, a long file's batches would all
/// reach the room that much late.
async fn play(
    req: HttpRequest,
    mut body: web::Payload,
    conf: web::Data<Arc<Conference>>,
    player: web::Data<FilePlayer>,
    number: web::Path<String>,
    query: web::Query<PlayQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    let received = Instant::now();
    let meeting = presenter_meeting(&conf, &number, query.key.as_deref())?;
    if !meeting.audio {
        return Err(ConferenceError::AudioOff.into());
    }
    let t = query.t.ok_or_else(|| {
        ConferenceError::BadRequest(
            "t: the presenter-clock time (ms) at which the file starts is required".into(),
        )
    })?;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_FILE_BYTES as u64) {
        return Err(MediaError::TooLarge.into());
    }
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0) as usize);
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        if bytes.len() + chunk.len() > MAX_FILE_BYTES {
            return Err(MediaError::TooLarge.into());
        }
        bytes.extend_from_slice(&chunk);
    }
    let file = web::block(move || media::prepare(bytes))
        .await
        .map_err(|e| MediaError::Internal(e.to_string()))??;
    let t = t + received.elapsed().as_millis() as u64;
    tracing::info!(
        meeting = %meeting.number,
        "playing an audio file: {}, {} ms",
        file.description,
        file.duration_ms
    );
    let answer = json!({
        "duration_ms": file.duration_ms,
        "batches": file.batches(),
        "frames": file.frames.len(),
        "t": t,
    });
    player.into_inner().play(meeting.number, t, file);
    Ok(HttpResponse::Accepted().json(answer))
}

#[derive(Deserialize)]
struct StopQuery {
    key: Option<String>,
}

/// `DELETE /api/meetings/{number}/audio?key=HOST_KEY`: stops the file playing, if any.
async fn stop(
    conf: web::Data<Arc<Conference>>,
    player: web::Data<FilePlayer>,
    number: web::Path<String>,
    query: web::Query<StopQuery>,
) -> Result<HttpResponse, ConferenceError> {
    let meeting = presenter_meeting(&conf, &number, query.key.as_deref())?;
    let stopped = player.stop(&meeting.number);
    Ok(HttpResponse::Ok().json(json!({ "stopped": stopped })))
}
