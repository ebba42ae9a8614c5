//! String-level XMPP framing: split a byte stream into the stream header, top-level stanzas and
//! the stream close, without building any tree. Enough for the servers under test (they send
//! well-formed XML); never used on untrusted input.

use memchr::{memchr, memmem};

/// One top-level item of an XMPP stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// `<stream:stream ...>` (the opening tag only).
    Header(&'a [u8]),
    /// A complete top-level element (stanza, `<stream:features>`, `<success/>`, ...).
    Stanza(&'a [u8]),
    /// `</stream:stream>`.
    Close,
}

/// Accumulates bytes read from a socket and hands out complete frames.
#[derive(Default)]
pub struct Splitter {
    buf: Vec<u8>,
    pos: usize,
}

enum Scan {
    Skip(usize),
    Header(usize),
    Stanza(usize),
    Close(usize),
    Incomplete,
}

impl Splitter {
    /// The buffer to read into (`AsyncReadExt::read_buf` appends to it).
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        if self.pos > 0 && (self.pos == self.buf.len() || self.pos > 64 * 1024) {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        if self.buf.capacity() - self.buf.len() < 8192 {
            self.buf.reserve(16 * 1024);
        }
        &mut self.buf
    }

    /// The next complete frame, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        loop {
            let data = &self.buf[self.pos..];
            let start = data.iter().position(|b| !b.is_ascii_whitespace())?;
            let data = &data[start..];
            let scan = if data[0] == b'<' {
                scan_top(data)
            } else {
                // Stray text at the top level: skip to the next tag.
                Scan::Skip(memchr(b'<', data).unwrap_or(data.len()))
            };
            let begin = self.pos + start;
            match scan {
                Scan::Incomplete => {
                    self.pos = begin;
                    return None;
                }
                Scan::Skip(n) => self.pos = begin + n,
                Scan::Close(n) => {
                    self.pos = begin + n;
                    return Some(Frame::Close);
                }
                Scan::Header(n) => {
                    self.pos = begin + n;
                    return Some(Frame::Header(&self.buf[begin..begin + n]));
                }
                Scan::Stanza(n) => {
                    self.pos = begin + n;
                    return Some(Frame::Stanza(&self.buf[begin..begin + n]));
                }
            }
        }
    }
}

/// Scan one top-level construct starting at `<`.
fn scan_top(data: &[u8]) -> Scan {
    if let Some(n) = skip_special(data) {
        return n.map_or(Scan::Incomplete, Scan::Skip);
    }
    if data.get(1) == Some(&b'/') {
        return memchr(b'>', data).map_or(Scan::Incomplete, |e| Scan::Close(e + 1));
    }
    let Some(end) = tag_end(data) else {
        return Scan::Incomplete;
    };
    if tag_name(data) == b"stream:stream" {
        return Scan::Header(end + 1);
    }
    scan_element(data).map_or(Scan::Incomplete, Scan::Stanza)
}

/// `<?...?>`, `<!--...-->`, `<![CDATA[...]]>`: `Some(Some(len))`, `Some(None)` if incomplete,
/// `None` if `data` starts with an ordinary tag.
fn skip_special(data: &[u8]) -> Option<Option<usize>> {
    let close: &[u8] = if data.starts_with(b"<?") {
        b"?>"
    } else if data.starts_with(b"<!--") {
        b"-->"
    } else if data.starts_with(b"<![CDATA[") {
        b"]]>"
    } else if data.starts_with(b"<!") {
        b">"
    } else {
        return None;
    };
    Some(memmem::find(&data[2..], close).map(|i| i + 2 + close.len()))
}

/// Length of the complete element starting at `data[0] == b'<'`, if all of it is buffered.
fn scan_element(data: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0usize;
    loop {
        let rest = &data[i..];
        if let Some(skip) = skip_special(rest) {
            i += skip?;
        } else if rest.get(1) == Some(&b'/') {
            i += memchr(b'>', rest)? + 1;
            depth = depth.saturating_sub(1);
        } else {
            let end = tag_end(rest)?;
            if rest[end - 1] != b'/' {
                depth += 1;
            }
            i += end + 1;
        }
        if depth == 0 {
            return Some(i);
        }
        i += memchr(b'<', &data[i..])?;
    }
}

/// Index of the `>` closing the tag at `data[0] == b'<'`, honouring quoted attribute values.
fn tag_end(data: &[u8]) -> Option<usize> {
    let mut quote = 0u8;
    for (i, &b) in data.iter().enumerate().skip(1) {
        if quote != 0 {
            if b == quote {
                quote = 0;
            }
        } else if b == b'"' || b == b'\'' {
            quote = b;
        } else if b == b'>' {
            return Some(i);
        }
    }
    None
}

