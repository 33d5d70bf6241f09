//! Reading counters from a Prometheus `/metrics` endpoint.

use crate::BoxError;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Returns the body of `GET /metrics` at `addr` (HTTP/1.0, so the server closes the connection).
pub async fn scrape(addr: SocketAddr) -> Result<String, BoxError> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("no HTTP header in /metrics response")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!("/metrics: {}", head.lines().next().unwrap_or_default()).into());
    }
    Ok(body.to_string())
}

/// Returns the sum of every sample of the metric `name` (all label sets) in an exposition text; 0 when absent.
pub fn counter_value(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            if !(rest.starts_with('{') || rest.starts_with(' ')) {
                return None;
            }
            line.rsplit(' ').next()?.parse::<f64>().ok()
        })
        .sum()
}

/// Scrapes `addr` and returns the value of the counter `name`.
pub async fn scrape_counter(addr: SocketAddr, name: &str) -> Result<f64, BoxError> {
    Ok(counter_value(&scrape(addr).await?, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_label_sets_and_ignores_prefixed_names() {
        let text = "# TYPE x_total counter\nx_total{a=\"1\"} 3\nx_total{a=\"2\"} 4.5\nx_total_other 100\nx_total 1\n";
        assert!((counter_value(text, "x_total") - 8.5).abs() < 1e-9);
        assert!(counter_value(text, "missing").abs() < 1e-9);
    }
}
