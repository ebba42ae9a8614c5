//! Incremental XML stream reader: bytes in, stream header / stanzas / footer out.
//!
//! rxml is a restricted XML 1.0 parser made for XMPP: it refuses DTDs, entity declarations,
//! processing instructions and comments, so entity bombs cannot expand. On top of it we bound
//! every top-level element by size *while* it is read, never after building it.

use minidom::tree_builder::TreeBuilder;
use minidom::Element;
use rxml::error::EndOrError;
use rxml::parser::{Parse, RawEvent, RawParser, WithOptions};

use super::error::StreamErrorKind;

/// What the stream produced.
#[derive(Debug)]
pub enum Event {
    /// `<stream:stream …>` (an element without children, carrying the header attributes).
    Open(Element),
    /// A complete top-level element (stanza or negotiation element).
    Stanza(Element),
    /// `</stream:stream>`.
    Close,
}

pub struct StreamParser {
    raw: RawParser,
    tree: TreeBuilder,
    max_element: usize,
    /// Bytes consumed by the top-level element being read (header or stanza).
    element_bytes: usize,
    /// Depth in raw events: 0 outside the stream, 1 between stanzas.
    depth: usize,
    in_head: bool,
    /// Whether the first byte of the stream has been seen.
    started: bool,
}

impl StreamParser {
    pub fn new(max_element: usize) -> Self {
        let options = rxml::parser::Options {
            // Let the size check below speak first, with the better error.
            max_token_length: max_element + 1,
            ..Default::default()
        };
        Self {
            raw: RawParser::with_options(options),
            tree: TreeBuilder::new(),
            max_element,
            element_bytes: 0,
            depth: 0,
            in_head: false,
            started: false,
        }
    }

    /// Parses from `buf` (advancing it) until one event is complete; `Ok(None)` means all of
    /// `buf` was consumed and more data is needed.
    pub fn next_event(&mut self, buf: &mut &[u8]) -> Result<Option<Event>, StreamErrorKind> {
        if !self.started {
            // Whitespace may precede the header (a client's keep-alive racing a restart), but
            // rxml refuses it before the root element without an XML declaration; skip it.
            // And rxml would wait for the end of a text token before refusing junk (say, an
            // HTTP request on the XMPP port): answer that at once instead.
            let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            *buf = &buf[blank..];
            match buf.first() {
                None => return Ok(None),
                Some(b'<') | Some(0xEF) => self.started = true,
                Some(_) => return Err(StreamErrorKind::NotWellFormed("not an XML stream".into())),
            }
        }
        loop {
            let before = buf.len();
            let result = self.raw.parse(buf, false);
            if self.depth >= 1 || self.in_head {
                self.element_bytes += before - buf.len();
                if self.element_bytes > self.max_element {
                    return Err(StreamErrorKind::PolicyViolation(format!(
                        "element larger than the {} byte limit",
                        self.max_element
                    )));
                }
            }
            let ev = match result {
                Ok(Some(ev)) => ev,
                Ok(None) => return Ok(Some(Event::Close)),
                Err(EndOrError::NeedMoreData) => return Ok(None),
                Err(EndOrError::Error(e)) => return Err(classify(&e)),
            };
            if let Some(event) = self.handle(ev)? {
                return Ok(Some(event));
            }
        }
    }

