//! The engine's event path without the network: events from the room and from catch-up
//! answers go through the sequencer, audio into the jitter buffer, and everything onto the
//! playout queue, from which the state the app shows is built when its time comes.
//!
//! The shown state is a [`lectern_protocol::MeetingState`] fed exactly the events in `seq`
//! order, so its canonical JSON is byte-identical to the protocol vectors' state form.

use std::collections::VecDeque;

use lectern_protocol::{event_seq, Event, MeetingState, Payload, ProtocolError, Snapshot};
use minidom::Element;

use crate::clock::PlayoutClock;
use crate::jitter::{JitterBuffer, JitterStats};
use crate::sequencer::{Incoming, Sequencer};

/// One event presented to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    /// The event's `seq`.
    pub seq: u64,
    /// Its presenter-clock time.
    pub t: Option<i64>,
    /// The payload's element name (`page`, `stroke-begin`, ...).
    pub kind: String,
    /// Whether it changed the state (invalid events and audio do not).
    pub changed: bool,
}

/// Sequencer, playout clock, jitter buffer and the shown state, driven by the caller's
/// engine-clock milliseconds.
#[derive(Debug)]
pub struct MeetingCore {
    sequencer: Sequencer,
    clock: PlayoutClock,
    jitter: JitterBuffer,
    queue: VecDeque<(Option<i64>, Element)>,
    shown: MeetingState,
}

fn t_of(el: &Element) -> Option<i64> {
    el.attr("t")?.parse::<u64>().ok().map(|t| t as i64)
}

impl MeetingCore {
    /// An empty meeting waiting for its starting point (a snapshot or [`Self::start_empty`]).
    pub fn new() -> Result<Self, opus::Error> {
        Ok(MeetingCore {
            sequencer: Sequencer::new(),
            clock: PlayoutClock::new(),
            jitter: JitterBuffer::new()?,
            queue: VecDeque::new(),
            shown: MeetingState::new(),
        })
    }

    /// Starts from the empty state (seq 0), as a replay of a whole meeting does.
    pub fn start_empty(&mut self) {
        let ready = self.sequencer.start_at(0);
        self.schedule(ready);
    }

    /// Starts from a snapshot answer; events held so far that follow it are scheduled.
    pub fn load_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), ProtocolError> {
        let state = MeetingState::from_snapshot(snapshot)?;
        let seq = state.seq;
        self.shown = state;
        self.queue.clear();
        let ready = self.sequencer.start_at(seq);
        self.schedule(ready);
        Ok(())
    }

    /// Whether the starting point is known.
    pub fn started(&self) -> bool {
        self.sequencer.last().is_some()
    }

    /// The last `seq` received in order (what a catch-up query asks after).
    pub fn received_seq(&self) -> Option<u64> {
        self.sequencer.last()
    }

    /// Whether events wait behind a gap that a catch-up query should fill.
    pub fn has_gap(&self) -> bool {
        self.sequencer.has_gap()
    }

    /// Takes one `<event/>`: `arrival` is the engine time it came live from the room, `None`
    /// when it came in a catch-up answer.
    pub fn receive(&mut self, element: Element, arrival: Option<i64>) {
        let Some(seq) = event_seq(&element) else {
            return;
        };
        if let (Some(t), Some(at)) = (t_of(&element), arrival) {
            let before = self.clock_base();
            self.clock.observe(t, at);
            self.clock_moved(before);
        }
        let ready = self.sequencer.push(Incoming {
            seq,
            element,
            arrival_ms: arrival,
        });
        self.schedule(ready);
    }

    fn schedule(&mut self, ready: Vec<Incoming>) {
        for incoming in ready {
            let t = t_of(&incoming.element);
            if let (Some(t), true) = (t, incoming.element.children().any(|c| c.name() == "audio")) {
                if let Ok(Event {
                    payload: Payload::Audio(audio),
                    ..
                }) = Event::from_element(&incoming.element)
                {
                    let late = incoming.arrival_ms.map(|at| self.clock.lateness(t, at));
                    self.jitter.push(&audio, t, late);
                    let before = self.clock_base();
                    self.clock.set_delay(self.jitter.target_ms());
                    self.clock_moved(before);
                }
            }
            self.queue.push_back((t, incoming.element));
        }
    }

    /// `offset + delay`: presenter time `t` is presented at engine time `t + base`.
    fn clock_base(&self) -> Option<i64> {
        Some(self.clock.offset()? + self.clock.delay())
    }

    fn clock_moved(&mut self, before: Option<i64>) {
        if let (Some(before), Some(after)) = (before, self.clock_base()) {
            if before != after {
                self.jitter.shift(before - after);
            }
        }
    }

    /// Engine time when the next queued event is due (`None`: nothing queued; a time in the
    /// past: due now).
    pub fn next_due(&self) -> Option<i64> {
        let (t, _) = self.queue.front()?;
        Some(t.and_then(|t| self.clock.due(t)).unwrap_or(i64::MIN))
    }

    /// Applies the next event if it is due at engine time `now` (events leave strictly in
    /// `seq` order).
    pub fn release_next(&mut self, now: i64) -> Option<Presented> {
        if self.next_due().is_none_or(|due| due > now) {
            return None;
        }
        let (t, element) = self.queue.pop_front()?;
        let kind = element
            .children()
            .next()
            .map(|c| c.name().to_owned())
            .unwrap_or_default();
        let seq = event_seq(&element).unwrap_or_default();
        let changed = match self.shown.apply_element(&element) {
            Ok(()) => kind != "audio",
            Err(ProtocolError::Sequence { last, got }) => {
                tracing::error!(last, got, "out of order at playout; a bug");
                false
            }
            Err(_) => false,
        };
        Some(Presented {
            seq,
            t,
            kind,
            changed,
        })
    }

    /// Applies every event due at engine time `now`.
    pub fn release(&mut self, now: i64) -> Vec<Presented> {
        std::iter::from_fn(|| self.release_next(now)).collect()
    }

    /// The state shown now.
    pub fn state(&self) -> &MeetingState {
        &self.shown
    }

    /// The canonical state form (protocol `state_json`).
    pub fn state_json(&self) -> String {
        self.shown.state_json()
    }

    /// The playout clock.
    pub fn clock(&self) -> &PlayoutClock {
        &self.clock
    }

    /// The presenter time presented at engine time `now`.
    pub fn presenter_now(&self, now: i64) -> Option<i64> {
        self.clock.presenter_now(now)
    }

    /// The next `n` PCM samples (48 kHz mono) at engine time `now`.
    pub fn pull_pcm(&mut self, n: usize, now: i64) -> Vec<i16> {
        let presenter_now = self.clock.presenter_now(now);
        self.jitter.pull(n, presenter_now)
    }

    /// Jitter buffer counters.
    pub fn audio_stats(&self) -> JitterStats {
        self.jitter.stats()
    }
}
