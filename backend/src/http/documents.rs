//! Documents over HTTP: upload, manifest, progress events (SSE), page images.
//!
//! This is the one place where [`DocError`] becomes an HTTP status: every error is a JSON body
//! `{"error": CODE, "message": TEXT}`.

use std::sync::Arc;

use actix_files::NamedFile;
use actix_multipart::Multipart;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use futures_util::{stream, StreamExt};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::documents::package::{self, Member};
use crate::documents::{DocError, Documents, Event};

/// Page images never change under their URL (the id is the content's hash).
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/documents", web::post().to(upload))
        .route("/api/documents/{id}", web::get().to(manifest))
        .route("/api/documents/{id}/events", web::get().to(events))
        .route("/api/documents/{id}/package", web::get().to(package))
        .route(
            "/api/documents/{id}/{folder:pages|thumbs}/{name}",
            web::get().to(page_file),
        );
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
}

impl ResponseError for DocError {
    fn status_code(&self) -> StatusCode {
        match self {
            DocError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            DocError::UnknownType | DocError::OfficeUnavailable(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            DocError::OfficeBusy => StatusCode::SERVICE_UNAVAILABLE,
            DocError::NotReady => StatusCode::CONFLICT,
            DocError::OfficeFailed(_)
            | DocError::OfficeTimeout { .. }
            | DocError::HostileArchive(_)
            | DocError::Encrypted
            | DocError::UnsupportedEncryption
            | DocError::CorruptPdf
            | DocError::CorruptImage(_)
            | DocError::NoPages
            | DocError::TooManyPages { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            DocError::NotFound(_) => StatusCode::NOT_FOUND,
            DocError::BadUpload(_) => StatusCode::BAD_REQUEST,
            DocError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let DocError::Io(e) = self {
            tracing::error!("documents: {e}");
        }
        HttpResponse::build(self.status_code()).json(ErrorBody {
            error: self.code(),
            message: self.to_string(),
        })
    }
}

/// `POST /api/documents`: a multipart form whose file part is the document, or the raw bytes
/// as the body. Streams to disk while hashing; answers 201 with the manifest (200 when the
/// same bytes were uploaded before). If the client goes away mid-upload this future is
/// dropped, and with it the temp file.
async fn upload(
    req: HttpRequest,
    payload: web::Payload,
    docs: web::Data<Arc<Documents>>,
) -> Result<HttpResponse, DocError> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    let mut ingest = docs.ingest()?;
    if multipart {
        let mut form = Multipart::new(req.headers(), payload);
        let mut found = false;
        while let Some(field) = form.next().await {
            let mut field = field.map_err(|e| DocError::BadUpload(e.to_string()))?;
            let is_file = field
                .content_disposition()
                .is_some_and(|cd| cd.get_filename().is_some())
                || field.name() == Some("file");
            if !is_file || found {
                while let Some(chunk) = field.next().await {
                    chunk.map_err(|e| DocError::BadUpload(e.to_string()))?;
                }
                continue;
            }
            found = true;
            while let Some(chunk) = field.next().await {
                ingest.write(&chunk.map_err(|e| DocError::BadUpload(e.to_string()))?)?;
            }
        }
        if !found {
            return Err(DocError::BadUpload("the form has no file part".into()));
        }
    } else {
        let mut body = payload;
        while let Some(chunk) = body.next().await {
            ingest.write(&chunk.map_err(|e| DocError::BadUpload(e.to_string()))?)?;
        }
    }
    let upload = ingest.finish()?;
    let docs = docs.get_ref().clone();
    let (manifest, created) = web::block(move || docs.accept(upload))
        .await
        .map_err(|e| DocError::Io(std::io::Error::other(e.to_string())))??;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status)
        .insert_header((header::LOCATION, format!("/api/documents/{}", manifest.id)))
        .json(manifest))
}

async fn manifest(
    path: web::Path<String>,
    docs: web::Data<Arc<Documents>>,
) -> Result<HttpResponse, DocError> {
    let m = docs.manifest(&path)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(m))
}

/// `GET /api/documents/{id}/events`: server-sent events `page` (ready), `failed` and `done`,
/// starting with a replay of what already happened; the stream ends after `done`.
async fn events(
    path: web::Path<String>,
    docs: web::Data<Arc<Documents>>,
) -> Result<HttpResponse, DocError> {
    let sub = docs.subscribe(&path)?;
    let replay_done = sub.replay.iter().any(|e| matches!(e, Event::Done { .. }));
    let replay = stream::iter(sub.replay);
    let live = stream::unfold(sub.live.filter(|_| !replay_done), |rx| async move {
        let mut rx = rx?;
        loop {
            match rx.recv().await {
                Ok(ev @ Event::Done { .. }) => return Some((ev, None)),
                Ok(ev) => return Some((ev, Some(rx))),
                // A client this far behind reads the manifest for the pages it missed.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let body = replay.chain(live).map(|ev| {
        let json = serde_json::to_string(&ev).expect("an event serialises");
        Ok::<_, actix_web::Error>(web::Bytes::from(format!(
            "event: {}\ndata: {json}\n\n",
            ev.name()
        )))
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

/// Page images and thumbnails: NamedFile answers Range and conditional (ETag,
/// Last-Modified) requests.
async fn page_file(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    docs: web::Data<Arc<Documents>>,
) -> Result<HttpResponse, DocError> {
    let (id, folder, name) = path.into_inner();
    let file = docs.file(&id, &folder, &name)?;
    let named = NamedFile::open_async(&file).await?;
    let mut resp = named.into_response(&req);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    Ok(resp)
}

/// `GET /api/documents/{id}/package`: every page and the manifest as one uncompressed tar
/// (see `documents::package`), streamed a page at a time; 409 until the document is done.
async fn package(
    req: HttpRequest,
    path: web::Path<String>,
    docs: web::Data<Arc<Documents>>,
) -> Result<HttpResponse, DocError> {
    let docs = docs.get_ref().clone();
    let pkg = web::block(move || docs.package(&path))
        .await
        .map_err(|e| DocError::Io(std::io::Error::other(e.to_string())))??;
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == pkg.etag || t.trim() == "*")
        });
    let mut resp = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, pkg.etag.clone()))
        .insert_header((header::CACHE_CONTROL, IMMUTABLE));
    if matches {
        return Ok(resp.finish());
    }
    let body = stream::iter(pkg.members)
        .then(|m| async move {
            let head = package::header(m.name(), m.size());
            let data = match &m {
                Member::Bytes(_, b) => b.clone(),
                Member::File(_, path, _) => tokio::fs::read(path).await?,
            };
            if data.len() as u64 != m.size() {
                return Err(std::io::Error::other(format!("{} changed size", m.name())));
            }
            let mut chunk = Vec::with_capacity(512 + data.len() + 512);
            chunk.extend_from_slice(&head);
            chunk.extend_from_slice(&data);
            chunk.extend_from_slice(&package::padding(m.size()));
            Ok(web::Bytes::from(chunk))
        })
        .chain(stream::once(async {
            Ok(web::Bytes::from(package::trailer()))
        }));
    Ok(resp
        .insert_header((header::CONTENT_TYPE, "application/x-tar"))
        .no_chunking(pkg.len)
        .streaming(body))
}
