//! Meetings: the registry, the join flow that hands out tokens and tickets, and the focus
//! (an ordinary XMPP client that sequences, archives and re-emits the presenter's events).
//!
//! The HTTP layer calls [`Conference`]; the focus talks to the XMPP server only through a
//! client stream, so the same code runs against the embedded server and against Prosody.

pub mod chat;
pub mod focus;
pub mod lan;
pub mod meetings;
pub mod recordings;
pub mod tickets;

use std::net::IpAddr;
use std::sync::Arc;

use jid::BareJid;
use serde::Serialize;

use crate::config::Config;
use crate::documents::Documents;
use crate::store::{MeetingStore, StoreError};
use focus::{Focus, FocusTarget};
use lan::LanPolicy;
use meetings::{Meeting, MeetingNumber, Meetings};
use tickets::{Ticket, Tickets, TokenAccounts, TOKEN_LIFETIME};

#[derive(Debug, thiserror::Error)]
pub enum ConferenceError {
    #[error("no such meeting")]
    UnknownMeeting,
    #[error("the host key does not match this meeting")]
    BadHostKey,
    #[error("{0}")]
    BadRequest(String),
    #[error("audio is turned off in this meeting")]
    AudioOff,
    #[error("the meeting service is not connected to its XMPP server: {0}")]
    FocusUnavailable(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("this meeting is not recorded, or its recording was deleted")]
    NotRecorded,
    #[error("this recording is not shared with you; ask its owner for the link")]
    NoAccess,
    #[error("building the recording: {0}")]
    Recording(String),
    #[error("corrupt meeting record {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where browsers connect and how they log in.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub domain: String,
    pub muc_domain: String,
    pub focus_jid: String,
    /// `None`: the embedded server's `/xmpp-websocket` on the host the browser used.
    pub websocket: Option<String>,
    /// `Some`: an external server; browsers log in anonymously there.
    pub guest_domain: Option<String>,
}

pub struct Conference {
    pub meetings: Meetings,
    pub tickets: Arc<Tickets>,
    tokens: Option<Arc<TokenAccounts>>,
    lan: LanPolicy,
    pub endpoints: Endpoints,
    focus: Focus,
}

/// The answer to a join, as `POST /api/meetings/{number}/join` returns it.
#[derive(Debug, Serialize)]
pub struct Joined {
    pub number: String,
    pub room: String,
    pub nick: String,
    pub focus: String,
    pub domain: String,
    pub login: Login,
    pub ticket: String,
    pub role: &'static str,
    pub lan: bool,
    pub audio: bool,
}

#[derive(Debug, Serialize)]
#[serde(tag = "mechanism")]
pub enum Login {
    #[serde(rename = "token")]
    Token { jid: String, password: String },
    #[serde(rename = "ANONYMOUS")]
    Anonymous { domain: String },
}

impl Conference {
    /// Starts the focus. `tokens` is the embedded server's account store (`None` with an
    /// external server); the focus logs in with a token account there.
    pub fn start(
        config: &Config,
        store: Arc<dyn MeetingStore>,
        tokens: Option<Arc<TokenAccounts>>,
        xmpp: Option<Arc<crate::xmpp::Xmpp>>,
        documents: Arc<Documents>,
    ) -> Result<Self, ConferenceError> {
        let lan = LanPolicy::new(&config.lan_networks)?;
        let meetings = Meetings::open(store.clone())?;
        let tickets = Arc::new(Tickets::default());
        let (endpoints, target) = match (&config.external_xmpp, xmpp, &tokens) {
            (Some(addr), _, _) => {
                let domain = config.external_domain.clone().ok_or_else(|| {
                    ConferenceError::Config("external_xmpp needs external_domain".into())
                })?;
                let password = config.focus_password.clone().ok_or_else(|| {
                    ConferenceError::Config("external_xmpp needs focus_password".into())
                })?;
                let endpoints = Endpoints {
                    muc_domain: config
                        .external_muc_domain
                        .clone()
                        .unwrap_or_else(|| format!("conference.{domain}")),
                    guest_domain: Some(
                        config
                            .external_guest_domain
                            .clone()
                            .unwrap_or_else(|| format!("guest.{domain}")),
                    ),
                    websocket: config.external_websocket.clone(),
                    focus_jid: format!("focus@{domain}/focus"),
                    domain,
                };
                let target = FocusTarget::Tcp {
                    addr: addr.clone(),
                    password,
                };
                (endpoints, target)
            }
            (None, Some(xmpp), Some(tokens)) => {
                let domain = config.domain.clone();
                let focus_bare = bare(&format!("focus@{domain}"))?;
                let password = tokens.issue(&focus_bare, None);
                let endpoints = Endpoints {
                    muc_domain: format!("conference.{domain}"),
                    guest_domain: None,
                    websocket: None,
                    focus_jid: format!("focus@{domain}/focus"),
                    domain,
                };
                (endpoints, FocusTarget::Embedded { xmpp, password })
            }
            _ => {
                return Err(ConferenceError::Config(
                    "the focus needs the embedded server or external_xmpp".into(),
                ))
            }
        };
        let focus = Focus::spawn(
            target,
            &endpoints,
            focus::Shared {
                focus_jid: endpoints.focus_jid.clone(),
                store,
                tickets: tickets.clone(),
                documents,
            },
        )?;
        Ok(Self {
            meetings,
            tickets,
            tokens,
            lan,
            endpoints,
            focus,
        })
    }

