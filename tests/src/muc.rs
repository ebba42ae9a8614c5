//! XEP-0045 (multi-user chat) on top of [`RawClient`]: joining a room, the owner and
//! admin iqs, disco, and reading status codes out of presences. Stanzas are written out
//! as the XEP shows them; every wait is bounded by [`crate::TIMEOUT`].

use crate::raw::RawClient;
use crate::xml::{self, Frame};

/// The MUC service of the test domain.
pub const SERVICE: &str = "conference.localhost";
/// `http://jabber.org/protocol/muc`
pub const NS_MUC: &str = "http://jabber.org/protocol/muc";
/// `http://jabber.org/protocol/muc#user`
pub const NS_MUC_USER: &str = "http://jabber.org/protocol/muc#user";
/// `http://jabber.org/protocol/muc#admin`
pub const NS_MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";
/// `http://jabber.org/protocol/muc#owner`
pub const NS_MUC_OWNER: &str = "http://jabber.org/protocol/muc#owner";
/// `http://jabber.org/protocol/disco#info`
pub const NS_DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";

/// The muc#user status codes of a presence or message.
pub fn status_codes(stanza: &str) -> Vec<String> {
    muc_user(stanza)
        .map(|x| {
            xml::children(x)
                .into_iter()
                .filter(|c| xml::local_name(c) == "status")
                .filter_map(|c| xml::attr(c, "code"))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the stanza carries muc#user status `code`.
pub fn has_status(stanza: &str, code: &str) -> bool {
    status_codes(stanza).iter().any(|c| c == code)
}

/// An attribute of the muc#user `<item/>` of a presence.
pub fn item_attr(stanza: &str, key: &str) -> Option<String> {
    muc_user(stanza)
        .and_then(|x| xml::child(x, "item"))
        .and_then(|i| xml::attr(i, key))
}

fn muc_user(stanza: &str) -> Option<&str> {
    xml::children(stanza).into_iter().find(|c| {
        xml::local_name(c) == "x" && xml::attr(c, "xmlns").as_deref() == Some(NS_MUC_USER)
    })
}

/// Whether `el` is a `<presence/>` from `from`.
pub fn is_presence_from(el: &str, from: &str) -> bool {
    xml::name(el) == "presence" && xml::attr(el, "from").as_deref() == Some(from)
}

/// The `var`s and values of the fields of the first data form in `stanza`.
pub fn form_fields(stanza: &str) -> Vec<(String, Vec<String>)> {
    let Some(x) = find_descendant(stanza, "x", "jabber:x:data") else {
        return Vec::new();
    };
    xml::children(x)
        .into_iter()
        .filter(|f| {
            xml::local_name(f) == "field" && xml::attr(f, "type").as_deref() != Some("fixed")
        })
        .filter_map(|f| {
            let var = xml::attr(f, "var")?;
            let values = xml::children(f)
                .into_iter()
                .filter(|v| xml::local_name(v) == "value")
                .map(xml::text)
                .collect();
            Some((var, values))
        })
        .collect()
}

/// The values of field `var` in a list from [`form_fields`].
pub fn field<'a>(fields: &'a [(String, Vec<String>)], var: &str) -> Option<&'a [String]> {
    fields
        .iter()
        .find(|(v, _)| v == var)
        .map(|(_, vals)| vals.as_slice())
}

/// The first element named `local` in namespace `ns` at any depth below `el`.
pub fn find_descendant<'a>(el: &'a str, local: &str, ns: &str) -> Option<&'a str> {
    for c in xml::children(el) {
        if xml::local_name(c) == local && xml::attr(c, "xmlns").as_deref() == Some(ns) {
            return Some(c);
        }
        if let Some(found) = find_descendant(c, local, ns) {
            return Some(found);
        }
    }
    None
}

/// A groupchat message to `room`.
pub fn groupchat(room: &str, id: &str, body: &str) -> String {
    format!(
        "<message type='groupchat' to='{}' id='{}'><body>{}</body></message>",
        xml::escape(room),
        xml::escape(id),
        xml::escape(body)
    )
}

/// What a client received while joining, in order.
#[derive(Debug, Clone)]
pub struct Joined {
    /// Presences of the occupants already in the room.
    pub others: Vec<String>,
    /// The joiner's own presence (status 110).
    pub self_presence: String,
    /// History messages.
    pub history: Vec<String>,
    /// The subject message (possibly an empty `<subject/>`); `None` for the creator of
    /// a new, locked room (XEP-0045 §10.1.1 shows no subject there).
    pub subject: Option<String>,
}

