//! Which failures are worth another attempt, and how long to wait before it: exponential
//! backoff with jitter, so that many phones coming back online at once do not retry in step.

use std::time::Duration;

use crate::error::Error;
use crate::sync::protocol::{self, ErrorBody, ErrorCode};

/// How an attempt failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Worth retrying (connection failed or timed out, 5xx, 429, 408); `error` is what the caller
    /// gets once the attempts run out, `retry_after` the hub's wish, if it said.
    Transient {
        /// The error if no attempt is left.
        error: Error,
        /// How long the hub asked to wait.
        retry_after: Option<Duration>,
    },
    /// Not worth retrying.
    Fatal(Error),
    /// The hub revoked this device and ordered its store wiped.
    Revoked,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Fatal(e)
    }
}

impl Failure {
    /// A transient failure with no wish from the hub.
    pub fn transient(error: Error) -> Failure {
        Failure::Transient {
            error,
            retry_after: None,
        }
    }
}

/// Classifies an HTTP answer that is not a success, from its status, its body (an
/// [`ErrorBody`] in CBOR, if the hub sent one) and its `Retry-After` header.
pub(crate) fn classify_status(status: u16, body: &[u8], retry_after: Option<&str>) -> Failure {
    let parsed: Option<ErrorBody> = protocol::decode(body).ok();
    if status == 401 {
        return match parsed {
            Some(b) if b.wipe || b.code == ErrorCode::Revoked => Failure::Revoked,
            _ => Failure::Fatal(Error::Unauthorized),
        };
    }
    let error = match parsed {
        Some(b) => Error::Hub {
            code: b.code,
            reason: clean_reason(&b.reason),
        },
        None => match code_of_status(status) {
            Some(code) => Error::Hub {
                code,
                reason: format!("HTTP {status}"),
            },
            None if (500..600).contains(&status) => Error::Network(format!("the hub answered HTTP {status}")),
            None => Error::Protocol(format!("HTTP status {status}")),
        },
    };
    // 408: the hub gave up waiting for the request (a slow link); HTTP lets it be repeated.
    if status == 408 || status == 429 || (500..600).contains(&status) {
        Failure::Transient {
            error,
            retry_after: retry_after.and_then(parse_retry_after),
        }
    } else {
        Failure::Fatal(error)
    }
}

/// The error code a status implies when the answer has no [`ErrorBody`] (a proxy's page, or a
/// limit enforced before the hub's own code).
fn code_of_status(status: u16) -> Option<ErrorCode> {
    Some(match status {
        400 | 422 => ErrorCode::BadRequest,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        408 => ErrorCode::Timeout,
        413 => ErrorCode::TooLarge,
        415 => ErrorCode::Unsupported,
        429 => ErrorCode::RateLimited,
        _ => return None,
    })
}

/// A hub's reason made fit for a one-line message: no control characters, bounded length.
pub(crate) fn clean_reason(reason: &str) -> String {
    const MAX_CHARS: usize = 300;
    let mut out: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_CHARS)
        .collect();
    if reason.chars().count() > MAX_CHARS {
        out.push('…');
    }
    out.trim().to_string()
}

/// `Retry-After` in seconds (the HTTP-date form is not used by hubs, and ignored).
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Whether a transport error is worth retrying. Everything that happens on the way (connecting,
/// sending, a timeout, a body cut short) is; a request that could not even be built is not.
pub(crate) fn transport_is_transient(e: &reqwest::Error) -> bool {
    !e.is_builder() && !e.is_redirect() && !e.is_decode()
}

/// The bounds of the exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// Attempts in all, at least 1.
    pub attempts: u32,
    /// Wait before the first retry.
    pub base: Duration,
    /// Longest wait.
    pub max: Duration,
}

impl Backoff {
    /// The wait before retry number `retry` (0 for the first), given `jitter` in `[0, 1)`:
    /// "equal jitter", between half and all of `base * 2^retry`, capped at `max`. A hub's
    /// `Retry-After` is honoured up to `max`.
    pub fn delay(&self, retry: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
        let ceiling = self
            .base
            .checked_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(self.max)
            .min(self.max);
        let half = ceiling / 2;
        let jittered = half + half.mul_f64(jitter.clamp(0.0, 1.0));
        match retry_after {
            Some(wish) => wish.min(self.max).max(jittered),
            None => jittered,
        }
    }

