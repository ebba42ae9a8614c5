//! One meeting as the focus sees it: who is in the room, who presents, the sequence counter
//! and the state the events built. Pure logic: stanzas in, stanzas out; the task in `mod.rs`
//! does the sending, so this never touches a connection.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use minidom::Element;
use tokio::sync::oneshot;
use tokio_xmpp::jid::{BareJid, Jid};

use super::floor::Floor;
use super::stanzas::{self, n};
use super::sync::{Reject, Request, Sync};
use super::Shared;
use crate::conference::chat::{self, ChatLine};
use crate::conference::meetings::{Meeting, MeetingNumber};
use crate::conference::ConferenceError;
use crate::store::MeetingStore;
use crate::xmpp::ratelimit::RateLimiter;
use lectern_protocol::{Payload, Presenter, NS};

pub enum Out {
    Send(Element),
    /// Submit the owner form; the answer comes back as `Command::Configured`.
    Configure {
        number: MeetingNumber,
        room: BareJid,
        form: Element,
    },
}

#[derive(Debug, PartialEq)]
enum Phase {
    Idle,
    Joining,
    Configuring,
    Ready,
}

/// Presenter requests allowed per second on average, and in a burst: generous for ink
/// (a stroke extends ~30 times a second) and audio, tight enough to stop a flood.
const RATE: u64 = 120;
const BURST: u64 = 400;
/// Audio batches per second on average and in a burst: its own budget, so a burst of ink
/// never cuts the voice (the web client sends ~17 a second per speaker, so this carries the
/// presenter and a few others with the floor).
const AUDIO_RATE: u64 = 100;
const AUDIO_BURST: u64 = 200;
/// Most events one catch-up answer carries.
const MAX_CATCH_UP: usize = 500;

pub struct MeetingFocus {
    meeting: Meeting,
    room: BareJid,
    phase: Phase,
    waiting: Vec<oneshot::Sender<Result<(), ConferenceError>>>,
    sync: Sync,
    seq: u64,
    presenter: Option<String>,
    /// Occupant nick → real JID, as the room shows it to the focus (an owner).
    occupants: HashMap<String, Option<Jid>>,
    /// Said hello with the host key before their room presence reached the focus.
    pending_presenter: Option<Jid>,
    lan: HashSet<Jid>,
    rate: RateLimiter,
    audio_rate: RateLimiter,
    floor: Floor,
    /// The presenter-clock time of the last event and when the focus committed it: the
    /// focus has no clock of its own, so chat lines are stamped from this.
    clock: Option<(u64, Instant)>,
}

impl MeetingFocus {
    /// Rebuilds a meeting from its archive, so a restarted focus continues the sequence.
    pub fn restore(
        meeting: Meeting,
        room: BareJid,
        store: &dyn MeetingStore,
    ) -> Result<Self, ConferenceError> {
        // A deleted recording took its events, not its numbers or the state they led to: the
        // sequence goes on from that state.
        let mut seq = meeting.recording.deleted_through;
        let mut sync = match &meeting.recording.start {
            Some(start) => Sync::from_snapshot(start).map_err(|_| {
                ConferenceError::Corrupt(format!("{} recording start", meeting.number))
            })?,
            None => Sync::starting_after(seq),
        };
        loop {
            let batch = store.events(meeting.number.as_str(), seq, 1000)?;
            if batch.is_empty() {
                break;
            }
            for (s, record) in batch {
                sync.replay(&record).map_err(|_| {
                    ConferenceError::Corrupt(format!("{} event {s}", meeting.number))
                })?;
                seq = s;
            }
        }
        let presenter = sync.presenter();
        Ok(Self {
            meeting,
            room,
            phase: Phase::Idle,
            waiting: Vec::new(),
            sync,
            seq,
            presenter,
            occupants: HashMap::new(),
            pending_presenter: None,
            lan: HashSet::new(),
            rate: RateLimiter::new(RATE, BURST),
            audio_rate: RateLimiter::new(AUDIO_RATE, AUDIO_BURST),
            floor: Floor::default(),
            clock: None,
        })
    }

    /// The join presence after a (re)connect; occupants are learnt afresh.
    pub fn rejoin(&mut self) -> Element {
        self.phase = Phase::Joining;
        self.occupants.clear();
        stanzas::join(&self.room)
    }