impl RawClient {
    /// Enter `room/nick` (`x_extra` goes inside `<x xmlns=muc>`, e.g. a `<history/>`)
    /// and read until the subject; panics if the join is refused.
    pub async fn join_room(&mut self, occupant: &str, x_extra: &str) -> Joined {
        let room = occupant.split('/').next().unwrap_or(occupant).to_owned();
        self.send(&format!(
            "<presence to='{}'><x xmlns='{NS_MUC}'>{x_extra}</x></presence>",
            xml::escape(occupant)
        ))
        .await;
        let mut others = Vec::new();
        let mut history = Vec::new();
        let mut me = None;
        loop {
            let el = match self.next_frame().await {
                Some(Frame::Element(e)) => e,
                Some(_) => continue,
                None => panic!(
                    "{}: closed while joining {occupant}\n{}",
                    self.label(),
                    self.context()
                ),
            };
            let from = xml::attr(&el, "from").unwrap_or_default();
            if from.split('/').next() != Some(room.as_str()) {
                continue;
            }
            let is_presence = xml::name(&el) == "presence";
            if is_presence && from == occupant && xml::attr(&el, "type").as_deref() == Some("error")
            {
                panic!("{}: joining {occupant} was refused: {el}", self.label());
            }
            if me.is_none() {
                if is_presence && from == occupant && has_status(&el, "110") {
                    if has_status(&el, "201") {
                        return Joined {
                            others,
                            self_presence: el,
                            history,
                            subject: None,
                        };
                    }
                    me = Some(el);
                } else if is_presence {
                    others.push(el);
                }
            } else if xml::name(&el) == "message"
                && xml::child(&el, "subject").is_some()
                && xml::child(&el, "body").is_none()
            {
                let self_presence = me.take().expect("set above");
                return Joined {
                    others,
                    self_presence,
                    history,
                    subject: Some(el),
                };
            } else if xml::name(&el) == "message" {
                history.push(el);
            }
        }
    }

    /// Try to enter `room/nick`; expect a presence error and return its condition.
    pub async fn join_refused(&mut self, occupant: &str) -> String {
        self.send(&format!(
            "<presence to='{}'><x xmlns='{NS_MUC}'/></presence>",
            xml::escape(occupant)
        ))
        .await;
        let reply = self
            .expect_element(&format!("an answer to joining {occupant}"), |e| {
                is_presence_from(e, occupant)
            })
            .await;
        assert_eq!(
            xml::attr(&reply, "type").as_deref(),
            Some("error"),
            "{}: let into {occupant}: {reply}",
            self.label()
        );
        xml::stanza_error_condition(&reply)
            .unwrap_or_else(|| panic!("no error condition in {reply}"))
    }

    /// Send an iq and return the reply, whatever its type.
    pub async fn iq(&mut self, kind: &str, to: &str, payload: &str) -> String {
        let id = self.new_id();
        self.send(&format!(
            "<iq type='{kind}' id='{id}' to='{}'>{payload}</iq>",
            xml::escape(to)
        ))
        .await;
        self.expect_element(&format!("reply to iq {id} ({kind} to {to})"), |e| {
            xml::name(e) == "iq" && xml::attr(e, "id").as_deref() == Some(id.as_str())
        })
        .await
    }

    /// Send an iq and panic unless it succeeds; returns the result.
    pub async fn iq_ok(&mut self, kind: &str, to: &str, payload: &str) -> String {
        let reply = self.iq(kind, to, payload).await;
        assert_eq!(
            xml::attr(&reply, "type").as_deref(),
            Some("result"),
            "{}: iq {payload} to {to} failed: {reply}",
            self.label()
        );
        reply
    }

    /// The owner's configuration form of `room`.
    pub async fn room_config(&mut self, room: &str) -> Vec<(String, Vec<String>)> {
        let reply = self
            .iq_ok("get", room, &format!("<query xmlns='{NS_MUC_OWNER}'/>"))
            .await;
        let fields = form_fields(&reply);
        assert!(!fields.is_empty(), "no configuration form in {reply}");
        fields
    }

    /// Fetch the owner form, set the given `muc#roomconfig_*` fields, submit it (as clients do).
    pub async fn configure_room(&mut self, room: &str, changes: &[(&str, &str)]) {
        let mut fields = self.room_config(room).await;
        for (var, value) in changes {
            let var = format!("muc#roomconfig_{var}");
            match fields.iter_mut().find(|(v, _)| *v == var) {
                Some((_, values)) => *values = vec![(*value).to_owned()],
                None => panic!("the owner form of {room} has no field {var}: {fields:?}"),
            }
        }
        let mut form = String::from("<x xmlns='jabber:x:data' type='submit'>");
        for (var, values) in &fields {
            form.push_str(&format!("<field var='{}'>", xml::escape(var)));
            for v in values {
                form.push_str(&format!("<value>{}</value>", xml::escape(v)));
            }
            form.push_str("</field>");
        }
        form.push_str("</x>");
        self.iq_ok(
            "set",
            room,
            &format!("<query xmlns='{NS_MUC_OWNER}'>{form}</query>"),
        )
        .await;
    }

    /// A muc#admin `set` with one `<item/>` (e.g. `affiliation='member' jid='bob@localhost'`).
    pub async fn admin_item(&mut self, room: &str, item_attrs: &str) {
        self.iq_ok(
            "set",
            room,
            &format!("<query xmlns='{NS_MUC_ADMIN}'><item {item_attrs}/></query>"),
        )
        .await;
    }

    /// disco#info on `to`: the reply, whatever its type.
    pub async fn disco_info(&mut self, to: &str) -> String {
        self.iq("get", to, &format!("<query xmlns='{NS_DISCO_INFO}'/>"))
            .await
    }
}

/// The features and identity names in a disco#info result.
pub fn disco_features(reply: &str) -> (Vec<String>, Vec<String>) {
    let query = find_descendant(reply, "query", NS_DISCO_INFO)
        .unwrap_or_else(|| panic!("no disco#info query in {reply}"));
    let mut features = Vec::new();
    let mut names = Vec::new();
    for c in xml::children(query) {
        match xml::local_name(c) {
            "feature" => features.extend(xml::attr(c, "var")),
            "identity" => names.extend(xml::attr(c, "name")),
            _ => {}
        }
    }
    (features, names)
}
