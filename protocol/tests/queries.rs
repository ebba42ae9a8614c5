//! Literal-XML round trips for the queries and notices, and the snapshot ⇄ state mapping.

use lectern_protocol::*;
use minidom::Element;

fn el(xml: &str) -> Element {
    xml.parse().unwrap_or_else(|e| panic!("{xml}: {e}"))
}

/// Parses, serialises, and checks the element came back unchanged.
fn round_trip<T: xso::FromXml + xso::AsXml>(xml: &str) -> T {
    let original = el(xml);
    let value: T = from_element(&original).unwrap_or_else(|e| panic!("{xml}: {e}"));
    assert_eq!(to_element(&value), original, "{xml}");
    value
}

const DOC: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[test]
fn catch_up_query_and_answer() {
    let q: Events =
        round_trip("<events xmlns='urn:lectern:sync:1' meeting='123456789' since='40' max='500'/>");
    assert_eq!(q, Events::query("123456789", 40, Some(500)));
    let a: Events = round_trip(
        "<events xmlns='urn:lectern:sync:1' meeting='123456789' last='42' complete='true'>\
         <event seq='41' t='5000'><page n='2'/></event>\
         <event seq='42' t='5120'><page n='3'/></event></events>",
    );
    assert_eq!(a.events.len(), 2);
    assert_eq!(a.events[1].payload, Payload::Page(Page { number: 3 }));
    let unsequenced = "<events xmlns='urn:lectern:sync:1' meeting='123456789'>\
         <event t='5000'><page n='2'/></event></events>";
    assert!(from_element::<Events>(&el(unsequenced)).is_err());
}

#[test]
fn hello_and_preload_notices() {
    let h: Hello =
        round_trip("<hello xmlns='urn:lectern:sync:1' meeting='123456789' ticket='abc.def'/>");
    assert_eq!(h.ticket.as_deref(), Some("abc.def"));
    let h: Hello = round_trip(
        "<hello xmlns='urn:lectern:sync:1' meeting='123456789' role='presenter' lan='true'/>",
    );
    assert_eq!((h.role, h.lan), (Some(Role::Presenter), Some(true)));
    assert!(from_element::<Hello>(&el(
        "<hello xmlns='urn:lectern:sync:1' meeting='123456789' role='king'/>"
    ))
    .is_err());
    round_trip::<Preload>(&format!(
        "<preload xmlns='urn:lectern:sync:1' meeting='123456789' document='{DOC}' url='/api/documents/{DOC}/package'/>"
    ));
    round_trip::<Preloaded>(&format!(
        "<preloaded xmlns='urn:lectern:sync:1' meeting='123456789' document='{DOC}'/>"
    ));
    let p: Preloaded = round_trip(&format!(
        "<preloaded xmlns='urn:lectern:sync:1' nick='carol' document='{DOC}'/>"
    ));
    assert_eq!(p.nick.as_deref(), Some("carol"));
}

#[test]
fn snapshot_query_and_answer() {
    let q: Snapshot = round_trip("<snapshot xmlns='urn:lectern:sync:1' meeting='123456789'/>");
    assert_eq!(q, Snapshot::query("123456789"));
    let hash = "ab".repeat(32);
    let answer = format!(
        "<snapshot xmlns='urn:lectern:sync:1' meeting='123456789' seq='42' presenter='alice'>\
         <document id='{DOC}' pages='3' base='/api/documents/x/' title='Quarterly review'>\
         <p n='1' hash='{hash}' w='1280' h='720'/><p n='2' hash='{hash}' w='1280' h='720'/>\
         <p n='3' hash='{hash}' w='1280' h='720'/></document>\
         <page n='3'/><viewport x='0' y='0' zoom='1'/><pointer page='3' x='0.52' y='0.48'/>\
         <ink document='{DOC}' page='3'>\
         <stroke id='s7' tool='pen' color='#e53935' width='0.004' done='true' visible='true'>0.1,0.2 0.1012,0.2033</stroke>\
         <shape id='h2' kind='arrow' color='#1e88e5' width='0.003' x1='0.1' y1='0.1' x2='0.4' y2='0.3' visible='false'/>\
         <text id='x1' color='#000000' size='0.03' x='0.2' y='0.5' visible='true'>Revenue up</text>\
         <undo><add ids='s7'/></undo><redo><add ids='h2'/></redo></ink></snapshot>"
    );
    let snapshot: Snapshot = round_trip(&answer);
    let state = MeetingState::from_snapshot(&snapshot).unwrap();
    assert_eq!((state.seq, state.page), (42, 3));
    let ink = state.page_ink(DOC, 3).unwrap();
    assert_eq!(ink.items.len(), 3);
    assert_eq!(to_element(&state.to_snapshot("123456789")), el(&answer));
}

#[test]
fn inconsistent_snapshots_are_refused() {
    let base = "<snapshot xmlns='urn:lectern:sync:1' meeting='123456789' seq='1'>";
    let shape = |id: &str, visible: bool| {
        format!("<shape id='{id}' kind='line' color='#000000' width='0.1' x1='0' y1='0' x2='1' y2='1' visible='{visible}'/>")
    };
    let bad = [
        format!("{base}<page n='1'/></snapshot>"),
        format!("{base}<ink document='{DOC}' page='1'>{}<undo><add ids='zz'/></undo></ink></snapshot>", shape("a", true)),
        format!("{base}<ink document='{DOC}' page='1'>{}</ink><ink document='{DOC}' page='2'>{}</ink></snapshot>", shape("a", true), shape("a", true)),
        format!("{base}<ink document='nope' page='1'>{}</ink></snapshot>", shape("a", true)),
        "<snapshot xmlns='urn:lectern:sync:1' meeting='123456789'/>".to_owned(),
    ];
    for xml in bad {
        let parsed = from_element::<Snapshot>(&el(&xml));
        assert!(
            parsed
                .and_then(|s| MeetingState::from_snapshot(&s))
                .is_err(),
            "{xml}"
        );
    }
    // A hidden item nothing refers to is pruned on loading, as the events would have.
    let xml = format!(
        "{base}<ink document='{DOC}' page='1'>{}{}</ink></snapshot>",
        shape("a", true),
        shape("b", false)
    );
    let state = MeetingState::from_snapshot(&from_element(&el(&xml)).unwrap()).unwrap();
    assert_eq!(state.page_ink(DOC, 1).unwrap().items.len(), 1);
}
