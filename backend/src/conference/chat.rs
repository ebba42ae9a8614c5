//! What people said in a meeting's chat, kept for its recording. Chat is ordinary MUC
//! groupchat (any XMPP client can take part), so the focus, an occupant like everyone else,
//! records the lines it hears; they are not sequenced events and nobody waits for them.

use minidom::Element;
use serde::{Deserialize, Serialize};

use crate::xmpp::xml::NS_CLIENT;

/// A longer body is kept cut to this many bytes (at a character boundary): the recording
/// is for reading back, not a file store.
pub const MAX_BODY_BYTES: usize = 4096;
const NS_DELAY: &str = "urn:xmpp:delay";

/// One chat line of a recording. `t` is presenter-clock ms, like every event's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatLine {
    pub t: u64,
    pub nick: String,
    pub body: String,
}

/// The sender's nick and the body of a live groupchat line in the room, if `el` is one.
/// History (`<delay/>`), the focus's own messages, errors and body-less messages (Lectern
/// events, chat states) are not chat lines.
pub fn said(el: &Element, nick: Option<&str>, focus_nick: &str) -> Option<(String, String)> {
    let nick = nick.filter(|n| !n.is_empty() && *n != focus_nick)?;
    if el.attr("type") != Some("groupchat") || el.get_child("delay", NS_DELAY).is_some() {
        return None;
    }
    let body = el.get_child("body", NS_CLIENT)?.text();
    if body.trim().is_empty() {
        return None;
    }
    Some((nick.to_string(), cut(body, MAX_BODY_BYTES)))
}

fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(xml: &str) -> Element {
        xml.parse().unwrap()
    }

    #[test]
    fn a_live_line_is_kept_and_history_own_lines_and_events_are_not() {
        let line = message(
            "<message xmlns='jabber:client' type='groupchat'><body>Slide 3 please</body></message>",
        );
        assert_eq!(
            said(&line, Some("Bob"), "focus"),
            Some(("Bob".into(), "Slide 3 please".into()))
        );
        assert_eq!(said(&line, Some("focus"), "focus"), None, "the focus's own");
        assert_eq!(said(&line, None, "focus"), None, "from the room itself");
        let history = message(
            "<message xmlns='jabber:client' type='groupchat'><body>old</body>\
             <delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/></message>",
        );
        assert_eq!(said(&history, Some("Bob"), "focus"), None);
        let event = message(
            "<message xmlns='jabber:client' type='groupchat'>\
             <event xmlns='urn:lectern:sync:1' seq='4' t='10'><page n='2'/></event></message>",
        );
        assert_eq!(said(&event, Some("Bob"), "focus"), None);
        let blank =
            message("<message xmlns='jabber:client' type='groupchat'><body>  </body></message>");
        assert_eq!(said(&blank, Some("Bob"), "focus"), None);
    }

    #[test]
    fn a_long_body_is_cut_at_a_character_boundary() {
        let body = "é".repeat(MAX_BODY_BYTES);
        let el = message(&format!(
            "<message xmlns='jabber:client' type='groupchat'><body>{body}</body></message>"
        ));
        let (_, kept) = said(&el, Some("Bob"), "focus").unwrap();
        assert_eq!(kept.len(), MAX_BODY_BYTES);
        assert!(kept.chars().all(|c| c == 'é'));
    }
}
