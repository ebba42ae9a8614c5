//! The focus: one XMPP client connection that owns every meeting room. It creates and
//! configures rooms, learns who presents, and turns the presenter's requests into sequenced,
//! archived events in the room. Room logic lives in [`meeting`]; this file only moves
//! stanzas between the client stream and it.

mod connector;
mod floor;
mod link;
mod meeting;
mod stanzas;
mod sync;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use minidom::Element;
use tokio::sync::{mpsc, oneshot};
use tokio_xmpp::jid::{BareJid, FullJid, Jid};
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::message::Message;
use tokio_xmpp::parsers::presence::Presence;
use tokio_xmpp::xmlstream::{FallibleStreamElement, ReadError, XmppStreamElement};
use tokio_xmpp::Stanza;

use super::meetings::{Meeting, MeetingNumber};
use super::tickets::Tickets;
use super::{ConferenceError, Endpoints};
use crate::documents::Documents;
use crate::store::MeetingStore;
use crate::xmpp::Xmpp;
use connector::Connector;
use link::Stream;
use meeting::{MeetingFocus, Out};

pub use connector::Transport;

/// What the focus needs besides its connection.
pub struct Shared {
    /// The focus's own full JID, announced in every room's description.
    pub focus_jid: String,
    pub store: Arc<dyn MeetingStore>,
    pub tickets: Arc<Tickets>,
    pub documents: Arc<Documents>,
}

pub enum FocusTarget {
    Embedded { xmpp: Arc<Xmpp>, password: String },
    Tcp { addr: String, password: String },
}

enum Command {
    EnsureRoom(Meeting, oneshot::Sender<Result<(), ConferenceError>>),
    InjectAudio {
        number: MeetingNumber,
        t: u64,
        audio: lectern_protocol::Audio,
        reply: oneshot::Sender<Result<(), ConferenceError>>,
    },
}

/// The HTTP side's handle on the focus task.
pub struct Focus {
    tx: mpsc::Sender<Command>,
}

/// How long a join waits for the focus to set a room up.
const ROOM_TIMEOUT: Duration = Duration::from_secs(10);
/// Most stanzas handled before one archive sync and one round of sends.
const BATCH: usize = 64;
/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Focus {
    pub fn spawn(
        target: FocusTarget,
        endpoints: &Endpoints,
        shared: Shared,
    ) -> Result<Self, ConferenceError> {
        let jid: FullJid = endpoints
            .focus_jid
            .parse()
            .map_err(|e| ConferenceError::Config(format!("focus JID: {e}")))?;
        let (connector, password) = match target {
            FocusTarget::Embedded { xmpp, password } => (Connector::Embedded(xmpp), password),
            FocusTarget::Tcp { addr, password } => (Connector::Tcp(addr), password),
        };
        let (tx, rx) = mpsc::channel(64);
        let task = Task {
            connector,
            password,
            jid,
            muc_domain: endpoints.muc_domain.clone(),
            shared,
            meetings: HashMap::new(),
            online: false,
        };
        tokio::spawn(task.run(rx));
        Ok(Self { tx })
    }

    /// Returns once the meeting's room exists, is configured and has the focus in it.
    pub async fn ensure_room(&self, meeting: &Meeting) -> Result<(), ConferenceError> {
        let (reply, answer) = oneshot::channel();
        let unavailable = |why: &str| ConferenceError::FocusUnavailable(why.to_string());
        self.tx
            .send(Command::EnsureRoom(meeting.clone(), reply))
            .await
            .map_err(|_| unavailable("the focus has stopped"))?;
        match tokio::time::timeout(ROOM_TIMEOUT, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(unavailable("the focus has stopped")),
            Err(_) => Err(unavailable("timed out setting up the meeting room")),
        }
    }
}

