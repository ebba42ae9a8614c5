//! Every protocol vector (`protocol/vectors/*.xml`) replayed through the engine's event path
//! — sequencer, playout queue, shown state — ends in exactly the vector's state form, byte
//! for byte, as the server's and the web client's implementations do. Events are also fed
//! out of order and twice, as a room and catch-up answers can deliver them.

use std::path::{Path, PathBuf};

use android_bridge::MeetingCore;
use lectern_protocol::{from_element, Snapshot, NS};
use minidom::Element;

fn vectors() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol/vectors");
    let mut xml: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    xml.sort();
    assert!(xml.len() >= 8, "expected the protocol vectors in {dir:?}");
    xml
}

fn load(path: &Path) -> (Option<Snapshot>, Vec<Element>) {
    let root: Element = std::fs::read_to_string(path).unwrap().parse().unwrap();
    let snapshot = root
        .children()
        .find(|c| c.is("snapshot", NS))
        .map(|s| from_element(s).unwrap());
    let events = root
        .children()
        .filter(|c| c.is("event", NS))
        .cloned()
        .collect();
    (snapshot, events)
}

fn start(snapshot: &Option<Snapshot>) -> MeetingCore {
    let mut core = MeetingCore::new().unwrap();
    match snapshot {
        Some(s) => core.load_snapshot(s).unwrap(),
        None => core.start_empty(),
    }
    core
}

fn expected(path: &Path) -> String {
    std::fs::read_to_string(path.with_extension("json")).unwrap()
}

#[test]
fn every_vector_reaches_its_state_through_the_engine() {
    for path in vectors() {
        let (snapshot, events) = load(&path);
        let mut core = start(&snapshot);
        for (i, event) in events.into_iter().enumerate() {
            // Live arrivals at increasing engine times; nothing plays before its time.
            core.receive(event, Some(i as i64));
        }
        core.release(i64::MAX);
        assert_eq!(core.state_json() + "\n", expected(&path), "{path:?}");
    }
}

#[test]
fn reordered_and_repeated_events_change_nothing() {
    for path in vectors() {
        let (snapshot, events) = load(&path);
        let mut core = start(&snapshot);
        // Pairs swapped, and every event delivered twice (live, then by catch-up).
        let mut shuffled = events.clone();
        for pair in shuffled.chunks_mut(2) {
            pair.reverse();
        }
        for event in shuffled.into_iter().chain(events) {
            core.receive(event, None);
        }
        core.release(i64::MAX);
        assert!(!core.has_gap(), "{path:?}");
        assert_eq!(core.state_json() + "\n", expected(&path), "{path:?}");
    }
}
