//! The engine task: join over HTTP, keep one XMPP session (tokio-xmpp reconnects it),
//! enter the room, say hello, load the snapshot once, catch up by `seq` after every gap or
//! reconnect, and present events when the playout clock says so.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures::StreamExt;
use lectern_protocol::{from_element, Snapshot, NS};
use minidom::Element;
use tokio::sync::mpsc;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::message::MessageType;
use tokio_xmpp::parsers::presence::{Presence, Type as PresenceType};
use tokio_xmpp::xmlstream::Timeouts;
use tokio_xmpp::{Client, Event, Stanza};

use crate::api::{AttendeeConfig, Change};
use crate::connector::Connector;
use crate::error::BridgeError;
use crate::http::Http;
use crate::join::{join, Joined};
pub(crate) use crate::shared::Shared;
use crate::stanzas::{self, jid, lectern_child, NS_DELAY, NS_PING};

/// Nick suffixes tried when ours is taken (` (2)`, ` (3)`, ...).
const MAX_NICK_TRIES: u32 = 20;

/// Requests to the engine task.
pub(crate) enum Command {
    FetchPage(u32),
    Send(Box<Stanza>),
    Close,
}

/// Runs until closed; failures to join are reported as [`Change::Problem`].
pub(crate) async fn run(
    shared: Arc<Shared>,
    config: AttendeeConfig,
    tx: mpsc::UnboundedSender<Command>,
    mut rx: mpsc::UnboundedReceiver<Command>,
) {
    let (mut session, mut client) = match Session::start(shared.clone(), &config, tx).await {
        Ok(started) => started,
        Err(e) => return shared.problem(e),
    };
    loop {
        let due = shared.core().next_due();
        let clock = shared.clock;
        let wake = async move {
            match due {
                Some(ms) => tokio::time::sleep_until(clock.instant_of(ms).into()).await,
                None => futures::future::pending().await,
            }
        };
        tokio::select! {
            event = client.next() => match event {
                Some(event) => {
                    for stanza in session.on_xmpp(event) {
                        let _ = client.send_stanza(stanza).await;
                    }
                }
                None => break,
            },
            command = rx.recv() => match command {
                Some(Command::Send(stanza)) => {
                    let _ = client.send_stanza(*stanza).await;
                }
                Some(Command::FetchPage(page)) => session.fetch_page(page),
                Some(Command::Close) | None => {
                    let _ = client.send_end().await;
                    return;
                }
            },
            _ = wake => {}
        }
        session.present();
    }
}

struct Session {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Command>,
    http: Http,
    joined: Joined,
    focus: Jid,
    room_focus: Jid,
    nick: String,
    nick_tries: u32,
    onlines: u64,
    in_room: bool,
    catching_up: bool,
    next_id: u64,
    hello_id: Option<String>,
    snapshot_id: Option<String>,
    events_id: Option<String>,
    /// The (document, page) last asked of the cache, so a page is fetched once per turn.
    shown_page: Option<(String, u32)>,
}

impl Session {
    async fn start(
        shared: Arc<Shared>,
        config: &AttendeeConfig,
        tx: mpsc::UnboundedSender<Command>,
    ) -> Result<(Session, Client), BridgeError> {
        let http = Http::new(&config.server_url, &config.tls)?;
        let joined = join(&http, &config.meeting, &config.name, None).await?;
        let address = config
            .xmpp_address
            .clone()
            .unwrap_or_else(|| format!("{}:5222", http.host()));
        let connector = Connector {
            address,
            tls: config.tls.connector()?,
            shared: shared.clone(),
        };
        let (account, password) = joined.login.credentials();
        let client =
            Client::new_with_connector(jid(&account)?, password, connector, Timeouts::default());
        let session = Session {
            shared,
            tx,
            http,
            focus: jid(&joined.focus)?,
            room_focus: jid(&format!("{}/focus", joined.room))?,
            nick: joined.nick.clone(),
            joined,
            nick_tries: 1,
            onlines: 0,
            in_room: false,
            catching_up: false,
            next_id: 0,
            hello_id: None,
            snapshot_id: None,
            events_id: None,
            shown_page: None,
        };
        Ok((session, client))
    }

    fn id(&mut self, what: &str) -> String {
        self.next_id += 1;
        format!("{what}-{}", self.next_id)
    }

