//! Times as the store keeps them: microseconds since the Unix epoch.

use crate::ApiError;
use crate::store::Micros;
use prost_types::Timestamp;

/// Returns the server's clock in microseconds.
pub(crate) fn now_micros() -> Micros {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_micros()).unwrap_or(i64::MAX)
}

/// Returns `micros` as a protobuf timestamp.
pub(crate) fn timestamp(micros: Micros) -> Timestamp {
    Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1000).unwrap_or(0),
    }
}

/// Earliest and latest accepted timestamps: years 0001 to 9999, as the
/// protobuf spec bounds them.
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_799;

/// Returns a client timestamp in microseconds, or INVALID_ARGUMENT naming `field`.
pub(crate) fn micros(field: &str, ts: &Timestamp) -> Result<Micros, ApiError> {
    if !(0..1_000_000_000).contains(&ts.nanos) || !(MIN_SECONDS..=MAX_SECONDS).contains(&ts.seconds) {
        return Err(ApiError::invalid(format!("{field} is not a valid timestamp")));
    }
    Ok(ts.seconds * 1_000_000 + i64::from(ts.nanos / 1000))
}

/// Returns a timestamp the service checked with [`micros`] in microseconds
/// (out of range saturates, never panics).
pub(crate) fn micros_saturating(ts: &Timestamp) -> Micros {
    ts.seconds
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(ts.nanos / 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_at_microsecond_precision() {
        for m in [0, 1, 999_999, 1_700_000_000_123_456, -1, -1_000_001] {
            assert_eq!(micros("t", &timestamp(m)).unwrap(), m);
        }
        assert!(micros("t", &Timestamp { seconds: 0, nanos: -1 }).is_err());
        assert!(
            micros(
                "t",
                &Timestamp {
                    seconds: i64::MAX,
                    nanos: 0
                }
            )
            .is_err()
        );
    }
}
