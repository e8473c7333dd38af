//! Simulated time: an instant on the simulator's clock and a span between two instants, both
//! whole microseconds, so that arithmetic is exact and the same on every platform.

use std::fmt;
use std::ops::{Add, Sub};

use serde::{Deserialize, Serialize};

/// An instant on the simulated clock, in microseconds since the run started.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SimTime(u64);

/// A span of simulated time, in microseconds.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SimDuration(u64);

/// The longest span a setting may hold: one hour. Longer values are almost surely a typo, and
/// the bound keeps every sum of times far from overflow.
pub const MAX_SETTING: SimDuration = SimDuration(3_600_000_000);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);

    pub const fn from_micros(us: u64) -> SimTime {
        SimTime(us)
    }

    pub const fn as_micros(self) -> u64 {
        self.0
    }

    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// The instant `ms` milliseconds after the start, rounded down to a microsecond; negative
    /// and non-finite values give `None`.
    pub fn from_millis_f64(ms: f64) -> Option<SimTime> {
        if !ms.is_finite() || ms < 0.0 || ms > u64::MAX as f64 / 2000.0 {
            return None;
        }
        Some(SimTime((ms * 1000.0) as u64))
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);

    pub const fn from_micros(us: u64) -> SimDuration {
        SimDuration(us)
    }

    pub const fn from_millis(ms: u64) -> SimDuration {
        SimDuration(ms * 1000)
    }

    pub const fn as_micros(self) -> u64 {
        self.0
    }

    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// A span of `ms` milliseconds rounded to the nearest microsecond, if it is finite, not
    /// negative and no longer than [`MAX_SETTING`].
    pub fn from_millis_f64(ms: f64) -> Option<SimDuration> {
        if !ms.is_finite() || ms < 0.0 || ms > MAX_SETTING.as_millis_f64() {
            return None;
        }
        Some(SimDuration((ms * 1000.0).round() as u64))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    /// The span from `earlier` to `self`; zero if `earlier` is in fact later.
    fn sub(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl fmt::Display for SimDuration {
    /// Reads as a person would say it: `850 µs`, `12.5 ms`, `2.40 s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us == 0 {
            write!(f, "0 ms")
        } else if us < 1_000 {
            write!(f, "{us} µs")
        } else if us < 10_000 {
            write!(f, "{:.2} ms", us as f64 / 1e3)
        } else if us < 1_000_000 {
            write!(f, "{:.0} ms", us as f64 / 1e3)
        } else if us < 10_000_000 {
            write!(f, "{:.3} s", us as f64 / 1e6)
        } else if us < 100_000_000 {
            write!(f, "{:.2} s", us as f64 / 1e6)
        } else {
            write!(f, "{:.1} s", us as f64 / 1e6)
        }
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        SimDuration(self.0).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn millis_are_checked() {
        assert_eq!(SimDuration::from_millis_f64(1.5), Some(SimDuration::from_micros(1500)));
        assert_eq!(SimDuration::from_millis_f64(-1.0), None);
        assert_eq!(SimDuration::from_millis_f64(f64::NAN), None);
        assert_eq!(SimDuration::from_millis_f64(f64::INFINITY), None);
        assert_eq!(SimDuration::from_millis_f64(3_600_001.0), None);
        assert_eq!(SimTime::from_millis_f64(-0.5), None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn arithmetic_saturates() {
        let t = SimTime::from_micros(10);
        assert_eq!(t - SimTime::from_micros(20), SimDuration::ZERO);
        assert_eq!(
            SimTime::from_micros(u64::MAX) + SimDuration::from_micros(5),
            SimTime::from_micros(u64::MAX)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn durations_read_well() {
        assert_eq!(SimDuration::ZERO.to_string(), "0 ms");
        assert_eq!(SimDuration::from_micros(850).to_string(), "850 µs");
        assert_eq!(SimDuration::from_micros(2_500).to_string(), "2.50 ms");
        assert_eq!(SimDuration::from_millis(120).to_string(), "120 ms");
        assert_eq!(SimDuration::from_millis(2_400).to_string(), "2.400 s");
        assert_eq!(SimDuration::from_micros(2_400_600).to_string(), "2.401 s");
        assert_eq!(SimDuration::from_micros(12_345_000).to_string(), "12.35 s");
        assert_eq!(SimDuration::from_millis(120_000).to_string(), "120.0 s");
    }
}