    fn occupant(&self) -> Result<Jid, BridgeError> {
        jid(&format!("{}/{}", self.joined.room, self.nick))
    }

    /// Handles one XMPP event; returns what to send.
    fn on_xmpp(&mut self, event: Event) -> Vec<Stanza> {
        let result = match event {
            Event::Online { .. } => self.online(),
            Event::Stanza(Stanza::Presence(p)) => self.presence(p),
            Event::Stanza(Stanza::Message(m)) => {
                let delayed = m.payloads.iter().any(|p| p.ns() == NS_DELAY);
                if m.from.as_ref() == Some(&self.room_focus) && m.type_ == MessageType::Groupchat {
                    Ok(self.live_events(&m.payloads, delayed))
                } else if m
                    .from
                    .as_ref()
                    .is_some_and(|f| f.to_bare() == self.focus.to_bare())
                {
                    self.notice_from_focus(&m.payloads);
                    Ok(Vec::new())
                } else {
                    Ok(Vec::new())
                }
            }
            Event::Stanza(Stanza::Iq(iq)) => self.iq(iq),
            Event::Disconnected(e) => Err(BridgeError::Xmpp(e.to_string())),
        };
        result.unwrap_or_else(|e| {
            self.shared.problem(e);
            Vec::new()
        })
    }

