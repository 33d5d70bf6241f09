//! Which calls the servers trace when `OTEL_TRACES_SAMPLER` is unset.
//!
//! A call whose caller is sampled is traced, so that a scan is one whole trace
//! across the services. Of the calls that come without one, a server traces at
//! most [`SERVER_ROOTS_PER_SECOND`] a second: every call of a quiet server (a
//! grpcurl session, a test), and a bounded number of a busy one, whatever its
//! load. A share of the calls would grow with the load instead: a tenth of
//! them cost the servers 2–4% of their throughput (docs/performance.md,
//! "Telemetry overhead").

use opentelemetry::trace::{Link, SpanKind, TraceContextExt as _, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How many calls without a sampled caller a server traces per second, at most.
pub const SERVER_ROOTS_PER_SECOND: f64 = 2.0;

/// The servers' default sampler: a sampled caller's decision, else
/// [`RateLimited`] at [`SERVER_ROOTS_PER_SECOND`].
pub(crate) fn server_default() -> Sampler {
    Sampler::ParentBased(Box::new(RateLimited::new(SERVER_ROOTS_PER_SECOND)))
}

/// Samples at most `per_second` spans a second: a token bucket that holds one
/// second's worth (at least one span) and refills continuously.
#[derive(Debug, Clone)]
pub(crate) struct RateLimited {
    per_second: f64,
    bucket: Arc<Mutex<Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl RateLimited {
    /// Returns a sampler of at most `per_second` spans a second, starting full.
    pub(crate) fn new(per_second: f64) -> Self {
        let per_second = per_second.max(0.0);
        Self {
            per_second,
            bucket: Arc::new(Mutex::new(Bucket {
                tokens: Self::capacity(per_second),
                refilled: Instant::now(),
            })),
        }
    }

    fn capacity(per_second: f64) -> f64 {
        per_second.max(1.0)
    }

    /// Takes a token at `now`, if the bucket has one.
    fn take(&self, now: Instant) -> bool {
        let Ok(mut bucket) = self.bucket.lock() else {
            return false;
        };
        let earned = now.saturating_duration_since(bucket.refilled).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + earned).min(Self::capacity(self.per_second));
        bucket.refilled = bucket.refilled.max(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl ShouldSample for RateLimited {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        _trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let decision = if self.take(Instant::now()) {
            SamplingDecision::RecordAndSample
        } else {
            SamplingDecision::Drop
        };
        SamplingResult {
            decision,
            attributes: Vec::new(),
            trace_state: parent_context
                .map(|cx| cx.span().span_context().trace_state().clone())
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn taken(sampler: &RateLimited, n: usize, at: Instant) -> usize {
        (0..n).filter(|_| sampler.take(at)).count()
    }

    #[test]
    fn a_burst_gets_one_seconds_worth_then_the_rate() {
        let sampler = RateLimited::new(2.0);
        let start = Instant::now();
        assert_eq!(taken(&sampler, 10_000, start), 2, "a full bucket");
        assert_eq!(taken(&sampler, 10_000, start + Duration::from_millis(500)), 1);
        assert_eq!(taken(&sampler, 10_000, start + Duration::from_millis(700)), 0);
        assert_eq!(taken(&sampler, 10_000, start + Duration::from_millis(1000)), 1);
        // A long pause refills to the capacity, not beyond.
        assert_eq!(taken(&sampler, 10_000, start + Duration::from_secs(60)), 2);
    }

    #[test]
    fn a_steady_load_is_sampled_at_the_rate() {
        let sampler = RateLimited::new(2.0);
        let start = Instant::now();
        assert_eq!(taken(&sampler, 1, start), 1);
        assert_eq!(taken(&sampler, 1, start), 1);
        // 5,000 calls a second for ten seconds.
        let sampled = (1..=50_000u64)
            .filter(|i| sampler.take(start + Duration::from_micros(i * 200)))
            .count();
        // 20, give or take the rounding of 2,500 increments of 0.0004 tokens.
        assert!((19..=20).contains(&sampled), "{sampled} sampled");
    }

    #[test]
    fn a_rate_below_one_still_lets_a_call_through() {
        let sampler = RateLimited::new(0.5);
        let start = Instant::now();
        assert_eq!(taken(&sampler, 100, start), 1);
        assert_eq!(taken(&sampler, 100, start + Duration::from_secs(1)), 0);
        assert_eq!(taken(&sampler, 100, start + Duration::from_secs(2)), 1);
    }

    #[test]
    fn an_earlier_instant_than_the_last_refill_earns_nothing() {
        let sampler = RateLimited::new(2.0);
        let start = Instant::now() + Duration::from_secs(1);
        assert_eq!(taken(&sampler, 10, start), 2);
        assert_eq!(taken(&sampler, 10, start - Duration::from_millis(900)), 0);
        assert_eq!(taken(&sampler, 10, start + Duration::from_millis(500)), 1);
    }
}
