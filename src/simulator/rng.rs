//! Deterministic randomness for the synthetic partner: a SplitMix64 stream and a hash of
//! `(seed, parts…)`. Hand-written rather than `rand`'s `StdRng`, whose algorithm may change between
//! `rand` releases: the same `--seed` must give the same partner in every build.

/// Mix one 64-bit value (the SplitMix64 finaliser).
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A hash of a seed and a few parts; equal inputs give equal outputs on every platform.
pub fn hash(seed: u64, parts: &[u64]) -> u64 {
    parts.iter().fold(mix(seed), |acc, &p| mix(acc ^ mix(p)))
}

/// A SplitMix64 stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A stream determined by `seed` and `parts`.
    pub fn new(seed: u64, parts: &[u64]) -> Self {
        Self(hash(seed, parts))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        // 53 random bits are exactly representable in an f64 mantissa.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn range_f64(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in `lo..=hi` (requires `lo <= hi`).
    pub fn range_u32(&mut self, lo: u32, hi: u32) -> u32 {
        let span = u64::from(hi - lo) + 1;
        lo + (self.next_u64() % span) as u32
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }
}

/// A version-4-shaped GUID, lower-case, derived from a hash (so it is stable for a seed).
pub fn guid(seed: u64, parts: &[u64]) -> String {
    let mut rng = Rng::new(seed, parts);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Smooth value noise in `[-1, 1]` along `t`, one independent curve per `key`.
pub fn noise(seed: u64, key: u64, t: f64) -> f64 {
    let i = t.floor();
    let frac = t - i;
    let at = |k: f64| {
        let mut rng = Rng::new(seed, &[key, k as i64 as u64]);
        rng.range_f64(-1.0, 1.0)
    };
    let s = frac * frac * (3.0 - 2.0 * frac);
    at(i) * (1.0 - s) + at(i + 1.0) * s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_seeds_give_equal_streams_and_different_seeds_differ() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(7, &[1]).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::new(7, &[1]).next_u64(), Rng::new(8, &[1]).next_u64());
    }

    #[test]
    fn guids_are_lower_case_version_four() {
        let g = guid(1, &[2]);
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
        assert_eq!(g, g.to_lowercase());
        assert_eq!(g, guid(1, &[2]));
    }

    #[test]
    fn noise_stays_in_range_and_is_continuous() {
        for k in 0..200 {
            let t = f64::from(k) * 0.05;
            let v = noise(3, 9, t);
            assert!((-1.0..=1.0).contains(&v));
            assert!((noise(3, 9, t + 0.001) - v).abs() < 0.02);
        }
    }
}
