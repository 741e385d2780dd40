//! One vCPU: architectural state, its software TLBs and code cache, and the run loop.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::{Rc, Weak};

use rustc_hash::FxHashMap as HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::decode::{decode, Op};
use crate::exception::{Exception, Fault, FaultKind, Interrupt};
use crate::exec::prepared::{Prepared, Step};
use crate::exec::{self, Flow};
use crate::idiom::{self, Idiom};
use crate::memory::PhysMemory;
use crate::mmu::{Regime, Tlb, Translation};
use crate::model::IdRegisters;
use crate::native::{self, NativeCode, NativeContext, NativeState, Translator};
use crate::pmu::{self, Pmu};
use crate::selfdebug;
use crate::state::{Regs, DAIF_A, DAIF_D, DAIF_F, DAIF_I};
use crate::sysreg::{self, id, sctlr, SysRegs};
use std::ffi::c_void;

/// What the board provides to a vCPU beyond physical memory.
pub trait Platform: PhysMemory {
    /// The system counter (CNTPCT_EL0), in ticks of [`Platform::counter_frequency`].
    fn counter(&mut self) -> u64;
    fn counter_frequency(&self) -> u64;
    /// System registers that belong to a device (the GICv3 CPU interface). `None`
    /// means the register does not exist.
    fn device_sysreg_read(&mut self, _cpu: usize, _key: u32) -> Option<u64> {
        None
    }
    /// Returns false if the register does not exist.
    fn device_sysreg_write(&mut self, _cpu: usize, _key: u32, _value: u64) -> bool {
        false
    }
    /// The current IRQ and FIQ lines of CPU `cpu`, asked when its
    /// [`Cpu::interrupts_changed`] flag is set; `None` leaves them as they are.
    fn interrupt_lines(&mut self, _cpu: usize) -> Option<(bool, bool)> {
        None
    }
    /// The guest wrote a timer register of CPU `cpu`; these are the new output levels
    /// of its virtual and physical timers.
    fn timer_changed(&mut self, _cpu: usize, _virt: bool, _phys: bool) {}
    /// The PMU's overflow interrupt request of vCPU `cpu` changed (PPI 23 on
    /// the virt board).
    fn pmu_interrupt(&mut self, _cpu: usize, _level: bool) {}
}

/// A machine that is only RAM (tests and benchmarks): no devices, and a system
/// counter stopped at 0 that claims the virt board's 62.5 MHz.
impl Platform for crate::memory::Ram {
    fn counter(&mut self) -> u64 {
        0
    }
    fn counter_frequency(&self) -> u64 {
        62_500_000
    }
}

/// Why [`Cpu::run`] returned. The PC already points past the instruction that
/// caused the exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The instruction budget is spent.
    BudgetSpent,
    /// WFI with no interrupt pending: sleep until one is.
    Wfi,
    /// WFE with no event pending.
    Wfe,
    /// HVC at EL1: a firmware call (PSCI, SMCCC). If the board does not handle it,
    /// it calls [`Cpu::undefined_instruction`].
    Hvc(u16),
    /// SMC at EL1; as for HVC.
    Smc(u16),
    /// A semihosting call (`HLT #0xF000`) with semihosting enabled.
    Semihosting,
    /// A debugger breakpoint: the PC is AT the breakpoint, not yet executed.
    Breakpoint,
    /// A debugger watchpoint: the instruction at the PC accesses watched data and
    /// has not executed (it is abandoned as for a fault, before the access), as
    /// ARM's watchpoint exceptions and gdb on AArch64 expect. Resume with
    /// [`DebugState::skip_watch_at`] set to the PC to let it through.
    Watchpoint(WatchHit),
}

/// What a watchpoint watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchKind {
    Write,
    Read,
    Access,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watchpoint {
    pub addr: u64,
    pub len: u64,
    pub kind: WatchKind,
}

/// A data access that hit a watchpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchHit {
    /// The watchpoint that was hit.
    pub watch: Watchpoint,
    /// The first byte accessed inside the watched range.
    pub addr: u64,
    pub write: bool,
}

/// Debugger state of one vCPU. Breakpoints are by virtual address: blocks decoded
/// from a page holding one check each PC against the set; other blocks are untouched.
/// Watched pages take the memory slow path, which checks the watch ranges.
#[derive(Default)]
pub struct DebugState {
    breakpoints: HashSet<u64>,
    /// Number of breakpoints per virtual page.
    breakpoint_pages: HashMap<u64, usize>,
    watchpoints: Vec<Watchpoint>,
    watch_hit: Option<WatchHit>,
    /// Resume at this PC without stopping at its breakpoint (continuing from it).
    pub skip_breakpoint_at: Option<u64>,
    /// Resume at this PC without stopping for its watched accesses.
    pub skip_watch_at: Option<u64>,
    /// Watchpoints are checked only for the instructions `run` executes, not for
    /// accesses the board makes on the guest's behalf (semihosting).
    armed: bool,
    /// The instruction at this PC is let through (see `skip_watch_at`).
    skipping_watch: Option<u64>,
    /// Take no interrupts (single-stepping with interrupts held off).
    pub hold_interrupts: bool,
}

/// A memory access's kind, for permission checks and syndromes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Access {
    /// LDTR/STTR: checked with EL0 permissions.
    pub unprivileged: bool,
    /// Must be aligned to its size whatever SCTLR_EL1.A says (exclusives, atomics,
    /// load-acquire/store-release).
    pub aligned: bool,
    /// ISS bits 24:14 (ISV, SAS, SSE, SRT, SF, AR) to report on a data abort.
    pub iss: u32,
}

/// Data access kinds for the slow path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    Exec,
}

/// A pre-decoded basic block.
pub struct Block {
    pub insns: Box<[Prepared]>,
    /// Physical address of the first instruction.
    pa: u64,
    /// Decoded from a page with breakpoints: check each PC before executing it.
    pub checks_breakpoints: bool,
    /// The last two instructions (a compare and a B.cond) are fused: the
    /// second-to-last entry runs both on the fast path. Elsewhere they run apart.
    fused: bool,
    /// The block is a loop the run loop can do many iterations of at once.
    idiom: Option<Idiom>,
    /// Cleared when the code it was decoded from is overwritten.
    valid: Cell<bool>,
    /// The blocks that ran after this one (see [`Link`]).
    links: [Link; 2],
    /// The link to replace next.
    next_link: Cell<u8>,
    /// Host code for the block, once it has run often enough (see [`native`]).
    native: Cell<NativeState>,
}

/// A block that ran after another, remembered by the one before so that the run
/// loop can go straight to it: a jump-cache entry of its own. It holds under the
/// same rule as the jump cache's entries: the target PC and EL match, and the
/// translations are those of the generation it was made in. Generations are
/// unique across vCPUs, so that one vCPU never follows another's link made
/// under different translations. Weak, so that loops of blocks are no
/// reference cycles.
#[derive(Default)]
struct Link {
    tag: Cell<u64>,
    generation: Cell<u64>,
    block: Cell<Weak<Block>>,
}

impl Block {
    fn new(insns: Vec<Prepared>, pa: u64, checks_breakpoints: bool, fused: bool) -> Block {
        Block {
            insns: insns.into_boxed_slice(),
            pa,
            checks_breakpoints,
            fused,
            idiom: None,
            valid: Cell::new(true),
            links: Default::default(),
            next_link: Cell::new(0),
            native: Cell::new(NativeState::default()),
        }
    }

    /// The block this one linked to for `tag` (PC | EL) in `generation`.
    #[inline(always)]
    fn linked(&self, tag: u64, generation: u64) -> Option<Rc<Block>> {
        let link = self
            .links
            .iter()
            .find(|l| l.tag.get() == tag && l.generation.get() == generation)?;
        let weak = link.block.take();
        let block = weak.upgrade();
        link.block.set(weak);
        block
    }

    /// Remembers `next` as the block for `tag` in `generation`, in place of the
    /// older link.
    fn link(&self, tag: u64, generation: u64, next: &Rc<Block>) {
        let i = self.next_link.get();
        self.next_link.set(i ^ 1);
        let link = &self.links[i as usize];
        link.tag.set(tag);
        link.generation.set(generation);
        link.block.set(Rc::downgrade(next));
    }
}

/// The epoch while no translator is installed: blocks are declined in it.
const NO_TRANSLATOR: u64 = u64::MAX;

/// Size of the jump cache (a power of two). Measured on the installer's boot:
/// 16K entries miss less often than 4K but run slower, the larger table
/// crowding the host's caches.
const JUMP_CACHE_SIZE: usize = 4096;

/// The jump-cache slot of a PC: the low bits of the instruction index, mixed
/// with higher ones so that code a multiple of the cache span apart does not
/// always collide.
#[inline(always)]
fn jump_slot(pc: u64) -> usize {
    (((pc >> 2) ^ (pc >> 18)) as usize) & (JUMP_CACHE_SIZE - 1)
}

/// One entry of the jump cache: the block last fetched at a virtual PC and EL.
#[derive(Clone, Default)]
struct JumpEntry {
    /// PC | EL (the PC is 4-aligned, so the EL fits in its low bits).
    tag: u64,
    /// The cache generation the entry belongs to.
    generation: u64,
    block: Option<Rc<Block>>,
}

/// Decoded blocks, keyed by physical address, with the pages they came from. Shared
/// by all vCPUs of a machine: code written by one vCPU must stop being executed by
/// every other (Linux patches kernel text while other CPUs run).
pub struct SharedCode {
    maps: RefCell<CodeMaps>,
    /// Per vCPU: what the others asked of it since it last looked (see
    /// [`Remote`]). A vCPU does it before it fetches its next block.
    remote: Vec<RefCell<Vec<Remote>>>,
    pending: Vec<Cell<bool>>,
    /// Turns hot blocks into host code (`--engine jit`); none interprets all.
    translator: RefCell<Option<Box<dyn Translator>>>,
    /// The translator's epoch as last seen ([`NO_TRANSLATOR`] without one), so
    /// that the run loop can tell valid host code without asking it.
    jit_epoch: Cell<u64>,
    /// Changes whenever blocks are dropped, so that links between translated
    /// blocks made before are no longer followed (see [`native::ChainSlot`]).
    code_version: Cell<u64>,
    /// The last jump-cache generation handed out (see [`Link`]).
    generations: Cell<u64>,
}

/// What one vCPU asks of the others' TLBs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Remote {
    /// A page became a code page: drop write permission to it (so that writes
    /// reach the slow path and drop its blocks).
    ProtectCode(u64),
    /// A broadcast TLBI (the Inner Shareable forms) of everything.
    FlushTlb,
    /// A broadcast TLBI by VA.
    FlushTlbVa(u64),
}

/// Past this many queued requests for one vCPU (one that sleeps while the others
/// keep issuing TLBIs), its TLB flushes collapse into one flush of everything.
const REMOTE_QUEUE_LIMIT: usize = 256;

#[derive(Default)]
struct CodeMaps {
    blocks: HashMap<u64, Rc<Block>>,
    pages: HashMap<u64, Vec<u64>>,
}

impl SharedCode {
    /// Code tracking for a machine of `cpus` vCPUs (indices 0..cpus).
    pub fn new(cpus: usize) -> Rc<SharedCode> {
        Rc::new(SharedCode {
            maps: RefCell::default(),
            remote: (0..cpus).map(|_| RefCell::default()).collect(),
            pending: (0..cpus).map(|_| Cell::new(false)).collect(),
            generations: Cell::new(0),
            translator: RefCell::new(None),
            jit_epoch: Cell::new(NO_TRANSLATOR),
            code_version: Cell::new(0),
        })
    }

    /// Hands hot blocks to `translator` from now on (`None`: interpret all).
    pub fn set_translator(&self, translator: Option<Box<dyn Translator>>) {
        self.jit_epoch
            .set(translator.as_ref().map_or(NO_TRANSLATOR, |t| t.epoch()));
        *self.translator.borrow_mut() = translator;
    }