    /// Queues `reply` until the room is ready; returns a join presence if one is needed now.
    pub fn wait_ready(
        &mut self,
        reply: oneshot::Sender<Result<(), ConferenceError>>,
        online: bool,
    ) -> Option<Element> {
        if self.phase == Phase::Ready {
            let _ = reply.send(Ok(()));
            return None;
        }
        self.waiting.push(reply);
        (self.phase == Phase::Idle && online).then(|| self.rejoin())
    }

    pub fn configured(&mut self, result: Result<(), String>) {
        match result {
            Ok(()) => self.ready(),
            Err(e) => {
                tracing::warn!(room = %self.room, "room configuration refused: {e}");
                self.phase = Phase::Idle;
                for w in self.waiting.drain(..) {
                    let _ = w.send(Err(ConferenceError::FocusUnavailable(format!(
                        "the XMPP server refused the room configuration: {e}"
                    ))));
                }
            }
        }
    }

    fn ready(&mut self) {
        self.phase = Phase::Ready;
        for w in self.waiting.drain(..) {
            let _ = w.send(Ok(()));
        }
    }

    pub fn handle(&mut self, el: &Element, from: &Jid, shared: &Shared) -> Vec<Out> {
        match el.name() {
            "presence" => self.presence(el, from, shared),
            "message" if from.to_bare() == self.room => self.room_message(el, from, shared),
            "message" => self.message(el, from, shared),
            "iq" => match el.attr("type") {
                Some("get") | Some("set") => self.query(el, from, shared),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn presence(&mut self, el: &Element, from: &Jid, shared: &Shared) -> Vec<Out> {
        if from.to_bare() != self.room {
            return Vec::new();
        }
        let Some(nick) = from.resource().map(|r| r.as_str().to_string()) else {
            return Vec::new();
        };
        let unavailable = el.attr("type") == Some("unavailable");
        let codes = stanzas::status_codes(el);
        if el.attr("type") == Some("error") {
            tracing::warn!(room = %self.room, "focus presence error: {}", String::from(el));
            return Vec::new();
        }
        if codes.contains(&110) {
            return self.own_presence(unavailable, &codes, &shared.focus_jid);
        }
        if unavailable {
            self.occupants.remove(&nick);
            self.floor.set(&nick, false);
            return Vec::new();
        }
        let real = stanzas::real_jid(el);
        self.occupants.insert(nick.clone(), real.clone());
        match (&self.pending_presenter, real) {
            (Some(pending), Some(real)) if *pending == real => {
                self.pending_presenter = None;
                self.emit(presenter_payload(&nick), shared)
            }
            _ => Vec::new(),
        }
    }

    fn own_presence(&mut self, unavailable: bool, codes: &[u16], focus: &str) -> Vec<Out> {
        if unavailable {
            // Kicked, or the room was destroyed: the next join sets it up again.
            self.phase = Phase::Idle;
            return Vec::new();
        }
        if self.phase != Phase::Joining {
            return Vec::new();
        }
        if codes.contains(&201) {
            self.phase = Phase::Configuring;
            return vec![Out::Configure {
                number: self.meeting.number.clone(),
                room: self.room.clone(),
                form: stanzas::room_config(&self.meeting.title, focus),
            }];
        }
        self.ready();
        Vec::new()
    }

    fn nick_of(&self, real: &Jid) -> Option<&str> {
        self.occupants
            .iter()
            .find(|(_, r)| r.as_ref() == Some(real))
            .map(|(n, _)| n.as_str())
    }

    fn message(&mut self, el: &Element, from: &Jid, shared: &Shared) -> Vec<Out> {
        if let Some(done) = el.get_child("preloaded", NS) {
            return self.preloaded(done, from);
        }
        let Some(event) = el.get_child("event", NS) else {
            return Vec::new();
        };
        if el.attr("type") == Some("error") {
            return Vec::new();
        }
        match self.request(event, from, shared) {
            Ok(outs) => outs,
            Err(reject) => vec![Out::Send(stanzas::message_error(
                el,
                from,
                reject.condition(),
                &reject.to_string(),
            ))],
        }
    }

    fn request(
        &mut self,
        event: &Element,
        from: &Jid,
        shared: &Shared,
    ) -> Result<Vec<Out>, Reject> {
        let sender = self
            .nick_of(from)
            .ok_or_else(|| Reject::Forbidden("you are not in this meeting's room".into()))?
            .to_string();
        let presenting = self.presenter.as_deref() == Some(sender.as_str());
        let speaking = event.get_child("audio", NS).is_some() && self.floor.may_speak(&sender);
        if !presenting && !speaking {
            return Err(Reject::Forbidden("only the presenter may send this".into()));
        }
        let mut request = Request::parse(event)?;
        if request.is_audio() {
            self.audio_allowed()?;
            take_token(&mut self.audio_rate)?;
            request.set_speaker(&sender);
        } else {
            take_token(&mut self.rate)?;
        }
        if let Some(nick) = request.presenter_nick() {
            if !self.occupants.contains_key(nick) {
                return Err(Reject::BadRequest(format!(
                    "nick: {nick} is not in the room"
                )));
            }
        }
        if let Some(id) = request.document_id() {
            let manifest = shared
                .documents
                .manifest(&id)
                .map_err(|_| Reject::NotFound(format!("document {id} does not exist")))?;
            request.use_manifest(&manifest)?;
        }
        self.sync.check(&request)?;
        let shared_document = request.document_id();
        let mut outs = self.commit(request, shared)?;
        if let Some(document) = shared_document {
            outs.extend(self.preloads(&document));
        }
        Ok(outs)
    }

    /// Keeps a chat line for the recording, stamped with the presenter clock's estimate of now.
    fn room_message(&mut self, el: &Element, from: &Jid, shared: &Shared) -> Vec<Out> {
        if !self.meeting.recording.enabled {
            return Vec::new();
        }
        let nick = from.resource().map(|r| r.as_str());
        let Some((nick, body)) = chat::said(el, nick, stanzas::FOCUS_NICK) else {
            return Vec::new();
        };
        let t = match self.clock {
            Some((t, at)) => t + at.elapsed().as_millis() as u64,
            None => self.sync.last_t(),
        };
        let line = ChatLine { t, nick, body };
        let record = serde_json::to_vec(&line).expect("a chat line serializes");
        if let Err(e) = shared
            .store
            .append_chat(self.meeting.number.as_str(), &record)
        {
            tracing::error!(room = %self.room, "chat line not recorded: {e}");
        }
        Vec::new()
    }

    /// Sequences, archives, applies and re-emits. Nothing goes out unless the archive
    /// has it: an acknowledged event survives a crash.
    fn commit(&mut self, request: Request, shared: &Shared) -> Result<Vec<Out>, Reject> {
        let seq = self.seq + 1;
        let event = request.sequenced(seq);
        let element = event.to_element();
        let record = String::from(&element);
        shared
            .store
            .append_event(self.meeting.number.as_str(), seq, record.as_bytes())
            .map_err(|e| Reject::Internal(format!("archive: {e}")))?;
        self.seq = seq;
        self.clock = Some((event.t, Instant::now()));
        self.sync.apply(&event);
        let mut outs = vec![Out::Send(stanzas::groupchat(&self.room, element))];
        if matches!(event.payload, Payload::Presenter(_)) {
            // A new presenter decides afresh who else may speak.
            let revoked = self.floor.clear();
            outs.extend(
                revoked
                    .iter()
                    .filter_map(|nick| self.floor_notice(nick, false)),
            );
        }
        self.presenter = self.sync.presenter();
        Ok(outs)
    }

    /// A focus-originated event (presenter change), stamped with the presenter clock's
    /// latest time since the focus has no clock of its own.
    fn emit(&mut self, payload: Payload, shared: &Shared) -> Vec<Out> {
        let request = Request::from_focus(payload, self.sync.last_t());
        self.commit(request, shared).unwrap_or_else(|e| {
            tracing::error!(room = %self.room, "focus event not committed: {e}");
            Vec::new()
        })
    }

    fn audio_allowed(&self) -> Result<(), Reject> {
        if self.meeting.audio {
            Ok(())
        } else {
            Err(Reject::NotAllowed(
                "audio is turned off in this meeting".into(),
            ))
        }
    }

    /// Audio the server plays into the meeting (a shared file), on the presenter clock at `t`.
    pub fn inject_audio(
        &mut self,
        audio: lectern_protocol::Audio,
        t: u64,
        shared: &Shared,
    ) -> Result<Vec<Out>, ConferenceError> {
        if !self.meeting.audio {
            return Err(ConferenceError::AudioOff);
        }
        let request = Request::from_focus(Payload::Audio(audio), t);
        self.commit(request, shared)
            .map_err(|e| ConferenceError::BadRequest(e.to_string()))
    }

    /// Tells LAN attendees present to fetch the whole current document.
    fn preloads(&self, document: &str) -> Vec<Out> {
        let presenter = self.presenter_jid();
        self.lan
            .iter()
            .filter(|jid| self.nick_of(jid).is_some() && presenter.as_ref() != Some(*jid))
            .map(|jid| Out::Send(stanzas::direct(jid, self.preload(document))))
            .collect()
    }

    fn preload(&self, document: &str) -> Element {
        Element::builder("preload", NS)
            .attr(n("meeting"), self.meeting.number.as_str())
            .attr(n("document"), document)
            .attr(n("url"), format!("/api/documents/{document}/package"))
            .build()
    }

    /// An attendee verified a package: the presenter's view shows it.
    fn preloaded(&self, done: &Element, from: &Jid) -> Vec<Out> {
        let (Some(nick), Some(presenter)) = (self.nick_of(from), self.presenter_jid()) else {
            return Vec::new();
        };
        let notice = Element::builder("preloaded", NS)
            .attr(n("nick"), nick)
            .attr(n("document"), done.attr("document").unwrap_or_default())
            .build();
        vec![Out::Send(stanzas::direct(&presenter, notice))]
    }

    /// The presenter gives (`speak='true'`) or takes the floor; the speaker is told directly.
    fn give_floor(
        &mut self,
        query: &Element,
        from: &Jid,
    ) -> Result<(Option<Element>, Vec<Out>), Reject> {
        if self.nick_of(from).is_none() || self.nick_of(from) != self.presenter.as_deref() {
            return Err(Reject::Forbidden(
                "only the presenter gives the floor".into(),
            ));
        }
        self.audio_allowed()?;
        let nick = query
            .attr("nick")
            .filter(|nick| self.occupants.contains_key(*nick))
            .ok_or_else(|| Reject::BadRequest("nick: not in the room".into()))?
            .to_string();
        let speak = match query.attr("speak") {
            Some("true") | Some("1") => true,
            Some("false") | Some("0") => false,
            _ => return Err(Reject::BadRequest("speak: true or false".into())),
        };
        let mut outs = Vec::new();
        if self.floor.set(&nick, speak) {
            outs.extend(self.floor_notice(&nick, speak));
        }
        Ok((None, outs))
    }

    fn floor_notice(&self, nick: &str, speak: bool) -> Option<Out> {
        let jid = self.occupants.get(nick)?.as_ref()?;
        let notice = Element::builder("floor", NS)
            .attr(n("meeting"), self.meeting.number.as_str())
            .attr(n("speak"), speak.to_string())
            .build();
        Some(Out::Send(stanzas::direct(jid, notice)))
    }

    fn presenter_jid(&self) -> Option<Jid> {
        self.occupants.get(self.presenter.as_deref()?)?.clone()
    }

    fn query(&mut self, iq: &Element, from: &Jid, shared: &Shared) -> Vec<Out> {
        let Some(payload) = iq.children().find(|c| c.ns() == NS) else {
            return vec![Out::Send(stanzas::iq_error(
                iq,
                from,
                "service-unavailable",
                "",
            ))];
        };
        let answer = match (iq.attr("type"), payload.name()) {
            (Some("set"), "hello") => self.hello(payload, from, shared),
            (Some("get"), "snapshot") => self.in_room(from).map(|()| {
                (
                    Some(self.sync.snapshot(self.meeting.number.as_str())),
                    Vec::new(),
                )
            }),
            (Some("get"), "events") => self
                .in_room(from)
                .and_then(|()| self.events(payload, shared)),
            (Some("set"), "floor") => self.give_floor(payload, from),
            _ => Err(Reject::BadRequest(format!(
                "unknown query {}",
                payload.name()
            ))),
        };
        match answer {
            Ok((result, mut outs)) => {
                outs.insert(0, Out::Send(stanzas::iq_result(iq, from, result)));
                outs
            }
            Err(reject) => vec![Out::Send(stanzas::iq_error(
                iq,
                from,
                reject.condition(),
                &reject.to_string(),
            ))],
        }
    }

    fn in_room(&self, from: &Jid) -> Result<(), Reject> {
        match self.nick_of(from) {
            Some(_) => Ok(()),
            None => Err(Reject::Forbidden("join the meeting's room first".into())),
        }
    }

    fn events(
        &self,
        query: &Element,
        shared: &Shared,
    ) -> Result<(Option<Element>, Vec<Out>), Reject> {
        let since: u64 = query
            .attr("since")
            .unwrap_or("0")
            .parse()
            .map_err(|_| Reject::BadRequest("since: not a number".into()))?;
        let max = query
            .attr("max")
            .and_then(|m| m.parse().ok())
            .unwrap_or(MAX_CATCH_UP)
            .clamp(1, MAX_CATCH_UP);
        let records = shared
            .store
            .events(self.meeting.number.as_str(), since, max)
            .map_err(|e| Reject::Internal(format!("archive: {e}")))?;
        let last = records
            .last()
            .map(|(s, _)| *s)
            .unwrap_or(since.min(self.seq));
        let mut answer = Element::builder("events", NS)
            .attr(n("meeting"), self.meeting.number.as_str())
            .attr(n("last"), last.to_string())
            .attr(n("complete"), (last >= self.seq).to_string());
        for (seq, record) in records {
            let event: Element = std::str::from_utf8(&record)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Reject::Internal(format!("archive: event {seq} is corrupt")))?;
            answer = answer.append(event);
        }
        Ok((Some(answer.build()), Vec::new()))
    }

    fn hello(
        &mut self,
        hello: &Element,
        from: &Jid,
        shared: &Shared,
    ) -> Result<(Option<Element>, Vec<Out>), Reject> {
        let ticket = hello
            .attr("ticket")
            .and_then(|t| shared.tickets.check(t, &self.meeting.number))
            .ok_or_else(|| Reject::NotAuthorized("unknown or expired ticket".into()))?;
        let mut outs = Vec::new();
        // The presenter has the document already; only attendees pre-load.
        if ticket.lan && !ticket.presenter {
            self.lan.insert(from.clone());
            if let Some(document) = self.sync.document() {
                outs.push(Out::Send(stanzas::direct(from, self.preload(&document))));
            }
        }
        if ticket.presenter {
            match self.nick_of(from).map(str::to_string) {
                Some(nick) if self.presenter.as_deref() != Some(&nick) => {
                    outs.extend(self.emit(presenter_payload(&nick), shared));
                }
                Some(_) => {}
                None => self.pending_presenter = Some(from.clone()),
            }
        }
        let answer = Element::builder("hello", NS)
            .attr(n("meeting"), self.meeting.number.as_str())
            .attr(
                n("role"),
                if ticket.presenter {
                    "presenter"
                } else {
                    "attendee"
                },
            )
            .attr(n("lan"), ticket.lan.to_string())
            .attr(n("audio"), self.meeting.audio.to_string())
            .attr(
                n("floor"),
                self.nick_of(from)
                    .is_some_and(|nick| self.floor.may_speak(nick))
                    .to_string(),
            )
            .build();
        Ok((Some(answer), outs))
    }
}

fn take_token(bucket: &mut RateLimiter) -> Result<(), Reject> {
    if bucket.try_take(1, Instant::now()) {
        Ok(())
    } else {
        Err(Reject::Rate)
    }
}

fn presenter_payload(nick: &str) -> Payload {
    Payload::Presenter(Presenter {
        nick: nick.to_string(),
    })
}

/// A stanza for no meeting the focus runs: queries get an error, the rest is dropped.
pub fn unrouted(el: &Element, from: &Jid) -> Vec<Out> {
    if el.name() != "iq" || !matches!(el.attr("type"), Some("get") | Some("set")) {
        return Vec::new();
    }
    let ping = el.get_child("ping", crate::xmpp::xml::NS_PING).is_some();
    if ping {
        return vec![Out::Send(stanzas::iq_result(el, from, None))];
    }
    let lectern = el.children().any(|c| c.ns() == NS);
    let (condition, text) = if lectern {
        ("item-not-found", "no such meeting")
    } else {
        ("service-unavailable", "")
    };
    vec![Out::Send(stanzas::iq_error(el, from, condition, text))]
}
