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

    /// Records `n` bytes read at `now`; returns how long to pause before reading more.
    pub fn take(&mut self, n: usize, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst) - n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
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