    fn handle(&mut self, ev: RawEvent) -> Result<Option<Event>, StreamErrorKind> {
        match &ev {
            RawEvent::XmlDeclaration(..) => return Ok(None),
            RawEvent::Text(_, text) if self.depth <= 1 => {
                // Whitespace between stanzas is a keep-alive; anything else is not XMPP.
                return if text.trim().is_empty() {
                    Ok(None)
                } else {
                    Err(StreamErrorKind::BadFormat("text outside stanzas".into()))
                };
            }
            RawEvent::ElementHeadOpen(..) => {
                if self.depth == 1 {
                    self.element_bytes = 0;
                }
                self.in_head = true;
            }
            _ => {}
        }
        let is_close = matches!(ev, RawEvent::ElementHeadClose(_));
        let is_foot = matches!(ev, RawEvent::ElementFoot(_));
        self.tree
            .process_event(ev)
            .map_err(|_| StreamErrorKind::BadNamespacePrefix)?;
        if is_close {
            self.in_head = false;
            self.depth += 1;
            if self.depth == 1 {
                self.element_bytes = 0;
                let header = self.tree.top().cloned().expect("stream element pushed");
                return Ok(Some(Event::Open(header)));
            }
        } else if is_foot {
            self.depth -= 1;
            match self.depth {
                0 => return Ok(Some(Event::Close)),
                1 => {
                    let stanza = self.tree.unshift_child().expect("child just completed");
                    return Ok(Some(Event::Stanza(stanza)));
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

fn classify(e: &rxml::Error) -> StreamErrorKind {
    match e {
        rxml::Error::RestrictedXml(what) => StreamErrorKind::RestrictedXml(what.to_string()),
        // rxml has no grammar for `<!DOCTYPE`/`<!ENTITY`: a `<!` that is neither a comment
        // nor CDATA is a markup declaration, which XMPP forbids (RFC 6120 §11.1).
        rxml::Error::InvalidSyntax(msg) if msg.contains("cdata or comment") => {
            StreamErrorKind::RestrictedXml("DTDs and entity declarations are not allowed".into())
        }
        other => StreamErrorKind::NotWellFormed(other.to_string()),
    }
}

/// Parses one complete element, as carried by a WebSocket frame (RFC 7395 §3.3.3).
pub fn parse_frame(text: &str, max: usize) -> Result<Element, StreamErrorKind> {
    if text.len() > max {
        return Err(StreamErrorKind::PolicyViolation(format!(
            "element larger than the {max} byte limit"
        )));
    }
    let mut parser = RawParser::with_options(rxml::parser::Options {
        max_token_length: max + 1,
        ..Default::default()
    });
    let mut tree = TreeBuilder::new();
    let mut buf = text.as_bytes();
    loop {
        match parser.parse(&mut buf, true) {
            Ok(Some(ev)) => tree
                .process_event(ev)
                .map_err(|_| StreamErrorKind::BadNamespacePrefix)?,
            Ok(None) => break,
            Err(EndOrError::NeedMoreData) => {
                return Err(StreamErrorKind::NotWellFormed("incomplete element".into()))
            }
            Err(EndOrError::Error(e)) => return Err(classify(&e)),
        }
    }
    tree.root
        .take()
        .ok_or_else(|| StreamErrorKind::NotWellFormed("no element".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
        xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";

    fn events(input: &str, max: usize) -> Result<Vec<Event>, StreamErrorKind> {
        let mut p = StreamParser::new(max);
        let mut buf = input.as_bytes();
        let mut out = Vec::new();
        // Feed in small pieces, as a network would.
        while !buf.is_empty() {
            let n = buf.len().min(7);
            let (mut chunk, rest) = buf.split_at(n);
            buf = rest;
            while let Some(ev) = p.next_event(&mut chunk)? {
                out.push(ev);
            }
        }
        Ok(out)
    }

    #[test]
    fn header_stanzas_whitespace_and_footer() {
        let input = format!(
            "{HEADER}<message to='a@localhost'><body>hi &amp; bye</body></message> \n \
             <iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq></stream:stream>"
        );
        let ev = events(&input, 4096).unwrap();
        assert_eq!(ev.len(), 4);
        let Event::Open(h) = &ev[0] else { panic!() };
        assert_eq!(h.attr("to"), Some("localhost"));
        assert!(h.is("stream", "http://etherx.jabber.org/streams"));
        let Event::Stanza(m) = &ev[1] else { panic!() };
        assert!(m.is("message", "jabber:client"));
        assert_eq!(
            m.get_child("body", "jabber:client").unwrap().text(),
            "hi & bye"
        );
        let Event::Stanza(iq) = &ev[2] else { panic!() };
        assert!(iq.has_child("ping", "urn:xmpp:ping"));
        assert!(matches!(ev[3], Event::Close));
    }

    #[test]
    fn malformed_xml_is_not_well_formed() {
        let r = events(&format!("{HEADER}<message><a></b></message>"), 4096);
        assert!(matches!(r, Err(StreamErrorKind::NotWellFormed(_))), "{r:?}");
    }

    #[test]
    fn dtd_and_entities_are_restricted() {
        let bomb = "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>\
                    <!ENTITY lol2 '&lol;&lol;&lol;&lol;'>]><stream:stream>";
        let r = events(bomb, 4096);
        assert!(matches!(r, Err(StreamErrorKind::RestrictedXml(_))), "{r:?}");
        let mid = format!("{HEADER}<!DOCTYPE x [<!ENTITY a 'b'>]>");
        let r = events(&mid, 4096);
        assert!(matches!(r, Err(StreamErrorKind::RestrictedXml(_))), "{r:?}");
        let undeclared = format!("{HEADER}<message><body>&lol;</body></message>");
        assert!(events(&undeclared, 4096).is_err());
    }

    #[test]
    fn oversized_stanza_is_refused_before_it_completes() {
        let big = "x".repeat(10_000);
        // No closing tag: the limit must trip while the stanza is still open.
        let r = events(&format!("{HEADER}<message><body>{big}"), 4096);
        assert!(
            matches!(r, Err(StreamErrorKind::PolicyViolation(_))),
            "{r:?}"
        );
        let attr = format!("{HEADER}<message id='{big}'/>");
        assert!(matches!(
            events(&attr, 4096),
            Err(StreamErrorKind::PolicyViolation(_))
        ));
        // Many small stanzas are fine: the limit is per element, not per stream.
        let many = format!("{HEADER}{}", "<presence/>".repeat(2000));
        assert_eq!(events(&many, 4096).unwrap().len(), 2001);
    }

    #[test]
    fn undeclared_prefix_and_text_at_top_level() {
        let r = events(&format!("{HEADER}<foo:message/>"), 4096);
        assert!(
            matches!(r, Err(StreamErrorKind::BadNamespacePrefix)),
            "{r:?}"
        );
        let r = events(&format!("{HEADER}hello</stream:stream>"), 4096);
        assert!(matches!(r, Err(StreamErrorKind::BadFormat(_))), "{r:?}");
    }

    #[test]
    fn whitespace_before_the_header_is_skipped() {
        let ev = events(&format!(" \n {HEADER}</stream:stream>"), 4096).unwrap();
        assert!(matches!(ev[..], [Event::Open(_), Event::Close]));
    }

    #[test]
    fn junk_instead_of_a_stream_is_refused_at_once() {
        let mut p = StreamParser::new(4096);
        let mut buf = &b"GET / HTTP/1.1\r\n"[..];
        assert!(matches!(
            p.next_event(&mut buf),
            Err(StreamErrorKind::NotWellFormed(_))
        ));
    }

    #[test]
    fn frames() {
        let e = parse_frame("<message xmlns='jabber:client'><b>1</b></message>", 100).unwrap();
        assert!(e.is("message", "jabber:client"));
        assert!(matches!(
            parse_frame("<message xmlns='jabber:client'>", 100),
            Err(StreamErrorKind::NotWellFormed(_))
        ));
        assert!(matches!(
            parse_frame(&"x".repeat(200), 100),
            Err(StreamErrorKind::PolicyViolation(_))
        ));
    }
}
