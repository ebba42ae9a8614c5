//! Inbound byte budget per connection: a token bucket. Over budget, the connection is read
//! more slowly (TCP back-pressure), never dropped, so a burst costs latency, not the session.

use std::time::{Duration, Instant};

pub struct RateLimiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    pub fn new(bytes_per_sec: u64, burst: u64) -> Self {
        Self {
            rate: bytes_per_sec.max(1) as f64,
            burst: burst.max(1) as f64,
            tokens: burst.max(1) as f64,
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
    }

    /// Records `n` bytes read at `now`; returns how long to pause before reading more.
    pub fn take(&mut self, n: usize, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }

    /// Takes `n` units at `now` if the budget has them; otherwise takes nothing (for callers
    /// that refuse work rather than pause, like the focus with a flooding presenter).
    pub fn try_take(&mut self, n: usize, now: Instant) -> bool {
        self.refill(now);
        if self.tokens < n as f64 {
            return false;
        }
        self.tokens -= n as f64;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_free_then_pauses_in_proportion() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(1000, 5000);
        assert_eq!(r.take(5000, t0), Duration::ZERO);
        assert_eq!(r.take(2000, t0), Duration::from_secs(2));
        // After waiting out the debt and one more second, 1000 bytes are free again.
        assert_eq!(r.take(1000, t0 + Duration::from_secs(3)), Duration::ZERO);
    }

    #[test]
    fn try_take_refuses_without_going_into_debt() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(10, 3);
        assert!((0..3).all(|_| r.try_take(1, t0)));
        assert!(!r.try_take(1, t0));
        // A refusal costs nothing: a tenth of a second later one unit is there again.
        assert!(r.try_take(1, t0 + Duration::from_millis(100)));
    }

    #[test]
    fn audio_rate_is_never_throttled_by_defaults() {
        // 50 messages/s of 120 bytes (Opus at 32 kb/s plus framing) for a simulated minute.
        let t0 = Instant::now();
        let mut r = RateLimiter::new(1024 * 1024, 4 * 1024 * 1024);
        for i in 0..3000u64 {
            let now = t0 + Duration::from_millis(i * 20);
            assert_eq!(r.take(120, now), Duration::ZERO);
        }
    }
}