    /// The translator's statistics (empty without one).
    pub fn translator_statistics(&self) -> Vec<(&'static str, u64)> {
        self.translator
            .borrow()
            .as_ref()
            .map_or_else(Vec::new, |t| t.statistics())
    }
    /// A jump-cache generation no vCPU has used yet.
    fn new_generation(&self) -> u64 {
        self.generations.set(self.generations.get() + 1);
        self.generations.get()
    }
    fn is_code_page(&self, pa_page: u64) -> bool {
        self.maps.borrow().pages.contains_key(&pa_page)
    }
    fn lookup(&self, pa: u64) -> Option<Rc<Block>> {
        self.maps.borrow().blocks.get(&pa).cloned()
    }
    /// Adds a block; a page that becomes a code page is queued for every other vCPU.
    fn insert(&self, pa: u64, block: Rc<Block>, by_cpu: usize) -> bool {
        let page = pa & !0xfff;
        let mut maps = self.maps.borrow_mut();
        let starts = maps.pages.entry(page).or_default();
        let new_page = starts.is_empty();
        if !starts.contains(&pa) {
            starts.push(pa);
        }
        if maps.blocks.insert(pa, block).is_some() {
            self.code_changed();
        }
        drop(maps);
        if new_page {
            self.post(by_cpu, Remote::ProtectCode(page));
        }
        new_page
    }
    /// Queues `work` for every vCPU but `by_cpu`.
    fn post(&self, by_cpu: usize, work: Remote) {
        let is_flush = !matches!(work, Remote::ProtectCode(_));
        for (cpu, queue) in self.remote.iter().enumerate() {
            if cpu == by_cpu {
                continue;
            }
            let mut queue = queue.borrow_mut();
            if is_flush && queue.len() >= REMOTE_QUEUE_LIMIT {
                queue.retain(|w| matches!(w, Remote::ProtectCode(_)));
                queue.push(Remote::FlushTlb);
            } else {
                queue.push(work);
            }
            self.pending[cpu].set(true);
        }
    }
    /// Blocks were dropped: links to them must not be followed.
    fn code_changed(&self) {
        self.code_version.set(self.code_version.get() + 1);
    }
    /// Drops every block decoded from physical page `pa_page`.
    pub fn invalidate_page(&self, pa_page: u64) {
        let mut maps = self.maps.borrow_mut();
        if let Some(starts) = maps.pages.remove(&pa_page) {
            self.code_changed();
            for pa in starts {
                if let Some(b) = maps.blocks.remove(&pa) {
                    b.valid.set(false);
                }
            }
        }
    }
    /// Drops every block decoded from `pa..pa+len`: devices wrote there (DMA).
    /// Very large ranges drop everything.
    pub fn invalidate_range(&self, pa: u64, len: u64) {
        const PAGEWISE_LIMIT: u64 = 1 << 30;
        if len == 0 {
            return;
        }
        let (first, last) = (pa & !0xfff, pa.saturating_add(len - 1) & !0xfff);
        if last - first >= PAGEWISE_LIMIT {
            self.clear();
            return;
        }
        if self.maps.borrow().pages.is_empty() {
            return;
        }
        for page in (first..=last).step_by(0x1000) {
            self.invalidate_page(page);
        }
    }
    fn clear(&self) {
        self.code_changed();
        let mut maps = self.maps.borrow_mut();
        for b in maps.blocks.values() {
            b.valid.set(false);
        }
        maps.blocks.clear();
        maps.pages.clear();
    }
    #[inline(always)]
    fn has_pending(&self, cpu: usize) -> bool {
        self.pending.get(cpu).is_some_and(|p| p.get())
    }
    fn take_pending(&self, cpu: usize) -> Vec<Remote> {
        self.pending[cpu].set(false);
        std::mem::take(&mut *self.remote[cpu].borrow_mut())
    }
}

/// A vCPU's view of the code: the shared blocks, and its own direct-mapped jump
/// cache from virtual PC to block that skips translation and the hash lookup.
/// Whenever translations change (TLBI, TTBR and ASID changes), the jump cache's
/// generation is bumped: an entry of an older generation is used again only
/// after checking that the TLB still maps its PC to the block's physical page.
/// Breakpoint changes empty it. Blocks invalidated by a write are noticed
/// through their `valid` flag.
pub struct CodeCache {
    shared: Rc<SharedCode>,
    jump: Box<[JumpEntry]>,
    generation: u64,
}

impl CodeCache {
    fn new(shared: Rc<SharedCode>) -> CodeCache {
        CodeCache {
            generation: shared.new_generation(),
            shared,
            jump: vec![JumpEntry::default(); JUMP_CACHE_SIZE].into_boxed_slice(),
        }
    }
    fn is_code_page(&self, pa_page: u64) -> bool {
        self.shared.is_code_page(pa_page)
    }
    pub fn invalidate_page(&mut self, pa_page: u64) {
        self.shared.invalidate_page(pa_page);
    }
    pub fn clear(&mut self) {
        self.shared.clear();
        self.empty_jumps();
    }
    /// Translations changed: every entry needs a TLB check before its next use.
    fn forget_jumps(&mut self) {
        self.generation = self.shared.new_generation();
    }
    /// Empties the jump cache for good: no entry can be revalidated through the
    /// TLB (after breakpoint changes, which need blocks decoded differently).
    /// Links die with the generation.
    fn empty_jumps(&mut self) {
        self.jump.fill(JumpEntry::default());
        self.forget_jumps();
    }
}

/// The exclusive monitor's record of the last load-exclusive.
#[derive(Clone, Copy, Debug)]
pub struct Monitor {
    pub va: u64,
    pub size: usize,
    /// Value read, compared at the store-exclusive (as QEMU does): a store by anyone
    /// that changed the location in between makes the store-exclusive fail.
    pub value: u128,
}

impl DebugState {
    fn watches_page(&self, page: u64) -> bool {
        self.watchpoints
            .iter()
            .any(|w| w.addr < page + 0x1000 && w.addr.saturating_add(w.len) > page)
    }

    /// Records a hit if `va..va+len`, accessed by the instruction at `pc`, overlaps
    /// a watchpoint of the access's kind; true if it does.
    fn check_watch(&mut self, va: u64, len: u64, write: bool, pc: u64) -> bool {
        if !self.armed || self.watchpoints.is_empty() || self.skipping_watch == Some(pc) {
            return false;
        }
        for w in &self.watchpoints {
            let kind_matches = match w.kind {
                WatchKind::Write => write,
                WatchKind::Read => !write,
                WatchKind::Access => true,
            };
            let end = w.addr.saturating_add(w.len);
            if kind_matches && va < end && va.saturating_add(len) > w.addr {
                self.watch_hit = Some(WatchHit {
                    watch: *w,
                    addr: va.max(w.addr),
                    write,
                });
                return true;
            }
        }
        false
    }
}

/// Longest block, in instructions.
const MAX_BLOCK: usize = 64;

/// One instruction of a trace, with what it changed.
#[derive(Clone, Debug)]
pub struct TraceRecord {
    pub cpu: usize,
    pub el: u8,
    pub pc: u64,
    pub word: u32,
    /// Registers written, as (name, value).
    pub writes: Vec<(String, u128)>,
}

pub type TraceHook = Box<dyn FnMut(&TraceRecord)>;

pub struct Cpu {
    pub regs: Regs,
    pub sys: SysRegs,
    /// Index of this vCPU (MPIDR_EL1.Aff0).
    pub index: usize,
    /// Interrupt lines driven by the interrupt controller (or the board).
    pub irq_line: bool,
    pub fiq_line: bool,
    /// Semihosting via `HLT #0xF000` is enabled.
    pub semihosting: bool,
    /// The identification registers of the CPU model (`--cpu`).
    pub id: IdRegisters,
    /// Extra ID_AA64PFR0_EL1 bits the board sets (the GIC field with GICv3).
    pub pfr0_extra: u64,
    /// Retired instructions. An instruction fetch that faults counts as one too, so
    /// that a budget always bounds a run (a guest whose vectors cannot be fetched
    /// would otherwise never hand control back).
    pub icount: u64,
    /// Exceptions taken, by exception class, and interrupts taken.
    pub exception_counts: [u64; 64],
    pub interrupt_counts: [u64; 3],
    pub monitor: Option<Monitor>,
    pub event_register: bool,
    /// Set (by the board, possibly from another thread) when the interrupt lines may
    /// have changed; the CPU then asks [`Platform::interrupt_lines`] at the next
    /// block boundary.
    pub interrupts_changed: Arc<AtomicBool>,
    /// The virtual and physical timer outputs as last given to the board.
    timer_outputs: (bool, bool),
    pub debug: DebugState,
    /// What the guest's own debug registers arm (self-hosted debug).
    guest_debug: selfdebug::Armed,
    /// The Performance Monitors (PMUv3).
    pub pmu: Pmu,
    /// The PMU's overflow interrupt request as last given to the board.
    pmu_irq: bool,
    /// Every instruction must be looked at before and after it runs (guest
    /// breakpoints or software step, or a PMU event of instruction kinds):
    /// blocks run one instruction at a time.
    per_instruction: bool,
    /// `icount` already counts the instruction being run (the one-at-a-time
    /// loop counts it before running it; the block loop after).
    icount_ahead: bool,
    /// The instruction just run was software-stepped (`Some(load-exclusive)`):
    /// the Software Step exception that follows reports it (ISS.ISV, EX).
    stepped: Option<bool>,
    tlb: [Tlb; 2],
    code: CodeCache,
    trace: Option<TraceHook>,
    /// The outcome of an instruction whose handler returned [`Step::Stop`].
    parked: exec::ExecResult,
    /// The exit of the translated block that ran last, if it can be linked
    /// to the block at `tag` (PC | EL), in translator epoch `epoch`:
    /// `(slot, tag, epoch)`.
    chain_from: Option<(*mut native::ChainSlot, u64, u64)>,
}

impl Cpu {
    pub fn new(index: usize) -> Cpu {
        Cpu {
            regs: Regs::default(),
            sys: SysRegs::default(),
            index,
            irq_line: false,
            fiq_line: false,
            semihosting: false,
            id: IdRegisters::default(),
            pfr0_extra: 0,
            icount: 0,
            exception_counts: [0; 64],
            interrupt_counts: [0; 3],
            monitor: None,
            event_register: false,
            interrupts_changed: Arc::new(AtomicBool::new(false)),
            timer_outputs: (false, false),
            debug: DebugState::default(),
            guest_debug: selfdebug::Armed::default(),
            pmu: Pmu::default(),
            pmu_irq: false,
            per_instruction: false,
            icount_ahead: false,
            stepped: None,
            tlb: [Tlb::default(), Tlb::default()],
            code: CodeCache::new(SharedCode::new(index + 1)),
            trace: None,
            parked: Ok(Flow::Next),
            chain_from: None,
        }
    }

    /// Resets to the architectural reset state (EL1h, interrupts masked, MMU off).
    /// The debugger's breakpoints and watchpoints stay: they are not guest state.
    pub fn reset(&mut self) {
        // What belongs to the machine rather than to the architectural state survives:
        // the board's interrupt flag, the shared code cache, the debugger's breakpoints
        // and watchpoints (not its per-stop state).
        let mut fresh = Cpu::new(self.index);
        fresh.semihosting = self.semihosting;
        fresh.pfr0_extra = self.pfr0_extra;
        fresh.id = self.id.clone();
        fresh.trace = self.trace.take();
        let debug = std::mem::take(&mut self.debug);
        fresh.debug = DebugState {
            skip_breakpoint_at: None,
            skip_watch_at: None,
            watch_hit: None,
            ..debug
        };
        fresh.interrupts_changed = self.interrupts_changed.clone();
        fresh.code = CodeCache::new(self.code.shared.clone());
        *self = fresh;
        self.interrupts_changed.store(true, Ordering::Relaxed);
    }

    /// Makes this vCPU use `shared` code tracking (one per machine, see [`SharedCode`]).
    pub fn share_code(&mut self, shared: Rc<SharedCode>) {
        self.code = CodeCache::new(shared);
    }

    /// Installs a per-instruction trace hook. While one is installed the CPU runs
    /// one instruction per block, so tracing is slow.
    pub fn set_trace(&mut self, hook: Option<TraceHook>) {
        self.trace = hook;
        self.code.clear();
    }

    /// MPIDR_EL1: Aff0 = index (Aff1 above 255). GICv3 SGIs reach Aff0 values past 15
    /// through ICC_SGI1R_EL1.RS, which armvm's GIC implements (GICD_TYPER.RSS).
    pub fn mpidr(&self) -> u64 {
        mpidr_of(self.index)
    }

    /// Refreshes the interrupt lines if the board flagged a change.
    #[inline(always)]
    pub fn refresh_interrupt_lines(&mut self, plat: &mut dyn Platform) {
        if self.interrupts_changed.load(Ordering::Relaxed) {
            self.interrupts_changed.store(false, Ordering::Relaxed);
            if let Some((irq, fiq)) = plat.interrupt_lines(self.index) {
                self.irq_line = irq;
                self.fiq_line = fiq;
            }
        }
    }

    pub fn regime(&self) -> Regime {
        Regime {
            sctlr: self.sys.sctlr,
            tcr: self.sys.tcr,
            ttbr0: self.sys.ttbr0,
            ttbr1: self.sys.ttbr1,
            mair: self.sys.mair,
            pa_bits: id::PA_BITS,
        }
    }

    /// Forgets all cached translations (TLBI, and changes to the translation registers).
    pub fn flush_tlb(&mut self) {
        self.tlb[0].flush();
        self.tlb[1].flush();
        self.code.forget_jumps();
    }

