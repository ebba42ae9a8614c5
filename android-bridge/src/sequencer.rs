//! Puts events from the room and from catch-up answers into `seq` order: duplicates are
//! dropped, early events wait for the gap before them to be filled (by a catch-up query).

use std::collections::BTreeMap;

use minidom::Element;

/// Early events held at most; beyond that the newest are dropped (catch-up refetches them).
const MAX_PENDING: usize = 20_000;

/// One `<event/>` as it reached us.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Its sequence number.
    pub seq: u64,
    /// The `<event/>` element.
    pub element: Element,
    /// The engine-clock milliseconds when it arrived live from the room; `None` for events
    /// from a catch-up answer, whose arrival says nothing about network delay.
    pub arrival_ms: Option<i64>,
}

/// Orders events by `seq`, starting after a known point (a snapshot, or 0).
#[derive(Debug, Default)]
pub struct Sequencer {
    /// The last `seq` handed on; `None` until the starting point is known.
    last: Option<u64>,
    pending: BTreeMap<u64, Incoming>,
}

impl Sequencer {
    /// A sequencer that holds everything until [`Sequencer::start_at`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The last `seq` handed on.
    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// Sets the starting point (the snapshot's `seq`) and returns what is ready after it.
    pub fn start_at(&mut self, seq: u64) -> Vec<Incoming> {
        self.last = Some(seq);
        self.pending = self.pending.split_off(&(seq + 1));
        self.drain()
    }

    /// Takes one event; returns the events now ready, in order.
    pub fn push(&mut self, incoming: Incoming) -> Vec<Incoming> {
        if self.last.is_some_and(|last| incoming.seq <= last) {
            return Vec::new();
        }
        if self.pending.len() >= MAX_PENDING {
            let newest = *self.pending.keys().next_back().expect("not empty");
            if incoming.seq > newest {
                return Vec::new();
            }
            self.pending.remove(&newest);
        }
        // A live copy beats a catch-up copy of the same event: it carries an arrival time.
        match self.pending.get(&incoming.seq) {
            Some(held) if held.arrival_ms.is_some() => {}
            _ => {
                self.pending.insert(incoming.seq, incoming);
            }
        }
        self.drain()
    }

    /// Whether events are waiting behind a gap (a catch-up query would fill it).
    pub fn has_gap(&self) -> bool {
        self.last.is_some() && !self.pending.is_empty()
    }

    fn drain(&mut self) -> Vec<Incoming> {
        let Some(mut last) = self.last else {
            return Vec::new();
        };
        let mut ready = Vec::new();
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() != last + 1 {
                break;
            }
            last += 1;
            ready.push(entry.remove());
        }
        self.last = Some(last);
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64) -> Incoming {
        Incoming {
            seq,
            element: Element::builder("event", lectern_protocol::NS).build(),
            arrival_ms: Some(0),
        }
    }

    fn seqs(v: Vec<Incoming>) -> Vec<u64> {
        v.into_iter().map(|i| i.seq).collect()
    }

    #[test]
    fn holds_until_the_start_is_known_then_orders_and_dedupes() {
        let mut s = Sequencer::new();
        assert!(s.push(ev(5)).is_empty());
        assert!(s.push(ev(7)).is_empty());
        assert_eq!(seqs(s.start_at(4)), vec![5]);
        assert!(s.has_gap());
        assert!(s.push(ev(5)).is_empty(), "duplicate");
        assert_eq!(seqs(s.push(ev(6))), vec![6, 7]);
        assert!(!s.has_gap());
        assert_eq!(s.last(), Some(7));
    }

    #[test]
    fn a_snapshot_past_held_events_drops_them() {
        let mut s = Sequencer::new();
        s.push(ev(2));
        s.push(ev(3));
        assert!(s.start_at(3).is_empty());
        assert_eq!(seqs(s.push(ev(4))), vec![4]);
    }
}
