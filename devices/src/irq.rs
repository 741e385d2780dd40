//! Interrupt lines that devices drive themselves, from any thread.
//!
//! A device holds an [`IrqLine`] for its SPI and raises or lowers it whenever its
//! interrupt output changes (a register write, a received byte, an I/O thread
//! completing a request). The line's level lives in an [`IrqHub`] shared by all
//! lines of the board; a change marks the hub dirty and calls the board's kick,
//! which tells every vCPU to look at its interrupt lines before its next block
//! and wakes the machine if it sleeps. The vCPU thread then moves the changed
//! levels into the GIC ([`IrqHub::take_changes`]). Nothing polls devices.
//!
//! A line that falls and rises again between two looks (a driver acknowledges
//! its device's interrupt and the device raises it again at once) still reaches
//! the GIC as a fall and a rise: an edge-triggered input (virtio-mmio's, as on
//! QEMU's virt board) must latch that rising edge, or the device's interrupt,
//! which stays high until the driver acknowledges it, is never taken again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// SPIs a hub can carry (the GIC's 256 shared peripheral interrupts... minus none).
pub const MAX_SPIS: u32 = 256;
const WORDS: usize = MAX_SPIS as usize / 64;

/// The levels of every device interrupt line of a board.
#[derive(Default)]
pub struct IrqHub {
    levels: [AtomicU64; WORDS],
    /// Lines that went from low to high since the last look.
    rises: [AtomicU64; WORDS],
    dirty: AtomicBool,
    kick: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl IrqHub {
    pub fn new() -> Arc<IrqHub> {
        Arc::new(IrqHub::default())
    }

    /// The line of SPI `spi` (0-based: INTID - 32). Panics on an SPI past
    /// [`MAX_SPIS`]: that is a board wiring error, not guest input.
    pub fn line(self: &Arc<Self>, spi: u32) -> IrqLine {
        assert!(spi < MAX_SPIS, "SPI {spi} is beyond the interrupt hub");
        IrqLine {
            hub: self.clone(),
            spi,
        }
    }

    /// What to call when a level changes (set once, by the board).
    pub fn on_change(&self, kick: Box<dyn Fn() + Send + Sync>) {
        let _ = self.kick.set(kick);
    }

    /// The level changes to give the GIC, in order, since `applied` (the levels
    /// it was last given); `applied` is updated. A line that rose since the last
    /// call shows a rise even if it is back at the level the GIC has: a fall
    /// first if it was high, a fall after if it is low again. Empty unless a
    /// line changed since the last call.
    pub fn take_changes(&self, applied: &mut [u64; WORDS]) -> Vec<(u32, bool)> {
        if !self.dirty.swap(false, Ordering::Acquire) {
            return Vec::new();
        }
        let mut changes = Vec::new();
        for (w, seen) in applied.iter_mut().enumerate() {
            let rose = self.rises[w].swap(0, Ordering::AcqRel);
            let now = self.levels[w].load(Ordering::Acquire);
            let mut diff = (now ^ *seen) | rose;
            while diff != 0 {
                let bit = diff.trailing_zeros();
                diff &= diff - 1;
                let (spi, mask) = (w as u32 * 64 + bit, 1u64 << bit);
                if rose & mask == 0 {
                    changes.push((spi, now & mask != 0));
                    continue;
                }
                if *seen & mask != 0 {
                    changes.push((spi, false));
                }
                changes.push((spi, true));
                if now & mask == 0 {
                    changes.push((spi, false));
                }
            }
            *seen = now;
        }
        changes
    }

    /// The current level of SPI `spi`.
    pub fn level(&self, spi: u32) -> bool {
        self.levels[spi as usize / 64].load(Ordering::Acquire) & (1 << (spi % 64)) != 0
    }

    fn set(&self, spi: u32, level: bool) {
        let bit = 1u64 << (spi % 64);
        let word = &self.levels[spi as usize / 64];
        let old = if level {
            word.fetch_or(bit, Ordering::AcqRel)
        } else {
            word.fetch_and(!bit, Ordering::AcqRel)
        };
        if (old & bit != 0) != level {
            if level {
                self.rises[spi as usize / 64].fetch_or(bit, Ordering::AcqRel);
            }
            self.dirty.store(true, Ordering::Release);
            if let Some(kick) = self.kick.get() {
                kick();
            }
        }
    }
}

/// One device's interrupt output (a level-sensitive SPI).
#[derive(Clone)]
pub struct IrqLine {
    hub: Arc<IrqHub>,
    spi: u32,
}

impl IrqLine {
    /// A line on a hub of its own (device unit tests).
    pub fn detached() -> IrqLine {
        IrqHub::new().line(0)
    }
    pub fn set(&self, level: bool) {
        self.hub.set(self.spi, level);
    }
    pub fn raise(&self) {
        self.set(true);
    }
    pub fn lower(&self) {
        self.set(false);
    }
    pub fn level(&self) -> bool {
        self.hub.level(self.spi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn changes_reach_the_board_once_and_kick_it() {
        let hub = IrqHub::new();
        let kicks = Arc::new(AtomicUsize::new(0));
        let k = kicks.clone();
        hub.on_change(Box::new(move || {
            k.fetch_add(1, Ordering::Relaxed);
        }));
        let (a, b) = (hub.line(1), hub.line(200));
        let mut applied = [0; WORDS];
        assert!(hub.take_changes(&mut applied).is_empty());
        a.raise();
        a.raise(); // no change: no kick
        b.raise();
        assert_eq!(kicks.load(Ordering::Relaxed), 2);
        assert_eq!(hub.take_changes(&mut applied), vec![(1, true), (200, true)]);
        assert!(hub.take_changes(&mut applied).is_empty());
        b.lower();
        assert_eq!(hub.take_changes(&mut applied), vec![(200, false)]);
        assert!(hub.take_changes(&mut applied).is_empty());
        assert!(a.level() && !b.level());
    }

    #[test]
    fn a_line_that_fell_and_rose_between_two_looks_shows_both() {
        // A driver acknowledged (the line fell) and the device raised it again
        // before the vCPU looked: an edge-triggered GIC input must see the rise.
        let hub = IrqHub::new();
        let (a, b) = (hub.line(3), hub.line(70));
        let mut applied = [0; WORDS];
        a.raise();
        assert_eq!(hub.take_changes(&mut applied), vec![(3, true)]);
        a.lower();
        a.raise();
        assert_eq!(hub.take_changes(&mut applied), vec![(3, false), (3, true)]);
        // Low, a pulse, low again.
        b.raise();
        b.lower();
        assert_eq!(
            hub.take_changes(&mut applied),
            vec![(70, true), (70, false)]
        );
        // High, a dip and a pulse, low at the look.
        a.lower();
        a.raise();
        a.lower();
        assert_eq!(
            hub.take_changes(&mut applied),
            vec![(3, false), (3, true), (3, false)]
        );
        assert!(hub.take_changes(&mut applied).is_empty());
        assert_eq!(applied, [0; WORDS]);
    }

    #[test]
    fn lines_work_from_other_threads() {
        let hub = IrqHub::new();
        let line = hub.line(5);
        std::thread::spawn(move || line.raise()).join().unwrap();
        let mut applied = [0; WORDS];
        assert_eq!(hub.take_changes(&mut applied), vec![(5, true)]);
    }
}