    /// TTBR0_EL1 or TTBR1_EL1 (`upper`) is about to become `new`: forgets what the
    /// change affects. A new table base invalidates that half of the address space; a
    /// new ASID (the one TCR_EL1.A1 selects) invalidates the non-global entries.
    /// Global entries of the other half stay: they depend on neither.
    pub fn ttbr_changed(&mut self, upper: bool, old: u64, new: u64) {
        const BADDR: u64 = 0x0000_ffff_ffff_fffe;
        let base_changed = (old ^ new) & BADDR != 0;
        let asid_register_is_ttbr1 = self.sys.tcr & (1 << 22) != 0;
        let asid_changed = (old ^ new) >> 48 != 0 && asid_register_is_ttbr1 == upper;
        let drop = |e: &crate::mmu::TlbDetail| {
            let in_half = ((e.va_page >> 55) & 1 == 1) == upper;
            (base_changed && in_half) || (asid_changed && !e.global)
        };
        if base_changed || asid_changed {
            self.tlb[0].flush_where(drop);
            self.tlb[1].flush_where(drop);
            self.code.forget_jumps();
        }
    }

    /// TLBI by VA: drops the entries that the translation of `va` may have filled:
    /// its page, and every page of the block or large page that held it.
    pub fn flush_tlb_va(&mut self, va: u64) {
        let page = va & !0xfff;
        let drop = |e: &crate::mmu::TlbDetail| (e.va_page ^ page) & e.leaf_mask == 0;
        self.tlb[0].flush_where(drop);
        self.tlb[1].flush_where(drop);
        self.code.forget_jumps();
    }

    /// TLBI VMALLE1IS, ASIDE1IS: every vCPU forgets all cached translations
    /// (the others before they fetch their next block).
    pub fn flush_tlb_broadcast(&mut self) {
        self.flush_tlb();
        self.code.shared.post(self.index, Remote::FlushTlb);
    }

    /// TLBI VAE1IS and the other Inner Shareable forms by VA.
    pub fn flush_tlb_va_broadcast(&mut self, va: u64) {
        self.flush_tlb_va(va);
        self.code.shared.post(self.index, Remote::FlushTlbVa(va));
    }

    /// Does what the other vCPUs asked of this one's TLBs.
    #[inline(never)]
    fn do_remote_work(&mut self) {
        for work in self.code.shared.take_pending(self.index) {
            match work {
                Remote::ProtectCode(page) => {
                    self.tlb[0].protect_code_page(page);
                    self.tlb[1].protect_code_page(page);
                }
                Remote::FlushTlb => self.flush_tlb(),
                Remote::FlushTlbVa(va) => self.flush_tlb_va(va),
            }
        }
    }

    pub fn flush_tlb_page(&mut self, va: u64) {
        self.tlb[0].flush_page(va);
        self.tlb[1].flush_page(va);
        self.code.forget_jumps();
    }

    /// Forgets all decoded code (for example after the debugger wrote memory).
    pub fn flush_code(&mut self) {
        self.code.clear();
        self.flush_tlb();
    }

    /// Drops the decoded blocks of one physical page.
    pub fn invalidate_code_page(&mut self, pa: u64) {
        self.code.invalidate_page(pa & !0xfff);
    }

    /// Runs until an exit, executing at most `budget` instructions.
    pub fn run(&mut self, plat: &mut dyn Platform, budget: u64) -> Exit {
        // With a timer armed, the slice runs in pieces so that the timer's
        // line rises within TIMER_POLL instructions of the counter passing
        // its compare value, not at the end of the slice.
        // Likewise a PMU counter with its overflow interrupt enabled: the
        // piece ends where it overflows.
        let mut left = budget;
        loop {
            let armed = self.next_timer_deadline().is_some();
            let mut piece = if armed { left.min(TIMER_POLL) } else { left };
            if let Some(n) = self.pmu.instructions_to_overflow() {
                piece = piece.min(n.max(1));
            }
            let start = self.icount;
            let exit = self.run_piece(plat, piece);
            left = left.saturating_sub((self.icount - start).max(1));
            if armed {
                self.sync_timer_lines(plat);
            }
            if self.pmu.pmcr & pmu::pmcr::E != 0 {
                self.fold_pmu_instructions();
                self.sync_pmu_interrupt(plat);
            }
            if exit != Exit::BudgetSpent || left == 0 || piece == budget {
                return exit;
            }
        }
    }

    /// Gives the board the timer outputs if they changed (the counter passed
    /// a compare value, or the guest changed a timer), so that the interrupt
    /// is taken before the next block.
    pub fn sync_timer_lines(&mut self, plat: &mut dyn Platform) {
        let levels = self.timer_levels(plat.counter());
        if levels != self.timer_outputs {
            self.set_timer_outputs(plat, levels);
        }
    }

    /// Hands the timer outputs to the board and looks at the interrupt lines.
    pub fn set_timer_outputs(&mut self, plat: &mut dyn Platform, levels: (bool, bool)) {
        self.timer_outputs = levels;
        plat.timer_changed(self.index, levels.0, levels.1);
        self.refresh_interrupt_lines(plat);
    }

    fn run_piece(&mut self, plat: &mut dyn Platform, budget: u64) -> Exit {
        self.debug.armed = true;
        let exit = match self.debug.skip_watch_at.take() {
            // Resuming from a watchpoint: its instruction runs alone, unwatched.
            Some(pc) if pc == self.regs.pc && budget > 0 => {
                self.debug.skipping_watch = Some(pc);
                let exit = self.run_armed(plat, 1);
                self.debug.skipping_watch = None;
                if exit == Exit::BudgetSpent && budget > 1 {
                    self.run_armed(plat, budget - 1)
                } else {
                    exit
                }
            }
            _ => self.run_armed(plat, budget),
        };
        self.debug.armed = false;
        exit
    }

    fn run_armed(&mut self, plat: &mut dyn Platform, budget: u64) -> Exit {
        let limit = self.icount.saturating_add(budget);
        let mut skip_breakpoint = self.debug.skip_breakpoint_at.take();
        // A single step that takes an interrupt or an instruction abort ends at the
        // vector: entering the exception is what the step did.
        let single_step = budget == 1;
        // The block that ran last on the fast path, to link to the next one.
        let mut previous: Option<Rc<Block>> = None;
        loop {
            if self.icount >= limit {
                return Exit::BudgetSpent;
            }
            self.refresh_interrupt_lines(plat);
            if !self.debug.hold_interrupts {
                if let Some(irq) = self.pending_interrupt() {
                    self.take_interrupt(irq);
                    if single_step {
                        return Exit::BudgetSpent;
                    }
                }
            }
            // The guest's own debugger: software step, then breakpoints, are
            // checked before each instruction, and blocks run one instruction
            // at a time meanwhile.
            let one_at_a_time = self.per_instruction;
            if self.pmu.pmcr & pmu::pmcr::E != 0 {
                self.sync_pmu_interrupt(plat);
            }
            // The host's debugger comes first: its breakpoint stops the
            // machine before the guest's own debug events are looked at.
            if one_at_a_time && self.debug.breakpoints.contains(&self.regs.pc) {
                let pc = self.regs.pc;
                if skip_breakpoint != Some(pc) {
                    return Exit::Breakpoint;
                }
            }
            if one_at_a_time && self.software_step_due() {
                let e = Exception::SoftwareStep {
                    isv: self.stepped.is_some(),
                    ex: self.stepped == Some(true),
                };
                self.icount += 1;
                let pc = self.regs.pc;
                self.take_exception(e, pc);
                if single_step {
                    return Exit::BudgetSpent;
                }
                continue;
            }
            let tag = self.block_tag();
            let block = match self.fetch_block(plat) {
                Ok(b) => b,
                Err(e) => {
                    let pc = self.regs.pc;
                    // The debugger's breakpoint stops before the fetch fault
                    // is taken, as it would before the instruction.
                    if self.debug.breakpoints.contains(&pc) && skip_breakpoint.take() != Some(pc) {
                        return Exit::Breakpoint;
                    }
                    // Counted like an instruction, so that a guest whose vectors
                    // cannot be fetched still hands control back to the board.
                    self.icount += 1;
                    self.take_exception(e, pc);
                    if single_step {
                        return Exit::BudgetSpent;
                    }
                    continue;
                }
            };
            if one_at_a_time && self.guest_breakpoint_hit() {
                self.icount += 1;
                let pc = self.regs.pc;
                self.take_exception(Exception::Breakpoint, pc);
                if single_step {
                    return Exit::BudgetSpent;
                }
                continue;
            }
            let fast = self.trace.is_none()
                && !one_at_a_time
                && !block.checks_breakpoints
                && self.debug.watchpoints.is_empty()
                && limit - self.icount >= block.insns.len() as u64;
            if let Some(previous) = previous.take() {
                previous.link(tag, self.code.generation, &block);
            }
            if fast {
                let mut block = block;
                let mut tag = tag;
                loop {
                    let generation = self.code.generation;
                    loop {
                        if let Some(idiom) = block.idiom {
                            if self.run_idiom(idiom, limit) {
                                // Many iterations done: look again (the loop
                                // may have ended, the budget run out).
                                break;
                            }
                        }
                        if let Some(exit) = self.run_block_fast(plat, &block, limit) {
                            return exit;
                        }
                        if !self.reruns(&block, tag, generation, limit) {
                            break;
                        }
                    }
                    tag = self.block_tag();
                    match self.chained(&block, tag, limit) {
                        Some(next) => block = next,
                        None => {
                            previous = Some(block);
                            break;
                        }
                    }
                }
                continue;
            }
            for (n, prepared) in block.insns.iter().enumerate() {
                let pc = self.regs.pc;
                if block.checks_breakpoints
                    && self.debug.breakpoints.contains(&pc)
                    && skip_breakpoint.take() != Some(pc)
                {
                    return Exit::Breakpoint;
                }
                skip_breakpoint = None;
                let before = self.trace.is_some().then(|| self.regs.clone());
                self.icount += 1;
                let stepping = one_at_a_time && self.regs.ss == 1 && self.software_step_active();
                let el = self.regs.el;
                self.icount_ahead = true;
                let result = if block.fused && n + 2 == block.insns.len() {
                    Prepared::new(prepared.insn).run(self, plat)
                } else {
                    prepared.run(self, plat)
                };
                self.icount_ahead = false;
                if self.pmu.per_instruction && result.is_ok() {
                    self.pmu.count_kinds(pmu::InsnKinds::of(prepared.insn), el);
                    self.sync_pmu_interrupt(plat);
                }
                if stepping && result.is_ok() && prepared.insn.op != Op::Eret {
                    // The step is complete: the Software Step exception is
                    // due before the next instruction (ERET set PSTATE.SS
                    // from SPSR_EL1 itself).
                    self.regs.ss = 0;
                    let exclusive = matches!(prepared.insn.op, Op::LoadExcl | Op::LoadExclPair);
                    self.stepped = Some(exclusive);
                }
                if result.is_err() {
                    if let Some(hit) = self.debug.watch_hit.take() {
                        // Not a fault: an access hit a watchpoint. The instruction
                        // is abandoned and the debugger stops before it.
                        self.regs.pc = pc;
                        self.icount -= 1;
                        return Exit::Watchpoint(hit);
                    }
                }
                let exit = self.complete(result, pc);
                if let Some(before) = before {
                    self.emit_trace(&before, pc, prepared.insn.word);
                }
                if let Some(exit) = exit {
                    return exit;
                }
                if one_at_a_time || self.regs.pc != pc.wrapping_add(4) || self.icount >= limit {
                    break;
                }
            }
        }
    }

    /// Finishes an instruction: advances the PC or takes the exception it raised.
    #[inline(always)]
    fn complete(&mut self, result: exec::ExecResult, pc: u64) -> Option<Exit> {
        match result {
            Ok(Flow::Next) => {
                self.regs.pc = pc.wrapping_add(4);
                None
            }
            Ok(Flow::Jump) => None,
            Ok(Flow::Exit(exit)) => Some(exit),
            Err(e) => {
                self.take_exception(e, pc);
                None
            }
        }
    }

    /// The key of the block at the PC, in the jump cache and in links: the PC
    /// (4-aligned) with the EL in its low bits.
    #[inline(always)]
    fn block_tag(&self) -> u64 {
        self.regs.pc | self.regs.el as u64
    }

    /// Parks the outcome of an instruction that stops the block (see [`Step`]).
    pub(crate) fn park(&mut self, result: exec::ExecResult) {
        self.parked = result;
    }

    /// Takes the outcome parked by the last instruction that returned
    /// [`Step::Stop`].
    pub(crate) fn take_parked(&mut self) -> exec::ExecResult {
        std::mem::replace(&mut self.parked, Ok(Flow::Next))
    }

