//! Every latency figure the benchmarks report comes from a [`Latencies`]: samples go into HDR
//! histograms (microseconds, 3 significant digits, so a figure is within 0.1 % of the samples it
//! stands for; an hour or more counts as an hour) rather than into a `Vec`, so memory stays flat
//! however long a run is. One percentile definition, nearest rank: the q-quantile is the
//! ⌈q·n⌉-th smallest sample (at least the first), given as the highest value of its histogram
//! bucket. Samples may be negative (a scheduled message delivered before its due time).

use std::time::Duration;

use hdrhistogram::Histogram;

/// The largest sample kept apart from others, µs; larger samples are recorded as this.
const HIGHEST_US: u64 = 3_600 * 1_000_000;
const SIGNIFICANT_DIGITS: u8 = 3;

fn histogram() -> Histogram<u64> {
    // Fixed, valid bounds: creation cannot fail.
    Histogram::new_with_bounds(1, HIGHEST_US, SIGNIFICANT_DIGITS).expect("valid histogram bounds")
}

/// A distribution of latency samples in microseconds.
#[derive(Debug, Clone)]
pub struct Latencies {
    /// Samples ≥ 0.
    at_or_after: Histogram<u64>,
    /// The magnitudes of samples < 0, made on the first one.
    before: Option<Histogram<u64>>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            at_or_after: histogram(),
            before: None,
        }
    }
}

impl Latencies {
    pub fn new() -> Latencies {
        Latencies::default()
    }

    /// Records an elapsed time.
    pub fn record(&mut self, d: Duration) {
        self.at_or_after
            .saturating_record(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    }

    /// Records a sample of `us` microseconds, negative ones too.
    pub fn record_us(&mut self, us: i64) {
        match u64::try_from(us) {
            Ok(v) => self.at_or_after.saturating_record(v),
            Err(_) => self
                .before
                .get_or_insert_with(histogram)
                .saturating_record(us.unsigned_abs()),
        }
    }

    /// Adds `other`'s samples to these.
    pub fn add(&mut self, other: &Latencies) {
        // Both sides have the same bounds, so adding cannot fail.
        let _ = self.at_or_after.add(&other.at_or_after);
        if let Some(b) = &other.before {
            let _ = self.before.get_or_insert_with(histogram).add(b);
        }
    }

    fn negatives(&self) -> u64 {
        self.before.as_ref().map_or(0, |h| h.len())
    }

    /// The number of samples.
    pub fn len(&self) -> u64 {
        self.at_or_after.len() + self.negatives()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `rank`-th smallest sample (1-based, clamped to the samples there are); 0 if none.
    fn at_rank(&self, rank: u64) -> i64 {
        if self.is_empty() {
            return 0;
        }
        let rank = rank.clamp(1, self.len());
        let negatives = self.negatives();
        match &self.before {
            // The rank-th smallest negative sample has the (negatives − rank + 1)-th smallest
            // magnitude.
            Some(h) if rank <= negatives => -signed(ascending(h, negatives - rank + 1)),
            _ => signed(ascending(&self.at_or_after, rank - negatives)),
        }
    }

    /// The q-quantile (nearest rank), µs; 0 if there are no samples.
    pub fn quantile_us(&self, q: f64) -> i64 {
        self.at_rank((q * self.len() as f64).ceil() as u64)
    }

    pub fn min_us(&self) -> i64 {
        self.at_rank(1)
    }

    pub fn max_us(&self) -> i64 {
        self.at_rank(self.len())
    }

    /// The mean, µs; 0 if there are no samples.
    pub fn mean_us(&self) -> f64 {
        let n = self.len();
        if n == 0 {
            return 0.0;
        }
        let sum = |h: &Histogram<u64>| h.mean() * h.len() as f64;
        (sum(&self.at_or_after) - self.before.as_ref().map_or(0.0, sum)) / n as f64
    }
}

/// The highest value of the bucket holding `h`'s `rank`-th smallest sample (1-based).
fn ascending(h: &Histogram<u64>, rank: u64) -> u64 {
    let mut seen = 0;
    for v in h.iter_recorded() {
        seen += v.count_at_value();
        if seen >= rank {
            return h.highest_equivalent(v.value_iterated_to());
        }
    }
    h.max()
}

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within the histogram's resolution of `want`.
    fn near(got: i64, want: i64) -> bool {
        (got - want).abs() as f64 <= want.abs() as f64 * 1e-3 + 1.0
    }

    #[test]
    fn nearest_rank_within_resolution() {
        let mut l = Latencies::new();
        for ms in 1..=1000u64 {
            l.record(Duration::from_millis(ms));
        }
        assert_eq!(l.len(), 1000);
        for (q, want) in [(0.5, 500_000), (0.9, 900_000), (0.99, 990_000), (0.999, 999_000)] {
            assert!(near(l.quantile_us(q), want), "q {q}: {}", l.quantile_us(q));
        }
        assert!(near(l.min_us(), 1_000) && near(l.max_us(), 1_000_000));
        assert!((l.mean_us() - 500_500.0).abs() < 500.0, "{}", l.mean_us());
        // Small values are exact.
        let mut small = Latencies::new();
        (1..=100).for_each(|us| small.record_us(us));
        assert_eq!((small.quantile_us(0.5), small.quantile_us(0.99)), (50, 99));
        assert_eq!((small.min_us(), small.max_us()), (1, 100));
    }

    #[test]
    fn negative_samples_and_merging() {
        let mut a = Latencies::new();
        [-30, -10, 5].into_iter().for_each(|v| a.record_us(v));
        let mut b = Latencies::new();
        [20, -20].into_iter().for_each(|v| b.record_us(v));
        a.add(&b);
        assert_eq!(a.len(), 5);
        let sorted: Vec<i64> = (1..=5).map(|r| a.at_rank(r)).collect();
        assert_eq!(sorted, vec![-30, -20, -10, 5, 20]);
        assert_eq!((a.min_us(), a.quantile_us(0.5), a.max_us()), (-30, -10, 20));
        assert!((a.mean_us() + 7.0).abs() < 1e-9, "{}", a.mean_us());
    }

    #[test]
    fn empty_and_single() {
        let empty = Latencies::new();
        assert!(empty.is_empty());
        assert_eq!(
            (empty.quantile_us(0.99), empty.max_us(), empty.mean_us()),
            (0, 0, 0.0)
        );
        let mut one = Latencies::new();
        one.record_us(7);
        assert_eq!(
            (one.min_us(), one.quantile_us(0.5), one.quantile_us(0.99)),
            (7, 7, 7)
        );
    }
}
