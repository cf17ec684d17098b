//! Throughput and latency percentiles of one run.

use std::time::Duration;

/// What one (target, operation, clients) run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub ops: u64,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
}

impl Summary {
    /// `latencies` are the measured operations' durations in any order; `elapsed` is the wall time
    /// they were measured over.
    pub fn from_latencies(mut latencies: Vec<Duration>, elapsed: Duration) -> Option<Summary> {
        if latencies.is_empty() || elapsed.is_zero() {
            return None;
        }
        latencies.sort_unstable();
        Some(Summary {
            ops: latencies.len() as u64,
            elapsed,
            p50: percentile(&latencies, 50.0),
            p99: percentile(&latencies, 99.0),
        })
    }

    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }
}

/// Nearest-rank percentile of an ascending, non-empty slice: the smallest sample that at least
/// `p` percent of the samples are less than or equal to.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    assert!(!sorted.is_empty(), "percentile of no samples");
    assert!((0.0..=100.0).contains(&p), "percentile {p} out of 0..=100");
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_millis).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let hundred = ms(1..=100);
        assert_eq!(percentile(&hundred, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&hundred, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&hundred, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&hundred, 0.0), Duration::from_millis(1));
        let one = ms([7]);
        assert_eq!(percentile(&one, 50.0), Duration::from_millis(7));
        assert_eq!(percentile(&one, 99.0), Duration::from_millis(7));
        // Ten samples: p99 is the largest, p50 the fifth.
        let ten = ms([10, 1, 9, 2, 8, 3, 7, 4, 6, 5]);
        let summary = Summary::from_latencies(ten, Duration::from_secs(2)).unwrap();
        assert_eq!(summary.p50, Duration::from_millis(5));
        assert_eq!(summary.p99, Duration::from_millis(10));
    }

    #[test]
    fn one_slow_outlier_in_a_thousand_does_not_move_p99_but_eleven_do() {
        let mut samples = ms(std::iter::repeat_n(1, 999));
        samples.push(Duration::from_secs(1));
        assert_eq!(
            Summary::from_latencies(samples.clone(), Duration::from_secs(1))
                .unwrap()
                .p99,
            Duration::from_millis(1)
        );
        samples.splice(0..10, ms(std::iter::repeat_n(1000, 10)));
        assert_eq!(
            Summary::from_latencies(samples, Duration::from_secs(1))
                .unwrap()
                .p99,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn throughput_is_ops_over_wall_time_and_empty_runs_have_no_summary() {
        let summary =
            Summary::from_latencies(ms(std::iter::repeat_n(2, 500)), Duration::from_millis(250))
                .unwrap();
        assert_eq!(summary.ops, 500);
        assert!((summary.ops_per_sec() - 2000.0).abs() < 1e-9);
        assert_eq!(
            Summary::from_latencies(Vec::new(), Duration::from_secs(1)),
            None
        );
    }
}