impl Focus {
    /// Sequences, archives and emits server-played audio (see `MeetingFocus::inject_audio`).
    /// The meeting's room must have been set up (`ensure_room`).
    pub async fn inject_audio(
        &self,
        number: &MeetingNumber,
        t: u64,
        audio: lectern_protocol::Audio,
    ) -> Result<(), ConferenceError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || ConferenceError::FocusUnavailable("the focus has stopped".into());
        let command = Command::InjectAudio {
            number: number.clone(),
            t,
            audio,
            reply,
        };
        self.tx.send(command).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

struct Task {
    connector: Connector,
    password: String,
    jid: FullJid,
    muc_domain: String,
    shared: Shared,
    meetings: HashMap<MeetingNumber, MeetingFocus>,
    online: bool,
}

impl Task {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut backoff = Duration::from_millis(250);
        loop {
            match link::login(&self.connector, &self.jid, &self.password).await {
                Ok((stream, bound)) => {
                    tracing::info!(jid = %bound, "focus online");
                    backoff = Duration::from_millis(250);
                    if !self.serve(stream, &mut rx).await {
                        return;
                    }
                    tracing::warn!("focus disconnected; reconnecting");
                }
                Err(e) => tracing::warn!("focus cannot log in: {e}"),
            }
            // Joins that arrive while offline wait for the next connection.
            let retry = tokio::time::sleep(backoff);
            tokio::pin!(retry);
            loop {
                tokio::select! {
                    _ = &mut retry => break,
                    command = rx.recv() => match command {
                        Some(c) => { self.command(c); }
                        None => return,
                    },
                }
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Runs one connection; returns false when the server is shutting down (no more
    /// commands will come), true when the connection was lost.
    async fn serve(&mut self, mut stream: Stream, rx: &mut mpsc::Receiver<Command>) -> bool {
        self.online = true;
        // The server forgot our rooms with the old connection: join every one again.
        let joins: Vec<Element> = self.meetings.values_mut().map(|m| m.rejoin()).collect();
        let alive = self
            .write(&mut stream, joins.into_iter().map(Out::Send).collect())
            .await;
        let keep = alive
            && loop {
                tokio::select! {
                    item = stream.next() => {
                        // Take whatever else has already arrived too, so one disk sync
                        // covers the whole batch of events.
                        let mut outs = Vec::new();
                        let mut lost = false;
                        let mut next = Some(item);
                        let mut taken = 0;
                        while let Some(item) = next.take() {
                            match self.read(item) {
                                Some(more) => outs.extend(more),
                                None => {
                                    lost = true;
                                    break;
                                }
                            }
                            taken += 1;
                            if taken < BATCH {
                                next = stream.next().now_or_never();
                            }
                        }
                        if !outs.is_empty() {
                            if let Err(e) = self.shared.store.sync_events() {
                                // Sending would acknowledge events a crash could lose.
                                tracing::error!("focus archive sync failed; not sending: {e}");
                                outs.clear();
                            }
                        }
                        if !self.write(&mut stream, outs).await || lost {
                            break true;
                        }
                    }
                    command = rx.recv() => match command {
                        Some(c) => {
                            let mut outs = self.command(c);
                            if !outs.is_empty() {
                                if let Err(e) = self.shared.store.sync_events() {
                                    tracing::error!("focus archive sync failed; not sending: {e}");
                                    outs.clear();
                                }
                            }
                            if !self.write(&mut stream, outs).await {
                                break true;
                            }
                        }
                        None => break false,
                    },
                }
            };
        self.online = false;
        keep
    }

    /// One item from the stream: what to send, or `None` when the connection is over.
    fn read(&mut self, item: Option<Result<FallibleStreamElement, ReadError>>) -> Option<Vec<Out>> {
        match item {
            Some(Ok(FallibleStreamElement::Ok(XmppStreamElement::Stanza(stanza)))) => {
                Some(self.stanza(stanza))
            }
            Some(Ok(FallibleStreamElement::Ok(XmppStreamElement::StreamError(e)))) => {
                tracing::warn!("focus stream error: {e:?}");
                None
            }
            Some(Ok(FallibleStreamElement::Ok(_))) => Some(Vec::new()),
            Some(Ok(FallibleStreamElement::Err(e))) => {
                tracing::warn!("focus skipped an invalid stanza: {e}");
                Some(Vec::new())
            }
            Some(Err(ReadError::SoftTimeout)) => Some(vec![Out::Send(stanzas::ping(&self.jid))]),
            Some(Err(ReadError::ParseError(e))) => {
                tracing::warn!("focus skipped an unparseable stanza: {e}");
                Some(Vec::new())
            }
            Some(Err(e)) => {
                tracing::warn!("focus read: {e}");
                None
            }
            None => None,
        }
    }

    fn command(&mut self, command: Command) -> Vec<Out> {
        match command {
            Command::EnsureRoom(meeting, reply) => self.ensure_room(meeting, reply),
            Command::InjectAudio {
                number,
                t,
                audio,
                reply,
            } => {
                let Some(m) = self.meetings.get_mut(&number) else {
                    let _ = reply.send(Err(ConferenceError::UnknownMeeting));
                    return Vec::new();
                };
                match m.inject_audio(audio, t, &self.shared) {
                    Ok(outs) => {
                        let _ = reply.send(Ok(()));
                        outs
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        Vec::new()
                    }
                }
            }
        }
    }

    fn ensure_room(
        &mut self,
        meeting: Meeting,
        reply: oneshot::Sender<Result<(), ConferenceError>>,
    ) -> Vec<Out> {
        let number = meeting.number.clone();
        if !self.meetings.contains_key(&number) {
            let room: BareJid = match format!("{number}@{}", self.muc_domain).parse() {
                Ok(room) => room,
                Err(e) => {
                    let _ = reply.send(Err(ConferenceError::Config(format!("room JID: {e}"))));
                    return Vec::new();
                }
            };
            match MeetingFocus::restore(meeting, room, self.shared.store.as_ref()) {
                Ok(m) => {
                    self.meetings.insert(number.clone(), m);
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                    return Vec::new();
                }
            }
        }
        let m = self.meetings.get_mut(&number).expect("inserted above");
        m.wait_ready(reply, self.online)
            .map(Out::Send)
            .into_iter()
            .collect()
    }

    fn stanza(&mut self, stanza: Stanza) -> Vec<Out> {
        let (el, from) = match stanza {
            Stanza::Message(m) => {
                let from = m.from.clone();
                (Element::from(m), from)
            }
            Stanza::Presence(p) => {
                let from = p.from.clone();
                (Element::from(p), from)
            }
            Stanza::Iq(iq) => {
                let from = iq.from().cloned();
                (Element::from(iq), from)
            }
        };
        tracing::trace!(stanza = %String::from(&el), "focus received");
        let Some(from) = from else {
            return Vec::new();
        };
        if let Some(number) = stanzas::configure_answer(&el) {
            if let Some(m) = self.meetings.get_mut(&number) {
                m.configured(stanzas::iq_outcome(&el));
            }
            return Vec::new();
        }
        match self.route(&el, &from) {
            Some(number) => {
                let m = self
                    .meetings
                    .get_mut(&number)
                    .expect("routed to a known meeting");
                m.handle(&el, &from, &self.shared)
            }
            None => meeting::unrouted(&el, &from),
        }
    }

    /// Which meeting a stanza concerns: room stanzas by their room, direct ones by the
    /// `meeting` attribute of their Lectern payload.
    fn route(&self, el: &Element, from: &Jid) -> Option<MeetingNumber> {
        let number = if from.domain().as_str() == self.muc_domain {
            from.node()?.as_str().to_string()
        } else {
            el.children()
                .find(|c| c.ns() == lectern_protocol::NS)?
                .attr("meeting")?
                .to_string()
        };
        let number = MeetingNumber::parse(&number).ok()?;
        self.meetings.contains_key(&number).then_some(number)
    }

    /// Writes every outgoing stanza; false if the connection failed.
    async fn write(&mut self, stream: &mut Stream, outs: Vec<Out>) -> bool {
        for out in outs {
            let el = match out {
                Out::Send(el) => el,
                Out::Configure { number, room, form } => stanzas::configure(&number, &room, form),
            };
            tracing::trace!(stanza = %String::from(&el), "focus sends");
            let stanza = match el.name() {
                "message" => Message::try_from(el)
                    .map(Stanza::from)
                    .map_err(|e| e.to_string()),
                "presence" => Presence::try_from(el)
                    .map(Stanza::from)
                    .map_err(|e| e.to_string()),
                "iq" => Iq::try_from(el)
                    .map(Stanza::from)
                    .map_err(|e| e.to_string()),
                other => Err(format!("not a stanza: {other}")),
            };
            match stanza {
                Ok(stanza) => {
                    if let Err(e) = link::send(stream, stanza).await {
                        tracing::warn!("focus: {e}");
                        return false;
                    }
                }
                Err(e) => tracing::error!("focus built an invalid stanza: {e}"),
            }
        }
        true
    }
}
