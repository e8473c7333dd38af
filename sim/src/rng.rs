//! The simulator's one source of chance: xoshiro256++ seeded through SplitMix64 (as
//! `rand_xoshiro` defines them), plus the few distributions the model draws from, written out
//! here so that their output never changes with a dependency's version or the platform's maths
//! library.

use rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A seeded generator; the same seed gives the same numbers on every platform and version.
#[derive(Clone, Debug)]
pub struct Rng(Xoshiro256PlusPlus);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A uniform draw from [0, 1) with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform draw from `lo..=hi` (whole numbers), by rejection so that it has no bias.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        let span = hi - lo;
        if span == u64::MAX {
            return self.next_u64();
        }
        let n = span + 1;
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next_u64();
            if x < zone {
                return lo + x % n;
            }
        }
    }

    /// An exponential draw with the given mean, by Marsaglia and Tsang's ziggurat: most
    /// draws take one random number, a comparison and a multiplication; the rare others use
    /// `libm`'s `exp` and `log`, the same bits natively and in wasm. (Inverting the
    /// distribution function takes a logarithm every time, which was a third of a run.)
    pub fn exponential(&mut self, mean: f64) -> f64 {
        mean * self.standard_exponential()
    }

    /// An exponential draw with mean 1.
    fn standard_exponential(&mut self) -> f64 {
        let z = ziggurat();
        // The layer from the low bits and the position in it from the high ones, so that the
        // two are independent.
        let mut u = self.next_u64();
        let (mut layer, mut j) = ((u & 0xff) as usize, (u >> 32) as u32);
        if j < z.k[layer] {
            return f64::from(j) * z.w[layer];
        }
        loop {
            if layer == 0 {
                // The tail beyond the last layer is exponential again, shifted.
                return ZIGGURAT_R - libm::log(1.0 - self.unit());
            }
            let x = f64::from(j) * z.w[layer];
            let y = z.f[layer] + self.unit() * (z.f[layer - 1] - z.f[layer]);
            if y < libm::exp(-x) {
                return x;
            }
            u = self.next_u64();
            (layer, j) = ((u & 0xff) as usize, (u >> 32) as u32);
            if j < z.k[layer] {
                return f64::from(j) * z.w[layer];
            }
        }
    }
}

/// Where the ziggurat's base layer ends, and the area of each of its 256 layers.
const ZIGGURAT_R: f64 = 7.697_117_470_131_487;
const ZIGGURAT_V: f64 = 3.949_659_822_581_572e-3;

/// The ziggurat's tables: per layer, the bound under which a draw is inside the layer's
/// rectangle (`k`), the scale from a 32-bit number to x (`w`), and the density at its edge (`f`).
struct Ziggurat {
    k: [u32; 256],
    w: [f64; 256],
    f: [f64; 256],
}

/// The tables, computed once with `libm`, so the same on every platform.
fn ziggurat() -> &'static Ziggurat {
    static TABLES: std::sync::OnceLock<Ziggurat> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let m = 4_294_967_296.0_f64;
        let mut z = Ziggurat { k: [0; 256], w: [0.0; 256], f: [0.0; 256] };
        let (mut d, mut t) = (ZIGGURAT_R, ZIGGURAT_R);
        let q = ZIGGURAT_V / libm::exp(-d);
        z.k[0] = ((d / q) * m) as u32;
        z.k[1] = 0;
        z.w[0] = q / m;
        z.w[255] = d / m;
        z.f[0] = 1.0;
        z.f[255] = libm::exp(-d);
        for i in (1..=254).rev() {
            d = -libm::log(ZIGGURAT_V / d + libm::exp(-d));
            z.k[i + 1] = ((d / t) * m) as u32;
            t = d;
            z.f[i] = libm::exp(-d);
            z.w[i] = d / m;
        }
        z
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn same_seed_same_numbers() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(7).next_u64(), Rng::new(8).next_u64());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn between_stays_in_bounds() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            let x = r.between(3, 9);
            assert!((3..=9).contains(&x));
        }
        assert_eq!(r.between(5, 5), 5);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn exponential_has_the_tail_of_its_distribution() {
        // P(X > x) = e^-x: checked in the body, around the layers' edges, and in the tail
        // past the ziggurat's base, which only the rare slow path draws.
        let mut r = Rng::new(9);
        let n = 1_000_000;
        let draws: Vec<f64> = (0..n).map(|_| r.exponential(1.0)).collect();
        assert!(draws.iter().all(|&x| x >= 0.0 && x.is_finite()));
        for x in [0.01, 0.5, 1.0, 2.0, 4.0, ZIGGURAT_R, 9.0] {
            let seen = draws.iter().filter(|&&d| d > x).count() as f64 / n as f64;
            let want = (-x).exp();
            // Within four standard errors of a binomial share.
            let err = 4.0 * (want * (1.0 - want) / n as f64).sqrt();
            assert!((seen - want).abs() < err, "P(X > {x}) = {seen}, want {want}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn exponential_has_its_mean() {
        let mut r = Rng::new(42);
        let n = 200_000;
        let mean = (0..n).map(|_| r.exponential(10.0)).sum::<f64>() / n as f64;
        assert!((mean - 10.0).abs() < 0.1, "mean {mean}");
    }
}
