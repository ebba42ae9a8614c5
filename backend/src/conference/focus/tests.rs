//! The per-meeting focus logic as transcripts: stanzas in, stanzas out, no connection.

use std::sync::Arc;

use minidom::Element;
use tokio::sync::oneshot;
use tokio_xmpp::jid::{BareJid, Jid};

use super::meeting::{MeetingFocus, Out};
use super::Shared;
use crate::conference::meetings::Meetings;
use crate::conference::tickets::{Ticket, Tickets};
use crate::config::Config;
use crate::documents::{Documents, Limits};
use crate::store::{MeetingStore, MemoryStore};

struct Fixture {
    focus: MeetingFocus,
    number: String,
    room: String,
    shared: Shared,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn el(xml: &str) -> Element {
    xml.parse().unwrap_or_else(|e| panic!("{xml}: {e}"))
}

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn sent(outs: &[Out]) -> Vec<String> {
    outs.iter()
        .map(|o| match o {
            Out::Send(e) => String::from(e),
            Out::Configure { form, .. } => format!("configure {}", String::from(form)),
        })
        .collect()
}

fn fixture(label: &str) -> Fixture {
    fixture_with_audio(label, true)
}

fn fixture_with_audio(label: &str, audio: bool) -> Fixture {
    let dir = std::env::temp_dir().join(format!("lectern-focus-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store: Arc<dyn MeetingStore> = Arc::new(MemoryStore::default());
    let meetings = Meetings::open(store.clone()).unwrap();
    let (meeting, _) = meetings.create("Review", audio, true).unwrap();
    let config = Config {
        office_workers: 0,
        ..Config::default()
    };
    let office = crate::documents::office::Office::start(&config);
    let documents = Documents::open(&dir, Limits::from_config(&config), office).unwrap();
    let number = meeting.number.to_string();
    let room = format!("{number}@conference.localhost");
    let bare: BareJid = room.parse().unwrap();
    let focus = MeetingFocus::restore(meeting, bare, store.as_ref()).unwrap();
    Fixture {
        focus,
        number,
        room,
        shared: Shared {
            focus_jid: "focus@localhost/focus".into(),
            store,
            tickets: Arc::new(Tickets::default()),
            documents: Arc::new(documents),
        },
        _dir: TempDir(dir),
    }
}

impl Fixture {
    fn handle(&mut self, xml: &str) -> Vec<String> {
        let stanza = el(xml);
        let from = jid(stanza.attr("from").unwrap());
        sent(&self.focus.handle(&stanza, &from, &self.shared))
    }

    fn occupant(&mut self, nick: &str, real: &str) -> Vec<String> {
        let room = self.room.clone();
        self.handle(&format!(
            "<presence xmlns='jabber:client' from='{room}/{nick}'><x xmlns='http://jabber.org/protocol/muc#user'><item jid='{real}' role='participant' affiliation='none'/></x></presence>"
        ))
    }

    fn hello(&mut self, real: &str, presenter: bool) -> Vec<String> {
        let number = self.number.clone();
        let ticket = self.shared.tickets.issue(Ticket {
            meeting: crate::conference::meetings::MeetingNumber::parse(&number).unwrap(),
            name: "x".into(),
            presenter,
            lan: false,
        });
        self.handle(&format!(
            "<iq xmlns='jabber:client' type='set' id='h' from='{real}'><hello xmlns='urn:lectern:sync:1' meeting='{number}' ticket='{ticket}'/></iq>"
        ))
    }

    fn request(&mut self, real: &str, payload: &str) -> Vec<String> {
        let number = self.number.clone();
        self.handle(&format!(
            "<message xmlns='jabber:client' type='chat' id='r' from='{real}'><event xmlns='urn:lectern:sync:1' meeting='{number}' t='5'>{payload}</event></message>"
        ))
    }
}

#[test]
fn a_new_room_is_configured_before_joins_are_answered() {
    let mut f = fixture("configure");
    let (reply, mut answer) = oneshot::channel();
    let join = f.focus.wait_ready(reply, true).expect("a join presence");
    assert!(String::from(&join).contains(&format!("{}/focus", f.room)));
    let room = f.room.clone();
    let outs = f.handle(&format!(
        "<presence xmlns='jabber:client' from='{room}/focus'><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator' affiliation='owner'/><status code='201'/><status code='110'/></x></presence>"
    ));
    assert!(outs[0].starts_with("configure"), "{outs:?}");
    assert!(outs[0].contains("muc#roomconfig_whois"), "{outs:?}");
    assert!(outs[0].contains("focus=focus@localhost/focus"), "{outs:?}");
    assert!(
        answer.try_recv().is_err(),
        "no answer before the room is configured"
    );
    f.focus.configured(Ok(()));
    assert!(matches!(answer.try_recv(), Ok(Ok(()))));
}

#[test]
fn a_hello_before_the_presence_still_makes_the_presenter() {
    let mut f = fixture("pending");
    let outs = f.hello("ann@localhost/web", true);
    assert_eq!(
        outs.len(),
        1,
        "only the IQ answer until the occupant is known: {outs:?}"
    );
    assert!(outs[0].contains("role='presenter'"), "{outs:?}");
    let outs = f.occupant("Ann", "ann@localhost/web");
    assert_eq!(outs.len(), 1, "{outs:?}");
    assert!(outs[0].contains("type='groupchat'") && outs[0].contains("seq='1'"));
    assert!(outs[0].contains("<presenter nick='Ann'/>"), "{outs:?}");
}

#[test]
fn only_the_presenter_is_sequenced_and_only_valid_requests() {
    let mut f = fixture("requests");
    f.occupant("Ann", "ann@localhost/web");
    f.occupant("Bob", "bob@localhost/web");
    f.hello("ann@localhost/web", true);
    let forged = f.request("bob@localhost/web", "<pointer hide='true'/>");
    assert!(
        forged[0].contains("type='error'") && forged[0].contains("<forbidden"),
        "{forged:?}"
    );
    let stranger = f.request("eve@localhost/x", "<pointer hide='true'/>");
    assert!(stranger[0].contains("<forbidden"), "{stranger:?}");
    let no_document = f.request("ann@localhost/web", "<page n='1'/>");
    assert!(no_document[0].contains("<bad-request"), "{no_document:?}");
    let ok = f.request("ann@localhost/web", "<pointer hide='true'/>");
    assert!(
        ok[0].contains("seq='2'"),
        "gapless after the refusals: {ok:?}"
    );
    let archived = f.shared.store.events(&f.number, 0, 10).unwrap();
    assert_eq!(archived.iter().map(|e| e.0).collect::<Vec<_>>(), vec![1, 2]);
}

const AUDIO: &str =
    "<audio codec='opus' rate='48000' channels='1' ms='20'>/Hx+/g== /Hx+/g== /Hx+/g==</audio>";

fn presenter_and_attendee(f: &mut Fixture) {
    f.occupant("Ann", "ann@localhost/web");
    f.occupant("Bob", "bob@localhost/web");
    f.hello("ann@localhost/web", true);
}

#[test]
fn the_presenters_audio_is_sequenced_like_any_event_and_a_forged_one_is_not() {
    let mut f = fixture("audio");
    presenter_and_attendee(&mut f);
    let ok = f.request("ann@localhost/web", AUDIO);
    assert!(
        ok[0].contains("type='groupchat'") && ok[0].contains("seq='2'"),
        "{ok:?}"
    );
    assert!(
        ok[0].contains("/Hx+/g== /Hx+/g== /Hx+/g=="),
        "frames re-emitted: {ok:?}"
    );
    let forged = f.request("bob@localhost/web", AUDIO);
    assert!(forged[0].contains("<forbidden"), "{forged:?}");
    let archived = f.shared.store.events(&f.number, 1, 10).unwrap();
    assert_eq!(archived.len(), 1, "the audio is in the archive");
    assert!(String::from_utf8_lossy(&archived[0].1).contains("<audio"));
}

#[test]
fn bad_audio_gets_the_condition_the_spec_names() {
    let mut f = fixture("audio-bad");
    presenter_and_attendee(&mut f);
    let malformed = f.request(
        "ann@localhost/web",
        "<audio codec='opus' rate='48000' channels='1' ms='20'>not base64!</audio>",
    );
    assert!(malformed[0].contains("<bad-request"), "{malformed:?}");
    let eleven = ["AQID"; 11].join(" ");
    let oversize = f.request(
        "ann@localhost/web",
        &format!("<audio codec='opus' rate='48000' channels='1' ms='20'>{eleven}</audio>"),
    );
    assert!(oversize[0].contains("<resource-constraint"), "{oversize:?}");
    let ok = f.request("ann@localhost/web", AUDIO);
    assert!(ok[0].contains("seq='2'"), "refusals took no seq: {ok:?}");
}

#[test]
fn audio_has_its_own_budget_so_ink_floods_do_not_cut_the_voice() {
    let mut f = fixture("audio-rate");
    presenter_and_attendee(&mut f);
    let mut ink_refused = false;
    for _ in 0..500 {
        let out = f.request("ann@localhost/web", "<pointer hide='true'/>");
        ink_refused |= out[0].contains("<policy-violation");
    }
    assert!(ink_refused, "the ink budget ran out");
    let voice = f.request("ann@localhost/web", AUDIO);
    assert!(voice[0].contains("type='groupchat'"), "{voice:?}");
    let mut audio_refused = 0;
    for _ in 0..300 {
        let out = f.request("ann@localhost/web", AUDIO);
        audio_refused += usize::from(out[0].contains("<policy-violation"));
    }
    assert!(audio_refused > 0, "an audio flood is bounded too");
}

#[test]
fn a_meeting_without_audio_refuses_it_and_says_so_in_hello() {
    let mut f = fixture_with_audio("audio-off", false);
    f.occupant("Ann", "ann@localhost/web");
    let hello = f.hello("ann@localhost/web", true);
    assert!(hello[0].contains("audio='false'"), "{hello:?}");
    let refused = f.request("ann@localhost/web", AUDIO);
    assert!(refused[0].contains("<not-allowed"), "{refused:?}");
    let audio =
        lectern_protocol::Audio::opus(vec![vec![1, 2, 3]], 20, lectern_protocol::AudioSource::File);
    assert!(f.focus.inject_audio(audio, 10, &f.shared).is_err());
}

#[test]
fn server_played_audio_is_a_focus_event_at_the_given_time() {
    let mut f = fixture("audio-inject");
    presenter_and_attendee(&mut f);
    let audio =
        lectern_protocol::Audio::opus(vec![vec![1, 2, 3]], 20, lectern_protocol::AudioSource::File);
    let outs = sent(&f.focus.inject_audio(audio, 777, &f.shared).unwrap());
    assert!(
        outs[0].contains("seq='2'") && outs[0].contains("t='777'"),
        "{outs:?}"
    );
    assert!(outs[0].contains("source='file'"), "{outs:?}");
}

fn give_floor(f: &mut Fixture, from: &str, nick: &str, speak: bool) -> Vec<String> {
    let number = f.number.clone();
    f.handle(&format!(
        "<iq xmlns='jabber:client' type='set' id='fl' from='{from}'><floor xmlns='urn:lectern:sync:1' meeting='{number}' nick='{nick}' speak='{speak}'/></iq>"
    ))
}

#[test]
fn an_attendee_given_the_floor_speaks_on_the_same_path_and_only_speaks() {
    let mut f = fixture("floor");
    presenter_and_attendee(&mut f);
    let refused = f.request("bob@localhost/web", AUDIO);
    assert!(
        refused[0].contains("<forbidden"),
        "no floor yet: {refused:?}"
    );
    let not_yours = give_floor(&mut f, "bob@localhost/web", "Bob", true);
    assert!(not_yours[0].contains("<forbidden"), "{not_yours:?}");

    let given = give_floor(&mut f, "ann@localhost/web", "Bob", true);
    assert!(given[0].contains("type='result'"), "{given:?}");
    assert!(
        given[1].contains("to='bob@localhost/web'") && given[1].contains("speak='true'"),
        "Bob is told: {given:?}"
    );
    let claimed =
        "<audio codec='opus' rate='48000' channels='1' ms='20' speaker='Ann'>+P/+</audio>";
    let spoken = f.request("bob@localhost/web", claimed);
    assert!(
        spoken[0].contains("type='groupchat'") && spoken[0].contains("speaker='Bob'"),
        "{spoken:?}"
    );
    let turn = f.request("bob@localhost/web", "<pointer hide='true'/>");
    assert!(
        turn[0].contains("<forbidden"),
        "the floor is for voice only: {turn:?}"
    );
    let ann = f.request("ann@localhost/web", AUDIO);
    assert!(ann[0].contains("speaker='Ann'"), "{ann:?}");

    let taken = give_floor(&mut f, "ann@localhost/web", "Bob", false);
    assert!(taken[1].contains("speak='false'"), "{taken:?}");
    assert!(f.request("bob@localhost/web", AUDIO)[0].contains("<forbidden"));
}

#[test]
fn the_floor_ends_with_a_presenter_change_or_when_the_speaker_leaves() {
    let mut f = fixture("floor-ends");
    presenter_and_attendee(&mut f);
    f.occupant("Cem", "cem@localhost/web");
    give_floor(&mut f, "ann@localhost/web", "Bob", true);
    give_floor(&mut f, "ann@localhost/web", "Cem", true);
    let room = f.room.clone();
    f.handle(&format!(
        "<presence xmlns='jabber:client' type='unavailable' from='{room}/Cem'/>"
    ));
    f.occupant("Cem", "cem@localhost/web");
    assert!(
        f.request("cem@localhost/web", AUDIO)[0].contains("<forbidden"),
        "leaving ends it"
    );
    let handover = f.request("ann@localhost/web", "<presenter nick='Bob'/>");
    assert!(
        handover[0].contains("<presenter nick='Bob'/>"),
        "{handover:?}"
    );
    assert!(
        handover
            .iter()
            .any(|s| s.contains("to='bob@localhost/web'") && s.contains("speak='false'")),
        "the old floor is revoked: {handover:?}"
    );
    assert!(
        f.request("ann@localhost/web", AUDIO)[0].contains("<forbidden"),
        "Ann no longer presents"
    );
    assert!(
        f.request("bob@localhost/web", AUDIO)[0].contains("speaker='Bob'"),
        "Bob presents now"
    );
}

#[test]
fn room_chat_is_recorded_on_the_presenter_clock_and_the_focus_answers_nothing() {
    let mut f = fixture("chat");
    presenter_and_attendee(&mut f);
    f.request("ann@localhost/web", "<pointer hide='true'/>"); // the presenter clock reads 5
    let room = f.room.clone();
    let said = f.handle(&format!(
        "<message xmlns='jabber:client' type='groupchat' from='{room}/Bob'><body>Which slide?</body></message>"
    ));
    assert!(said.is_empty(), "{said:?}");
    f.handle(&format!(
        "<message xmlns='jabber:client' type='groupchat' from='{room}/focus'><body>mine</body></message>"
    ));
    let number = crate::conference::meetings::MeetingNumber::parse(&f.number).unwrap();
    let lines = Meetings::open(f.shared.store.clone())
        .unwrap()
        .chat(&number)
        .unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(
        (lines[0].nick.as_str(), lines[0].body.as_str()),
        ("Bob", "Which slide?")
    );
    // Stamped from the last event's t plus the time since: a test runs well within a minute.
    assert!((5..60_005).contains(&lines[0].t), "{lines:?}");
}
