//! armvm's JIT: translates hot guest blocks into x86-64 host code.
//!
//! A block goes through the A64 frontend ([`a64`]) into a small IR ([`ir`]),
//! through the passes ([`passes`]), and out of the backend ([`x64`]) into the
//! code arena ([`arena`]). Instructions the frontend does not translate run in
//! the interpreter from inside the translated block; rare cases of translated
//! ones (a TLB miss, MMIO, an unaligned access) leave the block through the
//! interpreter. The run loop calls translated code through the contract in
//! [`armvm_cpu::native`].

pub mod a64;
pub mod arena;
pub mod ir;
pub mod passes;
/// The x86-64 backend. It builds on any host (it only emits bytes); the
/// code runs only on x86-64, which [`Jit::new`] checks.
pub mod x64;

use armvm_cpu::cpu::{Cpu, Platform};
use armvm_cpu::decode::Insn;
use armvm_cpu::exec::prepared::Prepared;
use armvm_cpu::native::{ChainSlot, NativeCode, NativeContext, NativeFn, Translator};
use x64::Emitted;

/// Default size of the code cache.
pub const DEFAULT_CACHE_SIZE: usize = 64 << 20;

/// Counters for `--stats`.
#[derive(Clone, Debug, Default)]
pub struct Statistics {
    pub blocks_translated: u64,
    pub blocks_declined: u64,
    pub cache_flushes: u64,
    pub guest_instructions: u64,
    /// Instructions left to the interpreter inside translated blocks.
    pub instructions_interpreted: u64,
}

/// The translator the run loop is handed (`--engine jit`).
pub struct Jit {
    arena: arena::Arena,
    /// The prepared instructions translated code hands to the interpreter,
    /// kept as long as that code can run.
    prepared: Vec<Box<[Prepared]>>,
    epoch: u64,
    stats: Statistics,
    capabilities: a64::Capabilities,
}

impl Jit {
    /// A JIT with a code cache of `cache_size` bytes; None where this host
    /// cannot run one (not x86-64, or no executable memory).
    pub fn new(cache_size: usize) -> Option<Jit> {
        if !cfg!(target_arch = "x86_64") {
            return None;
        }
        Some(Jit {
            arena: arena::Arena::new(cache_size)?,
            prepared: Vec::new(),
            epoch: 0,
            stats: Statistics::default(),
            capabilities: host_capabilities(),
        })
    }

    pub fn stats(&self) -> &Statistics {
        &self.stats
    }

    fn flush(&mut self) {
        self.arena.clear();
        self.prepared.clear();
        self.epoch += 1;
        self.stats.cache_flushes += 1;
    }

    fn emit(&self, insns: &[Insn], pa: u64, prepared: &[Prepared]) -> Option<Emitted> {
        let env = x64::Environment {
            interpret: interpret as *const () as usize,
            prepared: prepared.as_ptr() as usize,
            prepared_size: std::mem::size_of::<Prepared>(),
            pa_page: pa & !0xfff,
        };
        let plain = a64::translate(insns, self.capabilities);
        let mut optimised = plain.clone();
        passes::optimise(&mut optimised);
        if cfg!(debug_assertions) {
            if let Err(e) = passes::verify(&optimised) {
                panic!("IR verifier: {e}\n{optimised}");
            }
        }
        // Forwarded values live longer; if they need more registers than
        // there are, the block goes without.
        x64::emit(&optimised, &env).or_else(|| {
            let mut simple = plain;
            passes::remove_dead_code(&mut simple);
            x64::emit(&simple, &env)
        })
    }

    /// Copies emitted code into the cache and fills in its chain slots.
    fn install(&mut self, emitted: &Emitted) -> Option<NativeCode> {
        let base = match self.arena.add(&emitted.code) {
            Some(base) => base,
            None => {
                // Full: start again. Blocks translated before see the new
                // epoch and are translated again when they run.
                self.flush();
                self.arena.add(&emitted.code)?
            }
        } as usize;
        for &(slot, exit) in &emitted.slots {
            let slot = (base + slot) as *mut ChainSlot;
            // SAFETY: the emitter reserved the slot's words, 8-aligned, in the
            // code just copied; no code runs while they are written. Unlinked:
            // the exit returns to the run loop (no code version is ever
            // u64::MAX).
            unsafe {
                slot.write(ChainSlot {
                    target: (base + exit) as u64,
                    code_version: u64::MAX,
                });
            }
        }
        // SAFETY: `base` holds code emitted for the native contract.
        let entry = unsafe { std::mem::transmute::<usize, NativeFn>(base) };
        Some(NativeCode {
            entry,
            chain_entry: (base + emitted.chain_entry) as u64,
        })
    }
}

impl Translator for Jit {
    fn translate(&mut self, insns: &[Insn], pa: u64) -> Option<NativeCode> {
        let prepared: Box<[Prepared]> = insns.iter().map(|&i| Prepared::new(i)).collect();
        let Some(emitted) = self.emit(insns, pa, &prepared) else {
            self.stats.blocks_declined += 1;
            return None;
        };
        let code = self.install(&emitted)?;
        if let Some(dir) = std::env::var_os("ARMVM_JIT_DUMP") {
            // Debugging aid: the IR and the host code of every block
            // (`objdump -D -b binary -m i386:x86-64 FILE.bin`).
            let path = std::path::Path::new(&dir).join(format!("{:x}", code.entry as usize));
            let ir = a64::translate(insns, self.capabilities);
            let _ = std::fs::write(path.with_extension("bin"), &emitted.code);
            let _ = std::fs::write(path.with_extension("ir"), format!("{ir}"));
        }
        self.prepared.push(prepared);
        self.stats.blocks_translated += 1;
        self.stats.guest_instructions += insns.len() as u64;
        Some(code)
    }

    fn epoch(&self) -> u64 {
        self.epoch
    }

    fn statistics(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("jit blocks translated", self.stats.blocks_translated),
            ("jit blocks declined", self.stats.blocks_declined),
            (
                "jit guest instructions translated",
                self.stats.guest_instructions,
            ),
            ("jit code cache flushes", self.stats.cache_flushes),
            ("jit code cache bytes used", self.arena.used() as u64),
            ("jit code cache bytes", self.arena.size() as u64),
        ]
    }
}

/// What this host's CPU can do for the backend.
fn host_capabilities() -> a64::Capabilities {
    a64::Capabilities {
        #[cfg(target_arch = "x86_64")]
        sse41: std::arch::is_x86_feature_detected!("sse4.1"),
        #[cfg(not(target_arch = "x86_64"))]
        sse41: false,
        #[cfg(target_arch = "x86_64")]
        fma: std::arch::is_x86_feature_detected!("fma"),
        #[cfg(not(target_arch = "x86_64"))]
        fma: false,
    }
}

/// Runs one instruction in the interpreter for translated code; returns its
/// step (see [`armvm_cpu::native`]).
///
/// # Safety
/// `context` is the context the run loop passed to the translated code, and
/// `prepared` points at a live prepared instruction.
unsafe extern "C" fn interpret(context: *mut NativeContext, prepared: *const Prepared) -> u64 {
    let context = &mut *context;
    let cpu = &mut *(context.cpu as *mut Cpu);
    let plat = &mut **(context.plat as *mut &mut dyn Platform);
    // The count as the interpreter's block loop would have it here.
    cpu.icount = context.icount_base + context.retired;
    (*prepared).step(cpu, plat) as u64
}
