//! The one playout clock: every page turn, stroke and audio sample stamped `t` on the
//! presenter's clock is presented at engine time `t + offset + delay`, so a page turns
//! exactly when the words spoken with it are heard.
//!
//! `offset` is the smallest `arrival − t` seen on live events (the fastest path through the
//! server, clock difference included); `delay` is the jitter buffer's target, so audio that
//! arrives later than the fastest event still plays on time. Without audio the delay is 0
//! and events show as they arrive.

use std::time::Instant;

/// Milliseconds since the engine started, monotonic.
#[derive(Debug, Clone, Copy)]
pub struct EngineClock {
    origin: Instant,
}

impl EngineClock {
    /// A clock starting now.
    pub fn new() -> Self {
        EngineClock {
            origin: Instant::now(),
        }
    }

    /// Engine milliseconds now.
    pub fn now_ms(&self) -> i64 {
        self.ms_at(Instant::now())
    }

    /// Engine milliseconds at `instant`.
    pub fn ms_at(&self, instant: Instant) -> i64 {
        instant.saturating_duration_since(self.origin).as_millis() as i64
    }

    /// The instant of engine time `ms`.
    pub fn instant_of(&self, ms: i64) -> Instant {
        self.origin + std::time::Duration::from_millis(ms.max(0) as u64)
    }
}

impl Default for EngineClock {
    fn default() -> Self {
        Self::new()
    }
}

/// Maps presenter time to engine time and back.
#[derive(Debug, Clone, Default)]
pub struct PlayoutClock {
    offset: Option<i64>,
    delay: i64,
}

impl PlayoutClock {
    /// A clock that knows nothing yet: everything is due at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// A live event stamped `t` arrived at engine time `arrival`.
    pub fn observe(&mut self, t: i64, arrival: i64) {
        let sample = arrival - t;
        self.offset = Some(self.offset.map_or(sample, |o| o.min(sample)));
    }

    /// The smallest `arrival − t` so far.
    pub fn offset(&self) -> Option<i64> {
        self.offset
    }

    /// The playout delay on top of the offset (the jitter buffer's target).
    pub fn delay(&self) -> i64 {
        self.delay
    }

    /// Sets the playout delay.
    pub fn set_delay(&mut self, delay: i64) {
        self.delay = delay.max(0);
    }

    /// How late past the fastest path an event stamped `t` arrived (0 or more).
    pub fn lateness(&self, t: i64, arrival: i64) -> i64 {
        self.offset.map_or(0, |o| (arrival - t - o).max(0))
    }

    /// Engine time at which something stamped `t` is presented; `None` while the offset is
    /// unknown (present it now).
    pub fn due(&self, t: i64) -> Option<i64> {
        Some(t + self.offset? + self.delay)
    }

    /// The presenter time being presented at engine time `now`.
    pub fn presenter_now(&self, now: i64) -> Option<i64> {
        Some(now - self.offset? - self.delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_is_the_fastest_path_and_delay_shifts_everything() {
        let mut c = PlayoutClock::new();
        assert_eq!(c.due(100), None);
        c.observe(1000, 5030);
        c.observe(1100, 5120);
        assert_eq!(c.offset(), Some(4020));
        assert_eq!(c.due(2000), Some(6020));
        c.set_delay(80);
        assert_eq!(c.due(2000), Some(6100));
        assert_eq!(c.presenter_now(6100), Some(2000));
        assert_eq!(c.lateness(1000, 5030), 10);
    }
}
