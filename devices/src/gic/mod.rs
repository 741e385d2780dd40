// TEMPORARY STUB — not committed.
use std::cell::{Cell, RefCell};
use std::rc::Rc;
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GicVersion {
    V2,
    V3,
}
pub struct Gic {
    lines: Vec<bool>,
}
impl Gic {
    pub fn new(_v: GicVersion, n: usize, _irqs: u32) -> Gic {
        Gic {
            lines: vec![false; n],
        }
    }
    pub fn set_level(&mut self, _cpu: usize, _intid: u32, _level: bool) {}
    pub fn irq_line(&self, cpu: usize) -> bool {
        self.lines[cpu]
    }
    pub fn fiq_line(&self, _cpu: usize) -> bool {
        false
    }
    pub fn sysreg_read(&mut self, _cpu: usize, _key: u32) -> Option<u64> {
        None
    }
    pub fn sysreg_write(&mut self, _cpu: usize, _key: u32, _v: u64) -> bool {
        false
    }
}
pub struct GicDistributor {
    pub gic: Rc<RefCell<Gic>>,
    pub current_cpu: Rc<Cell<usize>>,
}
pub struct GicCpuInterface {
    pub gic: Rc<RefCell<Gic>>,
    pub current_cpu: Rc<Cell<usize>>,
}
pub struct GicRedistributor {
    pub gic: Rc<RefCell<Gic>>,
    pub current_cpu: Rc<Cell<usize>>,
}
impl crate::MmioDevice for GicDistributor {
    fn read(&mut self, _o: u64, _s: u8) -> u64 {
        0
    }
    fn write(&mut self, _o: u64, _s: u8, _v: u64) {}
}
impl crate::MmioDevice for GicCpuInterface {
    fn read(&mut self, _o: u64, _s: u8) -> u64 {
        0
    }
    fn write(&mut self, _o: u64, _s: u8, _v: u64) {}
}
impl crate::MmioDevice for GicRedistributor {
    fn read(&mut self, _o: u64, _s: u8) -> u64 {
        0
    }
    fn write(&mut self, _o: u64, _s: u8, _v: u64) {}
}
