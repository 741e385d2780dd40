//! The firmware's fixed structures in guest memory: trampolines, the system
//! table and the service tables (runtime memory, 64 KiB-aligned), the
//! configuration table array, the boot stack, the exception vectors and the
//! identity map the payloads start with.

use armvm_cpu::state::{DAIF_A, DAIF_D, DAIF_F, DAIF_I};
use armvm_cpu::sysreg::sctlr;
use armvm_cpu::Cpu;

use super::guest::{utf16z, Guest};
use super::guid::{self, Guid};
use super::memory::{kind, Placement, PAGE, RUNTIME_ALIGN};
use super::service::{self, Service};
use super::{Uefi, UefiError, CONFIG_TABLE_CAPACITY};

const SYSTEM_TABLE_SIGNATURE: u64 = 0x5453_5953_2049_4249; // "IBI SYST"
const BOOT_SERVICES_SIGNATURE: u64 = 0x5652_4553_544F_4F42; // "BOOTSERV"
const RUNTIME_SERVICES_SIGNATURE: u64 = 0x5652_4553_544E_5552; // "RUNTSERV"
/// UEFI 2.70, as the EDK2 of Debian 12 reports.
pub const REVISION: u32 = (2 << 16) | 70;
pub const FIRMWARE_VENDOR: &str = "armvm";
pub const FIRMWARE_REVISION: u32 = 0x0001_0000;
const SYSTEM_TABLE_SIZE: u32 = 120;
/// Offsets in EFI_SYSTEM_TABLE.
pub mod st {
    pub const CON_IN_HANDLE: u64 = 40;
    pub const CON_IN: u64 = 48;
    pub const CON_OUT_HANDLE: u64 = 56;
    pub const CON_OUT: u64 = 64;
    pub const STDERR_HANDLE: u64 = 72;
    pub const STDERR: u64 = 80;
    pub const NUMBER_OF_TABLES: u64 = 104;
}
const BOOT_STACK: u64 = 1 << 20;

/// EFI_RT_PROPERTIES_TABLE bits of what works after ExitBootServices.
const RT_SUPPORTED: u32 = 0x1 // GetTime
    | 0x2 // SetTime
    | 0x10 // GetVariable
    | 0x20 // GetNextVariableName
    | 0x40 // SetVariable
    | 0x200 // GetNextHighMonotonicCount
    | 0x400 // ResetSystem
    | 0x2000; // QueryVariableInfo

/// EFI_TABLE_HEADER with its CRC32 over `size` bytes of `table`.
fn seal(table: &mut [u8], signature: u64, size: u32) {
    table[0..8].copy_from_slice(&signature.to_le_bytes());
    table[8..12].copy_from_slice(&REVISION.to_le_bytes());
    table[12..16].copy_from_slice(&size.to_le_bytes());
    table[16..20].fill(0);
    let crc = crc32fast::hash(&table[..size as usize]);
    table[16..20].copy_from_slice(&crc.to_le_bytes());
}

pub fn install(u: &mut Uefi) -> Result<(), UefiError> {
    let too_small = UefiError::TooLittleMemory(u.ram.1 >> 20);
    let granule = RUNTIME_ALIGN / PAGE;
    let code = u
        .map
        .allocate(
            Placement::Anywhere,
            kind::RUNTIME_SERVICES_CODE,
            granule,
            RUNTIME_ALIGN,
        )
        .map_err(|_| too_small)?;
    u.write_phys(code, &service::trampolines());
    u.addrs.trampolines = code;

    let data = u
        .map
        .allocate(
            Placement::Anywhere,
            kind::RUNTIME_SERVICES_DATA,
            granule,
            RUNTIME_ALIGN,
        )
        .map_err(|_| UefiError::TooLittleMemory(u.ram.1 >> 20))?;
    let _ = u.mem.fill(data, RUNTIME_ALIGN, 0);
    u.addrs.system_table = data;
    u.addrs.runtime_services = data + 0x100;
    u.addrs.vendor = data + 0x200;
    u.addrs.config_table = data + 0x1000;
    u.write_phys(u.addrs.vendor, &utf16z(FIRMWARE_VENDOR));

    let rt: Vec<Service> = service::in_range(service::RUNTIME_SERVICES).collect();
    let mut table = u.service_table(&[0; 24], &rt);
    let size = table.len() as u32;
    seal(&mut table, RUNTIME_SERVICES_SIGNATURE, size);
    u.write_phys(u.addrs.runtime_services, &table);

    let bs: Vec<Service> = service::in_range(service::BOOT_SERVICES).collect();
    let mut table = u.service_table(&[0; 24], &bs);
    let size = table.len() as u32;
    seal(&mut table, BOOT_SERVICES_SIGNATURE, size);
    u.addrs.boot_services = u.alloc_bytes(&table);

    let stack = u
        .map
        .allocate(
            Placement::Anywhere,
            kind::BOOT_SERVICES_DATA,
            BOOT_STACK / PAGE,
            PAGE,
        )
        .map_err(|_| UefiError::TooLittleMemory(u.ram.1 >> 20))?;
    u.addrs.stack_top = stack + BOOT_STACK;
    write_system_table(u);
    Ok(())
}

