//! A seeded PRNG and a Zipf sampler over ranks, without a `rand` dependency.

/// SplitMix64: tiny, fast, and good enough to draw benchmark mixes.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Returns a generator; the same seed draws the same sequence.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Returns a float uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Returns an index uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Zipf's law over ranks `0..n`: rank `k` is drawn with probability
/// proportional to `1 / (k + 1)^s`, by inverse transform on the cumulative
/// weights (a binary search per draw).
#[derive(Debug, Clone)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    /// Returns a sampler over `n` ranks (at least one) with exponent `s`.
    pub fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n.max(1))
            .map(|k| {
                total += (k as f64).powf(-s);
                total
            })
            .collect();
        Self { cumulative }
    }

    /// Draws a rank.
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let u = rng.next_f64() * total;
        self.cumulative
            .partition_point(|&c| c <= u)
            .min(self.cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_ranks_dominate() {
        let zipf = Zipf::new(10_000, 1.1);
        let mut rng = Rng::new(7);
        let draws: Vec<usize> = (0..100_000).map(|_| zipf.sample(&mut rng)).collect();
        assert!(draws.iter().all(|&r| r < 10_000));
        let top = draws.iter().filter(|&&r| r == 0).count();
        let second = draws.iter().filter(|&&r| r == 1).count();
        // P(0) = 1 / H(10000, 1.1) ≈ 0.151, and P(0) / P(1) = 2^1.1 ≈ 2.14.
        assert!((14_000..16_300).contains(&top), "{top}");
        assert!((1.8..2.5).contains(&(top as f64 / second as f64)));
    }

    #[test]
    fn same_seed_same_draws() {
        let zipf = Zipf::new(100, 1.1);
        let (mut a, mut b) = (Rng::new(1), Rng::new(1));
        assert!((0..100).all(|_| zipf.sample(&mut a) == zipf.sample(&mut b)));
    }
}
