//! ARM PrimeCell PL031 real-time clock (PL031 Technical Reference Manual).
//!
//! The counter is seconds since the Unix epoch: the host's wall-clock time when the
//! machine started plus the board clock's elapsed time, so it stays consistent with
//! the generic timer (and deterministic when the board clock is).

use std::sync::Arc;

use crate::clock::Clock;
use crate::irq::IrqLine;

const RTCDR: u64 = 0x000; // Data register, RO
const RTCMR: u64 = 0x004; // Match register, RW
const RTCLR: u64 = 0x008; // Load register, RW
const RTCCR: u64 = 0x00c; // Control register, RW (bit 0: start; cannot be cleared)
const RTCIMSC: u64 = 0x010; // Interrupt mask set/clear, RW
const RTCRIS: u64 = 0x014; // Raw interrupt status, RO
const RTCMIS: u64 = 0x018; // Masked interrupt status, RO
const RTCICR: u64 = 0x01c; // Interrupt clear, WO
const ID_BASE: u64 = 0xfe0; // RTCPeriphID0-3, RTCPCellID0-3, RO

const ID_BYTES: [u8; 8] = [0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

pub struct Pl031 {
    clock: Arc<dyn Clock + Send + Sync>,
    irq: IrqLine,
    /// RTC value at clock tick 0.
    base_seconds: u64,
    match_value: u32,
    imsc: u32,
    /// Latched match interrupt (set when the counter reached the match value).
    ris: u32,
    /// Last counter value checked for a match, so a match fires once.
    last_checked: u32,
    pub bad_accesses: u64,
}

impl Pl031 {
    /// `wall_seconds`: seconds since the epoch at the moment the clock read 0.
    pub fn new(clock: Arc<dyn Clock + Send + Sync>, wall_seconds: u64, irq: IrqLine) -> Pl031 {
        Pl031 {
            clock,
            irq,
            base_seconds: wall_seconds,
            match_value: 0,
            imsc: 0,
            ris: 0,
            last_checked: 0,
            bad_accesses: 0,
        }
    }

    fn now(&self) -> u32 {
        (self.base_seconds + self.clock.ticks() / self.clock.frequency().max(1)) as u32
    }

    /// Latches the match interrupt if the counter passed the match value.
    fn update(&mut self) {
        let now = self.now();
        if self.last_checked < self.match_value && now >= self.match_value {
            self.ris = 1;
        }
        self.last_checked = now;
    }

    pub fn irq_level(&mut self) -> bool {
        self.update();
        self.ris & self.imsc != 0
    }

    /// Checks for a match as time passes (the board calls this between slices,
    /// as it looks at the generic timers) and drives the interrupt line.
    pub fn poll(&mut self) {
        let level = self.irq_level();
        self.irq.set(level);
    }
}

impl crate::MmioDevice for Pl031 {
    fn read(&mut self, _cpu: usize, offset: u64, _size: u8) -> u64 {
        self.update();
        let v = match offset {
            RTCDR => self.now(),
            RTCMR => self.match_value,
            RTCLR => self.now(),
            RTCCR => 1,
            RTCIMSC => self.imsc,
            RTCRIS => self.ris,
            RTCMIS => self.ris & self.imsc,
            o if (ID_BASE..ID_BASE + 32).contains(&o) && o % 4 == 0 => {
                ID_BYTES[((o - ID_BASE) / 4) as usize] as u32
            }
            _ => {
                self.bad_accesses += 1;
                0
            }
        };
        self.poll();
        v as u64
    }

    fn write(&mut self, _cpu: usize, offset: u64, _size: u8, value: u64) {
        let v = value as u32;
        match offset {
            RTCMR => {
                self.match_value = v;
                self.last_checked = self.now();
                self.update();
            }
            RTCLR => {
                let elapsed = self.clock.ticks() / self.clock.frequency().max(1);
                self.base_seconds = (v as u64).wrapping_sub(elapsed);
                self.last_checked = v;
            }
            RTCCR => {}
            RTCIMSC => self.imsc = v & 1,
            RTCICR => self.ris &= !(v & 1),
            _ => self.bad_accesses += 1,
        }
        self.poll();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MmioDevice;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct FakeClock(AtomicU64);
    impl Clock for FakeClock {
        fn ticks(&self) -> u64 {
            self.0.load(Ordering::Relaxed)
        }
        fn frequency(&self) -> u64 {
            100
        }
    }

    #[test]
    fn counts_seconds_loads_and_matches() {
        let clock = Arc::new(FakeClock(AtomicU64::new(0)));
        let line = IrqLine::detached();
        let mut rtc = Pl031::new(clock.clone(), 1_700_000_000, line.clone());
        assert_eq!(rtc.read(0, RTCDR, 4), 1_700_000_000);
        clock.0.store(250, Ordering::Relaxed); // 2.5 s
        assert_eq!(rtc.read(0, RTCDR, 4), 1_700_000_002);
        rtc.write(0, RTCLR, 4, 1000);
        assert_eq!(rtc.read(0, RTCDR, 4), 1000);
        rtc.write(0, RTCIMSC, 4, 1);
        rtc.write(0, RTCMR, 4, 1002);
        assert!(!rtc.irq_level());
        clock.0.store(450, Ordering::Relaxed); // 2 s later
        assert!(!line.level(), "nothing has looked at the time yet");
        rtc.poll();
        assert!(line.level());
        assert!(rtc.irq_level());
        rtc.write(0, RTCICR, 4, 1);
        assert!(!rtc.irq_level(), "the match fires once");
        assert!(!line.level());
        assert_eq!(rtc.read(0, ID_BASE, 4), 0x31);
        assert_eq!(rtc.read(0, RTCCR, 4), 1);
    }
}
