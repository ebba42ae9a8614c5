//! Setting up one run of the meeting benchmark: the meeting created over HTTP, its presenter
//! (with the host key), the 2-page PDF uploaded and converted, and N headless attendees joined
//! with a bounded number in flight.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::meeting_net::{self, Clock, Member, Res, Slots};
use crate::meeting_plan::two_page_pdf;
use crate::meeting_server::Server;

/// A meeting with its presenter and a converted document, not yet shared.
pub struct Meeting {
    pub number: String,
    pub presenter: Member,
    pub doc: String,
    /// `GET /api/documents/{doc}` once ready.
    pub manifest: serde_json::Value,
}

pub async fn open(server: &Server, clock: Arc<Clock>, slots: Slots) -> Res<Meeting> {
    let created = meeting_net::post_json(
        server.http,
        "/api/meetings",
        &serde_json::json!({"title": "Benchmark", "audio": true}),
    )
    .await?;
    if created.status != 201 {
        return Err(format!(
            "create: {}",
            String::from_utf8_lossy(&created.body)
        ));
    }
    let j = created.json()?;
    let number = j["number"].as_str().unwrap_or_default().to_string();
    let key = j["host_key"].as_str().unwrap_or_default().to_string();

    let presenter = meeting_net::join(
        server.http,
        server.xmpp,
        &number,
        "Presenter",
        Some(&key),
        clock,
        slots,
    )
    .await
    .map_err(|e| format!("presenter join: {e}"))?;
    if presenter.role != "presenter" {
        return Err(format!("presenter joined as {}", presenter.role));
    }

    // The document: a 2-page PDF, converted before the share.
    let up =
        meeting_net::post_file(server.http, "/api/documents", "deck.pdf", &two_page_pdf()).await?;
    if up.status != 200 && up.status != 201 {
        return Err(format!(
            "upload: {} {}",
            up.status,
            String::from_utf8_lossy(&up.body)
        ));
    }
    let doc = up.json()?["id"].as_str().unwrap_or_default().to_string();
    let ready_by = Instant::now() + Duration::from_secs(60);
    let manifest = loop {
        let m = meeting_net::http(
            server.http,
            "GET",
            &format!("/api/documents/{doc}"),
            "text/plain",
            b"",
        )
        .await?
        .json()?;
        if m["status"] == "ready" {
            break m;
        }
        if m["status"] == "failed" || Instant::now() > ready_by {
            return Err(format!("document not ready: {m}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    Ok(Meeting {
        number,
        presenter,
        doc,
        manifest,
    })
}

impl Meeting {
    /// The `<document/>` share the web client's presenter sends: per page its image hash and
    /// size.
    pub fn share_payload(&self) -> String {
        let (doc, m) = (&self.doc, &self.manifest);
        let mut pages = String::new();
        for p in m["pages"].as_array().into_iter().flatten() {
            pages.push_str(&format!(
                "<p n='{}' hash='{}' w='{}' h='{}'/>",
                p["number"],
                p["sha256"].as_str().unwrap_or_default(),
                p["width"],
                p["height"]
            ));
        }
        format!(
            "<document id='{doc}' pages='{}' base='/api/documents/{doc}/' title='Benchmark'>{pages}</document>",
            m["page_count"]
        )
    }
}

/// The headless attendees that made it in, and what did not.
#[derive(Default)]
pub struct Joined {
    pub attendees: Vec<Member>,
    pub failures: usize,
    pub first_error: Option<String>,
    pub secs: f64,
}

/// Joins `n` headless attendees, `concurrency` at a time, all within `limit`.
pub async fn attendees(
    server: &Server,
    number: &str,
    n: usize,
    concurrency: usize,
    limit: Duration,
    clock: Arc<Clock>,
    slots: Slots,
) -> Joined {
    let started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let (sem, clock, number) = (sem.clone(), clock.clone(), number.to_string());
        let (h, x) = (server.http, server.xmpp);
        set.spawn(async move {
            let _p = sem.acquire_owned().await;
            meeting_net::join(h, x, &number, &format!("att-{i:04}"), None, clock, slots).await
        });
    }
    let mut j = Joined {
        attendees: Vec::with_capacity(n),
        ..Default::default()
    };
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = set.join_next() => match next {
                None => break,
                Some(Ok(Ok(m))) => j.attendees.push(m),
                Some(Ok(Err(e))) => {
                    j.failures += 1;
                    j.first_error.get_or_insert(e);
                }
                Some(Err(e)) => {
                    j.failures += 1;
                    j.first_error.get_or_insert(e.to_string());
                }
            },
            _ = &mut deadline => {
                j.failures += set.len();
                j.first_error.get_or_insert(format!("join limit of {} s reached", limit.as_secs()));
                set.abort_all();
                break;
            }
        }
    }
    j.secs = started.elapsed().as_secs_f64();
    j
}
