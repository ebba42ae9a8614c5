//! Just enough XML scanning for tests.
//!
//! The raw client needs byte-level control over what it sends, so it does not use a
//! real XML parser on the receiving side either: [`split_frame`] cuts the received
//! text into top-level frames (the stream header, one stanza/nonza, the stream end),
//! and the helpers below pick names, attributes, children and text out of one
//! element's source text. Both quote styles are accepted; CDATA and comments are
//! skipped over. This is deliberately simple and only meant for well-behaved output
//! from the server under test.

/// One top-level unit of an XMPP stream as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// An `<?xml ...?>` declaration or a `<stream:stream ...>` header.
    Header(String),
    /// One complete top-level element (a stanza or a nonza), verbatim.
    Element(String),
    /// `</stream:stream>`.
    StreamEnd,
    /// Non-whitespace text at the top level (never valid, kept for diagnostics).
    Text(String),
}

impl Frame {
    /// The element text, if this frame is an element.
    pub fn element(&self) -> Option<&str> {
        match self {
            Frame::Element(e) => Some(e),
            _ => None,
        }
    }
}

/// Split the first frame off `buf`.
///
/// Returns the frame and the number of bytes it used (including any whitespace
/// before it, such as keep-alives), or `None` if `buf` holds no complete frame yet.
pub fn split_frame(buf: &str) -> Option<(Frame, usize)> {
    let skip = buf.len() - buf.trim_start().len();
    let rest = &buf[skip..];
    if rest.is_empty() {
        return None;
    }
    if !rest.starts_with('<') {
        let end = rest.find('<').unwrap_or(rest.len());
        return Some((Frame::Text(rest[..end].to_owned()), skip + end));
    }
    if rest.starts_with("<?") {
        let end = rest.find("?>")? + 2;
        return Some((Frame::Header(rest[..end].to_owned()), skip + end));
    }
    if rest.starts_with("</") {
        // The only closing tag that can appear at the top level ends the stream.
        let end = rest.find('>')? + 1;
        return Some((Frame::StreamEnd, skip + end));
    }
    let mut depth = 0usize;
    let mut i = 0;
    loop {
        let lt = i + rest[i..].find('<')?;
        let here = &rest[lt..];
        if here.starts_with("<!--") {
            i = lt + here.find("-->")? + 3;
            continue;
        }
        if here.starts_with("<![CDATA[") {
            i = lt + here.find("]]>")? + 3;
            continue;
        }
        let gt = lt + tag_end(here)?;
        let tag = &rest[lt..=gt];
        if tag.starts_with("</") {
            depth = depth.saturating_sub(1);
        } else if tag.ends_with("/>") {
            // Empty element: depth unchanged.
        } else if depth == 0 && is_stream_header(tag) {
            return Some((Frame::Header(tag.to_owned()), skip + gt + 1));
        } else {
            depth += 1;
        }
        i = gt + 1;
        if depth == 0 {
            return Some((Frame::Element(rest[..i].to_owned()), skip + i));
        }
    }
}

/// Index of the `>` that ends the tag starting at `s[0] == '<'`, skipping quoted values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if q == c => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn is_stream_header(tag: &str) -> bool {
    let n = name(tag);
    n == "stream" || n.ends_with(":stream")
}

/// The qualified name of the element (or tag) `el`, e.g. `message` or `stream:error`.
pub fn name(el: &str) -> &str {
    let s = el.trim_start().trim_start_matches('<');
    let end = s
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(s.len());
    &s[..end]
}

/// The local part of the element's name (`error` for `stream:error`).
pub fn local_name(el: &str) -> &str {
    let n = name(el);
    n.rsplit(':').next().unwrap_or(n)
}

/// The attributes of the start tag of `el`, unescaped, in document order.
pub fn attrs(el: &str) -> Vec<(String, String)> {
    let el = el.trim_start();
    let Some(end) = tag_end(el) else {
        return Vec::new();
    };
    let mut s = el[1..end].trim_end_matches('/');
    s = &s[name(el).len()..];
    let mut out = Vec::new();
    loop {
        s = s.trim_start();
        let Some(eq) = s.find('=') else { break };
        let key = s[..eq].trim().to_owned();
        s = s[eq + 1..].trim_start();
        let Some(q) = s.chars().next().filter(|c| *c == '\'' || *c == '"') else {
            break;
        };
        let Some(close) = s[1..].find(q) else { break };
        out.push((key, unescape(&s[1..1 + close])));
        s = &s[close + 2..];
    }
    out
}

/// The value of attribute `key` on the start tag of `el`.
pub fn attr(el: &str, key: &str) -> Option<String> {
    attrs(el)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// The first descendant element of `el` (not `el` itself) whose local name is `local`.
pub fn child<'a>(el: &'a str, local: &str) -> Option<&'a str> {
    children(el).into_iter().find(|c| local_name(c) == local)
}