    pub fn create(
        &self,
        title: &str,
        audio: bool,
        recording: bool,
    ) -> Result<(Meeting, String), ConferenceError> {
        let title = title.trim();
        if title.chars().count() > 200 {
            return Err(ConferenceError::BadRequest(
                "title: at most 200 characters".into(),
            ));
        }
        self.meetings.create(title, audio, recording)
    }

    pub fn meeting(&self, number: &str) -> Result<Meeting, ConferenceError> {
        let number = MeetingNumber::parse(number)?;
        self.meetings
            .get(&number)
            .ok_or(ConferenceError::UnknownMeeting)
    }

    /// Plays server-side audio (a shared file) into the meeting at presenter-clock time `t`:
    /// sequenced, archived and emitted by the focus like the presenter's voice.
    pub async fn inject_audio(
        &self,
        number: &MeetingNumber,
        t: u64,
        audio: lectern_protocol::Audio,
    ) -> Result<(), ConferenceError> {
        let meeting = self
            .meetings
            .get(number)
            .ok_or(ConferenceError::UnknownMeeting)?;
        if !meeting.audio {
            return Err(ConferenceError::AudioOff);
        }
        self.focus.ensure_room(&meeting).await?;
        self.focus.inject_audio(number, t, audio).await
    }

    pub fn room_jid(&self, number: &MeetingNumber) -> String {
        format!("{number}@{}", self.endpoints.muc_domain)
    }

    /// Admits a browser: makes sure the focus has set the room up, then hands out a login
    /// and a ticket.
    pub async fn join(
        &self,
        number: &str,
        name: &str,
        key: Option<&str>,
        peer: IpAddr,
    ) -> Result<Joined, ConferenceError> {
        let meeting = self.meeting(number)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(ConferenceError::BadRequest(
                "name: 1 to 64 printable characters".into(),
            ));
        }
        let presenter = match key {
            Some(k) if meeting.host_key_matches(k) => true,
            Some(_) => return Err(ConferenceError::BadHostKey),
            None => false,
        };
        if presenter {
            self.meetings.set_presenter_addr(&meeting.number, peer);
        }
        let lan = self
            .lan
            .is_lan(self.meetings.presenter_addr(&meeting.number), peer);
        self.focus.ensure_room(&meeting).await?;
        let login = match (&self.tokens, &self.endpoints.guest_domain) {
            (Some(tokens), None) => {
                let local = format!("t-{}", crate::xmpp::sasl::random_id().to_lowercase());
                let jid = bare(&format!("{local}@{}", self.endpoints.domain))?;
                // Deriving the SCRAM keys is PBKDF2 work: keep it off the async workers.
                let (tokens, account) = (tokens.clone(), jid.clone());
                let password = tokio::task::spawn_blocking(move || {
                    tokens.issue(&account, Some(TOKEN_LIFETIME))
                })
                .await
                .map_err(|e| ConferenceError::Config(format!("issuing a login token: {e}")))?;
                Login::Token {
                    jid: jid.to_string(),
                    password,
                }
            }
            (_, Some(domain)) => Login::Anonymous {
                domain: domain.clone(),
            },
            (None, None) => return Err(ConferenceError::Config("no way to log in".into())),
        };
        let ticket = self.tickets.issue(Ticket {
            meeting: meeting.number.clone(),
            name: name.to_string(),
            presenter,
            lan,
        });
        Ok(Joined {
            number: meeting.number.to_string(),
            room: self.room_jid(&meeting.number),
            nick: name.to_string(),
            focus: self.endpoints.focus_jid.clone(),
            domain: self.endpoints.domain.clone(),
            login,
            ticket,
            role: if presenter { "presenter" } else { "attendee" },
            lan,
            audio: meeting.audio,
        })
    }
}

fn bare(s: &str) -> Result<BareJid, ConferenceError> {
    BareJid::new(s).map_err(|e| ConferenceError::Config(format!("{s}: {e}")))
}
