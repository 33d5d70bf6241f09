/// What can go wrong setting telemetry up or down.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// A provider or exporter could not be built.
    #[error("telemetry init failed: {0}")]
    Init(String),
    /// Rendering `/metrics` failed.
    #[error("metrics encoding failed: {0}")]
    Encode(String),
    /// The metrics endpoint failed.
    #[error("metrics endpoint failed: {0}")]
    Serve(#[from] std::io::Error),
    /// Flushing at shutdown failed or timed out.
    #[error("telemetry shutdown failed: {0}")]
    Shutdown(String),
}