    /// Whether the run loop may go from the block that just ran straight to the
    /// next, skipping the checks at its top: nothing those checks look at has
    /// changed, no interrupt is waiting, and the budget covers `next` on the
    /// fast path.
    #[inline(always)]
    fn may_chain(&self, next: &Block, limit: u64) -> bool {
        limit - self.icount >= next.insns.len() as u64
            && next.valid.get()
            && !next.checks_breakpoints
            && self.regs.il == 0
            && !self.per_instruction
            && !self.interrupts_changed.load(Ordering::Relaxed)
            && self.pending_interrupt().is_none()
            && !self.code.shared.has_pending(self.index)
    }

    /// Whether a block that just ran can run again at once: it jumped back to
    /// its own start `tag` (a loop of one block) and translations are those of
    /// `generation`.
    #[inline(always)]
    fn reruns(&self, block: &Block, tag: u64, generation: u64, limit: u64) -> bool {
        self.block_tag() == tag
            && self.code.generation == generation
            && self.may_chain(block, limit)
    }

    /// The block to run next, if the one that just ran links to it for `tag`.
    #[inline(always)]
    fn chained(&self, block: &Block, tag: u64, limit: u64) -> Option<Rc<Block>> {
        let next = block.linked(tag, self.code.generation)?;
        self.may_chain(&next, limit).then_some(next)
    }

    /// Runs a whole block with nothing to watch for between instructions (no trace,
    /// breakpoint or watchpoint, and the budget covers the block).
    #[inline(always)]
    fn run_block_fast(
        &mut self,
        plat: &mut dyn Platform,
        block: &Block,
        limit: u64,
    ) -> Option<Exit> {
        if let Some(code) = self.native_code(block) {
            if let Some((slot, tag, epoch)) = self.chain_from.take() {
                if tag == self.block_tag() && epoch == self.code.shared.jit_epoch.get() {
                    self.link_native(slot, code);
                }
            }
            return self.run_native(plat, code, limit - self.icount);
        }
        self.chain_from = None;
        for (n, prepared) in block.insns.iter().enumerate() {
            let pc = self.regs.pc;
            match prepared.step(self, plat) {
                Step::Next => self.regs.pc = pc.wrapping_add(4),
                Step::Jump => {
                    self.icount += n as u64 + 1;
                    return None;
                }
                Step::Stop => {
                    self.icount += n as u64 + 1;
                    let result = self.take_parked();
                    return self.complete(result, pc);
                }
            }
        }
        self.icount += block.insns.len() as u64;
        None
    }

    /// The block's host code, if it has some that is still valid.
    #[inline(always)]
    fn native_code(&self, block: &Block) -> Option<NativeCode> {
        let epoch = self.code.shared.jit_epoch.get();
        match block.native.get() {
            NativeState::Ready(e, code) if e == epoch => Some(code),
            NativeState::Declined(e) if e == epoch => None,
            _ => self.warm_up(block, epoch),
        }
    }

    /// Counts a run of a block without valid host code; translates it once it
    /// is hot.
    #[inline(never)]
    fn warm_up(&self, block: &Block, epoch: u64) -> Option<NativeCode> {
        let shared = &self.code.shared;
        if epoch == NO_TRANSLATOR {
            block.native.set(NativeState::Declined(epoch));
            return None;
        }
        if let NativeState::Cold(runs) = block.native.get() {
            if runs + 1 < native::HOT_THRESHOLD {
                block.native.set(NativeState::Cold(runs + 1));
                return None;
            }
        }
        let mut translator = shared.translator.borrow_mut();
        let translator = translator.as_mut()?;
        let insns: Vec<_> = block.insns.iter().map(|p| p.insn).collect();
        let code = translator.translate(&insns, block.pa);
        // Translating may have flushed the code cache.
        let epoch = translator.epoch();
        shared.jit_epoch.set(epoch);
        block.native.set(match code {
            Some(code) => NativeState::Ready(epoch, code),
            None => NativeState::Declined(epoch),
        });
        code
    }

    /// Runs a block's host code (see [`native`] for the contract), and the
    /// blocks it chains to.
    #[inline(always)]
    fn run_native(
        &mut self,
        plat: &mut dyn Platform,
        code: NativeCode,
        budget: u64,
    ) -> Option<Exit> {
        let tlb = &self.tlb[self.mmu_index(false)];
        let (tlb, tlb_details) = (tlb.entries.as_ptr(), tlb.details.as_ptr());
        let fp_enabled = exec::check_fp_enabled(self).is_ok() as u64;
        let code_version = self.code.shared.code_version.as_ptr() as *const u64;
        let interrupts = self.interrupts_changed.as_ptr() as *const u8;
        let cpu: *mut Cpu = self;
        let mut plat: &mut dyn Platform = plat;
        // SAFETY: `cpu` is `self`, live for the call; the code and its
        // helpers are the only users of the vCPU until it returns.
        let mut context = NativeContext {
            regs: unsafe { &raw mut (*cpu).regs },
            tlb,
            tlb_details,
            cpu: cpu as *mut c_void,
            plat: &mut plat as *mut &mut dyn Platform as *mut c_void,
            fp_enabled,
            budget,
            retired: 0,
            icount_base: self.icount,
            code_version,
            interrupts,
            exit_slot: std::ptr::null_mut(),
        };
        // SAFETY: the translator promised code that keeps the contract in
        // `native`, and the context points at live state.
        let outcome = unsafe { (code.entry)(&mut context) };
        let (retired, step) = native::unpack(outcome);
        self.icount = context.icount_base + context.retired + retired;
        if !context.exit_slot.is_null() {
            let epoch = self.code.shared.jit_epoch.get();
            self.chain_from = Some((context.exit_slot, self.block_tag(), epoch));
        }
        match step {
            Step::Next | Step::Jump => None,
            Step::Stop => {
                let result = self.take_parked();
                let pc = self.regs.pc;
                self.complete(result, pc)
            }
        }
    }

    /// Makes a translated block's exit `slot` jump straight to `next`'s code
    /// while the code stays as it is now.
    fn link_native(&self, slot: *mut native::ChainSlot, next: NativeCode) {
        // SAFETY: the slot is inside code of the current epoch (the exit was
        // taken by code that just ran, and nothing was translated since
        // without the block being fetched again).
        unsafe {
            (*slot).target = next.chain_entry;
            (*slot).code_version = self.code.shared.code_version.get();
        }
    }

    /// Parks an exception raised by an instruction that translated code ran,
    /// which then returns [`Step::Stop`].
    pub fn park_exception(&mut self, e: Exception) {
        self.parked = Err(e);
    }

    /// Runs iterations of a recognised loop natively (see idiom.rs), within
    /// the budget and as far as the TLB maps the memory for the fast path;
    /// true if it ran any. The state is as after that many iterations.
    fn run_idiom(&mut self, idiom: Idiom, limit: u64) -> bool {
        let Idiom::ByteCopy {
            value,
            src,
            dst,
            index,
            end,
        } = idiom;
        let budget = (limit - self.icount) / idiom::BYTE_COPY_LEN;
        let (mut i, n) = (self.regs.x[index], self.regs.x[end]);
        // Iterations until the compare finds xI == xN (2^64 if equal now).
        let to_exit = n.wrapping_sub(i);
        let todo = if to_exit == 0 {
            budget
        } else {
            to_exit.min(budget)
        };
        let (base_src, base_dst) = (self.regs.x[src], self.regs.x[dst]);
        let tlb = &self.tlb[self.mmu_index(false)];
        let mut done = 0u64;
        let mut last = 0u8;
        while done < todo {
            let (s_va, d_va) = (base_src.wrapping_add(i), base_dst.wrapping_add(i));
            let s_entry = &tlb.entries[Tlb::index(s_va)];
            let d_entry = &tlb.entries[Tlb::index(d_va)];
            if s_entry.tag_read != s_va & !0xfff || d_entry.tag_write != d_va & !0xfff {
                break;
            }
            let chunk = (todo - done)
                .min(0x1000 - (s_va & 0xfff))
                .min(0x1000 - (d_va & 0xfff)) as usize;
            let from = (s_va as usize).wrapping_add(s_entry.addend) as *const u8;
            let to = (d_va as usize).wrapping_add(d_entry.addend) as *mut u8;
            // SAFETY: both TLB entries map live RAM pages, and the chunk stays
            // inside each page. Byte by byte where the destination runs ahead
            // of the source inside the chunk, as the guest's loop would.
            unsafe {
                if to as usize > from as usize && (to as usize) < from as usize + chunk {
                    for k in 0..chunk {
                        *to.add(k) = *from.add(k);
                    }
                } else {
                    std::ptr::copy(from, to, chunk);
                }
                last = *to.add(chunk - 1);
            }
            i = i.wrapping_add(chunk as u64);
            done += chunk as u64;
        }
        if done == 0 {
            return false;
        }
        self.icount += done * idiom::BYTE_COPY_LEN;
        self.regs.x[index] = i;
        self.regs.x[value] = last as u64;
        // The flags of the last CMP xI, xN.
        let r = i.wrapping_sub(n);
        let overflow = ((i ^ n) & (i ^ r)) >> 63;
        self.regs.nzcv = (((r >> 63) as u32) << 31)
            | (((r == 0) as u32) << 30)
            | (((i >= n) as u32) << 29)
            | ((overflow as u32) << 28);
        if i == n {
            self.regs.pc = self.regs.pc.wrapping_add(4 * idiom::BYTE_COPY_LEN);
        }
        true
    }

    fn emit_trace(&mut self, before: &Regs, pc: u64, word: u32) {
        let Some(mut hook) = self.trace.take() else {
            return;
        };
        let after = &self.regs;
        let mut writes = Vec::new();
        for i in 0..31 {
            if before.x[i] != after.x[i] {
                writes.push((format!("x{i}"), after.x[i] as u128));
            }
        }
        for i in 0..2 {
            if before.sp_el[i] != after.sp_el[i] {
                writes.push((format!("sp_el{i}"), after.sp_el[i] as u128));
            }
        }
        if before.nzcv != after.nzcv {
            writes.push(("nzcv".into(), after.nzcv as u128));
        }
        for i in 0..32 {
            if before.v[i] != after.v[i] {
                writes.push((format!("v{i}"), after.v[i]));
            }
        }
        if before.fpsr != after.fpsr {
            writes.push(("fpsr".into(), after.fpsr as u128));
        }
        let rec = TraceRecord {
            cpu: self.index,
            el: before.el,
            pc,
            word,
            writes,
        };
        hook(&rec);
        self.trace = Some(hook);
    }

    fn fetch_block(&mut self, plat: &mut dyn Platform) -> Result<Rc<Block>, Exception> {
        let pc = self.regs.pc;
        if self.regs.il != 0 {
            return Err(Exception::IllegalState);
        }
        if pc & 3 != 0 {
            return Err(Exception::PcAlignment(pc));
        }
        if self.code.shared.has_pending(self.index) {
            self.do_remote_work();
        }
        let tag = self.block_tag();
        let generation = self.code.generation;
        let user = self.mmu_index(false);
        let slot = &mut self.code.jump[jump_slot(pc)];
        if slot.tag == tag {
            if let Some(b) = &slot.block {
                if b.valid.get() {
                    if slot.generation == generation {
                        return Ok(b.clone());
                    }
                    // Translations changed since the entry was made. It still
                    // holds if the TLB maps the PC, for execution, to the block.
                    let tlb = &self.tlb[user];
                    if tlb.entries[Tlb::index(pc)].tag_exec == pc & !0xfff
                        && tlb.details[Tlb::index(pc)].pa_page == b.pa & !0xfff
                    {
                        slot.generation = generation;
                        return Ok(b.clone());
                    }
                }
            }
        }
        let block = self.fetch_block_slow(plat, pc)?;
        self.code.jump[jump_slot(pc)] = JumpEntry {
            tag,
            generation,
            block: Some(block.clone()),
        };
        Ok(block)
    }

