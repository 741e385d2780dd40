//! The one source of device time. Devices and the generic timer read time only
//! through [`Clock`], so a deterministic clock (derived from retired instructions)
//! can replace the host clock without touching them.

use std::time::{Duration, Instant};

pub trait Clock {
    /// The system counter value, in ticks of [`Clock::frequency`].
    fn ticks(&self) -> u64;
    fn frequency(&self) -> u64;
    /// Host time until the counter reaches `ticks` (zero if it already has).
    fn until(&self, ticks: u64) -> Duration {
        let now = self.ticks();
        let left = ticks.saturating_sub(now) as u128;
        Duration::from_nanos(
            (left * 1_000_000_000 / self.frequency() as u128).min(u64::MAX as u128) as u64,
        )
    }
}

/// Counter frequency of the virt board: 62.5 MHz, as QEMU's virt uses.
pub const COUNTER_HZ: u64 = 62_500_000;

/// The host's monotonic clock, starting at zero when created.
pub struct HostClock {
    start: Instant,
    hz: u64,
}

impl HostClock {
    pub fn new(hz: u64) -> HostClock {
        HostClock {
            start: Instant::now(),
            hz,
        }
    }
}

impl Clock for HostClock {
    fn ticks(&self) -> u64 {
        let ns = self.start.elapsed().as_nanos();
        (ns * self.hz as u128 / 1_000_000_000) as u64
    }
    fn frequency(&self) -> u64 {
        self.hz
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_clock_advances_at_its_frequency() {
        let c = HostClock::new(COUNTER_HZ);
        let a = c.ticks();
        std::thread::sleep(Duration::from_millis(20));
        let b = c.ticks();
        // At least 20 ms worth of ticks; the upper bound is loose (a busy machine).
        assert!(b - a >= COUNTER_HZ / 50, "{a} -> {b}");
        assert!(c.until(b + COUNTER_HZ) > Duration::from_millis(900));
    }
}