    fn online(&mut self) -> Result<Vec<Stanza>, BridgeError> {
        self.onlines += 1;
        let reconnected = self.onlines > 1;
        if reconnected {
            self.shared.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        self.in_room = false;
        self.catching_up = false;
        self.shared.notify(Change::Online { reconnected });
        Ok(vec![stanzas::join_room(self.occupant()?)])
    }

    fn presence(&mut self, p: Presence) -> Result<Vec<Stanza>, BridgeError> {
        if p.from != Some(self.occupant()?) {
            return Ok(Vec::new());
        }
        match p.type_ {
            PresenceType::Error if !self.in_room => {
                // Most likely our nick is taken (a ghost of ourselves, or a namesake).
                self.nick_tries += 1;
                if self.nick_tries > MAX_NICK_TRIES {
                    return Err(BridgeError::Xmpp("could not enter the room".into()));
                }
                self.nick = format!("{} ({})", self.joined.nick, self.nick_tries);
                Ok(vec![stanzas::join_room(self.occupant()?)])
            }
            PresenceType::None if !self.in_room => {
                self.in_room = true;
                let id = self.id("hello");
                self.hello_id = Some(id.clone());
                let mut out = vec![stanzas::hello(
                    &id,
                    &self.focus,
                    &self.joined.number,
                    &self.joined.ticket,
                )];
                if self.shared.core().started() {
                    out.push(self.catch_up());
                } else {
                    let id = self.id("snapshot");
                    self.snapshot_id = Some(id.clone());
                    out.push(stanzas::snapshot(&id, &self.focus, &self.joined.number));
                }
                Ok(out)
            }
            _ => Ok(Vec::new()),
        }
    }

    fn live_events(&mut self, payloads: &[Element], delayed: bool) -> Vec<Stanza> {
        let now = self.shared.clock.now_ms();
        let mut core = self.shared.core();
        for event in payloads.iter().filter(|p| p.is("event", NS)) {
            core.receive(event.clone(), (!delayed).then_some(now));
        }
        let gap = core.has_gap();
        drop(core);
        if gap && !self.catching_up && self.in_room {
            vec![self.catch_up()]
        } else {
            Vec::new()
        }
    }

    fn catch_up(&mut self) -> Stanza {
        let since = self.shared.core().received_seq().unwrap_or(0);
        let id = self.id("events");
        self.events_id = Some(id.clone());
        self.catching_up = true;
        self.shared.catch_ups.fetch_add(1, Ordering::Relaxed);
        stanzas::events(&id, &self.focus, &self.joined.number, since)
    }

    fn iq(&mut self, iq: Iq) -> Result<Vec<Stanza>, BridgeError> {
        match iq {
            Iq::Result { id, payload, .. } => {
                let payload = payload.unwrap_or_else(|| Element::builder("none", NS).build());
                if self.hello_id.as_deref() == Some(&id) {
                    self.shared.notify(Change::Joined {
                        nick: self.nick.clone(),
                        role: payload.attr("role").unwrap_or("attendee").to_owned(),
                        lan: payload.attr("lan") == Some("true"),
                        audio: payload.attr("audio") != Some("false"),
                    });
                    Ok(Vec::new())
                } else if self.snapshot_id.as_deref() == Some(&id) {
                    let snapshot: Snapshot = from_element(&payload)
                        .map_err(|e| BridgeError::Xmpp(format!("snapshot: {e}")))?;
                    let now = self.shared.clock.now_ms();
                    let mut core = self.shared.core();
                    core.load_snapshot(&snapshot)
                        .map_err(|e| BridgeError::Xmpp(format!("snapshot refused: {e}")))?;
                    let gap = core.has_gap();
                    let change = Change::State {
                        seq: core.state().seq,
                        kind: "snapshot".into(),
                        t: None,
                        playout_ms: core.presenter_now(now),
                        state_json: core.state_json(),
                    };
                    drop(core);
                    self.shared.notify(change);
                    Ok(if gap {
                        vec![self.catch_up()]
                    } else {
                        Vec::new()
                    })
                } else if self.events_id.as_deref() == Some(&id) {
                    Ok(self.caught_up(&payload))
                } else {
                    Ok(Vec::new())
                }
            }
            Iq::Error { id, error, .. } => Err(BridgeError::Xmpp(format!(
                "{id} refused: {:?} {}",
                error.defined_condition,
                error.texts.values().next().cloned().unwrap_or_default()
            ))),
            Iq::Get {
                from, id, payload, ..
            } if payload.is("ping", NS_PING) => Ok(vec![stanzas::pong(from, &id)]),
            _ => Ok(Vec::new()),
        }
    }

    fn caught_up(&mut self, answer: &Element) -> Vec<Stanza> {
        let mut core = self.shared.core();
        let before = core.received_seq();
        for event in answer.children().filter(|c| c.is("event", NS)) {
            core.receive(event.clone(), None);
        }
        let progressed = core.received_seq() != before;
        let more = answer.attr("complete") == Some("false") || core.has_gap();
        drop(core);
        self.catching_up = false;
        if more && progressed {
            vec![self.catch_up()]
        } else {
            Vec::new()
        }
    }

    fn notice_from_focus(&mut self, payloads: &[Element]) {
        let Some(preload) = lectern_child(payloads, "preload") else {
            return;
        };
        let (Some(document), Some(url)) = (preload.attr("document"), preload.attr("url")) else {
            return;
        };
        let (document, url) = (document.to_owned(), url.to_owned());
        let (shared, http, tx) = (self.shared.clone(), self.http.clone(), self.tx.clone());
        let (focus, meeting) = (self.focus.clone(), self.joined.number.clone());
        tokio::spawn(async move {
            let Some(hashes) = shared.document_hashes(&document).await else {
                return shared.problem(format!("preload of {document}: never shown"));
            };
            match shared.cache.preload(&http, &url, &hashes).await {
                Ok(pages) => {
                    let notice = stanzas::preloaded(&focus, &meeting, &document);
                    let _ = tx.send(Command::Send(Box::new(notice)));
                    shared.notify(Change::Preloaded { document, pages });
                }
                Err(e) => shared.problem(format!("preload of {document}: {e}")),
            }
        });
    }

    /// Presents every event that is due and fetches the page now shown.
    fn present(&mut self) {
        let now = self.shared.clock.now_ms();
        let mut changes = Vec::new();
        let current = {
            let mut core = self.shared.core();
            while let Some(p) = core.release_next(now) {
                if p.changed {
                    changes.push(Change::State {
                        seq: p.seq,
                        kind: p.kind,
                        t: p.t,
                        playout_ms: core.presenter_now(now),
                        state_json: core.state_json(),
                    });
                }
            }
            let state = core.state();
            state.document.as_ref().map(|d| (d.id.clone(), state.page))
        };
        for change in changes {
            self.shared.notify(change);
        }
        if current.is_some() && current != self.shown_page {
            self.shown_page = current.clone();
            if let Some((_, page)) = current {
                self.fetch_page(page);
            }
        }
    }

    /// Fetches page `page` of the shown document in the background.
    fn fetch_page(&self, page: u32) {
        self.shared.clone().fetch_page(self.http.clone(), page);
    }
}
