//! Recording downloads (docs/RECORDINGS.md): the owner (host key), whoever has the share link
//! (`token`) when the owner shared it, and everyone when it is public. The zip and the PDF are
//! built on request; the MP4 takes a while, so it is a job to poll.

use std::path::PathBuf;
use std::sync::Arc;

use actix_files::NamedFile;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::conference::meetings::Meeting;
use crate::conference::{Conference, ConferenceError};
use crate::documents::Documents;
use crate::recording::archive::{self, About, PageFile};
use crate::recording::description::{self, PageNames};
use crate::recording::offline;
use crate::recording::pdf::{self, PageSource};
use crate::recording::timeline::Timeline;

mod jobs;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/meetings/{number}/recording.zip",
        web::get().to(download_zip),
    )
    .route(
        "/api/meetings/{number}/recording.pdf",
        web::get().to(download_pdf),
    )
    .route(
        "/api/meetings/{number}/recording.mp4",
        web::get().to(download_mp4),
    )
    .route(
        "/api/meetings/{number}/recording.mp4",
        web::post().to(start_mp4),
    )
    .route(
        "/api/meetings/{number}/recording.mp4/status",
        web::get().to(mp4_status),
    );
}

/// The meeting, when the caller may see its recording (key, link token, or public).
pub(super) fn authorize(
    conf: &Conference,
    number: &str,
    access: &Access,
) -> Result<Meeting, ConferenceError> {
    conf.recording_access(number, access.key.as_deref(), access.token.as_deref())
        .map(|(meeting, _)| meeting)
}

/// What a recording's files say about its meeting.
pub(super) fn about(meeting: &Meeting) -> About<'_> {
    About {
        meeting: meeting.number.as_str(),
        title: &meeting.title,
        created: meeting.created,
    }
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
    let meeting = authorize(&conf, &number, &access)?;
    let (conf, docs) = (conf.get_ref().clone(), docs.get_ref().clone());
    let filename = format!("lectern-{}.zip", meeting.number);
    let bytes = web::block(move || -> Result<Vec<u8>, ConferenceError> {
        let timeline = conf.recording_timeline(&meeting.number)?;
        let player = offline_player();
        archive::build(
            &about(&meeting),
            &timeline,
            |id, n| page_file(&docs, id, n),
            &player,
        )
        .map_err(internal)
    })
    .await
    .map_err(internal)??;
    Ok(attachment("application/zip", &filename, bytes))
}

/// A download the browser saves as `filename`.
fn attachment(content_type: &str, filename: &str, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(bytes)
}

/// The zip's offline player, linked from the served web client. Without it (the web files
/// are not where the server looks) the zip still downloads, with a README saying why; the
/// server log says so too, as that is an installation fault.
fn offline_player() -> archive::Player {
    let web = super::pages::web_dir();
    offline::player(&web).map_err(|e| {
        tracing::error!(
            "recording zip without index.html: the offline player cannot be built from {}: {e}",
            web.display()
        );
        e.to_string()
    })
}

/// Where a page's files are in the documents store: the image, the thumbnail when the server
/// has one, the page's text and size. `None` when the document or its image is gone.
struct Located {
    name: String,
    image: PathBuf,
    thumbnail: Option<PathBuf>,
    text: String,
    /// The original page's size in points, when the document says.
    size_pt: Option<(f32, f32)>,
}

fn locate(docs: &Arc<Documents>, id: &str, n: u32) -> Option<Located> {
    let manifest = docs.manifest(id).ok()?;
    let entry = manifest.pages.iter().find(|p| p.number == n as usize)?;
    let name = entry.image.rsplit('/').next()?.to_string();
    let image = docs.file(id, "pages", &name).ok().filter(|p| p.exists())?;
    let thumbnail = entry
        .thumbnail
        .rsplit('/')
        .next()
        .and_then(|t| docs.file(id, "thumbs", t).ok())
        .filter(|p| p.exists());
    Some(Located {
        name,
        image,
        thumbnail,
        text: entry.text.clone(),
        size_pt: (entry.width_pt > 0.0 && entry.height_pt > 0.0)
            .then_some((entry.width_pt, entry.height_pt)),
    })
}

/// A page image (and its thumbnail) from the documents store, if the document is still there.
pub(super) fn page_file(docs: &Arc<Documents>, id: &str, n: u32) -> Option<PageFile> {
    let found = locate(docs, id, n)?;
    Some(PageFile {
        bytes: std::fs::read(&found.image).ok()?,
        thumbnail: found.thumbnail.and_then(|path| std::fs::read(path).ok()),
        name: found.name,
        text: found.text,
    })
}

