//! armvm's built-in UEFI for AArch64: boot and runtime services implemented
//! on the host, in Rust.
//!
//! The system table, the service tables and every protocol interface live in
//! guest memory, as a payload expects; each function pointer aims at a
//! trampoline `HVC #n; RET` (see [`service`]). The HVC exits to the board,
//! which hands the call to [`Uefi::call`]; the service reads its arguments
//! from the vCPU's registers and stack, works on guest memory through the
//! caller's page tables ([`Guest`]) and puts the status in x0. Structures
//! that payloads write into (LoadedImage, guest-installed protocols) are
//! always re-read from guest memory, never cached here.
//!
//! Payloads start with the MMU on (an identity map: RAM normal cacheable,
//! the low gigabyte of devices Device-nGnRnE), interrupts masked, FP enabled,
//! as the Linux EFI stub, GRUB and systemd-boot expect.

pub mod devpath;
pub mod guest;
pub mod guid;
pub mod load_option;
pub mod memory;
pub mod pe;
pub mod service;
pub mod status;
pub mod variables;

mod boot;
mod bootmgr;
mod console;
mod disk;
mod events;
mod fs;
mod handles;
mod image;
mod runtime;
mod tables;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use armvm_cpu::memory::GuestMemory;
use armvm_cpu::Cpu;

pub use guest::Guest;
use guid::Guid;
use handles::HandleDb;
use memory::{kind, MemoryMap, Placement, PAGE};
use service::Service;
use status::Status;
use variables::VariableStore;

/// A disk as the firmware reads it (the same image the guest's virtio-blk
/// device serves, behind the same lock).
pub trait FirmwareDisk: Send {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn read_only(&self) -> bool;
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;
    fn write_at(&self, offset: u64, data: &[u8]) -> std::io::Result<()>;
    fn flush(&self) -> std::io::Result<()>;
}

/// The serial console the firmware's text protocols use.
pub trait FirmwareConsole: Send {
    fn write(&mut self, bytes: &[u8]);
    /// The next byte typed, if any.
    fn read(&mut self) -> Option<u8>;
}

/// A disk and the MMIO base of its virtio slot (its device path names it, as
/// EDK2's does).
pub struct DiskSlot {
    pub disk: Box<dyn FirmwareDisk>,
    pub mmio_base: u64,
}

/// `--kernel` under the built-in firmware: the kernel's EFI stub started with
/// a command line and an initrd served through LoadFile2.
pub struct DirectKernel {
    pub kernel: Vec<u8>,
    pub initrd: Option<Vec<u8>>,
    pub cmdline: String,
}

pub struct UefiConfig {
    pub memory: Arc<GuestMemory>,
    /// (base, size) of RAM.
    pub ram: (u64, u64),
    /// The device tree, without boot arguments or an initrd.
    pub dtb: Vec<u8>,
    pub disks: Vec<DiskSlot>,
    pub variables: VariableStore,
    pub direct: Option<DirectKernel>,
    pub console: Box<dyn FirmwareConsole>,
    /// Monotonic time in nanoseconds (the board's clock).
    pub clock: Box<dyn Fn() -> u64 + Send>,
    pub entropy: Entropy,
}

/// Fills a buffer with random bytes (the RNG protocol's source).
pub type Entropy = Box<dyn FnMut(&mut [u8]) + Send>;

/// What the board does after a call.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Continue,
    /// Nothing to do until time passes or input arrives (the call is retried).
    Wait(Duration),
    Reset,
    PowerOff,
    /// The firmware cannot go on (nothing left to boot, a payload crashed).
    Halt(String),
}

#[derive(Debug, thiserror::Error)]
pub enum UefiError {
    #[error("guest RAM ({0} MiB) is too small for the firmware")]
    TooLittleMemory(u64),
}

/// What a service hands back to the dispatcher.
enum Reply {
    Status(Status),
    /// The service set the registers itself (it started or left an image).
    Done,
    Wait(Duration),
    Reset,
    PowerOff,
    Halt(String),
}

impl From<Status> for Reply {
    fn from(s: Status) -> Reply {
        Reply::Status(s)
    }
}

type Ret = Result<Reply, Status>;

/// Where the firmware's fixed structures are.
#[derive(Default)]
struct Addrs {
    trampolines: u64,
    system_table: u64,
    runtime_services: u64,
    boot_services: u64,
    config_table: u64,
    vendor: u64,
    stack_top: u64,
}