    /// A random wait before retry number `retry`.
    pub fn random_delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        self.delay(retry, rand::random::<f64>(), retry_after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::protocol::encode;

    fn body(code: ErrorCode, wipe: bool) -> Vec<u8> {
        encode(&ErrorBody {
            code,
            reason: "why\nnot".into(),
            doc: None,
            wipe,
        })
    }

    #[test]
    fn only_5xx_429_and_408_are_transient() {
        for status in [500, 502, 503, 504, 429, 408] {
            assert!(
                matches!(classify_status(status, b"", None), Failure::Transient { .. }),
                "{status}"
            );
        }
        for status in [400, 403, 404, 409, 410, 413, 422] {
            assert!(
                matches!(classify_status(status, b"", None), Failure::Fatal(_)),
                "{status}"
            );
        }
        let f = classify_status(409, &body(ErrorCode::AlreadyEnrolled, false), None);
        match f {
            Failure::Fatal(Error::Hub { code, reason }) => {
                assert_eq!(code, ErrorCode::AlreadyEnrolled);
                assert_eq!(reason, "why not", "control characters are replaced");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_status(413, b"<html>", None),
            Failure::Fatal(Error::Hub {
                code: ErrorCode::TooLarge,
                ..
            })
        ));
        assert!(matches!(
            classify_status(302, b"", None),
            Failure::Fatal(Error::Protocol(_))
        ));
        // The hub's own limits, with its body or without (a proxy's page).
        assert!(matches!(
            classify_status(429, &body(ErrorCode::RateLimited, false), Some("30")),
            Failure::Transient {
                error: Error::Hub {
                    code: ErrorCode::RateLimited,
                    ..
                },
                retry_after: Some(_),
            }
        ));
        for (status, code) in [(408, ErrorCode::Timeout), (429, ErrorCode::RateLimited)] {
            assert!(
                matches!(
                    classify_status(status, b"", None),
                    Failure::Transient { error: Error::Hub { code: c, .. }, .. } if c == code
                ),
                "{status}"
            );
        }
        assert!(matches!(
            classify_status(503, &body(ErrorCode::Busy, false), Some("2")),
            Failure::Transient {
                error: Error::Hub {
                    code: ErrorCode::Busy,
                    ..
                },
                ..
            }
        ));
    }

    #[test]
    fn a_401_with_a_wipe_order_is_a_revocation_and_others_are_unauthorized() {
        assert!(matches!(
            classify_status(401, &body(ErrorCode::Revoked, true), None),
            Failure::Revoked
        ));
        assert!(matches!(
            classify_status(401, &body(ErrorCode::Unauthorized, true), None),
            Failure::Revoked
        ));
        assert!(matches!(
            classify_status(401, &body(ErrorCode::Unauthorized, false), None),
            Failure::Fatal(Error::Unauthorized)
        ));
        assert!(matches!(
            classify_status(401, b"garbage", None),
            Failure::Fatal(Error::Unauthorized)
        ));
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        match classify_status(429, b"", Some(" 7 ")) {
            Failure::Transient { retry_after, .. } => assert_eq!(retry_after, Some(Duration::from_secs(7))),
            other => panic!("{other:?}"),
        }
        match classify_status(503, b"", Some("Wed, 21 Oct 2026 07:28:00 GMT")) {
            Failure::Transient { retry_after, .. } => assert_eq!(retry_after, None),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn backoff_doubles_within_bounds() {
        let b = Backoff {
            attempts: 5,
            base: Duration::from_millis(500),
            max: Duration::from_secs(20),
        };
        for retry in 0..40 {
            let ceiling = Duration::from_millis(500)
                .saturating_mul(2u32.saturating_pow(retry))
                .min(Duration::from_secs(20));
            let low = b.delay(retry, 0.0, None);
            let high = b.delay(retry, 0.999_999, None);
            assert_eq!(low, ceiling / 2, "retry {retry}");
            assert!(high <= ceiling && high >= low, "retry {retry}");
            let random = b.random_delay(retry, None);
            assert!(random >= ceiling / 2 && random <= ceiling, "retry {retry}");
        }
        assert_eq!(b.delay(0, 0.0, None), Duration::from_millis(250));
        assert_eq!(b.delay(1, 0.0, None), Duration::from_millis(500));
        assert_eq!(b.delay(2, 0.5, None), Duration::from_millis(1500));
        // A hub's wish is honoured, up to the cap.
        assert_eq!(
            b.delay(0, 0.0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            b.delay(0, 0.0, Some(Duration::from_secs(3600))),
            Duration::from_secs(20)
        );
    }

    #[test]
    fn long_reasons_are_cut() {
        let long = "x".repeat(1000);
        let cleaned = clean_reason(&long);
        assert_eq!(cleaned.chars().count(), 301);
    }
}
