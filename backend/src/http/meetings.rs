//! The meetings API (docs/MEETINGS-API.md): create, look up, join. Everything live then
//! runs over XMPP between the browser and the focus.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::conference::{Conference, ConferenceError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/meetings", web::post().to(create))
        .route("/api/meetings/{number}", web::get().to(info))
        .route("/api/meetings/{number}/join", web::post().to(join));
}

impl ResponseError for ConferenceError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConferenceError::UnknownMeeting => StatusCode::NOT_FOUND,
            ConferenceError::BadHostKey => StatusCode::FORBIDDEN,
            ConferenceError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConferenceError::AudioOff => StatusCode::CONFLICT,
            ConferenceError::NotRecorded => StatusCode::NOT_FOUND,
            ConferenceError::NoAccess => StatusCode::FORBIDDEN,
            ConferenceError::FocusUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            ConferenceError::UnknownMeeting => "unknown_meeting",
            ConferenceError::BadHostKey => "bad_host_key",
            ConferenceError::BadRequest(_) => "bad_request",
            ConferenceError::AudioOff => "audio_off",
            ConferenceError::NotRecorded => "not_recorded",
            ConferenceError::NoAccess => "no_access",
            ConferenceError::FocusUnavailable(_) => "focus_unavailable",
            _ => "internal",
        };
        if self.status_code().is_server_error() {
            tracing::error!("meetings API: {self}");
        }
        HttpResponse::build(self.status_code())
            .json(json!({"error": code, "message": self.to_string()}))
    }
}

#[derive(Deserialize, Default)]
struct CreateBody {
    #[serde(default)]
    title: String,
    /// Audio is on unless the creator turns it off.
    audio: Option<bool>,
    /// Recorded unless the creator turns it off.
    recording: Option<bool>,
}

#[derive(Serialize)]
struct Created {
    number: String,
    title: String,
    audio: bool,
    host_key: String,
    url: String,
    presenter_url: String,
}

async fn create(
    conf: web::Data<Arc<Conference>>,
    body: Option<web::Json<CreateBody>>,
) -> Result<HttpResponse, ConferenceError> {
    let body = body.map(|b| b.into_inner()).unwrap_or_default();
    let (meeting, key) = conf.create(
        &body.title,
        body.audio.unwrap_or(true),
        body.recording.unwrap_or(true),
    )?;
    let url = format!("/m/{}", meeting.number);
    Ok(HttpResponse::Created().json(Created {
        number: meeting.number.to_string(),
        title: meeting.title,
        audio: meeting.audio,
        presenter_url: format!("{url}?key={key}"),
        url,
        host_key: key,
    }))
}

async fn info(
    conf: web::Data<Arc<Conference>>,
    number: web::Path<String>,
) -> Result<HttpResponse, ConferenceError> {
    let meeting = conf.meeting(&number)?;
    Ok(HttpResponse::Ok().json(json!({
        "number": meeting.number.to_string(),
        "title": meeting.title,
        "audio": meeting.audio,
        "recording": meeting.recording.enabled,
        "room": conf.room_jid(&meeting.number),
        "focus": conf.endpoints.focus_jid,
    })))
}

#[derive(Deserialize)]
struct JoinBody {
    name: String,
    key: Option<String>,
}

async fn join(
    req: HttpRequest,
    conf: web::Data<Arc<Conference>>,
    number: web::Path<String>,
    body: web::Json<JoinBody>,
) -> Result<HttpResponse, ConferenceError> {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .ok_or_else(|| ConferenceError::BadRequest("no peer address".into()))?;
    let joined = conf
        .join(
            &number,
            &body.name,
            body.key.as_deref().filter(|k| !k.is_empty()),
            peer,
        )
        .await?;
    let websocket = conf.endpoints.websocket.clone().unwrap_or_else(|| {
        let info = req.connection_info();
        let scheme = if info.scheme() == "https" {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{}/xmpp-websocket", info.host())
    });
    let mut value = serde_json::to_value(&joined).expect("join answer serialises");
    value["websocket"] = json!(websocket);
    Ok(HttpResponse::Ok().json(value))
}
