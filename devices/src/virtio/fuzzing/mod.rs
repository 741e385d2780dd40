//! Fuzz target bodies: each takes arbitrary bytes, builds guest RAM and a
//! device from them, drives it and checks what must hold whatever the guest
//! does (no panic, no hang, device writes only where the driver allowed them).
//! The cargo-fuzz targets in `fuzz/` and the corpus replay test
//! (`devices/tests/fuzz_corpus.rs`) call the same functions. Not part of
//! armvm's API.
//!
//! Inputs are decoded by [`Input`], which reads zeroes once the bytes run
//! out, so every byte string is a valid input. [`seeds`] builds well-formed
//! inputs to start from.

mod blk;
mod mmio;
mod queue;
mod seeds;

use armvm_cpu::memory::GuestMemory;

pub use blk::virtio_blk;
pub use mmio::virtio_mmio;
pub use queue::virtqueue;
pub use seeds::seeds;

use super::queue::Buffer;
use super::testing::RAM_BASE;

/// Guest RAM of every target: 64 KiB at [`RAM_BASE`].
pub const RAM_SIZE: u64 = 0x10000;

/// A reader over the fuzzer's bytes; past their end every read is zero.
pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input(data)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The next `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }
    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0; N];
        let b = self.bytes(N);
        a[..b.len()].copy_from_slice(b);
        a
    }
    pub fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }
    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.bytes(usize::MAX)
    }
}

/// Guest RAM holding `image` from its start (zeroes after it).
fn ram_with(image: &[u8]) -> std::sync::Arc<GuestMemory> {
    let mem = super::testing::ram(RAM_SIZE);
    let n = image.len().min(RAM_SIZE as usize);
    mem.write(RAM_BASE, &image[..n]).unwrap();
    mem.take_dma_writes();
    mem
}

/// Panics unless every range the device wrote since the last call lies inside
/// `allowed` (ranges that touch may be logged as one).
fn assert_writes_within(mem: &GuestMemory, allowed: &[Buffer]) {
    let mut spans: Vec<(u64, u64)> = allowed
        .iter()
        .filter(|b| b.len > 0)
        .map(|b| (b.addr, b.addr + b.len as u64))
        .collect();
    spans.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    for (pa, len) in mem.take_dma_writes() {
        let end = pa
            .checked_add(len)
            .expect("a write wrapping the address space");
        assert!(
            merged.iter().any(|&(s, e)| s <= pa && end <= e),
            "device wrote {pa:#x}..{end:#x}, outside the buffers it was given {merged:x?}"
        );
    }
}
