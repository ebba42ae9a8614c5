//! The stanzas the focus sends, built in one place.

use minidom::Element;
use tokio_xmpp::jid::{BareJid, FullJid, Jid};

use crate::conference::meetings::MeetingNumber;

use crate::xmpp::muc::{NS_DATA, NS_HINTS, NS_MUC, NS_MUC_OWNER, NS_MUC_USER};
pub use crate::xmpp::xml::name as n;
use crate::xmpp::xml::{NS_CLIENT, NS_PING, NS_STANZAS};

/// The focus's nick in every room.
pub const FOCUS_NICK: &str = "focus";

/// Joins `room` as `focus`, asking for no history: the focus's memory is its own archive.
pub fn join(room: &BareJid) -> Element {
    Element::builder("presence", NS_CLIENT)
        .attr(n("to"), format!("{room}/{FOCUS_NICK}"))
        .append(
            Element::builder("x", NS_MUC)
                .append(Element::builder("history", NS_MUC).attr(n("maxstanzas"), "0")),
        )
        .build()
}

/// The owner form that unlocks a new room: persistent (it outlives empty moments), not
/// listed, real JIDs visible to moderators only (the focus is owner, so it sees them).
pub fn room_config(title: &str, focus: &str) -> Element {
    let field = |var: &str, value: &str| {
        Element::builder("field", NS_DATA)
            .attr(n("var"), var)
            .append(Element::builder("value", NS_DATA).append(value))
    };
    let name = if title.is_empty() {
        "Lectern meeting"
    } else {
        title
    };
    Element::builder("query", NS_MUC_OWNER)
        .append(
            Element::builder("x", NS_DATA)
                .attr(n("type"), "submit")
                .append(field(
                    "FORM_TYPE",
                    "http://jabber.org/protocol/muc#roomconfig",
                ))
                .append(field("muc#roomconfig_roomname", name))
                .append(field("muc#roomconfig_roomdesc", &format!("focus={focus}")))
                .append(field("muc#roomconfig_persistentroom", "1"))
                .append(field("muc#roomconfig_publicroom", "0"))
                .append(field("muc#roomconfig_whois", "moderators"))
                .append(field("muc#roomconfig_changesubject", "0")),
        )
        .build()
}

/// A sequenced event into the room, with the store hint so any server archives it.
pub fn groupchat(room: &BareJid, event: Element) -> Element {
    Element::builder("message", NS_CLIENT)
        .attr(n("to"), room.to_string())
        .attr(n("type"), "groupchat")
        .append(event)
        .append(Element::builder("store", NS_HINTS))
        .build()
}

/// A one-to-one notice (preload, preloaded); not archived.
pub fn direct(to: &Jid, payload: Element) -> Element {
    Element::builder("message", NS_CLIENT)
        .attr(n("to"), to.to_string())
        .attr(n("type"), "chat")
        .append(payload)
        .append(Element::builder("no-store", NS_HINTS))
        .build()
}

fn error_element(kind: &str, condition: &str, text: &str) -> Element {
    Element::builder("error", NS_CLIENT)
        .attr(n("type"), kind)
        .append(Element::builder(condition, NS_STANZAS))
        .append(Element::builder("text", NS_STANZAS).append(text))
        .build()
}

/// Bounces a rejected request back to its sender with the original payload.
pub fn message_error(request: &Element, to: &Jid, condition: &str, text: &str) -> Element {
    let mut reply = Element::builder("message", NS_CLIENT)
        .attr(n("to"), to.to_string())
        .attr(n("type"), "error");
    if let Some(id) = request.attr("id") {
        reply = reply.attr(n("id"), id);
    }
    for child in request
        .children()
        .filter(|c| c.ns() == lectern_protocol::NS)
    {
        reply = reply.append(child.clone());
    }
    reply
        .append(error_element(kind_of(condition), condition, text))
        .build()
}

fn kind_of(condition: &str) -> &'static str {
    match condition {
        "policy-violation" | "resource-constraint" => "wait",
        "not-authorized" => "auth",
        "forbidden" | "item-not-found" => "cancel",
        _ => "modify",
    }
}

pub fn iq_result(request: &Element, to: &Jid, payload: Option<Element>) -> Element {
    let mut iq = Element::builder("iq", NS_CLIENT)
        .attr(n("to"), to.to_string())
        .attr(n("type"), "result")
        .attr(n("id"), request.attr("id").unwrap_or_default());
    if let Some(p) = payload {
        iq = iq.append(p);
    }
    iq.build()
}

pub fn iq_error(request: &Element, to: &Jid, condition: &str, text: &str) -> Element {
    Element::builder("iq", NS_CLIENT)
        .attr(n("to"), to.to_string())
        .attr(n("type"), "error")
        .attr(n("id"), request.attr("id").unwrap_or_default())
        .append(error_element(kind_of(condition), condition, text))
        .build()
}

/// Status codes of a MUC presence (`<x xmlns='…muc#user'><status code/>`).
pub fn status_codes(presence: &Element) -> Vec<u16> {
    presence
        .get_child("x", NS_MUC_USER)
        .map(|x| {
            x.children()
                .filter(|c| c.is("status", NS_MUC_USER))
                .filter_map(|c| c.attr("code")?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The real JID a MUC presence reveals to moderators.
pub fn real_jid(presence: &Element) -> Option<Jid> {
    presence
        .get_child("x", NS_MUC_USER)?
        .get_child("item", NS_MUC_USER)?
        .attr("jid")?
        .parse()
        .ok()
}

/// The owner form as an IQ whose id names the meeting, so the answer finds its way back.
pub fn configure(number: &MeetingNumber, room: &BareJid, form: Element) -> Element {
    Element::builder("iq", NS_CLIENT)
        .attr(n("to"), room.to_string())
        .attr(n("type"), "set")
        .attr(n("id"), format!("{CONFIGURE_ID}{number}"))
        .append(form)
        .build()
}

const CONFIGURE_ID: &str = "configure-";

/// The meeting whose owner form this IQ answers, if it is such an answer.
pub fn configure_answer(iq: &Element) -> Option<MeetingNumber> {
    if iq.name() != "iq" || !matches!(iq.attr("type"), Some("result") | Some("error")) {
        return None;
    }
    MeetingNumber::parse(iq.attr("id")?.strip_prefix(CONFIGURE_ID)?).ok()
}

/// `Ok` for a result, the error condition for an error.
pub fn iq_outcome(iq: &Element) -> Result<(), String> {
    if iq.attr("type") == Some("result") {
        return Ok(());
    }
    let condition = iq
        .get_child("error", NS_CLIENT)
        .and_then(|e| e.children().find(|c| c.ns() == NS_STANZAS))
        .map(|c| c.name().to_string())
        .unwrap_or_else(|| "undefined-condition".into());
    Err(condition)
}

/// A ping to our own server, answering the stream's soft timeout.
pub fn ping(from: &FullJid) -> Element {
    Element::builder("iq", NS_CLIENT)
        .attr(n("to"), from.domain().to_string())
        .attr(n("type"), "get")
        .attr(n("id"), "keepalive")
        .append(Element::builder("ping", NS_PING))
        .build()
}
