//! The HTTP side: the web client's pages (`pages.rs`), a status page at `/status` (tera),
//! XMPP over WebSocket at `/xmpp-websocket`, the documents API under `/api/documents`
//! (`documents.rs`) and the meetings API under `/api/meetings` (`meetings.rs`).

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Instant;

use actix_web::{dev::Server, web, App, HttpResponse, HttpServer};
use tera::{Context, Tera};

use crate::conference::Conference;
use crate::documents::Documents;
use crate::xmpp::{websocket, Xmpp};

mod audio;
mod documents;
mod meetings;
pub(crate) mod pages;
mod recording_admin;
mod recording_replay;
mod recordings;

struct Status {
    tera: Tera,
    started: Instant,
    xmpp_addr: SocketAddr,
}

/// Builds the HTTP server on an already bound listener.
pub fn server(
    listener: TcpListener,
    xmpp: Arc<Xmpp>,
    xmpp_addr: SocketAddr,
    docs: Arc<Documents>,
    conference: Arc<Conference>,
) -> std::io::Result<Server> {
    let mut tera = Tera::default();
    tera.add_raw_template("status.html", include_str!("templates/status.html"))
        .expect("the embedded template parses");
    let status = web::Data::new(Status {
        tera,
        started: Instant::now(),
        xmpp_addr,
    });
    let xmpp = web::Data::new(xmpp);
    let docs = web::Data::new(docs);
    let audio_files = audio::player(&conference);
    let conference = web::Data::new(conference);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(status.clone())
            .app_data(xmpp.clone())
            .app_data(docs.clone())
            .app_data(conference.clone())
            .app_data(audio_files.clone())
            .configure(audio::routes)
            .configure(documents::routes)
            .configure(meetings::routes)
            .configure(recordings::routes)
            .configure(recording_admin::routes)
            .configure(recording_replay::routes)
            .configure(pages::routes)
            .route("/status", web::get().to(status_page))
            .route("/xmpp-websocket", web::get().to(websocket::upgrade))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)?
    .run())
}

async fn status_page(status: web::Data<Status>, xmpp: web::Data<Arc<Xmpp>>) -> HttpResponse {
    let env = &xmpp.env;
    let mut ctx = Context::new();
    ctx.insert("domain", &env.domain);
    ctx.insert("guest_domain", &env.guest_domain);
    ctx.insert("xmpp_addr", &status.xmpp_addr.to_string());
    ctx.insert("websocket_path", "/xmpp-websocket");
    ctx.insert("sessions", &env.router.session_count());
    ctx.insert("uptime", &format_uptime(status.started.elapsed().as_secs()));
    ctx.insert("version", env!("CARGO_PKG_VERSION"));
    match status.tera.render("status.html", &ctx) {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => {
            tracing::error!("status page: {e}");
            HttpResponse::InternalServerError().finish()
        }
    }
}

fn format_uptime(secs: u64) -> String {
    format!("{}h {:02}m {:02}s", secs / 3600, secs / 60 % 60, secs % 60)
}