/// After SetVirtualAddressMap: the runtime services table's functions and
/// the system table's pointers at their new addresses (the code region
/// moved to `code_va`, the data region — system table, runtime table,
/// vendor string, configuration tables — to `data_va`).
pub fn enter_virtual_mode(u: &mut Uefi, code_va: u64, data_va: u64) {
    let data = u.addrs.system_table;
    let moved = |pa: u64| pa - data + data_va;
    let rt: Vec<Service> = service::in_range(service::RUNTIME_SERVICES).collect();
    let mut table = vec![0u8; 24];
    for s in &rt {
        table.extend_from_slice(&(code_va + s.offset()).to_le_bytes());
    }
    let size = table.len() as u32;
    seal(&mut table, RUNTIME_SERVICES_SIGNATURE, size);
    u.write_phys(u.addrs.runtime_services, &table);
    let mut st = vec![0u8; SYSTEM_TABLE_SIZE as usize];
    let _ = u.mem.read(data, &mut st);
    let put = |t: &mut Vec<u8>, at: usize, v: u64| t[at..at + 8].copy_from_slice(&v.to_le_bytes());
    put(&mut st, 24, moved(u.addrs.vendor));
    put(&mut st, 88, moved(u.addrs.runtime_services));
    put(&mut st, 112, moved(u.addrs.config_table));
    // The console and boot services are gone.
    for at in [40, 48, 56, 64, 72, 80, 96] {
        put(&mut st, at, 0);
    }
    seal(&mut st, SYSTEM_TABLE_SIGNATURE, SYSTEM_TABLE_SIZE);
    u.write_phys(data, &st);
}

/// Rewrites EFI_SYSTEM_TABLE from the firmware's state (after a change of
/// the console handles or the configuration tables).
pub fn write_system_table(u: &mut Uefi) {
    let mut t = vec![0u8; SYSTEM_TABLE_SIZE as usize];
    let put = |t: &mut Vec<u8>, at: u64, v: u64| {
        t[at as usize..at as usize + 8].copy_from_slice(&v.to_le_bytes())
    };
    put(&mut t, 24, u.addrs.vendor);
    t[32..36].copy_from_slice(&FIRMWARE_REVISION.to_le_bytes());
    let h = u.console_handle;
    let (con_in, con_out) = (u.text.con_in, u.text.con_out);
    put(&mut t, st::CON_IN_HANDLE, h);
    put(&mut t, st::CON_IN, con_in);
    put(&mut t, st::CON_OUT_HANDLE, h);
    put(&mut t, st::CON_OUT, con_out);
    put(&mut t, st::STDERR_HANDLE, h);
    put(&mut t, st::STDERR, con_out);
    put(&mut t, 88, u.addrs.runtime_services);
    put(&mut t, 96, u.addrs.boot_services);
    put(&mut t, st::NUMBER_OF_TABLES, u.config_tables.len() as u64);
    put(&mut t, 112, u.addrs.config_table);
    seal(&mut t, SYSTEM_TABLE_SIGNATURE, SYSTEM_TABLE_SIZE);
    u.write_phys(u.addrs.system_table, &t);
}

/// Adds, replaces (same GUID) or with `table` 0 removes a configuration
/// table; false when removing one that is not there or the array is full.
pub fn set_config_table(u: &mut Uefi, guid: Guid, table: u64) -> bool {
    let at = u.config_tables.iter().position(|(g, _)| *g == guid);
    match (at, table) {
        (Some(i), 0) => {
            u.config_tables.remove(i);
        }
        (None, 0) => return false,
        (Some(i), t) => u.config_tables[i].1 = t,
        (None, _) if u.config_tables.len() >= CONFIG_TABLE_CAPACITY => return false,
        (None, t) => u.config_tables.push((guid, t)),
    }
    let mut array = Vec::with_capacity(CONFIG_TABLE_CAPACITY * 24);
    for (g, t) in &u.config_tables {
        array.extend_from_slice(&g.0);
        array.extend_from_slice(&t.to_le_bytes());
    }
    u.write_phys(u.addrs.config_table, &array);
    write_system_table(u);
    true
}