/// Most configuration tables the firmware holds (payloads add a handful).
const CONFIG_TABLE_CAPACITY: usize = 64;

/// A small bump allocator for the firmware's own guest structures
/// (handles, protocol interfaces), in boot-services data.
#[derive(Default)]
struct Heap {
    next: u64,
    end: u64,
}

/// What a host-implemented protocol interface is an instance of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Object {
    TextOut,
    TextIn,
    TextInEx,
    BlockIo(usize),
    DiskIo(usize),
    FileSystem(usize),
    File,
    Rng,
    InitrdLoader,
    DevicePathToText,
}

pub struct Uefi {
    mem: Arc<GuestMemory>,
    ram: (u64, u64),
    dtb: Vec<u8>,
    disks: Vec<DiskSlot>,
    variables: VariableStore,
    direct: Option<DirectKernel>,
    console: Box<dyn FirmwareConsole>,
    clock: Box<dyn Fn() -> u64 + Send>,
    entropy: Entropy,

    map: MemoryMap,
    heap: Heap,
    addrs: Addrs,
    config_tables: Vec<(Guid, u64)>,
    handles: HandleDb,
    /// Host-implemented interfaces by their guest address.
    objects: HashMap<u64, Object>,
    /// Pool allocations: address -> pages.
    pools: HashMap<u64, u64>,
    events: events::Events,
    tpl: u64,
    images: image::Images,
    text: console::TextState,
    blocks: Vec<disk::BlockDev>,
    files: fs::Files,
    boot: bootmgr::BootState,
    /// The firmware's own image handle (the parent of what it boots).
    firmware_image: u64,
    console_handle: u64,
    exited_boot_services: bool,
    monotonic: u64,
    /// Seconds SetTime moved the clock by.
    time_offset: i64,
    /// After SetVirtualAddressMap: (physical start, length, virtual start) of
    /// each runtime region.
    virtual_map: Option<Vec<(u64, u64, u64)>>,
    /// A Stall in progress: (PC of its trampoline, deadline).
    stall: Option<(u64, u64)>,
    watchdog: Option<u64>,
}

impl Uefi {
    pub fn new(c: UefiConfig) -> Uefi {
        Uefi {
            mem: c.memory,
            ram: c.ram,
            dtb: c.dtb,
            disks: c.disks,
            variables: c.variables,
            direct: c.direct,
            console: c.console,
            clock: c.clock,
            entropy: c.entropy,
            map: MemoryMap::new(c.ram.0, c.ram.1),
            heap: Heap::default(),
            addrs: Addrs::default(),
            config_tables: Vec::new(),
            handles: HandleDb::default(),
            objects: HashMap::new(),
            pools: HashMap::new(),
            events: events::Events::default(),
            tpl: events::TPL_APPLICATION,
            images: image::Images::default(),
            text: console::TextState::default(),
            blocks: Vec::new(),
            files: fs::Files::default(),
            boot: bootmgr::BootState::default(),
            firmware_image: 0,
            console_handle: 0,
            exited_boot_services: false,
            monotonic: 0,
            time_offset: 0,
            virtual_map: None,
            stall: None,
            watchdog: None,
        }
    }

    /// Lays the firmware out in guest RAM and points vCPU `cpu` at the boot
    /// manager.
    pub fn install(&mut self, cpu: &mut Cpu) -> Result<(), UefiError> {
        if self.ram.1 < 32 << 20 {
            return Err(UefiError::TooLittleMemory(self.ram.1 >> 20));
        }
        tables::install(self)?;
        console::install(self);
        disk::install(self);
        boot::install_misc_protocols(self);
        tables::install_config_tables(self);
        bootmgr::install_defaults(self);
        tables::enter_firmware(self, cpu);
        Ok(())
    }

    /// Performs `service` for the vCPU in `g`.
    pub fn call(&mut self, service: Service, g: &mut Guest) -> Outcome {
        if let Some(deadline) = self.watchdog {
            if (self.clock)() >= deadline && !self.exited_boot_services {
                self.watchdog = None;
                self.print("\r\narmvm: the UEFI watchdog timer expired; resetting\r\n");
                return Outcome::Reset;
            }
        }
        let reply = self.dispatch(service, g).unwrap_or_else(Reply::Status);
        // Queued notification functions run before the caller continues.
        let notify = events::dispatch;
        match reply {
            Reply::Status(s) => {
                g.ret(s);
                notify(self, g);
                Outcome::Continue
            }
            Reply::Done => {
                notify(self, g);
                Outcome::Continue
            }
            Reply::Wait(d) => {
                // Run the trampoline's HVC again when woken (or after a
                // notification function, which may have signalled something).
                g.cpu.regs.pc = g.cpu.regs.pc.wrapping_sub(4);
                if notify(self, g) {
                    return Outcome::Continue;
                }
                Outcome::Wait(d)
            }
            Reply::Reset => Outcome::Reset,
            Reply::PowerOff => Outcome::PowerOff,
            Reply::Halt(m) => Outcome::Halt(m),
        }
    }