/// The direct child elements of `el`, verbatim.
pub fn children(el: &str) -> Vec<&str> {
    let el = el.trim_start();
    let Some(end) = tag_end(el) else {
        return Vec::new();
    };
    if el[..=end].ends_with("/>") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut i = end + 1;
    while let Some(off) = el[i..].find('<') {
        let at = i + off;
        let here = &el[at..];
        if here.starts_with("</") {
            break;
        }
        if here.starts_with("<!--") || here.starts_with("<![CDATA[") {
            let close = if here.starts_with("<!--") {
                "-->"
            } else {
                "]]>"
            };
            match here.find(close) {
                Some(c) => i = at + c + close.len(),
                None => break,
            }
            continue;
        }
        match split_frame(here) {
            Some((Frame::Element(_), used)) => {
                out.push(&el[at..at + used]);
                i = at + used;
            }
            _ => break,
        }
    }
    out
}

/// The concatenated, unescaped character data inside `el` (markup removed).
pub fn text(el: &str) -> String {
    let el = el.trim_start();
    let Some(end) = tag_end(el) else {
        return String::new();
    };
    let mut out = String::new();
    let mut rest = &el[end + 1..];
    while let Some(lt) = rest.find('<') {
        out.push_str(&unescape(&rest[..lt]));
        let here = &rest[lt..];
        if let Some(cdata) = here.strip_prefix("<![CDATA[") {
            let close = cdata.find("]]>").unwrap_or(cdata.len());
            out.push_str(&cdata[..close]);
            rest = &cdata[(close + 3).min(cdata.len())..];
            continue;
        }
        let Some(gt) = tag_end(here) else { break };
        rest = &here[gt + 1..];
    }
    out
}

/// Escape text for use in character data or an attribute value.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

/// Undo the predefined entities and numeric character references.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let Some(semi) = after.find(';') else {
            out.push_str(after);
            return out;
        };
        let ent = &after[1..semi];
        let decoded = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" => Some('\''),
            "quot" => Some('"'),
            _ => ent
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&after[..=semi]),
        }
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    out
}

/// The XMPP stream namespace's error element: `<stream:error>` or equivalent.
pub fn is_stream_error(el: &str) -> bool {
    name(el) == "stream:error"
        || (local_name(el) == "error"
            && attr(el, "xmlns").as_deref() == Some("http://etherx.jabber.org/streams"))
}

/// The defined condition of a stream error element (e.g. `not-well-formed`).
pub fn stream_error_condition(el: &str) -> Option<String> {
    children(el)
        .into_iter()
        .find(|c| local_name(c) != "text")
        .map(|c| local_name(c).to_owned())
}

/// The defined condition of a stanza error (the `<error>` child of a stanza).
pub fn stanza_error_condition(stanza: &str) -> Option<String> {
    let error = children(stanza)
        .into_iter()
        .find(|c| local_name(c) == "error")?;
    children(error)
        .into_iter()
        .find(|c| local_name(c) != "text")
        .map(|c| local_name(c).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_stream() {
        let s = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' id=\"a>b\">  \
                 <stream:features><mechanisms><mechanism>PLAIN</mechanism></mechanisms>\
                 </stream:features>\n <message to='a'><body>x &amp; y</body><e/></message>\
                 </stream:stream>";
        let mut rest = s;
        let mut frames = Vec::new();
        while let Some((f, used)) = split_frame(rest) {
            frames.push(f);
            rest = &rest[used..];
        }
        assert_eq!(frames.len(), 5, "{frames:?}");
        assert!(matches!(&frames[1], Frame::Header(h) if attr(h, "id").as_deref() == Some("a>b")));
        let features = frames[2].element().unwrap();
        assert_eq!(name(features), "stream:features");
        assert_eq!(text(child(features, "mechanisms").unwrap()), "PLAIN");
        let msg = frames[3].element().unwrap();
        assert_eq!(attr(msg, "to").as_deref(), Some("a"));
        assert_eq!(text(child(msg, "body").unwrap()), "x & y");
        assert_eq!(frames[4], Frame::StreamEnd);
    }

    #[test]
    fn incomplete_is_none() {
        assert!(split_frame("<message><body>hi</body>").is_none());
        assert!(split_frame("  ").is_none());
        assert!(split_frame("<message to='x").is_none());
    }

    #[test]
    fn errors() {
        let e = "<stream:error><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>too big</text>\
                 <policy-violation xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"/></stream:error>";
        assert!(is_stream_error(e));
        assert_eq!(
            stream_error_condition(e).as_deref(),
            Some("policy-violation")
        );
        let m = "<message type='error'><body>b</body><error type='cancel'>\
                 <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>";
        assert_eq!(
            stanza_error_condition(m).as_deref(),
            Some("service-unavailable")
        );
    }
}
