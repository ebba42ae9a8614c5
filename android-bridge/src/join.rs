//! The HTTP join API (`POST /api/meetings/{number}/join`, see `docs/MEETINGS-API.md`): the
//! answer says how to log in to XMPP, which room and nick to use and the focus's ticket.

use serde::Deserialize;

use crate::error::BridgeError;
use crate::http::Http;

/// How to log in to XMPP, as the join API says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// A short-lived token account on the embedded server (SCRAM with this JID/password).
    Token {
        /// The account's bare JID.
        jid: String,
        /// Its password.
        password: String,
    },
    /// SASL ANONYMOUS on an external server's guest domain.
    Anonymous {
        /// The guest domain.
        domain: String,
    },
}

impl Login {
    /// The JID and password to hand tokio-xmpp. ANONYMOUS needs a dummy node in the JID
    /// (tokio-xmpp 6 insists on one); the server assigns the real one.
    pub fn credentials(&self) -> (String, String) {
        match self {
            Login::Token { jid, password } => (jid.clone(), password.clone()),
            Login::Anonymous { domain } => (format!("x@{domain}"), String::new()),
        }
    }

    /// The XMPP domain to connect to (and the TLS server name).
    pub fn domain(&self) -> &str {
        match self {
            Login::Token { jid, .. } => jid.rsplit('@').next().unwrap_or(jid),
            Login::Anonymous { domain } => domain,
        }
    }
}

/// What the join API answered.
#[derive(Debug, Clone)]
pub struct Joined {
    /// The 9-digit meeting number.
    pub number: String,
    /// The room's bare JID.
    pub room: String,
    /// The nick to use in the room.
    pub nick: String,
    /// The focus's full JID.
    pub focus: String,
    /// How to log in.
    pub login: Login,
    /// The ticket for `<hello/>`.
    pub ticket: String,
    /// `presenter` or `attendee`.
    pub role: String,
    /// Whether this attendee is on the presenter's LAN.
    pub lan: bool,
    /// Whether the meeting carries voice.
    pub audio: bool,
}

#[derive(Deserialize)]
struct Wire {
    number: String,
    room: String,
    nick: String,
    focus: String,
    login: WireLogin,
    ticket: String,
    role: String,
    #[serde(default)]
    lan: bool,
    #[serde(default = "yes")]
    audio: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct WireLogin {
    mechanism: String,
    jid: Option<String>,
    password: Option<String>,
    domain: Option<String>,
}

/// Joins meeting `number` as `name` (with the host `key` to present).
pub(crate) async fn join(
    http: &Http,
    number: &str,
    name: &str,
    key: Option<&str>,
) -> Result<Joined, BridgeError> {
    if !lectern_protocol::is_meeting_number(number) {
        return Err(BridgeError::Config(format!(
            "{number:?} is not a 9-digit meeting number"
        )));
    }
    let mut body = serde_json::json!({ "name": name });
    if let Some(key) = key {
        body["key"] = key.into();
    }
    let path = format!("/api/meetings/{number}/join");
    let response = http.post_json(&path, &body.to_string()).await?;
    if response.status != 200 {
        return Err(BridgeError::Join(format!(
            "{} {}",
            response.status,
            response.text()
        )));
    }
    let wire: Wire = serde_json::from_slice(&response.body)
        .map_err(|e| BridgeError::Join(format!("unexpected join answer: {e}")))?;
    let login = match (
        wire.login.mechanism.as_str(),
        wire.login.jid,
        wire.login.password,
        wire.login.domain,
    ) {
        ("token", Some(jid), Some(password), _) => Login::Token { jid, password },
        ("ANONYMOUS", _, _, Some(domain)) => Login::Anonymous { domain },
        (other, ..) => {
            return Err(BridgeError::Join(format!(
                "unsupported login mechanism {other:?}"
            )))
        }
    };
    Ok(Joined {
        number: wire.number,
        room: wire.room,
        nick: wire.nick,
        focus: wire.focus,
        login,
        ticket: wire.ticket,
        role: wire.role,
        lan: wire.lan,
        audio: wire.audio,
    })
}
