//! Per-IP and per-identity request rate limits (token buckets from `governor`).

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// A keyed limiter: `per_second` requests a second on average, bursts of `burst`.
pub struct Limit<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    /// A limiter; `per_second == 0` disables it.
    pub fn new(per_second: u32, burst: u32) -> Self {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Limit {
            limiter,
            clock: DefaultClock::default(),
        }
    }

    /// `Ok` when `key` may make a request now; otherwise the whole seconds to wait.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    /// Forgets keys whose buckets are full again (bounds memory).
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// The server's two limits.
pub struct Limits {
    /// Every request, by client IP.
    pub per_ip: Limit<IpAddr>,
    /// Authenticated requests, by token `sub`.
    pub per_identity: Limit<String>,
}

impl Limits {
    /// Limits of `ip` and `identity` requests per second (0 = off), bursts of 4× that.
    pub fn new(ip: u32, identity: u32) -> Self {
        Limits {
            per_ip: Limit::new(ip, ip.saturating_mul(4)),
            per_identity: Limit::new(identity, identity.saturating_mul(4)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_a_wait() {
        let limit = Limit::<u8>::new(1, 3);
        assert!((0..3).all(|_| limit.check(&1).is_ok()));
        let wait = limit.check(&1).unwrap_err();
        assert!((1..=2).contains(&wait), "{wait}");
        assert!(limit.check(&2).is_ok(), "keys are independent");
        let off = Limit::<u8>::new(0, 0);
        assert!((0..10_000).all(|_| off.check(&1).is_ok()));
    }
}
