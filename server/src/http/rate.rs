//! The rate limit on enrollment attempts: a token bucket per client address, in memory, with a
//! bounded number of addresses. Enrollment is the one endpoint open to anyone, and a code is
//! what it guesses at; the limit makes guessing slow without slowing a training session that
//! enrolls many phones from behind one router, since an attempt that enrolls gives its token
//! back.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::HubConfig;

/// Who an attempt is counted against: an IPv4 address, or an IPv6 /64 (the least a network
/// hands one subscriber, so that one caller cannot take a fresh address per attempt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum AddressKey {
    /// An IPv4 address (also when it reaches the hub as an IPv4-mapped IPv6 address).
    V4(Ipv4Addr),
    /// The first 64 bits of an IPv6 address.
    V6(u64),
    /// No address known (the router used in-process, without a server).
    Unknown,
}

impl AddressKey {
    /// The key of a client address.
    pub fn of(ip: Option<IpAddr>) -> AddressKey {
        match ip {
            None => AddressKey::Unknown,
            Some(IpAddr::V4(v4)) => AddressKey::V4(v4),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressKey::V4(v4),
                None => AddressKey::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// One address's allowance: `tokens` as of `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Enrollment attempts allowed per client address: a burst of `burst`, refilled at `burst`
/// per minute.
#[derive(Debug)]
pub(crate) struct EnrollLimiter {
    buckets: Mutex<HashMap<AddressKey, Bucket>>,
    burst: f64,
    per_second: f64,
    max_addresses: usize,
}

impl EnrollLimiter {
    /// A limiter with the hub's `enroll_attempts_per_minute` and `enroll_limiter_addresses`.
    pub fn new(config: &HubConfig) -> EnrollLimiter {
        EnrollLimiter::with(config.enroll_attempts_per_minute, config.enroll_limiter_addresses)
    }

    /// A limiter allowing `per_minute` attempts per address, remembering `max_addresses`.
    pub fn with(per_minute: u32, max_addresses: usize) -> EnrollLimiter {
        let burst = f64::from(per_minute.max(1));
        EnrollLimiter {
            buckets: Mutex::new(HashMap::new()),
            burst,
            per_second: burst / 60.0,
            max_addresses: max_addresses.max(1),
        }
    }

    /// Takes one attempt from `key`'s allowance, or says how long until one is left.
    pub fn try_acquire(&self, key: AddressKey, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if !buckets.contains_key(&key) && buckets.len() >= self.max_addresses {
            self.evict(&mut buckets, now);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        self.refill(bucket, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_second;
            Err(Duration::from_secs_f64(wait))
        }
    }

    /// Gives back the attempt taken for `key`: it enrolled a device.
    pub fn refund(&self, key: AddressKey, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bucket) = buckets.get_mut(&key) {
            self.refill(bucket, now);
            bucket.tokens = (bucket.tokens + 1.0).min(self.burst);
        }
    }

    /// How many addresses are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.at = bucket.at.max(now);
    }

    /// Makes room for one more address: forgets every address whose allowance is whole again
    /// (forgetting it changes nothing), and if none is, the least recently seen one.
    fn evict(&self, buckets: &mut HashMap<AddressKey, Bucket>, now: Instant) {
        buckets.retain(|_, b| {
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            b.tokens + elapsed * self.per_second < self.burst
        });
        if buckets.len() >= self.max_addresses {
            let oldest = buckets.iter().min_by_key(|(_, b)| b.at).map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                buckets.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn v4(last: u8) -> AddressKey {
        AddressKey::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    #[test]
    fn a_burst_is_allowed_then_refills_at_the_rate() {
        let limiter = EnrollLimiter::with(10, 100);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(limiter.try_acquire(v4(1), t0).is_ok());
        }
        let wait = limiter.try_acquire(v4(1), t0).unwrap_err();
        assert!(
            wait > Duration::from_secs(5) && wait <= Duration::from_secs(6),
            "{wait:?}"
        );
        // Another address has its own allowance.
        assert!(limiter.try_acquire(v4(2), t0).is_ok());
        // Six seconds give one attempt back, not two.
        let t1 = t0 + Duration::from_secs(6);
        assert!(limiter.try_acquire(v4(1), t1).is_ok());
        assert!(limiter.try_acquire(v4(1), t1).is_err());
    }

    #[test]
    fn an_attempt_that_enrolled_is_given_back() {
        let limiter = EnrollLimiter::with(2, 100);
        let t0 = Instant::now();
        for _ in 0..20 {
            limiter.try_acquire(v4(1), t0).unwrap();
            limiter.refund(v4(1), t0);
        }
        limiter.try_acquire(v4(1), t0).unwrap();
        limiter.try_acquire(v4(1), t0).unwrap();
        assert!(limiter.try_acquire(v4(1), t0).is_err());
    }

    #[test]
    fn the_map_of_addresses_stays_bounded_and_evicts_whole_then_oldest() {
        let limiter = EnrollLimiter::with(3, 3);
        let t0 = Instant::now();
        // Three addresses, each with its allowance used up, seen one second apart.
        for (i, last) in [1, 2, 3].into_iter().enumerate() {
            let at = t0 + Duration::from_secs(i as u64);
            for _ in 0..3 {
                limiter.try_acquire(v4(last), at).unwrap();
            }
        }
        assert_eq!(limiter.len(), 3);
        // A fourth: the least recently seen (1) is forgotten, and so starts afresh.
        let t4 = t0 + Duration::from_secs(3);
        limiter.try_acquire(v4(4), t4).unwrap();
        assert_eq!(limiter.len(), 3);
        assert!(limiter.try_acquire(v4(2), t4).is_err(), "2 is still remembered");
        assert!(limiter.try_acquire(v4(3), t4).is_err(), "3 is still remembered");
        assert_eq!(limiter.len(), 3);
        // Once allowances are whole again (a minute later), those addresses all go first.
        let later = t4 + Duration::from_secs(61);
        limiter.try_acquire(v4(5), later).unwrap();
        assert_eq!(
            limiter.len(),
            1,
            "every other address had its whole allowance back"
        );
        for _ in 0..1000u32 {
            limiter
                .try_acquire(AddressKey::V6(rand::random()), later)
                .unwrap();
        }
        assert_eq!(limiter.len(), 3);
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let a: Ipv6Addr = "2001:db8:1:2::1".parse().unwrap();
        let b: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: Ipv6Addr = "2001:db8:1:3::1".parse().unwrap();
        let key = |ip: Ipv6Addr| AddressKey::of(Some(IpAddr::V6(ip)));
        assert_eq!(key(a), key(b));
        assert_ne!(key(a), key(c));
        let mapped = Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped();
        assert_eq!(key(mapped), v4(7));
        assert_eq!(AddressKey::of(None), AddressKey::Unknown);
    }
}
