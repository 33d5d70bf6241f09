//! Load generation for ZeroTrace's benchmarks and tests (no service depends
//! on it; the `zerotrace-loadgen` binary drives the live monitoring test): a
//! closed-loop driver with per-worker latency histograms ([`measure`]), a
//! seeded Zipf sampler ([`Zipf`]), a `/metrics` counter reader
//! ([`scrape_counter`]) and the ids and package versions of OSV zips
//! ([`OsvWorkload`]), so every benchmark draws its mix the same way; and the
//! fleet simulation ([`fleet`]): simulated agents on API replicas.

pub mod fleet;
mod metrics;
mod osv;
mod zipf;

pub use metrics::{counter_value, scrape, scrape_counter};
pub use osv::{OsvWorkload, WorkloadPackage};
pub use zipf::{Rng, Zipf};

use hdrhistogram::Histogram;
use std::error::Error;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The error type of the drivers: whatever a call failed with.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// Largest latency recorded, in microseconds (a minute).
const MAX_MICROS: u64 = 60_000_000;

/// When a measurement stops: after `requests` calls or after `duration`, whichever comes first.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Calls started at most.
    pub requests: usize,
    /// Time after which no call is started.
    pub duration: Duration,
}

impl Budget {
    /// Returns a budget of exactly `requests` calls, however long they take.
    pub fn requests(requests: usize) -> Self {
        Self {
            requests,
            duration: Duration::MAX,
        }
    }
}

/// One call of a measurement: which worker makes it, and its sequence number over all workers.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// The worker (0..concurrency): lets each worker use its own connection.
    pub worker: usize,
    /// 0, 1, 2, ... across all workers.
    pub seq: usize,
}

/// The outcome of one measured operation.
#[derive(Debug, Clone)]
pub struct Stats {
    /// What was measured.
    pub name: String,
    /// Calls completed.
    pub requests: u64,
    /// Wall time of the whole measurement.
    pub elapsed: Duration,
    /// Latency of each call, in microseconds.
    pub histogram: Histogram<u64>,
}

impl Stats {
    /// Returns completed calls per second.
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// Returns the latency at quantile `q`, in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.histogram.value_at_quantile(q) as f64 / 1000.0
    }

    /// Returns the first cells of a Markdown table row:
    /// `| name | requests | req/s | p50 ms | p95 ms | p99 ms |`.
    pub fn cells(&self) -> String {
        format!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
            self.name,
            self.requests,
            self.rps(),
            self.ms(0.5),
            self.ms(0.95),
            self.ms(0.99)
        )
    }
}

/// Runs `call` on `concurrency` workers, each starting its next call when
/// the previous one returned (a closed loop), until `budget` is spent, and
/// records each call's latency. The first failed call fails the measurement.
pub async fn measure<F, Fut, E>(
    name: impl Into<String>,
    budget: Budget,
    concurrency: usize,
    call: F,
) -> Result<Stats, BoxError>
where
    F: Fn(Call) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Into<BoxError> + Send + 'static,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..concurrency.max(1) {
        let (call, next) = (call.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            // One histogram per worker: no lock on the measured path.
            let mut histogram = Histogram::<u64>::new_with_bounds(1, MAX_MICROS, 3).map_err(|e| e.to_string())?;
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= budget.requests || started.elapsed() >= budget.duration {
                    return Ok::<_, BoxError>(histogram);
                }
                let t = Instant::now();
                call(Call { worker, seq }).await.map_err(Into::into)?;
                let micros = u64::try_from(t.elapsed().as_micros()).unwrap_or(MAX_MICROS);
                histogram.saturating_record(micros.clamp(1, MAX_MICROS));
            }
        }));
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, MAX_MICROS, 3)?;
    for worker in workers {
        histogram.add(worker.await??)?;
    }
    Ok(Stats {
        name: name.into(),
        requests: histogram.len(),
        elapsed: started.elapsed(),
        histogram,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn measure_stops_at_the_request_budget() {
        let stats = measure("noop", Budget::requests(100), 4, |_| async { Ok::<(), BoxError>(()) })
            .await
            .ok();
        assert_eq!(stats.map(|s| s.requests), Some(100));
    }

    #[tokio::test]
    async fn measure_stops_at_the_time_budget() {
        let budget = Budget {
            requests: usize::MAX,
            duration: Duration::from_millis(50),
        };
        let stats = measure("sleep", budget, 2, |_| async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok::<(), BoxError>(())
        })
        .await
        .ok();
        let requests = stats.map_or(0, |s| s.requests);
        assert!((2..=40).contains(&requests), "{requests} calls");
    }

    #[tokio::test]
    async fn measure_fails_on_the_first_error() {
        let result = measure("fails", Budget::requests(10), 1, |c| async move {
            if c.seq == 3 { Err("boom") } else { Ok(()) }
        })
        .await;
        assert!(result.is_err());
    }
}