    fn dispatch(&mut self, s: Service, g: &mut Guest) -> Ret {
        use Service as S;
        if self.exited_boot_services && !runtime::is_runtime(s) {
            // Boot services and protocols are gone once the OS owns the machine.
            return Err(status::UNSUPPORTED);
        }
        match s {
            S::BootManager => bootmgr::next(self, g),
            S::ImageReturn => image::image_return(self, g),
            S::NotifyReturn => events::notify_return(self, g),
            S::CpuException => Ok(Reply::Halt(tables::describe_exception(g))),
            S::RaiseTpl => events::raise_tpl(self, g),
            S::RestoreTpl => events::restore_tpl(self, g),
            S::AllocatePages => boot::allocate_pages(self, g),
            S::FreePages => boot::free_pages(self, g),
            S::GetMemoryMap => boot::get_memory_map(self, g),
            S::AllocatePool => boot::allocate_pool(self, g),
            S::FreePool => boot::free_pool(self, g),
            S::CreateEvent => events::create_event(self, g, false),
            S::CreateEventEx => events::create_event(self, g, true),
            S::SetTimer => events::set_timer(self, g),
            S::WaitForEvent => events::wait_for_event(self, g),
            S::SignalEvent => events::signal_event(self, g),
            S::CloseEvent => events::close_event(self, g),
            S::CheckEvent => events::check_event(self, g),
            S::InstallProtocolInterface => boot::install_protocol_interface(self, g),
            S::ReinstallProtocolInterface => boot::reinstall_protocol_interface(self, g),
            S::UninstallProtocolInterface => boot::uninstall_protocol_interface(self, g),
            S::HandleProtocol => boot::handle_protocol(self, g),
            S::BsReserved => Err(status::UNSUPPORTED),
            S::RegisterProtocolNotify => boot::register_protocol_notify(self, g),
            S::LocateHandle => boot::locate_handle(self, g),
            S::LocateDevicePath => boot::locate_device_path(self, g),
            S::InstallConfigurationTable => boot::install_configuration_table(self, g),
            S::LoadImage => image::load_image(self, g),
            S::StartImage => image::start_image(self, g),
            S::Exit => image::exit(self, g),
            S::UnloadImage => image::unload_image(self, g),
            S::ExitBootServices => boot::exit_boot_services(self, g),
            S::GetNextMonotonicCount => boot::get_next_monotonic_count(self, g),
            S::Stall => events::stall(self, g),
            S::SetWatchdogTimer => events::set_watchdog_timer(self, g),
            S::ConnectController | S::DisconnectController => boot::connect_controller(self, g),
            S::OpenProtocol => boot::open_protocol(self, g),
            S::CloseProtocol => boot::close_protocol(self, g),
            S::OpenProtocolInformation => boot::open_protocol_information(self, g),
            S::ProtocolsPerHandle => boot::protocols_per_handle(self, g),
            S::LocateHandleBuffer => boot::locate_handle_buffer(self, g),
            S::LocateProtocol => boot::locate_protocol(self, g),
            S::InstallMultipleProtocolInterfaces => boot::install_multiple(self, g),
            S::UninstallMultipleProtocolInterfaces => boot::uninstall_multiple(self, g),
            S::CalculateCrc32 => boot::calculate_crc32(self, g),
            S::CopyMem => boot::copy_mem(self, g),
            S::SetMem => boot::set_mem(self, g),
            S::GetTime
            | S::SetTime
            | S::GetWakeupTime
            | S::SetWakeupTime
            | S::SetVirtualAddressMap
            | S::ConvertPointer
            | S::GetVariable
            | S::GetNextVariableName
            | S::SetVariable
            | S::GetNextHighMonotonicCount
            | S::ResetSystem
            | S::UpdateCapsule
            | S::QueryCapsuleCapabilities
            | S::QueryVariableInfo => runtime::call(self, s, g),
            S::TextReset
            | S::OutputString
            | S::TestString
            | S::QueryMode
            | S::SetMode
            | S::SetAttribute
            | S::ClearScreen
            | S::SetCursorPosition
            | S::EnableCursor
            | S::InputReset
            | S::ReadKeyStroke
            | S::InputExReset
            | S::ReadKeyStrokeEx
            | S::SetState
            | S::RegisterKeyNotify
            | S::UnregisterKeyNotify => console::call(self, s, g),
            S::BlockReset
            | S::ReadBlocks
            | S::WriteBlocks
            | S::FlushBlocks
            | S::ReadDisk
            | S::WriteDisk => disk::call(self, s, g),
            S::OpenVolume
            | S::FileOpen
            | S::FileClose
            | S::FileDelete
            | S::FileRead
            | S::FileWrite
            | S::FileGetPosition
            | S::FileSetPosition
            | S::FileGetInfo
            | S::FileSetInfo
            | S::FileFlush => fs::call(self, s, g),
            S::RngGetInfo
            | S::RngGetRng
            | S::LoadFile
            | S::DeviceNodeToText
            | S::DevicePathToText => boot::misc_protocol(self, s, g),
        }
    }

