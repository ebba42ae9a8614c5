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