/// The device tree (EBBR: EFI_DTB_TABLE in ACPI reclaim memory, so that the
/// OS keeps it) and the runtime properties table.
pub fn install_config_tables(u: &mut Uefi) {
    let pages = (u.dtb.len() as u64).div_ceil(PAGE).max(1);
    if let Ok(at) = u
        .map
        .allocate(Placement::Anywhere, kind::ACPI_RECLAIM, pages, PAGE)
    {
        let dtb = std::mem::take(&mut u.dtb);
        u.write_phys(at, &dtb);
        u.dtb = dtb;
        set_config_table(u, guid::DTB_TABLE, at);
    }
    // EFI_RT_PROPERTIES_TABLE: Version 1, Length 8, what is supported.
    let mut props = Vec::new();
    props.extend_from_slice(&1u16.to_le_bytes());
    props.extend_from_slice(&8u16.to_le_bytes());
    props.extend_from_slice(&RT_SUPPORTED.to_le_bytes());
    let at = u.addrs.system_table + 0x300;
    u.write_phys(at, &props);
    set_config_table(u, guid::RT_PROPERTIES_TABLE, at);
}

/// MAIR_EL1: attribute 0 Device-nGnRnE, attribute 1 Normal write-back.
const MAIR: u64 = 0xFF << 8;
/// TCR_EL1: 48-bit VAs through TTBR0 with 4 KiB pages, write-back inner
/// shareable walks, TTBR1 walks off, 40-bit physical addresses.
const TCR: u64 = 16 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (2 << 32);
const BLOCK: u64 = 0b01;
const TABLE: u64 = 0b11;
const AF: u64 = 1 << 10;
const INNER_SHAREABLE: u64 = 3 << 8;
const NORMAL: u64 = 1 << 2;
const EXECUTE_NEVER: u64 = (1 << 53) | (1 << 54);

/// Builds the identity map and the exception vectors, and sets the vCPU up to
/// run the boot manager.
pub fn enter_firmware(u: &mut Uefi, cpu: &mut Cpu) {
    let tables = u
        .map
        .allocate(Placement::Anywhere, kind::BOOT_SERVICES_DATA, 2, PAGE)
        .expect("two pages after the firmware's structures");
    let (l0, l1) = (tables, tables + PAGE);
    let mut level1 = vec![0u8; PAGE as usize];
    let ram_end = u.ram.0 + u.ram.1;
    for i in 0..512u64 {
        let base = i << 30;
        let entry = if i == 0 {
            // Flash and devices.
            base | BLOCK | AF | EXECUTE_NEVER
        } else if base < ram_end && base + (1 << 30) > u.ram.0 {
            base | BLOCK | AF | INNER_SHAREABLE | NORMAL
        } else {
            continue;
        };
        level1[i as usize * 8..i as usize * 8 + 8].copy_from_slice(&entry.to_le_bytes());
    }
    let mut level0 = vec![0u8; PAGE as usize];
    level0[..8].copy_from_slice(&(l1 | TABLE).to_le_bytes());
    u.write_phys(l0, &level0);
    u.write_phys(l1, &level1);

    // Sixteen vectors, each a trap to the host that reports the exception.
    let vectors = u
        .map
        .allocate(Placement::Anywhere, kind::BOOT_SERVICES_CODE, 1, PAGE)
        .expect("a page for the vectors");
    let hvc = 0xD400_0002u32 | (u32::from(Service::CpuException.imm()) << 5);
    let branch_to_self = 0x1400_0000u32;
    let mut table = vec![0u8; 0x800];
    for v in 0..16 {
        table[v * 0x80..v * 0x80 + 4].copy_from_slice(&hvc.to_le_bytes());
        table[v * 0x80 + 4..v * 0x80 + 8].copy_from_slice(&branch_to_self.to_le_bytes());
    }
    u.write_phys(vectors, &table);

    let r = &mut cpu.regs;
    r.el = 1;
    r.sp_sel = 1;
    r.daif = DAIF_D | DAIF_A | DAIF_I | DAIF_F;
    r.pc = u.trampoline(Service::BootManager);
    r.x = [0; 32];
    r.set_sp(u.addrs.stack_top);
    let s = &mut cpu.sys;
    s.mair = MAIR;
    s.tcr = TCR;
    s.ttbr0 = l0;
    s.ttbr1 = 0;
    s.vbar = vectors;
    // FP/SIMD on (CPACR_EL1.FPEN), MMU and caches on.
    s.cpacr = 3 << 20;
    s.sctlr = sctlr::RES1 | sctlr::M | sctlr::C | sctlr::I | sctlr::SA;
    cpu.flush_tlb();
}

/// A crash report for an exception taken into the firmware's vectors.
pub fn describe_exception(g: &mut Guest) -> String {
    let s = &g.cpu.sys;
    format!(
        "a UEFI payload took an unexpected exception: ESR_EL1={:#010x} ELR_EL1={:#x} FAR_EL1={:#x}",
        s.esr, s.elr, s.far
    )
}