    // Cold: kept out of the run loop so that it does not crowd the hot path.
    #[inline(never)]
    fn fetch_block_slow(
        &mut self,
        plat: &mut dyn Platform,
        pc: u64,
    ) -> Result<Rc<Block>, Exception> {
        let (host, pa) = self.translate_fetch(plat, pc)?;
        let checks_breakpoints = !self.debug.breakpoint_pages.is_empty()
            && self.debug.breakpoint_pages.contains_key(&(pc & !0xfff));
        if let Some(b) = self.code.shared.lookup(pa) {
            if b.checks_breakpoints == checks_breakpoints {
                return Ok(b);
            }
        }
        let mut insns = Vec::new();
        let max = if self.trace.is_some() { 1 } else { MAX_BLOCK };
        let in_page = ((0x1000 - (pa & 0xfff)) / 4) as usize;
        for i in 0..in_page.min(max) {
            // SAFETY: host points at `pa` inside a RAM page; i*4 stays in the page.
            let word = u32::from_le(unsafe { (host.add(i * 4) as *const u32).read_unaligned() });
            let insn = decode(word);
            if i > 0 && (pmu::reads_counters(insn) || insn.op == Op::Eret) {
                // It starts a block of its own, so that the instructions
                // before it are in `icount` when it runs on the block path
                // (the PMU counts instructions up to it, and ERET changes the
                // EL they are counted at).
                break;
            }
            insns.push(Prepared::new(insn));
            if insn.ends_block() {
                break;
            }
        }
        let decoded: Vec<_> = insns.iter().map(|p| p.insn).collect();
        let idiom = Idiom::detect(&decoded);
        let mut fused = false;
        if let [.., first, branch] = insns.as_mut_slice() {
            if let Some(both) = first.fused_with(branch) {
                *first = both;
                fused = true;
            }
        }
        let mut block = Block::new(insns, pa, checks_breakpoints, fused);
        block.idiom = idiom;
        let block = Rc::new(block);
        if self.code.shared.insert(pa, block.clone(), self.index) {
            let page = pa & !0xfff;
            self.tlb[0].protect_code_page(page);
            self.tlb[1].protect_code_page(page);
        }
        Ok(block)
    }

    /// The translation-table index: 1 for EL0 permissions, 0 for EL1.
    #[inline(always)]
    fn mmu_index(&self, unprivileged: bool) -> usize {
        (self.regs.el == 0 || unprivileged) as usize
    }

    fn translate_fetch(
        &mut self,
        mem: &mut dyn PhysMemory,
        va: u64,
    ) -> Result<(*mut u8, u64), Exception> {
        let idx = self.mmu_index(false);
        let e = &self.tlb[idx].entries[Tlb::index(va)];
        if e.tag_exec == va & !0xfff {
            let host = (va as usize).wrapping_add(e.addend) as *mut u8;
            let pa_page = self.tlb[idx].details[Tlb::index(va)].pa_page;
            return Ok((host, pa_page | (va & 0xfff)));
        }
        let fault = |kind| {
            Exception::InstructionAbort(Fault {
                kind,
                va,
                write: false,
                cache_maintenance: false,
            })
        };
        let t = self
            .translate(mem, va, Kind::Exec, idx == 1)
            .map_err(fault)?;
        match mem.ram_page(t.pa) {
            Some(page) => Ok((unsafe { page.add((t.pa & 0xfff) as usize) }, t.pa)),
            None => Err(fault(FaultKind::External)),
        }
    }

    /// Walks, checks permissions for `kind`, and fills the TLB.
    fn translate(
        &mut self,
        mem: &mut dyn PhysMemory,
        va: u64,
        kind: Kind,
        user: bool,
    ) -> Result<Translation, FaultKind> {
        let regime = self.regime();
        let t = regime.walk(mem, va, kind != Kind::Exec, None)?;
        let perms = if user { t.el0 } else { t.el1 };
        let allowed = match kind {
            Kind::Read => perms.read,
            Kind::Write => perms.write,
            Kind::Exec => perms.exec,
        };
        if !allowed {
            return Err(FaultKind::Permission(t.level));
        }
        let page = va & !0xfff;
        let pa_page = t.pa & !0xfff;
        if let Some(host) = mem.ram_page(pa_page) {
            let code_page = self.code.is_code_page(pa_page);
            let tag = |ok: bool| if ok { page } else { crate::mmu::TAG_INVALID };
            let watched = self.debug.watches_page(page) || self.guest_debug.watches_page(page);
            let tlb = &mut self.tlb[user as usize];
            tlb.entries[Tlb::index(va)] = crate::mmu::TlbEntry {
                tag_read: tag(perms.read && !watched),
                tag_write: tag(perms.write && !code_page && !watched),
                tag_exec: tag(perms.exec),
                addend: (host as usize).wrapping_sub(page as usize),
            };
            tlb.details[Tlb::index(va)] = crate::mmu::TlbDetail {
                pa_page,
                va_page: page,
                leaf_mask: !(t.leaf_size - 1),
                device: t.device,
                global: !t.ng,
            };
        }
        Ok(t)
    }

    /// Translates for the debugger or AT: no TLB fill, no side effects.
    pub fn translate_debug(
        &self,
        mem: &mut dyn PhysMemory,
        va: u64,
        steps: Option<&mut Vec<crate::mmu::WalkStep>>,
    ) -> Result<Translation, FaultKind> {
        self.regime().walk(mem, va, true, steps)
    }

    /// Translates `va` for a data access of `kind` (AT and DC use this).
    pub fn translate_data(
        &mut self,
        mem: &mut dyn PhysMemory,
        va: u64,
        write: bool,
        user: bool,
    ) -> Result<Translation, FaultKind> {
        self.translate(mem, va, if write { Kind::Write } else { Kind::Read }, user)
    }

    #[inline(always)]
    fn alignment_required(&self, acc: Access) -> bool {
        acc.aligned || self.sys.sctlr & sctlr::A != 0
    }

    fn data_abort(va: u64, kind: FaultKind, write: bool, acc: Access) -> Exception {
        let iss_valid =
            if kind == FaultKind::Alignment || matches!(kind, FaultKind::ExternalOnWalk(_)) {
                0
            } else {
                acc.iss
            };
        Exception::DataAbort {
            fault: Fault {
                kind,
                va,
                write,
                cache_maintenance: false,
            },
            iss_valid,
        }
    }

    /// Reads `size` (1, 2, 4 or 8) bytes at virtual address `va`.
    #[inline(always)]
    pub fn read(
        &mut self,
        mem: &mut dyn PhysMemory,
        va: u64,
        size: usize,
        acc: Access,
    ) -> Result<u64, Exception> {
        let aligned = va & (size as u64 - 1) == 0;
        let tlb = &self.tlb[self.mmu_index(acc.unprivileged)];
        let e = &tlb.entries[Tlb::index(va)];
        if e.tag_read == va & !0xfff
            && (aligned
                || (!tlb.details[Tlb::index(va)].device
                    && (va & 0xfff) as usize + size <= 0x1000
                    && !self.alignment_required(acc)))
        {
            let host = (va as usize).wrapping_add(e.addend) as *const u8;
            // SAFETY: the TLB entry maps this page to live RAM; the access stays in it.
            return Ok(unsafe { host_load(host, size) });
        }
        self.read_slow(mem, va, size, acc)
    }

    #[inline(never)]
    fn read_slow(
        &mut self,
        mem: &mut dyn PhysMemory,
        va: u64,
        size: usize,
        acc: Access,
    ) -> Result<u64, Exception> {
        let aligned = va & (size as u64 - 1) == 0;
        if !aligned && self.alignment_required(acc) {
            return Err(Self::data_abort(va, FaultKind::Alignment, false, acc));
        }
        if (va & 0xfff) as usize + size > 0x1000 {
            let mut value = 0u64;
            for i in 0..size {
                let b = self.read(mem, va.wrapping_add(i as u64), 1, acc)?;
                value |= b << (8 * i);
            }
            return Ok(value);
        }
        let user = self.mmu_index(acc.unprivileged) == 1;
        let t = self
            .translate(mem, va, Kind::Read, user)
            .map_err(|k| Self::data_abort(va, k, false, acc))?;
        if t.device && !aligned {
            return Err(Self::data_abort(va, FaultKind::Alignment, false, acc));
        }
        if self.debug.check_watch(va, size as u64, false, self.regs.pc) {
            // Never taken: `run` stops for the debugger instead.
            return Err(Self::data_abort(va, FaultKind::External, false, acc));
        }
        self.check_guest_watch(va, size, false, acc)?;
        match mem.ram_page(t.pa) {
            // SAFETY: a valid RAM page, access within it.
            Some(page) => Ok(unsafe { host_load(page.add((t.pa & 0xfff) as usize), size) }),
            None => mem
                .mmio_read(self.index, t.pa, size as u8)
                .map_err(|_| Self::data_abort(va, FaultKind::External, false, acc)),
        }
    }

    /// Writes `size` (1, 2, 4 or 8) bytes at virtual address `va`.
    #[inline(always)]
    pub fn write(
        &mut self,
        mem: &mut dyn PhysMemory,
        va: u64,
        size: usize,
        value: u64,
        acc: Access,
    ) -> Result<(), Exception> {
        let aligned = va & (size as u64 - 1) == 0;
        let tlb = &self.tlb[self.mmu_index(acc.unprivileged)];
        let e = &tlb.entries[Tlb::index(va)];
        if e.tag_write == va & !0xfff
            && (aligned
                || (!tlb.details[Tlb::index(va)].device
                    && (va & 0xfff) as usize + size <= 0x1000
                    && !self.alignment_required(acc)))
        {
            let host = (va as usize).wrapping_add(e.addend) as *mut u8;
            // SAFETY: as in `read`.
            unsafe { host_store(host, size, value) };
            return Ok(());
        }
        self.write_slow(mem, va, size, value, acc)
    }

    #[inline(never)]
    fn write_slow(
        &mut self,
        mem: &mut dyn PhysMemory,
        va: u64,
        size: usize,
        value: u64,
        acc: Access,
    ) -> Result<(), Exception> {
        let aligned = va & (size as u64 - 1) == 0;
        if !aligned && self.alignment_required(acc) {
            return Err(Self::data_abort(va, FaultKind::Alignment, true, acc));
        }
        if (va & 0xfff) as usize + size > 0x1000 {
            // Check both pages before writing anything, so a fault leaves memory as it was.
            let last = va.wrapping_add(size as u64 - 1);
            let user = self.mmu_index(acc.unprivileged) == 1;
            self.translate(mem, va, Kind::Write, user)
                .map_err(|k| Self::data_abort(va, k, true, acc))?;
            self.translate(mem, last, Kind::Write, user)
                .map_err(|k| Self::data_abort(last, k, true, acc))?;
            for i in 0..size {
                self.write(mem, va.wrapping_add(i as u64), 1, value >> (8 * i), acc)?;
            }
            return Ok(());
        }
        let user = self.mmu_index(acc.unprivileged) == 1;
        let t = self
            .translate(mem, va, Kind::Write, user)
            .map_err(|k| Self::data_abort(va, k, true, acc))?;
        if t.device && !aligned {
            return Err(Self::data_abort(va, FaultKind::Alignment, true, acc));
        }
        if self.debug.check_watch(va, size as u64, true, self.regs.pc) {
            // Never taken: `run` stops for the debugger instead.
            return Err(Self::data_abort(va, FaultKind::External, true, acc));
        }
        self.check_guest_watch(va, size, true, acc)?;
        let pa_page = t.pa & !0xfff;
        if self.code.is_code_page(pa_page) {
            self.code.invalidate_page(pa_page);
        }
        match mem.ram_page(t.pa) {
            Some(page) => {
                // SAFETY: a valid RAM page, access within it.
                unsafe { host_store(page.add((t.pa & 0xfff) as usize), size, value) };
                Ok(())
            }
            None => mem
                .mmio_write(self.index, t.pa, size as u8, value)
                .map_err(|_| Self::data_abort(va, FaultKind::External, true, acc)),
        }
    }

    /// DC ZVA: zeroes the `bytes`-sized, aligned block holding `va`. Device memory
    /// (including everything with the MMU off) raises an alignment fault.
    pub fn zero_block(
        &mut self,
        mem: &mut dyn PhysMemory,
        va: u64,
        bytes: u64,
    ) -> Result<(), Exception> {
        let base = va & !(bytes - 1);
        let user = self.mmu_index(false) == 1;
        let tlb = &self.tlb[user as usize];
        let e = &tlb.entries[Tlb::index(base)];
        if e.tag_write == base & !0xfff && !tlb.details[Tlb::index(base)].device {
            let host = (base as usize).wrapping_add(e.addend) as *mut u8;
            // SAFETY: the TLB maps this page to live RAM; the block is inside it.
            unsafe { std::ptr::write_bytes(host, 0, bytes as usize) };
            return Ok(());
        }
        let abort = |kind| Exception::DataAbort {
            fault: Fault {
                kind,
                va,
                write: true,
                cache_maintenance: false,
            },
            iss_valid: 0,
        };
        let t = self
            .translate(mem, base, Kind::Write, user)
            .map_err(abort)?;
        if t.device {
            return Err(abort(FaultKind::Alignment));
        }
        for off in (0..bytes).step_by(8) {
            self.write(mem, base + off, 8, 0, Access::default())?;
        }
        Ok(())
    }

    /// Checks that a write to `va..va+len` would succeed, without writing.
    pub fn probe_write(
        &mut self,
        mem: &mut dyn PhysMemory,
        va: u64,
        acc: Access,
    ) -> Result<(), Exception> {
        let user = self.mmu_index(acc.unprivileged) == 1;
        // A TLB entry with a write tag was filled by a walk that allowed the write.
        if self.tlb[user as usize].entries[Tlb::index(va)].tag_write == va & !0xfff {
            return Ok(());
        }
        self.translate(mem, va, Kind::Write, user)
            .map(|_| ())
            .map_err(|k| Self::data_abort(va, k, true, acc))
    }

