//! Building and rendering the XML the server itself sends.

use minidom::Element;
use rxml::Namespace;

use super::error::{StanzaErrorKind, StreamErrorKind};

pub const NS_CLIENT: &str = "jabber:client";
pub const NS_STREAM: &str = "http://etherx.jabber.org/streams";
pub const NS_STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
pub const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
pub const NS_TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
pub const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
pub const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
pub const NS_SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
pub const NS_FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";
pub const NS_PING: &str = "urn:xmpp:ping";
pub const NS_DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
pub const NS_DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
pub const NS_ROSTER: &str = "jabber:iq:roster";

/// Reads an attribute without a namespace.
pub fn attr<'a>(e: &'a Element, name: &str) -> Option<&'a str> {
    e.attrs().get(&Namespace::NONE, name).map(String::as_str)
}

/// A static attribute name as the checked XML name minidom's setters and builder want.
pub fn name(name: &'static str) -> rxml::NcName {
    rxml::NcName::try_from(name).expect("static attribute names are valid")
}

/// Sets (or replaces) an attribute without a namespace.
pub fn set_attr(e: &mut Element, name: &'static str, value: impl Into<String>) {
    e.attrs_mut()
        .insert(Namespace::NONE, self::name(name), value.into());
}

pub fn remove_attr(e: &mut Element, name: &str) {
    e.attrs_mut().remove(&Namespace::NONE, name);
}

/// An element with attributes, built in one go.
pub fn element(name: &str, ns: &str, attrs: &[(&'static str, &str)]) -> Element {
    let mut e = Element::bare(name, ns);
    for (k, v) in attrs {
        set_attr(&mut e, k, *v);
    }
    e
}

pub fn with_child(mut e: Element, child: Element) -> Element {
    e.append_child(child);
    e
}

/// Serialises a stanza. Its namespace is declared on it, so it stands alone (as a WebSocket
/// frame must) and is equally valid inside a TCP stream.
pub fn render(e: &Element) -> String {
    let mut out = Vec::with_capacity(256);
    e.write_to(&mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("minidom writes UTF-8")
}

pub fn escape(s: &str) -> String {
    String::from_utf8(minidom::element::escape(s.as_bytes()).into_owned()).expect("utf-8 in, out")
}

/// `<stream:error>` with the `stream` prefix declared on it, so it reads the same to
/// prefix-matching and namespace-aware clients.
pub fn stream_error(kind: &StreamErrorKind) -> String {
    let text = kind
        .text()
        .map(|t| format!("<text xmlns='{NS_STREAM_ERRORS}'>{}</text>", escape(&t)))
        .unwrap_or_default();
    format!(
        "<stream:error xmlns:stream='{NS_STREAM}'><{} xmlns='{NS_STREAM_ERRORS}'/>{text}</stream:error>",
        kind.condition()
    )
}

/// `<stream:features>` around already-rendered feature elements.
pub fn features(inner: &str) -> String {
    format!("<stream:features xmlns:stream='{NS_STREAM}'>{inner}</stream:features>")
}

/// The reply that bounces `stanza` with `kind`: addresses swapped, payload kept.
pub fn stanza_error(stanza: &Element, kind: StanzaErrorKind, by: &str) -> Element {
    let mut reply = stanza.clone();
    let from = attr(stanza, "from").map(str::to_owned);
    let to = attr(stanza, "to").map(str::to_owned);
    remove_attr(&mut reply, "from");
    remove_attr(&mut reply, "to");
    if let Some(f) = from {
        set_attr(&mut reply, "to", f);
    }
    set_attr(&mut reply, "from", to.unwrap_or_else(|| by.to_string()));
    set_attr(&mut reply, "type", "error");
    let error = with_child(
        element(
            "error",
            NS_CLIENT,
            &[("type", kind.error_type()), ("by", by)],
        ),
        Element::bare(kind.condition(), NS_STANZAS),
    );
    reply.append_child(error);
    reply
}

/// An iq result answering `iq`, optionally with a payload.
pub fn iq_result(iq: &Element, from: &str, payload: Option<Element>) -> Element {
    let mut attrs: Vec<(&'static str, &str)> =
        vec![("type", "result"), ("id", attr(iq, "id").unwrap_or(""))];
    attrs.push(("from", from));
    if let Some(to) = attr(iq, "from") {
        attrs.push(("to", to));
    }
    let mut reply = element("iq", NS_CLIENT, &attrs);
    if let Some(p) = payload {
        reply.append_child(p);
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounce_swaps_addresses_and_keeps_payload() {
        let m: Element =
            "<message xmlns='jabber:client' from='a@x/r' to='b@x' id='7'><body>hi</body></message>"
                .parse()
                .unwrap();
        let e = stanza_error(&m, StanzaErrorKind::ServiceUnavailable, "x");
        assert_eq!(attr(&e, "to"), Some("a@x/r"));
        assert_eq!(attr(&e, "from"), Some("b@x"));
        assert_eq!(attr(&e, "type"), Some("error"));
        assert!(e.has_child("body", NS_CLIENT));
        let err = e.get_child("error", NS_CLIENT).unwrap();
        assert!(err.has_child("service-unavailable", NS_STANZAS));
        // Rendering and re-parsing keeps it intact.
        let again: Element = render(&e).parse().unwrap();
        assert_eq!(again, e);
    }

    #[test]
    fn stream_error_is_standalone_xml() {
        let x = stream_error(&StreamErrorKind::PolicyViolation("too <big>".into()));
        let e: Element = x.parse().unwrap();
        assert!(e.is("error", NS_STREAM));
        assert!(e.has_child("policy-violation", NS_STREAM_ERRORS));
        assert_eq!(
            e.get_child("text", NS_STREAM_ERRORS).unwrap().text(),
            "too <big>"
        );
    }
}
