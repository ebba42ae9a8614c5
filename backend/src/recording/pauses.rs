//! The presenter's recording pauses, cut from the recording's timeline.
//!
//! A pause runs over presenter time `[from, to)`; one never resumed runs to the end. Recording
//! time is presenter time less the paused time before it, and a moment inside a pause maps to
//! the moment the pause began: what changed during a pause shows at the cut, so the recording's
//! state after it is the meeting's and nothing after it drifts.

use serde::Serialize;

use lectern_protocol::{Event, Payload};

/// One pause, as written into `timeline.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pause {
    /// Where the cut is, in recording ms.
    pub at: u64,
    /// Presenter ms when the presenter paused.
    pub from: u64,
    /// Presenter ms when the presenter resumed; `None` when the meeting ended paused.
    pub to: Option<u64>,
}

impl Pause {
    fn end(&self) -> u64 {
        self.to.unwrap_or(u64::MAX)
    }
}

/// Where a recording that was deleted while its meeting went on starts again: the meeting is
/// shown as it stood at the deletion, from its first event after it (`first_t`, presenter ms;
/// `None` when nothing happened since). Everything before is cut as one pause from 0, which a
/// resume extends if the recording was paused at the deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restart {
    pub paused: bool,
    pub first_t: Option<u64>,
}

/// The pauses of an archive, in order: the first pass over the records, before anything is
/// placed on the recording's timeline. `recording` events are valid whatever the state (spec),
/// so reading them alone gives what applying every event would; a pause while paused and a
/// resume while recording change nothing and are skipped.
pub fn collect<'a>(
    restart: Option<Restart>,
    events: impl IntoIterator<Item = &'a Event>,
) -> Vec<Pause> {
    let mut pauses: Vec<Pause> = Vec::new();
    let mut paused_ms = 0;
    if let Some(r) = restart {
        let to = if r.paused { None } else { r.first_t };
        paused_ms = to.unwrap_or(0);
        pauses.push(Pause { at: 0, from: 0, to });
    }
    for event in events {
        let Payload::Recording(r) = event.payload else {
            continue;
        };
        let open = pauses.last().is_some_and(|p| p.to.is_none());
        match (r.paused, open) {
            (true, false) => {
                // Pauses stay in order even if the presenter's clock stepped back.
                let from = event.t.max(pauses.last().map_or(0, Pause::end));
                pauses.push(Pause {
                    at: from - paused_ms,
                    from,
                    to: None,
                });
            }
            (false, true) => {
                let last = pauses.last_mut().expect("open");
                // A clock that stepped back must not make a pause negative.
                let to = event.t.max(last.from);
                last.to = Some(to);
                paused_ms += to - last.from;
            }
            _ => {}
        }
    }
    pauses
}

/// Recording ms for presenter ms `t`: a time inside a pause is the pause's cut.
pub fn recording_ms(pauses: &[Pause], t: u64) -> u64 {
    let paused: u64 = pauses
        .iter()
        .take_while(|p| p.from <= t)
        .map(|p| p.end().min(t) - p.from)
        .sum();
    t.saturating_sub(paused)
}

/// Whether any of `[start, end)` (presenter ms) is paused. Voice frames are cut whole: a frame
/// that overlaps a pause at all is left out, so the kept frames never overlap on the recording's
/// timeline (a frame ending at a pause's start or starting at its end is kept).
pub fn overlaps(pauses: &[Pause], start: u64, end: u64) -> bool {
    pauses.iter().any(|p| start < p.end() && p.from < end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pause(at: u64, from: u64, to: Option<u64>) -> Pause {
        Pause { at, from, to }
    }

    #[test]
    fn times_after_a_pause_shift_by_its_length_and_times_inside_map_to_the_cut() {
        let pauses = [pause(1000, 1000, Some(3000)), pause(2000, 4000, Some(4500))];
        let mapped: Vec<u64> = [0, 999, 1000, 2999, 3000, 3500, 4000, 4499, 4500, 9000]
            .iter()
            .map(|&t| recording_ms(&pauses, t))
            .collect();
        assert_eq!(
            mapped,
            [0, 999, 1000, 1000, 1000, 1500, 2000, 2000, 2000, 6500]
        );
    }

    #[test]
    fn an_unterminated_pause_holds_everything_after_it_at_the_cut() {
        let pauses = [pause(700, 700, None)];
        assert_eq!(recording_ms(&pauses, 699), 699);
        assert_eq!(recording_ms(&pauses, 700), 700);
        assert_eq!(recording_ms(&pauses, 1_000_000), 700);
    }

    #[test]
    fn frames_touching_a_pause_only_at_its_edges_are_kept() {
        let pauses = [pause(1000, 1000, Some(2000))];
        assert!(!overlaps(&pauses, 980, 1000));
        assert!(overlaps(&pauses, 990, 1010));
        assert!(overlaps(&pauses, 1990, 2010));
        assert!(!overlaps(&pauses, 2000, 2020));
        assert!(overlaps(&[pause(5, 5, None)], 1_000_000, 1_000_020));
    }

    fn recording(t: u64, paused: bool) -> Event {
        let r = lectern_protocol::Recording { paused };
        Event::sequenced(9, t, Payload::Recording(r))
    }

    #[test]
    fn a_restart_cuts_everything_before_its_first_event_or_its_resume() {
        let first_t = Some(60_000);
        let running = collect(
            Some(Restart {
                paused: false,
                first_t,
            }),
            [],
        );
        assert_eq!(running, [pause(0, 0, Some(60_000))]);
        assert_eq!(recording_ms(&running, 59_000), 0);
        assert_eq!(recording_ms(&running, 61_000), 1000);

        let (resume, again) = (recording(75_000, false), recording(80_000, true));
        let paused = collect(
            Some(Restart {
                paused: true,
                first_t,
            }),
            [&resume, &again],
        );
        assert_eq!(
            paused,
            [pause(0, 0, Some(75_000)), pause(5000, 80_000, None)]
        );

        let idle = collect(
            Some(Restart {
                paused: false,
                first_t: None,
            }),
            [],
        );
        assert_eq!(
            recording_ms(&idle, 90_000),
            0,
            "nothing since: an empty recording"
        );
    }
}