    /// Reads 16 bytes (two little-endian doublewords).
    pub fn read128(
        &mut self,
        mem: &mut dyn PhysMemory,
        va: u64,
        acc: Access,
    ) -> Result<u128, Exception> {
        let lo = self.read(mem, va, 8, acc)?;
        let hi = self.read(mem, va.wrapping_add(8), 8, acc)?;
        Ok(lo as u128 | ((hi as u128) << 64))
    }

    pub fn write128(
        &mut self,
        mem: &mut dyn PhysMemory,
        va: u64,
        value: u128,
        acc: Access,
    ) -> Result<(), Exception> {
        // Both halves are checked before writing, the first one first so that a
        // fault reports the lowest faulting address.
        self.probe_write(mem, va, acc)?;
        self.probe_write(mem, va.wrapping_add(8), acc)?;
        self.write(mem, va, 8, value as u64, acc)?;
        self.write(mem, va.wrapping_add(8), 8, (value >> 64) as u64, acc)
    }

    // ---- Debugger support

    pub fn add_breakpoint(&mut self, va: u64) {
        if self.debug.breakpoints.insert(va) {
            *self.debug.breakpoint_pages.entry(va & !0xfff).or_default() += 1;
        }
        self.code.empty_jumps();
    }

    pub fn remove_breakpoint(&mut self, va: u64) -> bool {
        if !self.debug.breakpoints.remove(&va) {
            return false;
        }
        self.code.empty_jumps();
        let page = va & !0xfff;
        if let Some(n) = self.debug.breakpoint_pages.get_mut(&page) {
            *n -= 1;
            if *n == 0 {
                self.debug.breakpoint_pages.remove(&page);
            }
        }
        true
    }

    pub fn add_watchpoint(&mut self, w: Watchpoint) {
        self.debug.watchpoints.push(w);
        // Cached translations of the page would bypass the check.
        self.flush_tlb();
    }

    pub fn remove_watchpoint(&mut self, w: Watchpoint) -> bool {
        let before = self.debug.watchpoints.len();
        self.debug.watchpoints.retain(|x| *x != w);
        before != self.debug.watchpoints.len()
    }

    // ---- The host's debugger

    /// A system register as a debugger sees it: as MRS at EL1 would read it,
    /// without access traps or side effects (device registers such as the
    /// GICv3 CPU interface are not reached). None if armvm does not
    /// implement it.
    pub fn debugger_read_sysreg(&mut self, plat: &mut dyn Platform, key: u32) -> Option<u64> {
        exec::debug_read_sysreg(self, plat, key)
    }

    /// Writes a system register for a debugger, as MSR at EL1 would; false if
    /// armvm does not implement it or it is read-only.
    pub fn debugger_write_sysreg(&mut self, plat: &mut dyn Platform, key: u32, v: u64) -> bool {
        exec::debug_write_sysreg(self, plat, key, v)
    }

    // ---- Self-hosted debug (the guest's own debugger; see selfdebug.rs)

    /// Recomputes what the guest's debug registers arm, after an MSR to one.
    pub(crate) fn debug_registers_changed(&mut self) {
        let armed = selfdebug::Armed::of(&self.sys);
        let watches_changed = armed.watch_ranges != self.guest_debug.watch_ranges
            || armed.watch_count != self.guest_debug.watch_count;
        self.guest_debug = armed;
        self.per_instruction = armed.per_instruction() || self.pmu.per_instruction;
        if watches_changed {
            // Cached translations of newly watched pages would bypass the check.
            self.flush_tlb();
        }
    }

    fn software_step_active(&self) -> bool {
        self.guest_debug.step && selfdebug::step_active(&self.sys, &self.regs)
    }

    /// Software step is active and pending (PSTATE.SS 0): the Software Step
    /// exception comes before the next instruction.
    fn software_step_due(&self) -> bool {
        self.regs.ss == 0 && self.software_step_active()
    }

    /// A guest breakpoint fires for the instruction at the PC.
    fn guest_breakpoint_hit(&self) -> bool {
        self.guest_debug.breakpoints
            && selfdebug::enabled(&self.sys, &self.regs)
            && selfdebug::breakpoint_hit(&self.sys, self.regs.pc, self.regs.el)
    }

    /// Raises the guest's Watchpoint exception if a data access of `size`
    /// bytes at `va` hits one of its watchpoints.
    fn check_guest_watch(
        &self,
        va: u64,
        size: usize,
        write: bool,
        acc: Access,
    ) -> Result<(), Exception> {
        if self.guest_debug.watch_count == 0 {
            return Ok(());
        }
        let el = if acc.unprivileged { 0 } else { self.regs.el };
        match selfdebug::watchpoint_hit(&self.sys, &self.regs, va, size as u64, el, write) {
            Some(va) => Err(Exception::Watchpoint { va, write }),
            None => Ok(()),
        }
    }

    // ---- Performance Monitors (see pmu.rs)

    /// Instructions retired so far, not counting one being run.
    pub fn retired(&self) -> u64 {
        self.icount - self.icount_ahead as u64
    }

    /// Folds the instructions retired since the last fold into the PMU's
    /// counters, at the current EL.
    pub(crate) fn fold_pmu_instructions(&mut self) {
        let retired = self.retired();
        self.pmu.fold_instructions(retired, self.regs.el);
    }

    /// Before an ERET changes the EL: the instructions up to and including
    /// the ERET count at the EL they ran at.
    pub(crate) fn pmu_exception_return(&mut self) {
        if self.pmu.pmcr & pmu::pmcr::E != 0 {
            let retired = self.retired() + 1;
            self.pmu.fold_instructions(retired, self.regs.el);
            self.pmu.count(pmu::event::EXC_RETURN, self.regs.el);
        }
    }

    /// After a PMU register write: what the run loop must check may have
    /// changed, and so may the overflow interrupt.
    pub(crate) fn pmu_configured(&mut self, plat: &mut dyn Platform) {
        self.per_instruction = self.guest_debug.per_instruction() || self.pmu.per_instruction;
        self.sync_pmu_interrupt(plat);
    }

    /// Gives the board the PMU's overflow interrupt request if it changed.
    fn sync_pmu_interrupt(&mut self, plat: &mut dyn Platform) {
        let level = self.pmu.interrupt();
        if level != self.pmu_irq {
            self.pmu_irq = level;
            plat.pmu_interrupt(self.index, level);
            self.refresh_interrupt_lines(plat);
        }
    }

    // ---- Exceptions

    /// Takes the synchronous exception `e` raised by the instruction at `pc`.
    pub fn take_exception(&mut self, e: Exception, pc: u64) {
        let from_lower = self.regs.el == 0;
        let (ec, iss) = e.syndrome(from_lower);
        self.exception_counts[ec as usize] += 1;
        self.sys.esr = ((ec as u64) << 26) | (1 << 25) | iss as u64;
        if let Some(far) = e.fault_address() {
            self.sys.far = far;
        }
        let preferred_return = match e {
            Exception::Svc(_) | Exception::Hvc(_) | Exception::Smc(_) => {
                // The exception-generating instruction completed: a step of it
                // is over (SPSR_EL1.SS 0), as for any completed instruction.
                self.regs.ss = 0;
                pc.wrapping_add(4)
            }
            _ => pc,
        };
        self.enter_el1(0x000, preferred_return);
    }

    /// Raises Undefined Instruction for the instruction at `pc` (an exit the board
    /// did not handle, such as an HVC with no firmware behind it).
    pub fn undefined_instruction(&mut self, pc: u64) {
        self.take_exception(Exception::Undefined, pc);
    }

    fn enter_el1(&mut self, offset: u64, return_address: u64) {
        if self.pmu.pmcr & pmu::pmcr::E != 0 {
            // Instructions so far counted at the EL they ran at.
            self.fold_pmu_instructions();
            self.pmu.count(pmu::event::EXC_TAKEN, self.regs.el);
        }
        self.sys.spsr = self.regs.spsr();
        self.sys.elr = return_address;
        let base = match (self.regs.el, self.regs.sp_sel) {
            (0, _) => 0x400,
            (_, 0) => 0x000,
            _ => 0x200,
        };
        self.regs.el = 1;
        self.regs.sp_sel = 1;
        self.regs.daif = DAIF_D | DAIF_A | DAIF_I | DAIF_F;
        self.regs.il = 0;
        self.regs.ss = 0;
        self.stepped = None;
        self.regs.pc = self.sys.vbar.wrapping_add(base + offset);
    }

    /// The highest-priority unmasked pending interrupt.
    pub fn pending_interrupt(&self) -> Option<Interrupt> {
        if self.fiq_line && self.regs.daif & DAIF_F == 0 {
            Some(Interrupt::Fiq)
        } else if self.irq_line && self.regs.daif & DAIF_I == 0 {
            Some(Interrupt::Irq)
        } else {
            None
        }
    }

    /// Takes an asynchronous exception at the current PC.
    pub fn take_interrupt(&mut self, irq: Interrupt) {
        let offset = match irq {
            Interrupt::Irq => 0x080,
            Interrupt::Fiq => 0x100,
            Interrupt::SError => 0x180,
        };
        self.interrupt_counts[irq as usize] += 1;
        let pc = self.regs.pc;
        self.enter_el1(offset, pc);
    }

    /// ERET: returns to the state saved in SPSR_EL1 and ELR_EL1.
    pub fn exception_return(&mut self) {
        let spsr = self.sys.spsr;
        let m = spsr & 0x1f;
        let legal = matches!(m, 0b00000 | 0b00100 | 0b00101);
        self.regs.nzcv = (spsr as u32) & 0xf000_0000;
        self.regs.daif = (spsr as u32) & 0x3c0;
        let target_el = if legal {
            ((m >> 2) & 3) as u8
        } else {
            self.regs.el
        };
        self.regs.ss = selfdebug::return_ss(&self.sys, spsr, target_el);
        self.stepped = None;
        if legal {
            self.regs.el = ((m >> 2) & 3) as u8;
            self.regs.sp_sel = (m & 1) as u8;
            self.regs.il = ((spsr >> 20) & 1) as u8;
        } else {
            self.regs.il = 1;
        }
        self.regs.pc = self.sys.elr;
        self.monitor = None;
        self.event_register = true;
    }

    // ---- Generic timer

    /// Timer output levels `(virtual, physical)` at counter value `now`.
    pub fn timer_levels(&self, now: u64) -> (bool, bool) {
        let fires = |ctl: u64, cval: u64| ctl & 3 == 1 && now >= cval;
        (
            fires(self.sys.cntv_ctl, self.sys.cntv_cval),
            fires(self.sys.cntp_ctl, self.sys.cntp_cval),
        )
    }

