//! The recordings list and the owner's controls (docs/RECORDINGS.md): list, details, who may
//! see a recording, delete. Downloads are in `recordings.rs`.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::recordings::Access;
use crate::conference::meetings::{Meeting, MeetingNumber, RecordingAccess};
use crate::conference::recordings::Viewer;
use crate::conference::{Conference, ConferenceError};
use crate::recording::timeline::{Summary, Timeline};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/recordings", web::get().to(list))
        .route("/api/meetings/{number}/recording", web::get().to(details))
        .route("/api/meetings/{number}/recording", web::delete().to(delete))
        .route(
            "/api/meetings/{number}/recording/access",
            web::put().to(set_access),
        );
}

/// One recording as the list and the details show it.
#[derive(Serialize)]
struct Listed {
    number: String,
    title: String,
    /// Unix seconds.
    created: u64,
    #[serde(flatten)]
    summary: Summary,
    access: RecordingAccess,
    owner: bool,
    /// The share link, for the owner only.
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<String>,
}

fn listed(conf: &Conference, meeting: &Meeting, viewer: Viewer) -> Result<Listed, ConferenceError> {
    let records = conf.meetings.archive(&meeting.number)?;
    let timeline =
        Timeline::from_records(&records).map_err(|e| ConferenceError::Recording(e.to_string()))?;
    let owner = viewer == Viewer::Owner;
    Ok(Listed {
        number: meeting.number.to_string(),
        title: meeting.title.clone(),
        created: meeting.created,
        summary: timeline.summary(),
        access: meeting.recording.access,
        owner,
        link: owner.then(|| {
            format!(
                "/recordings?meeting={}&token={}",
                meeting.number,
                meeting.recording.token()
            )
        }),
    })
}

#[derive(Deserialize)]
struct Keys {
    /// Host keys the browser holds, comma-separated.
    #[serde(default)]
    keys: String,
}

/// `GET /api/recordings?keys=K1,K2`: the recordings of those meetings and every public one,
/// newest first; meetings with nothing recorded are left out.
async fn list(
    conf: web::Data<Arc<Conference>>,
    q: web::Query<Keys>,
) -> Result<HttpResponse, ConferenceError> {
    let conf = conf.get_ref().clone();
    let keys: Vec<String> = q.keys.split(',').map(str::to_string).collect();
    let items = web::block(move || -> Result<Vec<Listed>, ConferenceError> {
        let mut out = Vec::new();
        for meeting in conf.meetings.all() {
            if !meeting.recording.enabled {
                continue;
            }
            let viewer = if keys
                .iter()
                .any(|k| !k.is_empty() && meeting.host_key_matches(k))
            {
                Viewer::Owner
            } else if meeting.recording.access == RecordingAccess::Public {
                Viewer::Guest
            } else {
                continue;
            };
            let item = listed(&conf, &meeting, viewer)?;
            if item.summary.duration_ms > 0 || item.summary.documents > 0 {
                out.push(item);
            }
        }
        out.sort_by(|a, b| b.created.cmp(&a.created).then(a.number.cmp(&b.number)));
        Ok(out)
    })
    .await
    .map_err(|e| ConferenceError::Recording(e.to_string()))??;
    Ok(HttpResponse::Ok().json(json!({ "recordings": items })))
}

/// `GET /api/meetings/{number}/recording?key=…|token=…`.
async fn details(
    conf: web::Data<Arc<Conference>>,
    number: web::Path<String>,
    access: web::Query<Access>,
) -> Result<HttpResponse, ConferenceError> {
    let (meeting, viewer) =
        conf.recording_access(&number, access.key.as_deref(), access.token.as_deref())?;
    let conf = conf.get_ref().clone();
    let item = web::block(move || listed(&conf, &meeting, viewer))
        .await
        .map_err(|e| ConferenceError::Recording(e.to_string()))??;
    Ok(HttpResponse::Ok().json(item))
}

#[derive(Deserialize)]
struct AccessBody {
    access: RecordingAccess,
}

/// `PUT /api/meetings/{number}/recording/access?key=HOST_KEY` with `{"access": "owner"|"link"|"public"}`.
async fn set_access(
    conf: web::Data<Arc<Conference>>,
    number: web::Path<String>,
    access: web::Query<Access>,
    body: web::Json<AccessBody>,
) -> Result<HttpResponse, ConferenceError> {
    let number = owner(&conf, &number, &access)?;
    let meeting = conf.set_recording_access(&number, body.access)?;
    Ok(HttpResponse::Ok().json(json!({
        "access": meeting.recording.access,
        "link": format!("/recordings?meeting={}&token={}", meeting.number, meeting.recording.token()),
    })))
}

/// `DELETE /api/meetings/{number}/recording?key=HOST_KEY`: 204; the archive so far is gone.
async fn delete(
    conf: web::Data<Arc<Conference>>,
    number: web::Path<String>,
    access: web::Query<Access>,
) -> Result<HttpResponse, ConferenceError> {
    let number = owner(&conf, &number, &access)?;
    let conf = conf.get_ref().clone();
    web::block(move || conf.delete_recording(&number))
        .await
        .map_err(|e| ConferenceError::Recording(e.to_string()))??;
    Ok(HttpResponse::NoContent().finish())
}

fn owner(
    conf: &Conference,
    number: &str,
    access: &Access,
) -> Result<MeetingNumber, ConferenceError> {
    match conf.recording_access(number, access.key.as_deref(), None)? {
        (meeting, Viewer::Owner) => Ok(meeting.number),
        _ => Err(ConferenceError::BadHostKey),
    }
}
