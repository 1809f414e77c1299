//! Latency samples and their percentiles, and the lines the report prints.

use std::time::Duration;

/// Latencies in microseconds.
#[derive(Default, Clone)]
pub struct Samples(Vec<u64>);

impl Samples {
    pub fn push(&mut self, latency: Duration) {
        self.0.push(latency.as_micros() as u64);
    }

    pub fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The latency below which `p` percent of the samples fall (nearest rank).
    pub fn percentile(&mut self, p: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        self.0.sort_unstable();
        // (The small epsilon keeps 0.99 x 1000 from rounding up to 991.)
        let rank = (p * self.0.len() as f64 / 100.0 - 1e-9).ceil() as usize;
        Duration::from_micros(self.0[rank.clamp(1, self.0.len()) - 1])
    }

    /// "p50 1.20 ms, p99 4.10 ms, p99.9 9.00 ms (n = 1000)".
    pub fn summary(&mut self) -> String {
        format!(
            "p50 {}, p99 {}, p99.9 {} (n = {})",
            ms(self.percentile(50.0)),
            ms(self.percentile(99.0)),
            ms(self.percentile(99.9)),
            self.len()
        )
    }
}

/// A duration in milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// "PASS" or "FAIL", for a target line.
pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut samples = Samples::default();
        for micros in 1..=1000 {
            samples.push(Duration::from_micros(micros));
        }
        assert_eq!(samples.percentile(50.0), Duration::from_micros(500));
        assert_eq!(samples.percentile(99.0), Duration::from_micros(990));
        assert_eq!(samples.percentile(99.9), Duration::from_micros(999));
        assert_eq!(samples.percentile(100.0), Duration::from_micros(1000));
        assert_eq!(Samples::default().percentile(99.0), Duration::ZERO);
    }
}