    /// The earliest counter value at which an enabled, unmasked timer fires.
    pub fn next_timer_deadline(&self) -> Option<u64> {
        let deadline = |ctl: u64, cval: u64| (ctl & 3 == 1).then_some(cval);
        match (
            deadline(self.sys.cntv_ctl, self.sys.cntv_cval),
            deadline(self.sys.cntp_ctl, self.sys.cntp_cval),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Instruction-cache view for the debugger: decoded blocks are dropped when it
    /// writes memory.
    pub fn sysreg_name(key: u32) -> String {
        sysreg::name(key)
    }
}

/// Instructions between looks at the counter while a timer is armed.
const TIMER_POLL: u64 = 4096;

/// The MPIDR_EL1 value of CPU `index` (see [`Cpu::mpidr`]).
pub fn mpidr_of(index: usize) -> u64 {
    (1 << 31) | (((index as u64 >> 8) & 0xff) << 8) | (index as u64 & 0xff)
}

/// Loads `size` bytes, little-endian, from host memory.
///
/// # Safety
/// `p..p+size` must be readable.
#[inline(always)]
unsafe fn host_load(p: *const u8, size: usize) -> u64 {
    match size {
        1 => *p as u64,
        2 => u16::from_le((p as *const u16).read_unaligned()) as u64,
        4 => u32::from_le((p as *const u32).read_unaligned()) as u64,
        _ => u64::from_le((p as *const u64).read_unaligned()),
    }
}

/// Stores the low `size` bytes of `value`, little-endian, to host memory.
///
/// # Safety
/// `p..p+size` must be writable.
#[inline(always)]
unsafe fn host_store(p: *mut u8, size: usize, value: u64) {
    match size {
        1 => *p = value as u8,
        2 => (p as *mut u16).write_unaligned((value as u16).to_le()),
        4 => (p as *mut u32).write_unaligned((value as u32).to_le()),
        _ => (p as *mut u64).write_unaligned(value.to_le()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{BusError, Ram};

    /// Writes instruction words to `ram` from `at` on.
    fn write_code(ram: &mut Ram, at: u64, words: &[u32]) {
        for (i, w) in words.iter().enumerate() {
            ram.slice_mut(at + 4 * i as u64, 4)
                .unwrap()
                .copy_from_slice(&w.to_le_bytes());
        }
    }

    /// RAM, a counter the test sets, and a record of the timer outputs.
    struct TimerBoard {
        ram: Ram,
        now: u64,
        /// Counter reads so far; the counter jumps to `later` after `jump_after`.
        reads: u64,
        jump_after: u64,
        later: u64,
        changes: Vec<(bool, bool)>,
        /// Counter reads when the first change came.
        first_change: Option<u64>,
    }

    impl PhysMemory for TimerBoard {
        fn ram_page(&mut self, pa: u64) -> Option<*mut u8> {
            self.ram.ram_page(pa)
        }
        fn mmio_read(&mut self, c: usize, pa: u64, size: u8) -> Result<u64, BusError> {
            self.ram.mmio_read(c, pa, size)
        }
        fn mmio_write(&mut self, c: usize, pa: u64, size: u8, v: u64) -> Result<(), BusError> {
            self.ram.mmio_write(c, pa, size, v)
        }
    }

    impl Platform for TimerBoard {
        fn counter(&mut self) -> u64 {
            self.reads += 1;
            if self.reads > self.jump_after {
                self.now = self.later;
            }
            self.now
        }
        fn counter_frequency(&self) -> u64 {
            62_500_000
        }
        fn timer_changed(&mut self, _cpu: usize, virt: bool, phys: bool) {
            self.first_change.get_or_insert(self.reads);
            self.changes.push((virt, phys));
        }
    }

    fn timer_board(code: &[u32]) -> (Cpu, TimerBoard) {
        let mut ram = Ram::new(0, 0x4000).unwrap();
        write_code(&mut ram, 0x1000, code);
        let mut cpu = Cpu::new(0);
        cpu.regs.pc = 0x1000;
        // CNTV enabled, unmasked, firing at 1000.
        cpu.sys.cntv_ctl = 1;
        cpu.sys.cntv_cval = 1000;
        let board = TimerBoard {
            ram,
            now: 0,
            reads: 0,
            jump_after: 2,
            later: 5000,
            changes: Vec::new(),
            first_change: None,
        };
        (cpu, board)
    }

    #[test]
    fn a_timer_firing_mid_slice_raises_its_line_before_the_slice_ends() {
        // `b .`: the guest never touches a timer register.
        let (mut cpu, mut board) = timer_board(&[0x1400_0000]);
        cpu.run(&mut board, 100_000);
        assert_eq!(board.changes, vec![(true, false)]);
        // At the first look after the counter passed: within TIMER_POLL
        // instructions of it, long before the slice ended.
        assert_eq!(board.first_change, Some(3));
        assert!(board.reads > 20, "the slice went on being polled");
        // Masked (IMASK), nothing is polled or raised.
        let (mut cpu, mut board) = timer_board(&[0x1400_0000]);
        cpu.sys.cntv_ctl = 3;
        cpu.run(&mut board, 100_000);
        assert!(board.changes.is_empty());
        assert_eq!(board.reads, 0);
    }

    #[test]
    fn reading_the_timer_raises_a_line_that_has_fired() {
        // mrs x0, cntv_ctl_el0; b .
        let (mut cpu, mut board) = timer_board(&[0xd53b_e320, 0x1400_0000]);
        board.jump_after = 0;
        cpu.run(&mut board, 1);
        assert_eq!(cpu.regs.x[0] & 4, 4, "ISTATUS");
        assert_eq!(board.changes, vec![(true, false)]);
    }

    /// `str x1, [x0]; ldr x2, [x0]; b .` at 0x1000, data at 0x2000.
    fn machine() -> (Cpu, Ram) {
        let mut mem = Ram::new(0, 0x4000).unwrap();
        write_code(&mut mem, 0x1000, &[0xf900_0001, 0xf940_0002, 0x1400_0000]);
        let mut cpu = Cpu::new(0);
        cpu.regs.pc = 0x1000;
        cpu.regs.x[0] = 0x2000;
        cpu.regs.x[1] = 0x55;
        (cpu, mem)
    }

    /// `machine()` with the guest's debug exceptions enabled at EL1 (OS lock
    /// clear, MDE and KDE set, PSTATE.D clear) and vectors at 0x3000.
    fn guest_debug_machine() -> (Cpu, Ram) {
        let (mut cpu, mem) = machine();
        cpu.regs.el = 1;
        cpu.regs.sp_sel = 1;
        cpu.regs.daif = 0;
        cpu.sys.vbar = 0x3000;
        cpu.sys.oslsr = 0b1000;
        cpu.sys.mdscr = selfdebug::mdscr::MDE | selfdebug::mdscr::KDE;
        (cpu, mem)
    }

    /// GRUB's byte-copy loop at 0x1000 (then `b .`), copying `len` bytes
    /// from `src` to `dst`; RAM filled with a pattern. Run for `budget`
    /// instructions with the loop run natively (no trace) or one
    /// instruction at a time (traced); returns the CPU and RAM.
    fn byte_copy_run(src: u64, dst: u64, len: u64, budget: u64, traced: bool) -> (Cpu, Ram) {
        let mut mem = Ram::new(0, 0x10000).unwrap();
        for a in (0x4000..0x10000).step_by(4) {
            let v = (a as u32).wrapping_mul(0x9e37_79b9);
            mem.slice_mut(a, 4)
                .unwrap()
                .copy_from_slice(&v.to_le_bytes());
        }
        let code = [
            0x3863_6824,
            0x3823_6804,
            0x9100_0463,
            0xeb02_007f,
            0x54ff_ff81,
            0x1400_0000,
        ];
        write_code(&mut mem, 0x1000, &code);
        let mut cpu = Cpu::new(0);
        cpu.regs.pc = 0x1000;
        cpu.regs.x[0] = dst;
        cpu.regs.x[1] = src;
        cpu.regs.x[2] = len;
        if traced {
            cpu.set_trace(Some(Box::new(|_| {})));
        }
        // In slices, as the board runs vCPUs.
        let mut left = budget;
        while left > 0 {
            let slice = left.min(10_007);
            let start = cpu.icount;
            cpu.run(&mut mem, slice);
            left -= (cpu.icount - start).min(left).max(1);
        }
        (cpu, mem)
    }

    #[test]
    fn the_byte_copy_idiom_leaves_what_the_loop_would() {
        // Disjoint across pages, overlapping both ways, and cut short by
        // the budget (mid-copy state must match too).
        for (src, dst, len, budget) in [
            (0x4123, 0x9ff0, 9000, 100_000),
            (0x5000, 0x5003, 6000, 100_000),
            (0x6003, 0x6000, 6000, 100_000),
            (0x4000, 0xa000, 20_000, 33_333),
            (0x4000, 0x4000, 100, 1000),
        ] {
            let (fast, fast_mem) = byte_copy_run(src, dst, len, budget, false);
            let (slow, slow_mem) = byte_copy_run(src, dst, len, budget, true);
            let what = format!("src {src:#x} dst {dst:#x} len {len} budget {budget}");
            assert_eq!(fast.regs.x, slow.regs.x, "{what}");
            assert_eq!(
                (fast.regs.pc, fast.regs.nzcv, fast.icount),
                (slow.regs.pc, slow.regs.nzcv, slow.icount),
                "{what}"
            );
            assert!(
                fast_mem.slice(0, 0x10000) == slow_mem.slice(0, 0x10000),
                "{what}"
            );
        }
        // A copy onto the loop's own code takes the exact slow path (the
        // code is rewritten: the loop then runs what it wrote).
        let (fast, fast_mem) = byte_copy_run(0x4000, 0x0ff0, 0x40, 2000, false);
        let (slow, slow_mem) = byte_copy_run(0x4000, 0x0ff0, 0x40, 2000, true);
        assert_eq!((fast.regs.pc, fast.icount), (slow.regs.pc, slow.icount));
        assert!(fast_mem.slice(0, 0x10000) == slow_mem.slice(0, 0x10000));
    }

    #[test]
    fn a_guest_watchpoint_raises_its_exception_before_the_store() {
        let (mut cpu, mut mem) = guest_debug_machine();
        cpu.sys.dbgwvr[1] = 0x2000;
        // Enabled, EL1, stores, bytes 0-3.
        cpu.sys.dbgwcr[1] = 1 | (1 << 1) | (0b10 << 3) | (0xf << 5);
        cpu.debug_registers_changed();
        cpu.run(&mut mem, 1);
        assert_eq!(cpu.regs.pc, 0x3200, "the current-EL synchronous vector");
        assert_eq!(cpu.sys.esr, (0x35 << 26) | (1 << 25) | (1 << 6) | 0x22);
        assert_eq!((cpu.sys.far, cpu.sys.elr), (0x2000, 0x1000));
        assert_eq!(
            u64::from_le_bytes(mem.slice(0x2000, 8).unwrap().try_into().unwrap()),
            0,
            "the store did not happen"
        );
        assert_eq!(cpu.sys.spsr & DAIF_D as u64, 0);
        // With PSTATE.D set (as the handler returns) the store completes.
        cpu.regs.pc = 0x1000;
        cpu.regs.daif = DAIF_D;
        cpu.run(&mut mem, 1);
        assert_eq!(
            (
                cpu.regs.pc,
                u64::from_le_bytes(mem.slice(0x2000, 8).unwrap().try_into().unwrap())
            ),
            (0x1004, 0x55)
        );
    }

    #[test]
    fn a_guest_breakpoint_fires_before_its_instruction() {
        let (mut cpu, mut mem) = guest_debug_machine();
        cpu.sys.dbgbvr[5] = 0x1004;
        cpu.sys.dbgbcr[5] = 1 | (1 << 1) | (0xf << 5);
        cpu.debug_registers_changed();
        cpu.run(&mut mem, 2);
        assert_eq!((cpu.regs.pc, cpu.sys.elr), (0x3200, 0x1004));
        assert_eq!(cpu.sys.esr, (0x31 << 26) | (1 << 25) | 0x22);
        assert_eq!(cpu.regs.x[2], 0, "the load did not run");
        // EL0-only (PMC 0b10): nothing at EL1.
        let (mut cpu, mut mem) = guest_debug_machine();
        cpu.sys.dbgbvr[0] = 0x1004;
        cpu.sys.dbgbcr[0] = 1 | (0b10 << 1) | (0xf << 5);
        cpu.debug_registers_changed();
        cpu.run(&mut mem, 2);
        assert_eq!((cpu.regs.pc, cpu.regs.x[2]), (0x1008, 0x55));
    }

    #[test]
    fn a_host_breakpoint_wins_over_the_guests_own() {
        let (mut cpu, mut mem) = guest_debug_machine();
        cpu.sys.dbgbvr[0] = 0x1004;
        cpu.sys.dbgbcr[0] = 1 | (1 << 1) | (0xf << 5);
        cpu.debug_registers_changed();
        cpu.add_breakpoint(0x1004);
        assert_eq!(cpu.run(&mut mem, 10), Exit::Breakpoint);
        assert_eq!(
            (cpu.regs.pc, cpu.sys.esr),
            (0x1004, 0),
            "guest state untouched"
        );
        // Continuing from the host's breakpoint: the guest's fires.
        cpu.debug.skip_breakpoint_at = Some(0x1004);
        cpu.run(&mut mem, 1);
        assert_eq!((cpu.regs.pc, cpu.sys.esr >> 26), (0x3200, 0x31));
    }

    #[test]
    fn software_step_runs_one_instruction_then_traps() {
        let (mut cpu, mut mem) = guest_debug_machine();
        cpu.sys.mdscr |= selfdebug::mdscr::SS;
        cpu.debug_registers_changed();
        cpu.regs.ss = 1;
        cpu.run(&mut mem, 2);
        assert_eq!(cpu.regs.pc, 0x3200);
        assert_eq!(cpu.sys.elr, 0x1004, "after the stepped store");
        assert_eq!(
            u64::from_le_bytes(mem.slice(0x2000, 8).unwrap().try_into().unwrap()),
            0x55
        );
        assert_eq!(cpu.regs.x[2], 0, "the load was not stepped");
        let isv = 1 << 24;
        assert_eq!(cpu.sys.esr, (0x33 << 26) | (1 << 25) | isv | 0x22);
        assert_eq!(cpu.sys.spsr & (1 << 21), 0, "SPSR.SS: step completed");
        // Returning with SPSR.SS set steps the load.
        cpu.sys.spsr |= 1 << 21;
        cpu.exception_return();
        assert_eq!((cpu.regs.ss, cpu.regs.pc), (1, 0x1004));
        cpu.run(&mut mem, 2);
        assert_eq!(
            (cpu.regs.x[2], cpu.sys.elr, cpu.regs.pc),
            (0x55, 0x1008, 0x3200)
        );
        // Returning with SPSR.SS clear: the exception comes at once, ISV 0.
        cpu.sys.spsr &= !(1 << 21);
        cpu.exception_return();
        cpu.run(&mut mem, 1);
        assert_eq!((cpu.sys.elr, cpu.regs.pc), (0x1008, 0x3200));
        assert_eq!(cpu.sys.esr & isv, 0);
    }

    #[test]
    fn watchpoint_stops_before_the_access_and_resumes_past_it() {
        let (mut cpu, mut mem) = machine();
        let w = Watchpoint {
            addr: 0x2004,
            len: 4,
            kind: WatchKind::Write,
        };
        cpu.add_watchpoint(w);
        let hit = WatchHit {
            watch: w,
            addr: 0x2004,
            write: true,
        };
        assert_eq!(cpu.run(&mut mem, 100), Exit::Watchpoint(hit));
        // The store has not happened, and the PC is at it.
        assert_eq!((cpu.regs.pc, cpu.icount), (0x1000, 0));
        assert_eq!(mem.slice(0x2000, 8).unwrap(), &[0; 8]);
        // Resumed from there, the store runs once, unwatched; the load is not a write.
        cpu.debug.skip_watch_at = Some(0x1000);
        assert_eq!(cpu.run(&mut mem, 10), Exit::BudgetSpent);
        assert_eq!(mem.slice(0x2000, 1).unwrap(), &[0x55]);
        assert_eq!((cpu.regs.pc, cpu.regs.x[2]), (0x1008, 0x55));
        // A read watchpoint: the load stops.
        let (mut cpu, mut mem) = machine();
        cpu.add_watchpoint(Watchpoint {
            kind: WatchKind::Read,
            ..w
        });
        assert!(matches!(
            cpu.run(&mut mem, 100),
            Exit::Watchpoint(WatchHit { write: false, .. })
        ));
        assert_eq!(cpu.regs.pc, 0x1004);
    }

    #[test]
    fn single_step_into_an_instruction_abort_ends_at_the_vector() {
        let (mut cpu, mut mem) = machine();
        cpu.sys.vbar = 0x3000;
        cpu.regs.pc = 0x1002; // misaligned: PC alignment fault on fetch
        assert_eq!(cpu.run(&mut mem, 1), Exit::BudgetSpent);
        // The abort counts toward the budget (so a run always ends), and a budget of
        // one stops at the vector.
        assert_eq!((cpu.regs.pc, cpu.icount), (0x3200, 1));
        assert_eq!(cpu.sys.elr, 0x1002);
    }

    #[test]
    fn breakpoint_stops_before_and_reset_keeps_it() {
        let (mut cpu, mut mem) = machine();
        cpu.add_breakpoint(0x1004);
        assert_eq!(cpu.run(&mut mem, 100), Exit::Breakpoint);
        assert_eq!((cpu.regs.pc, cpu.icount), (0x1004, 1));
        cpu.debug.skip_breakpoint_at = Some(0x1004);
        assert_eq!(cpu.run(&mut mem, 1), Exit::BudgetSpent);
        assert_eq!(cpu.regs.pc, 0x1008);
        cpu.reset();
        cpu.regs.pc = 0x1000;
        cpu.regs.x[0] = 0x2000;
        assert_eq!(
            cpu.run(&mut mem, 100),
            Exit::Breakpoint,
            "kept across reset"
        );
        assert!(cpu.remove_breakpoint(0x1004));
        assert_eq!(cpu.run(&mut mem, 100), Exit::BudgetSpent);
    }

    #[test]
    fn a_breakpoint_where_the_fetch_faults_still_stops() {
        let (mut cpu, mut mem) = machine();
        cpu.sys.vbar = 0x3000;
        cpu.regs.pc = 0x8000; // past the end of RAM
        cpu.add_breakpoint(0x8000);
        assert_eq!(cpu.run(&mut mem, 100), Exit::Breakpoint);
        assert_eq!(cpu.regs.pc, 0x8000);
        // Continuing from it takes the instruction abort.
        cpu.debug.skip_breakpoint_at = Some(0x8000);
        cpu.run(&mut mem, 1);
        assert_eq!((cpu.sys.esr >> 26, cpu.sys.elr), (0x21, 0x8000));
    }

    /// RAM at 0 with `code` at 0x1000, and a doorbell: an MMIO write at
    /// 0x10_0000 raises the IRQ line (through `interrupts_changed`, as a device
    /// thread would).
    struct Doorbell {
        ram: Ram,
        changed: Arc<AtomicBool>,
        rung: bool,
    }

    impl PhysMemory for Doorbell {
        fn ram_page(&mut self, pa: u64) -> Option<*mut u8> {
            self.ram.ram_page(pa)
        }
        fn mmio_read(
            &mut self,
            cpu: usize,
            pa: u64,
            size: u8,
        ) -> Result<u64, crate::memory::BusError> {
            self.ram.mmio_read(cpu, pa, size)
        }
        fn mmio_write(
            &mut self,
            _: usize,
            pa: u64,
            _: u8,
            _: u64,
        ) -> Result<(), crate::memory::BusError> {
            if pa != 0x10_0000 {
                return Err(crate::memory::BusError(pa));
            }
            self.rung = true;
            self.changed.store(true, Ordering::Relaxed);
            Ok(())
        }
    }

    impl Platform for Doorbell {
        fn counter(&mut self) -> u64 {
            0
        }
        fn counter_frequency(&self) -> u64 {
            62_500_000
        }
        fn interrupt_lines(&mut self, _: usize) -> Option<(bool, bool)> {
            Some((self.rung, false))
        }
    }

    fn doorbell_machine(code: &[u32]) -> (Cpu, Doorbell) {
        let mut ram = Ram::new(0, 0x4000).unwrap();
        write_code(&mut ram, 0x1000, code);
        let mut cpu = Cpu::new(0);
        cpu.regs.pc = 0x1000;
        cpu.sys.vbar = 0x3000;
        let plat = Doorbell {
            ram,
            changed: cpu.interrupts_changed.clone(),
            rung: false,
        };
        (cpu, plat)
    }

    #[test]
    fn a_loop_of_one_block_keeps_to_the_budget() {
        // 1: add x3, x3, #1; b 1b
        let (mut cpu, mut plat) = doorbell_machine(&[0x9100_0463, 0x17ff_ffff]);
        assert_eq!(cpu.run(&mut plat, 1001), Exit::BudgetSpent);
        assert_eq!((cpu.icount, cpu.regs.x[3]), (1001, 501));
        assert_eq!(cpu.regs.pc, 0x1004);
    }

    #[test]
    fn a_loop_of_one_block_sees_an_interrupt_raised_inside_it() {
        // 1: str x1, [x0]; b 1b, with the doorbell at x0 and IRQs unmasked.
        let (mut cpu, mut plat) = doorbell_machine(&[0xf900_0001, 0x17ff_ffff]);
        cpu.regs.x[0] = 0x10_0000;
        cpu.regs.daif = 0;
        write_code(&mut plat.ram, 0x3280, &[0x1400_0000]); // b .
        cpu.run(&mut plat, 1000);
        // Taken after the first pass: the IRQ vector (current EL, SP_ELx) at the
        // loop's start.
        assert_eq!(cpu.interrupt_counts[Interrupt::Irq as usize], 1);
        assert_eq!(cpu.sys.elr, 0x1000);
        assert_eq!(cpu.regs.pc, 0x3280);
    }

    #[test]
    fn a_fused_compare_and_branch_stops_between_the_two_for_the_debugger() {
        // 1: subs x0, x0, #1; b.ne 1b
        let (mut cpu, mut plat) = doorbell_machine(&[0xf100_0400, 0x54ff_ffe1]);
        cpu.regs.x[0] = 5;
        cpu.add_breakpoint(0x1004);
        assert_eq!(cpu.run(&mut plat, 100), Exit::Breakpoint);
        assert_eq!((cpu.regs.pc, cpu.icount, cpu.regs.x[0]), (0x1004, 1, 4));
        cpu.debug.skip_breakpoint_at = Some(0x1004);
        assert_eq!(cpu.run(&mut plat, 1), Exit::BudgetSpent);
        assert_eq!((cpu.regs.pc, cpu.icount), (0x1000, 2));
        assert!(cpu.remove_breakpoint(0x1004));
        // The remaining four passes, fused, count both instructions of each.
        assert_eq!(cpu.run(&mut plat, 8), Exit::BudgetSpent);
        assert_eq!((cpu.regs.pc, cpu.icount, cpu.regs.x[0]), (0x1008, 10, 0));
    }

    #[test]
    fn linked_blocks_keep_to_the_budget_and_see_new_breakpoints() {
        // 0x1000: add x3, x3, #1; b 0x2000 / 0x2000: add x4, x4, #1; b 0x1000
        // (on different pages: a breakpoint re-decodes its whole page).
        let mut code = [0u32; 0x402];
        code[..2].copy_from_slice(&[0x9100_0463, 0x1400_03ff]);
        code[0x400..].copy_from_slice(&[0x9100_0484, 0x17ff_fbff]);
        let (mut cpu, mut plat) = doorbell_machine(&code);
        assert_eq!(cpu.run(&mut plat, 1001), Exit::BudgetSpent);
        assert_eq!((cpu.icount, cpu.regs.x[3], cpu.regs.x[4]), (1001, 251, 250));
        assert_eq!(cpu.regs.pc, 0x1004);
        assert_eq!(cpu.run(&mut plat, 3), Exit::BudgetSpent);
        assert_eq!(cpu.regs.pc, 0x1000);
        // The blocks are linked to each other by now; a new breakpoint must
        // still stop the run.
        cpu.add_breakpoint(0x2000);
        assert_eq!(cpu.run(&mut plat, 1000), Exit::Breakpoint);
        assert_eq!((cpu.regs.pc, cpu.icount), (0x2000, 1006));
    }

    #[test]
    fn inner_shareable_tlbi_reaches_the_other_vcpus() {
        let mut mem = Ram::new(0, 0x4000).unwrap();
        // 0x1000: ldr x2, [x0] / 0x1100: tlbi vmalle1is / 0x1200: tlbi vmalle1
        // / 0x1300: tlbi vae1is, x0 / 0x1400: nop
        for (pc, word) in [
            (0x1000, 0xf940_0002),
            (0x1100, 0xd508_831f),
            (0x1200, 0xd508_871f),
            (0x1300, 0xd508_8320),
            (0x1400, 0xd503_201f),
        ] {
            write_code(&mut mem, pc, &[word]);
        }
        let shared = SharedCode::new(2);
        let mut cpus = [Cpu::new(0), Cpu::new(1)];
        for cpu in cpus.iter_mut() {
            cpu.share_code(shared.clone());
        }
        let [reader, other] = &mut cpus;
        let mut run_at = |cpu: &mut Cpu, pc: u64, x0: u64| {
            cpu.regs.pc = pc;
            cpu.regs.x[0] = x0;
            assert_eq!(cpu.run(&mut mem, 1), Exit::BudgetSpent);
        };
        let cached = |cpu: &Cpu| cpu.tlb[0].entries[Tlb::index(0x2000)].tag_read == 0x2000;
        run_at(reader, 0x1000, 0x2000);
        assert!(cached(reader));
        // A local TLBI on the other vCPU leaves the reader's TLB alone...
        run_at(other, 0x1200, 0);
        run_at(reader, 0x1400, 0);
        assert!(cached(reader));
        // ... the Inner Shareable forms reach it before its next instruction.
        run_at(other, 0x1100, 0);
        assert!(cached(reader), "not before it runs again");
        run_at(reader, 0x1400, 0);
        assert!(!cached(reader));
        run_at(reader, 0x1000, 0x2000);
        run_at(other, 0x1300, 0x2);
        run_at(reader, 0x1400, 0);
        assert!(!cached(reader), "by VA");
    }

    #[test]
    fn a_loop_of_one_block_sees_its_own_code_change() {
        // 1: str w1, [x0]; add x3, x3, #1; b 1b, where the store replaces the add
        // with `add x3, x3, #0x10`... after which x3 grows by 16 per pass.
        let (mut cpu, mut plat) = doorbell_machine(&[0xb900_0001, 0x9100_0463, 0x17ff_fffe]);
        cpu.regs.x[0] = 0x1004;
        cpu.regs.x[1] = 0x9100_4063;
        assert_eq!(cpu.run(&mut plat, 30), Exit::BudgetSpent);
        // The first pass ran the old add (decoded before the store), the next
        // nine the new one.
        assert_eq!(cpu.regs.x[3], 1 + 9 * 16);
    }
}
