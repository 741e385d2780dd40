//! ARM PrimeCell PL011 UART (PL011 Technical Reference Manual, r1p5).
//!
//! Transmission is instantaneous: a byte written to UARTDR goes straight to the
//! output writer. Received bytes wait in a 16-entry FIFO. The interrupt output is
//! `(UARTRIS & UARTIMSC) != 0`, driven onto the UART's [`IrqLine`] after every
//! change.

use std::collections::VecDeque;
use std::io::Write;

use crate::irq::IrqLine;

const UARTDR: u64 = 0x000; // Data register, RW
const UARTRSR: u64 = 0x004; // Receive status / error clear, RW
const UARTFR: u64 = 0x018; // Flag register, RO
const UARTILPR: u64 = 0x020; // IrDA low-power counter, RW
const UARTIBRD: u64 = 0x024; // Integer baud rate, RW
const UARTFBRD: u64 = 0x028; // Fractional baud rate, RW
const UARTLCR_H: u64 = 0x02c; // Line control, RW
const UARTCR: u64 = 0x030; // Control, RW
const UARTIFLS: u64 = 0x034; // Interrupt FIFO level select, RW
const UARTIMSC: u64 = 0x038; // Interrupt mask set/clear, RW
const UARTRIS: u64 = 0x03c; // Raw interrupt status, RO
const UARTMIS: u64 = 0x040; // Masked interrupt status, RO
const UARTICR: u64 = 0x044; // Interrupt clear, WO
const UARTDMACR: u64 = 0x048; // DMA control, RW
const ID_BASE: u64 = 0xfe0; // UARTPeriphID0-3, UARTPCellID0-3, RO

/// Peripheral and PrimeCell identification bytes (TRM 3.3.14-3.3.15).
const ID_BYTES: [u8; 8] = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

const FR_RXFE: u32 = 1 << 4;
const FR_RXFF: u32 = 1 << 6;
const FR_TXFE: u32 = 1 << 7;

const INT_RX: u32 = 1 << 4;
const INT_TX: u32 = 1 << 5;
const INT_RT: u32 = 1 << 6;
const INT_ALL: u32 = 0x7ff;

const LCR_FEN: u32 = 1 << 4;
const FIFO_DEPTH: usize = 16;

pub struct Pl011 {
    output: Box<dyn Write + Send>,
    /// Bytes were written after the last newline and not flushed yet.
    unflushed: bool,
    irq: IrqLine,
    rx_fifo: VecDeque<u8>,
    ilpr: u32,
    ibrd: u32,
    fbrd: u32,
    lcr_h: u32,
    cr: u32,
    ifls: u32,
    imsc: u32,
    ris: u32,
    dmacr: u32,
    /// Accesses to offsets that are not registers (counted, otherwise ignored).
    pub bad_accesses: u64,
}

impl Pl011 {
    pub fn new(output: Box<dyn Write + Send>, irq: IrqLine) -> Pl011 {
        Pl011 {
            output,
            unflushed: false,
            irq,
            rx_fifo: VecDeque::new(),
            ilpr: 0,
            ibrd: 0,
            fbrd: 0,
            lcr_h: 0,
            // UARTEN clear, TXE and RXE set out of reset (TRM 3.3.8).
            cr: 0x300,
            ifls: 0x12,
            imsc: 0,
            ris: 0,
            dmacr: 0,
            bad_accesses: 0,
        }
    }

    /// The interrupt output.
    pub fn irq_level(&self) -> bool {
        self.ris & self.imsc != 0
    }

    fn drive_irq(&self) {
        self.irq.set(self.irq_level());
    }

    fn capacity(&self) -> usize {
        if self.lcr_h & LCR_FEN != 0 {
            FIFO_DEPTH
        } else {
            1
        }
    }

    /// Whether another received byte fits.
    pub fn can_receive(&self) -> bool {
        self.rx_fifo.len() < self.capacity()
    }

    /// A byte arriving on the receive line. Dropped if the FIFO is full (an
    /// overrun); the board only offers bytes when [`Pl011::can_receive`].
    pub fn receive(&mut self, byte: u8) {
        if self.can_receive() {
            self.rx_fifo.push_back(byte);
        }
        self.update_rx_interrupts();
        self.drive_irq();
    }

    /// RX trigger level in bytes (UARTIFLS.RXIFLSEL: 1/8 .. 7/8 of the FIFO).
    fn rx_trigger(&self) -> usize {
        if self.lcr_h & LCR_FEN == 0 {
            return 1;
        }
        match (self.ifls >> 3) & 7 {
            0 => 2,
            1 => 4,
            2 => 8,
            3 => 12,
            _ => 14,
        }
    }

    fn update_rx_interrupts(&mut self) {
        // The receive timeout fires as soon as data waits below the trigger level:
        // armvm has no line timing, so "32 bit periods of silence" is immediate.
        self.ris &= !(INT_RX | INT_RT);
        if self.rx_fifo.len() >= self.rx_trigger() {
            self.ris |= INT_RX;
        }
        if !self.rx_fifo.is_empty() {
            self.ris |= INT_RT;
        }
    }

    fn flags(&self) -> u32 {
        let mut fr = FR_TXFE;
        if self.rx_fifo.is_empty() {
            fr |= FR_RXFE;
        }
        if self.rx_fifo.len() >= self.capacity() {
            fr |= FR_RXFF;
        }
        fr
    }

    fn transmit(&mut self, byte: u8) {
        // Host output errors (a closed pipe) must not stop the guest.
        let _ = self.output.write_all(&[byte]);
        if byte == b'\n' {
            let _ = self.output.flush();
            self.unflushed = false;
        } else {
            self.unflushed = true;
        }
        self.ris |= INT_TX;
    }