/// Which files a page has on the server, without reading them (the replay page's
/// `timeline.json` names them as the zip does).
pub(super) fn page_names(docs: &Arc<Documents>, id: &str, n: u32) -> Option<PageNames> {
    let found = locate(docs, id, n)?;
    Some(PageNames {
        thumbnail: found
            .thumbnail
            .map(|_| description::thumbnail_name(&found.name)),
        image: found.name,
        text: found.text,
    })
}

/// `GET /api/meetings/{number}/recording.pdf?key=HOST_KEY`: every page of every shared
/// document, with the meeting's final ink on it.
async fn download_pdf(
    conf: web::Data<Arc<Conference>>,
    docs: web::Data<Arc<Documents>>,
    number: web::Path<String>,
    access: web::Query<Access>,
) -> Result<HttpResponse, ConferenceError> {
    let meeting = authorize(&conf, &number, &access)?;
    let (conf, docs) = (conf.get_ref().clone(), docs.get_ref().clone());
    let filename = format!("lectern-{}.pdf", meeting.number);
    let bytes = web::block(move || -> Result<Vec<u8>, ConferenceError> {
        let records = conf.meetings.archive(&meeting.number)?;
        let timeline = Timeline::from_records(&records).map_err(internal)?;
        if timeline.documents.is_empty() {
            return Err(ConferenceError::BadRequest(
                "no document was shared in this meeting".into(),
            ));
        }
        pdf::build(&meeting.title, &timeline, |id, n| page_source(&docs, id, n)).map_err(internal)
    })
    .await
    .map_err(internal)??;
    Ok(attachment("application/pdf", &filename, bytes))
}

/// `POST /api/meetings/{number}/recording.mp4?key=HOST_KEY`: starts an export of the archive
/// as it is now (or joins the one under way); `202` with its status.
async fn start_mp4(
    conf: web::Data<Arc<Conference>>,
    docs: web::Data<Arc<Documents>>,
    number: web::Path<String>,
    access: web::Query<Access>,
) -> Result<HttpResponse, ConferenceError> {
    let meeting = authorize(&conf, &number, &access)?;
    let job = jobs::start(conf.get_ref(), docs.get_ref(), meeting, true);
    Ok(jobs::accepted(&number, &job))
}

/// `GET /api/meetings/{number}/recording.mp4/status?key=…`: the export's status without the
/// video, for a page showing its progress (`200` whatever the status; starts one if none).
async fn mp4_status(
    conf: web::Data<Arc<Conference>>,
    docs: web::Data<Arc<Documents>>,
    number: web::Path<String>,
    access: web::Query<Access>,
) -> Result<HttpResponse, ConferenceError> {
    let meeting = authorize(&conf, &number, &access)?;
    let job = jobs::start(conf.get_ref(), docs.get_ref(), meeting, false);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(jobs::describe(&number, &job)))
}

/// `GET /api/meetings/{number}/recording.mp4?key=HOST_KEY`: the video when it is ready
/// (`200 video/mp4`, ranges allowed), else `202` with the export's progress — the first GET
/// starts the export.
async fn download_mp4(
    req: HttpRequest,
    conf: web::Data<Arc<Conference>>,
    docs: web::Data<Arc<Documents>>,
    number: web::Path<String>,
    access: web::Query<Access>,
) -> Result<HttpResponse, ConferenceError> {
    let meeting = authorize(&conf, &number, &access)?;
    let filename = format!("lectern-{}.mp4", meeting.number);
    let job = jobs::start(conf.get_ref(), docs.get_ref(), meeting, false);
    match job.status() {
        jobs::Status::Ready(path) => {
            let file = NamedFile::open_async(&path).await.map_err(internal)?;
            let mut resp = file
                .set_content_type("video/mp4".parse().expect("a media type"))
                .into_response(&req);
            resp.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                header::HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
                    .map_err(internal)?,
            );
            Ok(resp)
        }
        jobs::Status::Failed(message) => {
            jobs::forget_failed(&number, &job);
            Err(ConferenceError::Recording(message))
        }
        _ => Ok(jobs::accepted(&number, &job)),
    }
}

/// A page image and its size in points, from the documents store.
fn page_source(docs: &Arc<Documents>, id: &str, n: u32) -> PageSource {
    let found = locate(docs, id, n);
    PageSource {
        image: found.as_ref().and_then(|f| std::fs::read(&f.image).ok()),
        size_pt: found.and_then(|f| f.size_pt),
    }
}

pub(super) fn internal(e: impl std::fmt::Display) -> ConferenceError {
    ConferenceError::Recording(e.to_string())
}
