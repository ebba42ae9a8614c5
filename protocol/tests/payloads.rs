//! Literal-XML round trips: each payload parses from the spec's XML and serialises back to
//! the same element, and malformed variants are refused naming the attribute at fault.

use lectern_protocol::*;
use minidom::Element;

const NS_DECL: &str = "xmlns='urn:lectern:sync:1'";

/// Parses `body` (an element without its xmlns) as an event payload and back.
fn round_trip(body: &str) -> Payload {
    let xml = body.replacen(' ', &format!(" {NS_DECL} "), 1);
    let el: Element = xml.parse().unwrap_or_else(|e| panic!("{xml}: {e}"));
    let payload: Payload = from_element(&el).unwrap_or_else(|e| panic!("{xml}: {e}"));
    assert_eq!(to_element(&payload), el, "{xml}");
    payload
}

fn refused(body: &str) -> ProtocolError {
    let xml = body.replacen(' ', &format!(" {NS_DECL} "), 1);
    let el: Element = xml.parse().unwrap();
    from_element::<Payload>(&el).expect_err(&xml)
}

#[test]
fn navigation_payloads() {
    assert!(matches!(
        round_trip("<page n='3'/>"),
        Payload::Page(Page { number: 3 })
    ));
    let Payload::Viewport(v) = round_trip("<viewport x='0.25' y='0.1' zoom='2'/>") else {
        panic!()
    };
    assert_eq!((v.x.units(), v.zoom.units()), (2500, 20_000));
    let Payload::Pointer(p) = round_trip("<pointer page='3' x='0.52' y='0.48'/>") else {
        panic!()
    };
    assert_eq!(p.target().unwrap().page, 3);
    let Payload::Pointer(p) = round_trip("<pointer hide='true'/>") else {
        panic!()
    };
    assert_eq!(p.target(), None);
    round_trip("<presenter nick='bob'/>");
}

#[test]
fn ink_payloads() {
    let Payload::StrokeBegin(s) = round_trip(
        "<stroke-begin id='s7' page='3' tool='pen' color='#e53935' width='0.004'>0.1,0.2 0.1012,0.2033</stroke-begin>",
    ) else {
        panic!()
    };
    assert_eq!(s.points.0.len(), 2);
    assert_eq!(s.tool, Tool::Pen);
    round_trip("<stroke-extend id='s7'>0.105,0.21 0.11,0.215</stroke-extend>");
    round_trip("<stroke-end id='s7'/>");
    round_trip(
        "<shape id='h2' page='3' kind='arrow' color='#1e88e5' width='0.003' x1='0.1' y1='0.1' x2='0.4' y2='0.3'/>",
    );
    let Payload::Text(t) = round_trip(
        "<text id='x1' page='3' color='#000000' size='0.03' x='0.2' y='0.5'>Revenue up</text>",
    ) else {
        panic!()
    };
    assert_eq!(t.text, "Revenue up");
    round_trip("<erase page='3' ids='s7 h2'/>");
    round_trip("<clear page='3'/>");
    round_trip("<undo page='3'/>");
    round_trip("<redo page='3'/>");
}

#[test]
fn values_are_normalised_on_the_way_through() {
    let xml = format!(
        "<stroke-begin {NS_DECL} id='s' page='1' tool='highlighter' color='#E53935' width='.0040'>.5,1.</stroke-begin>"
    );
    // `1.` is not a decimal: the whole payload is refused.
    assert!(from_element::<Payload>(&xml.parse().unwrap()).is_err());
    let xml = xml.replace("1.<", "1<");
    let p: Payload = from_element(&xml.parse().unwrap()).unwrap();
    let out = String::from(&to_element(&p));
    assert!(
        out.contains("color='#e53935'") && out.contains("width='0.004'"),
        "{out}"
    );
    assert!(out.contains(">0.5,1<"), "{out}");
}

