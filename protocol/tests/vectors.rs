//! Replays every `vectors/NAME.xml` and compares the state form with `vectors/NAME.json`
//! byte for byte; the web client's `protocol-vectors.test.mjs` does the same with the same
//! files. `LECTERN_BLESS=1 cargo test -p lectern-protocol --test vectors` rewrites the JSON
//! files from this implementation — review the diff before committing it.

use std::path::{Path, PathBuf};

use lectern_protocol::*;
use minidom::Element;

fn vectors() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut xml: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    xml.sort();
    assert!(xml.len() >= 8, "expected at least 8 vectors in {dir:?}");
    xml
}

/// A vector's starting state (its optional `<snapshot/>`) and its events.
fn load(path: &Path) -> (MeetingState, Vec<Element>) {
    let root: Element = std::fs::read_to_string(path).unwrap().parse().unwrap();
    assert!(root.is("vector", NS), "{path:?}");
    let mut state = MeetingState::new();
    let mut events = Vec::new();
    for child in root.children() {
        if child.is("note", NS) {
            continue;
        }
        if child.is("snapshot", NS) {
            let snapshot: Snapshot = from_element(child).unwrap();
            state = MeetingState::from_snapshot(&snapshot).unwrap();
        } else {
            assert!(
                child.is("event", NS),
                "{path:?}: unexpected <{}>",
                child.name()
            );
            events.push(child.clone());
        }
    }
    (state, events)
}

/// Applies events as an attendee does: invalid ones are ignored, a seq gap is a bug.
fn replay(state: &mut MeetingState, events: &[Element]) {
    for el in events {
        if let Err(err @ ProtocolError::Sequence { .. }) = state.apply_element(el) {
            panic!("{err}");
        }
    }
}

#[test]
fn every_vector_reaches_its_expected_state() {
    let bless = std::env::var_os("LECTERN_BLESS").is_some();
    let mut failures = Vec::new();
    for path in vectors() {
        let (mut state, events) = load(&path);
        replay(&mut state, &events);
        let got = state.state_json() + "\n";
        let json_path = path.with_extension("json");
        if bless {
            std::fs::write(&json_path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&json_path).unwrap_or_default();
        if got != want {
            failures.push(format!("{json_path:?}\n  want {want}  got  {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A late joiner who loads a snapshot at any point and then applies the rest of the events
/// ends exactly where someone who saw every event does.
#[test]
fn a_snapshot_at_any_point_then_the_rest_gives_the_same_state() {
    for path in vectors() {
        let (start, events) = load(&path);
        let mut full = start.clone();
        replay(&mut full, &events);
        let mut prefix = start;
        for split in 0..=events.len() {
            if split > 0 {
                replay(&mut prefix, &events[split - 1..split]);
            }
            let el = to_element(&prefix.to_snapshot("123456789"));
            let xml = String::from(&el);
            let parsed: Snapshot = from_element(&xml.parse::<Element>().unwrap())
                .unwrap_or_else(|e| panic!("{path:?} at {split}: {e}\n{xml}"));
            let mut joiner = MeetingState::from_snapshot(&parsed).unwrap();
            assert_eq!(
                joiner, prefix,
                "{path:?}: snapshot at {split} is not the state"
            );
            replay(&mut joiner, &events[split..]);
            assert_eq!(
                joiner.state_json(),
                full.state_json(),
                "{path:?}: joined after event {split}"
            );
        }
    }
}
