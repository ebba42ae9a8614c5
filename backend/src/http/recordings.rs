//! Recording downloads (docs/RECORDINGS.md): the owner (host key), whoever has the share link
//! (`token`) when the owner shared it, and everyone when it is public.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::conference::{Conference, ConferenceError};
use crate::documents::Documents;
use crate::recording::archive::{self, About, PageFile};
use crate::recording::timeline::Timeline;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/meetings/{number}/recording.zip",
        web::get().to(download_zip),
    );
}

/// `?key=HOST_KEY` or `?token=LINK_TOKEN`.
#[derive(Deserialize)]
pub struct Access {
    pub key: Option<String>,
    pub token: Option<String>,
}

/// `GET /api/meetings/{number}/recording.zip?key=…|token=…`: the whole meeting as one zip,
/// built from the archive, so a meeting that crashed downloads up to its last event.
async fn download_zip(
    conf: web::Data<Arc<Conference>>,
    docs: web::Data<Arc<Documents>>,
    number: web::Path<String>,
    access: web::Query<Access>,
) -> Result<HttpResponse, ConferenceError> {
    let (meeting, _) =
        conf.recording_access(&number, access.key.as_deref(), access.token.as_deref())?;
    let (conf, docs) = (conf.get_ref().clone(), docs.get_ref().clone());
    let filename = format!("lectern-{}.zip", meeting.number);
    let bytes = web::block(move || -> Result<Vec<u8>, ConferenceError> {
        let records = conf.meetings.archive(&meeting.number)?;
        let timeline = Timeline::from_records(&records).map_err(internal)?;
        let about = About {
            meeting: meeting.number.as_str(),
            title: &meeting.title,
            created: meeting.created,
        };
        archive::build(&about, &timeline, |id, n| page_file(&docs, id, n)).map_err(internal)
    })
    .await
    .map_err(internal)??;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(bytes))
}

/// A page image from the documents store, if the document is still there.
fn page_file(docs: &Arc<Documents>, id: &str, n: u32) -> Option<PageFile> {
    let manifest = docs.manifest(id).ok()?;
    let entry = manifest.pages.iter().find(|p| p.number == n as usize)?;
    let name = entry.image.rsplit('/').next()?.to_string();
    let bytes = std::fs::read(docs.file(id, "pages", &name).ok()?).ok()?;
    Some(PageFile { name, bytes })
}

fn internal(e: impl std::fmt::Display) -> ConferenceError {
    ConferenceError::Recording(e.to_string())
}