#[test]
fn out_of_range_values_name_their_attribute() {
    let cases = [
        ("<page n='0'/>", "n"),
        ("<viewport x='1.1' y='0' zoom='2'/>", "x"),
        ("<viewport x='0' y='0' zoom='9'/>", "zoom"),
        ("<pointer page='1' x='2' y='0'/>", "x"),
        ("<pointer hide='true' page='1'/>", "hide"),
        ("<pointer hide='false'/>", "hide"),
        ("<shape id='a' page='1' kind='line' color='#000000' width='0.6' x1='0' y1='0' x2='1' y2='1'/>", "width"),
        ("<shape id='a' page='1' kind='line' color='#000000' width='0.1' x1='0' y1='-0.6' x2='1' y2='1'/>", "y1"),
        ("<text id='a' page='1' color='#000000' size='0.03' x='0' y='0'></text>", "text"),
        ("<stroke-begin id='a b' page='1' tool='pen' color='#000000' width='0.1'>0,0</stroke-begin>", "id"),
        ("<stroke-begin id='a' page='1' tool='brush' color='#000000' width='0.1'>0,0</stroke-begin>", "tool"),
        ("<stroke-begin id='a' page='1' tool='pen' color='red' width='0.1'>0,0</stroke-begin>", "color"),
        ("<stroke-extend id='a'>0,0 1.6,0</stroke-extend>", "points"),
        ("<presenter nick=''/>", "nick"),
    ];
    for (xml, attr) in cases {
        match refused(xml) {
            ProtocolError::Invalid { attr: got, .. } => assert_eq!(got, attr, "{xml}"),
            other => panic!("{xml}: {other:?}"),
        }
    }
}

#[test]
fn size_bounds_are_their_own_error() {
    let points = vec!["0.5,0.5"; MAX_POINTS_PER_ELEMENT + 1].join(" ");
    let xml = format!("<stroke-extend id='s'>{points}</stroke-extend>");
    assert_eq!(refused(&xml), ProtocolError::TooLarge("points"));
    let text = "é".repeat(MAX_TEXT_CHARS + 1);
    let xml =
        format!("<text id='a' page='1' color='#000000' size='0.03' x='0' y='0'>{text}</text>");
    assert_eq!(refused(&xml), ProtocolError::TooLarge("text"));
    let ids = vec!["a"; MAX_IDS_PER_LIST + 1].join(" ");
    assert_eq!(
        refused(&format!("<erase page='1' ids='{ids}'/>")),
        ProtocolError::TooLarge("ids")
    );
    // Code points count, not bytes: 1024 two-byte characters fit.
    let text = "é".repeat(MAX_TEXT_CHARS);
    round_trip(&format!(
        "<text id='a' page='1' color='#000000' size='0.03' x='0' y='0'>{text}</text>"
    ));
}

#[test]
fn events_wrap_exactly_one_payload() {
    let xml = format!("<event {NS_DECL} seq='42' t='5120'><page n='3'/></event>");
    let el: Element = xml.parse().unwrap();
    let ev = Event::from_element(&el).unwrap();
    assert_eq!((ev.seq, ev.t), (Some(42), 5120));
    assert_eq!(ev.to_element(), el);

    let request = format!("<event {NS_DECL} meeting='123456789' t='5120'><page n='3'/></event>");
    let el: Element = request.parse().unwrap();
    let ev = Event::from_element(&el).unwrap();
    assert_eq!((ev.seq, ev.meeting.as_deref()), (None, Some("123456789")));
    assert_eq!(ev.to_element(), el);

    for bad in [
        format!("<event {NS_DECL} seq='1' t='1'/>"),
        format!("<event {NS_DECL} seq='1' t='1'><page n='1'/><page n='2'/></event>"),
        format!("<event {NS_DECL} seq='1' t='1'><sparkle/></event>"),
        format!("<event {NS_DECL} seq='+1' t='1'><page n='1'/></event>"),
        format!("<event {NS_DECL} seq='0' t='1'><page n='1'/></event>"),
        format!("<event {NS_DECL} meeting='12' t='1'><page n='1'/></event>"),
        format!("<event {NS_DECL} seq='1'><page n='1'/></event>"),
    ] {
        let el: Element = bad.parse().unwrap();
        assert!(Event::from_element(&el).is_err(), "{bad}");
    }
    let el: Element = format!("<event {NS_DECL} seq='7' t='1'><sparkle/></event>")
        .parse()
        .unwrap();
    assert_eq!(event_seq(&el), Some(7));
}

#[test]
fn built_events_serialise_in_the_namespace() {
    let ev = Event::sequenced(1, 0, Page { number: 2 }.into());
    let xml = String::from(&ev.to_element());
    assert_eq!(
        xml,
        "<event xmlns='urn:lectern:sync:1' seq='1' t='0'><page n='2'/></event>"
    );
}

#[test]
fn recording_pause_and_resume() {
    assert_eq!(
        round_trip("<recording paused='true'/>"),
        Payload::Recording(Recording::PAUSED)
    );
    assert_eq!(
        round_trip("<recording paused='false'/>"),
        Payload::Recording(Recording::RESUMED)
    );
    for bad in [
        "<recording paused='maybe'/>",
        "<recording />",
        "<recording paused=''/>",
    ] {
        refused(bad);
    }
}