/// The qualified name of the tag at `data[0] == b'<'`.
pub fn tag_name(data: &[u8]) -> &[u8] {
    let rest = &data[1..];
    let n = rest
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'>' || b == b'/')
        .unwrap_or(rest.len());
    &rest[..n]
}

/// Value of attribute `name` on the first tag of `stanza` (no unescaping).
pub fn attr<'a>(stanza: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let head = &stanza[..tag_end(stanza).unwrap_or(stanza.len())];
    attr_in(head, name)
}

/// Value of attribute `name` anywhere after the start of `tag` (first occurrence).
pub fn attr_in<'a>(tag: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut from = 0;
    while let Some(i) = memmem::find(&tag[from..], name.as_bytes()) {
        let at = from + i;
        let before_ok = at > 0 && tag[at - 1].is_ascii_whitespace();
        let after = &tag[at + name.len()..];
        if before_ok && after.len() > 1 && after[0] == b'=' && matches!(after[1], b'\'' | b'"') {
            let q = after[1];
            let v = &after[2..];
            return memchr(q, v).map(|e| &v[..e]);
        }
        from = at + name.len();
    }
    None
}

/// Whether `hay` contains `needle`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memmem::find(hay, needle).is_some()
}

/// Text between `<tag>` (or `<tag ...>`) and `</tag>`, first occurrence.
pub fn child_text<'a>(hay: &'a [u8], tag: &str) -> Option<&'a [u8]> {
    let open = format!("<{tag}");
    let i = memmem::find(hay, open.as_bytes())?;
    let start = i + memchr(b'>', &hay[i..])? + 1;
    let close = format!("</{tag}>");
    let end = start + memmem::find(&hay[start..], close.as_bytes())?;
    Some(&hay[start..end])
}

/// Parse ASCII decimal digits.
pub fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(chunks: &[&str]) -> Vec<String> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        for chunk in chunks {
            s.buffer().extend_from_slice(chunk.as_bytes());
            while let Some(f) = s.next_frame() {
                out.push(match f {
                    Frame::Header(h) => format!("H:{}", String::from_utf8_lossy(h)),
                    Frame::Stanza(b) => format!("S:{}", String::from_utf8_lossy(b)),
                    Frame::Close => "C".to_string(),
                });
            }
        }
        out
    }

    #[test]
    fn splits_header_stanzas_and_close_across_chunks() {
        let got = frames(&[
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' id='a>b'",
            " version='1.0'><stream:features><mechanisms><mechanism>ANON",
            "YMOUS</mechanism></mechanisms></stream:features> \n<success xmlns='x'/>",
            "<message a='1'><b k='2'>x<!-- c > --></b><c/></message></stream:stream>",
        ]);
        assert_eq!(
            got,
            vec![
                "H:<stream:stream xmlns='jabber:client' id='a>b' version='1.0'>".to_string(),
                "S:<stream:features><mechanisms><mechanism>ANONYMOUS</mechanism></mechanisms></stream:features>".into(),
                "S:<success xmlns='x'/>".into(),
                "S:<message a='1'><b k='2'>x<!-- c > --></b><c/></message>".into(),
                "C".into(),
            ]
        );
    }

    #[test]
    fn one_byte_at_a_time() {
        let text =
            "<stream:stream x='1'><presence from='r/n'><x><status code='110'/></x></presence> <iq/>";
        let chunks: Vec<String> = text.chars().map(String::from).collect();
        let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
        let got = frames(&refs);
        assert_eq!(got.len(), 3);
        assert_eq!(got[2], "S:<iq/>");
    }

    #[test]
    fn attributes_and_numbers() {
        let s = b"<message from='r@c/n' type=\"groupchat\"><b xmlns='urn:lectern:bench' k='7' t='0042'/></message>";
        assert_eq!(attr(s, "type"), Some(&b"groupchat"[..]));
        assert_eq!(attr(s, "k"), None, "only the first tag");
        assert_eq!(attr_in(s, "t").and_then(parse_u64), Some(42));
        assert_eq!(attr_in(s, "k").and_then(parse_u64), Some(7));
        assert_eq!(tag_name(s), b"message");
        assert_eq!(
            child_text(b"<iq><bind><jid>a@b/c</jid></bind></iq>", "jid"),
            Some(&b"a@b/c"[..])
        );
        assert_eq!(parse_u64(b"12a"), None);
    }
}
