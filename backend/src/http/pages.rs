//! The browser client's pages: `GET /` (home: create a meeting, join one), `GET /m/{number}`
//! (the meeting: attendee view, presenter view when `?key=` carries the host key),
//! `GET /recordings` (the recordings list), `GET /recordings/{number}/replay` (a recording in
//! the browser), and the
//! client's static files (`web/js`, `web/css`, `web/vendor`) under `/web/`.
//!
//! The pages are tera templates embedded in the binary; everything live happens in the ES
//! modules they load. The static files are served from disk: `$LECTERN_WEB_DIR` if set, else
//! the `web/` folder of the source tree this binary was built from.

use std::path::PathBuf;

use actix_files::Files;
use actix_web::{web, HttpResponse};
use tera::{Context, Tera};

/// The `web/` folder of the source tree, baked in at build time.
const BUILT_WEB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../web");

/// Top-level folders of `web/` that are served; everything else there (node_modules,
/// tests, package files) is not.
const SERVED: &[&str] = &["js", "css", "vendor"];

struct Pages {
    tera: Tera,
}

/// Where the client's static files are read from.
pub fn web_dir() -> PathBuf {
    std::env::var_os("LECTERN_WEB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(BUILT_WEB_DIR))
}

/// `/`, `/m/{number}` and `/web/...` (static files from [`web_dir`]).
pub fn routes(cfg: &mut web::ServiceConfig) {
    routes_with_dir(cfg, web_dir());
}

/// As [`routes`], with the static files read from `dir`.
pub fn routes_with_dir(cfg: &mut web::ServiceConfig, dir: PathBuf) {
    let mut tera = Tera::default();
    tera.add_raw_templates([
        ("base.html", include_str!("templates/base.html")),
        ("home.html", include_str!("templates/home.html")),
        ("meeting.html", include_str!("templates/meeting.html")),
        ("recordings.html", include_str!("templates/recordings.html")),
        ("replay.html", include_str!("templates/replay.html")),
    ])
    .expect("the embedded templates parse");
    cfg.app_data(web::Data::new(Pages { tera }))
        .route("/", web::get().to(home))
        .route("/m/{number}", web::get().to(meeting))
        .route("/recordings", web::get().to(recordings))
        .route("/recordings/{number}/replay", web::get().to(replay))
        .service(
            Files::new("/web", dir)
                .path_filter(|path, _| {
                    path.components()
                        .next()
                        .and_then(|c| c.as_os_str().to_str())
                        .is_some_and(|first| SERVED.contains(&first))
                })
                .use_etag(true)
                .use_last_modified(true),
        );
}

async fn home(pages: web::Data<Pages>) -> HttpResponse {
    render(&pages, "home.html", &Context::new())
}

fn not_a_number(number: &str) -> Option<HttpResponse> {
    (number.is_empty() || number.len() > 32 || !number.bytes().all(|b| b.is_ascii_digit())).then(
        || {
            HttpResponse::NotFound()
                .content_type("text/plain; charset=utf-8")
                .body("No such meeting: a meeting number is digits only.\n")
        },
    )
}

async fn meeting(pages: web::Data<Pages>, number: web::Path<String>) -> HttpResponse {
    let number = number.into_inner();
    if let Some(resp) = not_a_number(&number) {
        return resp;
    }
    let mut ctx = Context::new();
    ctx.insert("number", &number);
    render(&pages, "meeting.html", &ctx)
}

async fn recordings(pages: web::Data<Pages>) -> HttpResponse {
    render(&pages, "recordings.html", &Context::new())
}

/// `/recordings/{number}/replay?key=…|token=…`: the page loads the recording through the
/// recording API, which checks the key or token (so a wrong one shows that API's error).
async fn replay(pages: web::Data<Pages>, number: web::Path<String>) -> HttpResponse {
    let number = number.into_inner();
    if let Some(resp) = not_a_number(&number) {
        return resp;
    }
    let mut ctx = Context::new();
    ctx.insert("number", &number);
    render(&pages, "replay.html", &ctx)
}

fn render(pages: &Pages, name: &str, ctx: &Context) -> HttpResponse {
    match pages.tera.render(name, ctx) {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-cache"))
            .body(body),
        Err(e) => {
            tracing::error!("page {name}: {e}");
            HttpResponse::InternalServerError().finish()
        }
    }
}