    /// Writes the variables file if a non-volatile variable changed.
    pub fn save_variables(&mut self) -> std::io::Result<()> {
        self.variables.save()
    }

    /// Text on the firmware console (CRLF line ends).
    fn print(&mut self, text: &str) {
        self.console.write(text.as_bytes());
    }

    fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Guest bytes for the firmware's own structures (boot-services data,
    /// 16-byte aligned, zeroed).
    fn alloc_struct(&mut self, size: u64) -> u64 {
        let size = size.div_ceil(16) * 16;
        if self.heap.next + size > self.heap.end {
            let pages = (size.div_ceil(PAGE)).max(16);
            let base = self
                .map
                .allocate(Placement::Anywhere, kind::BOOT_SERVICES_DATA, pages, PAGE)
                .expect("the firmware's first structures fit in RAM");
            let _ = self.mem.fill(base, pages * PAGE, 0);
            self.heap = Heap {
                next: base,
                end: base + pages * PAGE,
            };
        }
        let at = self.heap.next;
        self.heap.next += size;
        at
    }

    /// Copies `data` into a fresh firmware structure.
    fn alloc_bytes(&mut self, data: &[u8]) -> u64 {
        let at = self.alloc_struct(data.len() as u64);
        self.write_phys(at, data);
        at
    }

    /// Writes a firmware structure (by its physical address).
    fn write_phys(&self, pa: u64, data: &[u8]) {
        // The firmware only writes what it allocated in RAM.
        let _ = self.mem.write(pa, data);
    }

    fn write_phys_u64(&self, pa: u64, v: u64) {
        self.write_phys(pa, &v.to_le_bytes());
    }

    /// A new handle (a unique guest address).
    fn new_handle(&mut self) -> u64 {
        let h = self.alloc_bytes(b"armvm handle\0\0\0\0");
        self.handles.create(h);
        h
    }

    /// A table of function pointers: the trampolines of `services`, after
    /// `prefix` bytes of data.
    fn service_table(&self, prefix: &[u8], services: &[Service]) -> Vec<u8> {
        let mut t = prefix.to_vec();
        for s in services {
            t.extend_from_slice(&(self.addrs.trampolines + s.offset()).to_le_bytes());
        }
        t
    }

    fn trampoline(&self, s: Service) -> u64 {
        self.addrs.trampolines + s.offset()
    }

    /// Installs a firmware-implemented interface on a handle.
    fn install_object(&mut self, handle: u64, guid: Guid, interface: u64, object: Object) {
        self.objects.insert(interface, object);
        let _ = self.handles.install(handle, guid, interface);
    }

    /// The object an interface pointer (`This`) names.
    fn object(&self, this: u64) -> Option<Object> {
        self.objects.get(&this).copied()
    }

    /// Allocates pool memory of `k` and returns its address.
    fn allocate_pool_bytes(&mut self, k: u32, size: u64) -> Result<u64, Status> {
        let pages = size.max(1).div_ceil(PAGE);
        let at = self.map.allocate(Placement::Anywhere, k, pages, PAGE)?;
        self.pools.insert(at, pages);
        Ok(at)
    }
}
