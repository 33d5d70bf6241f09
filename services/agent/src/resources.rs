//! The agent's own CPU and resident memory, sampled with sysinfo.
//!
//! Only this process is refreshed, and only its CPU and memory: a sample
//! costs one read of `/proc/self/stat` and `statm`, so the sampler stays far
//! below the idle-CPU budget.

use std::time::Duration;
use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};
use zerotrace_telemetry::AgentMetrics;

/// Samples every `interval` until the task is dropped.
pub(crate) async fn sample(metrics: AgentMetrics, agent_id: String, interval: Duration) {
    let Ok(pid) = sysinfo::get_current_pid() else {
        tracing::warn!("cannot find the agent's own pid; cpu and memory gauges are off");
        return;
    };
    let Ok(mut system) = System::new() else {
        tracing::warn!("sysinfo unavailable; cpu and memory gauges are off");
        return;
    };
    let kind = ProcessRefreshKind::nothing().with_cpu().with_memory();
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(100)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), false, kind);
        if let Some(process) = system.process(pid) {
            metrics.set_resources(&agent_id, f64::from(process.cpu_usage()), process.memory());
        }
    }
}