    /// Output from the firmware's own console (the built-in UEFI), on the
    /// same line as the guest's.
    pub fn write_host(&mut self, bytes: &[u8]) {
        let _ = self.output.write_all(bytes);
        self.unflushed = true;
    }

    /// A received byte, taken by the built-in firmware's console.
    pub fn take_received(&mut self) -> Option<u8> {
        let b = self.rx_fifo.pop_front();
        self.update_rx_interrupts();
        self.drive_irq();
        b
    }

    /// Turns the FIFOs on, as firmware that drives the UART itself does, so
    /// that an escape sequence fits.
    pub fn enable_fifo(&mut self) {
        self.lcr_h |= LCR_FEN;
    }

    pub fn flush(&mut self) {
        let _ = self.output.flush();
        self.unflushed = false;
    }

    /// Flushes output that does not end a line yet (a prompt), so that it
    /// shows while the guest waits; the board calls this between time slices.
    pub fn flush_partial_line(&mut self) {
        if self.unflushed {
            self.flush();
        }
    }
}

impl crate::MmioDevice for Pl011 {
    fn read(&mut self, _cpu: usize, offset: u64, _size: u8) -> u64 {
        let v = match offset {
            UARTDR => {
                let b = self.rx_fifo.pop_front().unwrap_or(0);
                self.update_rx_interrupts();
                b as u32
            }
            UARTRSR => 0,
            UARTFR => self.flags(),
            UARTILPR => self.ilpr,
            UARTIBRD => self.ibrd,
            UARTFBRD => self.fbrd,
            UARTLCR_H => self.lcr_h,
            UARTCR => self.cr,
            UARTIFLS => self.ifls,
            UARTIMSC => self.imsc,
            UARTRIS => self.ris,
            UARTMIS => self.ris & self.imsc,
            UARTDMACR => self.dmacr,
            o if (ID_BASE..ID_BASE + 32).contains(&o) && o % 4 == 0 => {
                ID_BYTES[((o - ID_BASE) / 4) as usize] as u32
            }
            _ => {
                self.bad_accesses += 1;
                0
            }
        };
        self.drive_irq();
        v as u64
    }

    fn write(&mut self, _cpu: usize, offset: u64, _size: u8, value: u64) {
        let v = value as u32;
        match offset {
            UARTDR => self.transmit(v as u8),
            UARTRSR => {}
            UARTILPR => self.ilpr = v & 0xff,
            UARTIBRD => self.ibrd = v & 0xffff,
            UARTFBRD => self.fbrd = v & 0x3f,
            UARTLCR_H => {
                // Changing FEN flushes the FIFO (TRM 3.3.7).
                if (self.lcr_h ^ v) & LCR_FEN != 0 {
                    self.rx_fifo.clear();
                }
                self.lcr_h = v & 0xff;
                self.update_rx_interrupts();
            }
            UARTCR => self.cr = v & 0xff87,
            UARTIFLS => self.ifls = v & 0x3f,
            UARTIMSC => self.imsc = v & INT_ALL,
            UARTICR => self.ris &= !(v & INT_ALL),
            UARTDMACR => self.dmacr = v & 7,
            _ => self.bad_accesses += 1,
        }
        self.drive_irq();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MmioDevice;
    use std::sync::{Arc, Mutex};

    /// A writer the test can inspect after handing it to the UART.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn transmit_goes_to_output_and_raises_tx_interrupt() {
        let sink = Sink::default();
        let line = IrqLine::detached();
        let mut u = Pl011::new(Box::new(sink.clone()), line.clone());
        u.write(0, UARTIMSC, 4, INT_TX as u64);
        for b in b"hi\n" {
            u.write(0, UARTDR, 4, *b as u64);
        }
        assert_eq!(&*sink.0.lock().unwrap(), b"hi\n");
        assert!(u.irq_level() && line.level());
        u.write(0, UARTICR, 4, INT_TX as u64);
        assert!(!u.irq_level() && !line.level());
    }

    #[test]
    fn receive_fifo_flags_and_interrupts() {
        let line = IrqLine::detached();
        let mut u = Pl011::new(Box::new(Sink::default()), line.clone());
        assert_eq!(u.read(0, UARTFR, 4) as u32 & FR_RXFE, FR_RXFE);
        u.write(0, UARTLCR_H, 4, LCR_FEN as u64);
        u.write(0, UARTIMSC, 4, (INT_RX | INT_RT) as u64);
        u.receive(b'a');
        assert!(
            line.level(),
            "receive timeout raised for data below the trigger"
        );
        assert_eq!(
            u.read(0, UARTRIS, 4) as u32 & INT_RX,
            0,
            "1 byte is below the 1/2 trigger"
        );
        for b in b"bcdefghijklmnop" {
            u.receive(*b);
        }
        assert!(!u.can_receive());
        assert_eq!(u.read(0, UARTFR, 4) as u32 & FR_RXFF, FR_RXFF);
        assert_eq!(u.read(0, UARTRIS, 4) as u32 & INT_RX, INT_RX);
        let mut got = Vec::new();
        while u.read(0, UARTFR, 4) as u32 & FR_RXFE == 0 {
            got.push(u.read(0, UARTDR, 4) as u8);
        }
        assert_eq!(got, b"abcdefghijklmnop");
        assert!(!u.irq_level() && !line.level());
    }

    #[test]
    fn identification_registers_and_bad_offsets() {
        let mut u = Pl011::new(Box::new(Sink::default()), IrqLine::detached());
        let id: Vec<u64> = (0..8).map(|i| u.read(0, ID_BASE + 4 * i, 4)).collect();
        assert_eq!(id, vec![0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
        assert_eq!(u.read(0, 0x800, 4), 0);
        u.write(0, 0x800, 4, 1);
        assert_eq!(u.bad_accesses, 2);
    }
}
