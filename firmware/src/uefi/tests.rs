//! The services driven as a payload drives them: arguments in registers and
//! guest memory, the status back in x0, on a machine with 64 MiB of RAM, a
//! disk made by `armvm image create`'s builder, a recording console and a
//! clock the test moves.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use armvm_cpu::memory::{BusError, GuestMemory, PhysMemory, Ram};
use armvm_cpu::Cpu;

use super::devpath::{DevicePath, Node};
use super::guest::utf16z;
use super::guid::{self, Guid};
use super::memory::kind;
use super::service::Service;
use super::status;
use super::variables::VariableStore;
use super::*;
use crate::image::create::tests::small_image;
use crate::image::fat::FatKind;

const RAM_BASE: u64 = 0x4000_0000;
const RAM_SIZE: u64 = 64 << 20;

struct Phys(Arc<GuestMemory>);

impl PhysMemory for Phys {
    fn ram_page(&mut self, pa: u64) -> Option<*mut u8> {
        self.0.ram_page(pa)
    }
    fn mmio_read(&mut self, _: usize, pa: u64, _: u8) -> Result<u64, BusError> {
        Err(BusError(pa))
    }
    fn mmio_write(&mut self, _: usize, pa: u64, _: u8, _: u64) -> Result<(), BusError> {
        Err(BusError(pa))
    }
}

struct MemDisk(Arc<Mutex<Vec<u8>>>);

impl FirmwareDisk for MemDisk {
    fn len(&self) -> u64 {
        self.0.lock().unwrap().len() as u64
    }
    fn read_only(&self) -> bool {
        false
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let d = self.0.lock().unwrap();
        let at = offset as usize;
        buf.copy_from_slice(
            d.get(at..at + buf.len())
                .ok_or_else(|| std::io::Error::other("past the end"))?,
        );
        Ok(())
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let mut d = self.0.lock().unwrap();
        let at = offset as usize;
        d.get_mut(at..at + data.len())
            .ok_or_else(|| std::io::Error::other("past the end"))?
            .copy_from_slice(data);
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Clone, Default)]
struct TestConsole {
    output: Arc<Mutex<Vec<u8>>>,
    input: Arc<Mutex<VecDeque<u8>>>,
}

impl FirmwareConsole for TestConsole {
    fn write(&mut self, bytes: &[u8]) {
        self.output.lock().unwrap().extend_from_slice(bytes);
    }
    fn read(&mut self) -> Option<u8> {
        self.input.lock().unwrap().pop_front()
    }
}

struct Machine {
    uefi: Uefi,
    cpu: Cpu,
    mem: Arc<GuestMemory>,
    phys: Phys,
    console: TestConsole,
    disk: Arc<Mutex<Vec<u8>>>,
    now: Arc<AtomicU64>,
}

impl Machine {
    fn new() -> Machine {
        let mem = GuestMemory::new(vec![Ram::new(RAM_BASE, RAM_SIZE).unwrap()]);
        let disk = Arc::new(Mutex::new(small_image(FatKind::Fat16, 8, &[])));
        let console = TestConsole::default();
        let now = Arc::new(AtomicU64::new(0));
        let clock = now.clone();
        let mut uefi = Uefi::new(UefiConfig {
            memory: mem.clone(),
            ram: (RAM_BASE, RAM_SIZE),
            dtb: vec![0xd0, 0x0d, 0xfe, 0xed],
            disks: vec![DiskSlot {
                disk: Box::new(MemDisk(disk.clone())),
                mmio_base: 0x0a00_0000,
            }],
            variables: VariableStore::in_memory(),
            direct: None,
            console: Box::new(console.clone()),
            clock: Box::new(move || clock.load(Ordering::Relaxed)),
            entropy: Box::new(|b| b.fill(0x5a)),
        });
        let mut cpu = Cpu::new(0);
        uefi.install(&mut cpu).unwrap();
        Machine {
            uefi,
            cpu,
            phys: Phys(mem.clone()),
            mem,
            console,
            disk,
            now,
        }
    }

    fn outcome(&mut self, s: Service, args: &[u64]) -> Outcome {
        for (i, a) in args.iter().take(8).enumerate() {
            self.cpu.regs.x[i] = *a;
        }
        let sp = self.cpu.regs.sp();
        for (i, a) in args.iter().skip(8).enumerate() {
            self.mem.write(sp + 8 * i as u64, &a.to_le_bytes()).unwrap();
        }
        // As if called from a trampoline: the PC is past the HVC.
        self.cpu.regs.pc = self.uefi.trampoline(s) + 4;
        let mut g = Guest {
            cpu: &mut self.cpu,
            phys: &mut self.phys,
            mem: &self.mem,
        };
        self.uefi.call(s, &mut g)
    }

    /// Calls a service that returns; its status.
    fn call(&mut self, s: Service, args: &[u64]) -> u64 {
        let out = self.outcome(s, args);
        assert_eq!(out, Outcome::Continue, "{s:?}");
        self.cpu.regs.x[0]
    }

    /// Guest scratch memory (LoaderData pages).
    fn scratch(&mut self, bytes: u64) -> u64 {
        let slot = self.alloc_pages_raw(1);
        assert_eq!(
            self.call(
                Service::AllocatePages,
                &[0, kind::LOADER_DATA as u64, bytes.div_ceil(4096), slot]
            ),
            status::SUCCESS
        );
        self.u64(slot)
    }

    /// A page found without the services (for the first out-pointer).
    fn alloc_pages_raw(&mut self, pages: u64) -> u64 {
        self.uefi
            .map
            .allocate(
                super::memory::Placement::Anywhere,
                kind::LOADER_DATA,
                pages,
                4096,
            )
            .unwrap()
    }

    fn u64(&self, at: u64) -> u64 {
        self.mem.read_u64(at).unwrap()
    }

    fn put(&self, at: u64, data: &[u8]) {
        self.mem.write(at, data).unwrap();
    }

    fn get(&self, at: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.mem.read(at, &mut v).unwrap();
        v
    }

    /// Puts a GUID in guest memory.
    fn guid(&mut self, g: &Guid) -> u64 {
        let at = self.scratch(16);
        self.put(at, &g.0);
        at
    }

    fn handles_with(&mut self, g: &Guid) -> Vec<u64> {
        let gp = self.guid(g);
        let out = self.scratch(16);
        let st = self.call(Service::LocateHandleBuffer, &[2, gp, 0, out, out + 8]);
        if st == status::NOT_FOUND {
            return Vec::new();
        }
        assert_eq!(st, status::SUCCESS);
        let (n, buf) = (self.u64(out), self.u64(out + 8));
        (0..n).map(|i| self.u64(buf + 8 * i)).collect()
    }
}

#[test]
fn system_table_is_sealed_and_points_at_the_services() {
    let m = Machine::new();
    let st = m.uefi.addrs.system_table;
    let hdr = m.get(st, 120);
    assert_eq!(&hdr[0..8], b"IBI SYST");
    let crc = u32::from_le_bytes(hdr[16..20].try_into().unwrap());
    let mut zeroed = hdr.clone();
    zeroed[16..20].fill(0);
    assert_eq!(crc, crc32fast::hash(&zeroed));
    let bs = m.u64(st + 96);
    assert_eq!(&m.get(bs, 8), b"BOOTSERV");
    // BS->AllocatePages (the third function pointer) leads to its trampoline.
    let alloc = m.u64(bs + 24 + 2 * 8);
    let hvc = u32::from_le_bytes(m.get(alloc, 4).try_into().unwrap());
    assert_eq!((hvc >> 5) & 0xffff, u32::from(Service::AllocatePages.imm()));
    // The DTB and the runtime properties are configuration tables.
    let n = m.u64(st + 104);
    let tables = m.u64(st + 112);
    let guids: Vec<Guid> = (0..n)
        .map(|i| Guid::from_bytes(&m.get(tables + 24 * i, 16)).unwrap())
        .collect();
    assert!(guids.contains(&guid::DTB_TABLE));
    assert!(guids.contains(&guid::RT_PROPERTIES_TABLE));
}

#[test]
fn memory_map_allocation_and_exit_boot_services() {
    let mut m = Machine::new();
    let size = m.scratch(4096);
    let map = m.scratch(64 * 1024);
    m.put(size, &0u64.to_le_bytes());
    let (key, dsize, dver) = (size + 8, size + 16, size + 24);
    assert_eq!(
        m.call(Service::GetMemoryMap, &[size, map, key, dsize, dver]),
        status::BUFFER_TOO_SMALL
    );
    let need = m.u64(size);
    assert_eq!(need % 48, 0);
    m.put(size, &(64 * 1024u64).to_le_bytes());
    assert_eq!(
        m.call(Service::GetMemoryMap, &[size, map, key, dsize, dver]),
        status::SUCCESS
    );
    let first_key = m.u64(key);
    // Every descriptor is write-back RAM inside RAM, and they tile it.
    let n = m.u64(size) / 48;
    let mut total = 0;
    for i in 0..n {
        let d = m.get(map + 48 * i, 48);
        let attr = u64::from_le_bytes(d[32..40].try_into().unwrap());
        assert_ne!(attr & 0x8, 0);
        total += u64::from_le_bytes(d[24..32].try_into().unwrap());
    }
    assert_eq!(total * 4096, RAM_SIZE);

    // A fixed address that is taken fails; a free one works.
    let slot = m.scratch(8);
    m.put(slot, &(RAM_BASE + 0x10_0000).to_le_bytes());
    assert_eq!(
        m.call(
            Service::AllocatePages,
            &[2, kind::LOADER_CODE as u64, 16, slot]
        ),
        status::SUCCESS
    );
    assert_eq!(
        m.call(
            Service::AllocatePages,
            &[2, kind::LOADER_CODE as u64, 1, slot]
        ),
        status::NOT_FOUND
    );
    // Freeing part of an allocation, and then a page that is free, fails.
    assert_eq!(
        m.call(Service::FreePages, &[RAM_BASE + 0x10_4000, 4]),
        status::SUCCESS
    );
    assert_eq!(
        m.call(Service::FreePages, &[RAM_BASE + 0x10_4000, 1]),
        status::NOT_FOUND
    );
    // The map changed: the old key no longer ends boot services.
    let image = m.uefi.firmware_image;
    assert_eq!(
        m.call(Service::ExitBootServices, &[image, first_key]),
        status::INVALID_PARAMETER
    );
    m.put(size, &(64 * 1024u64).to_le_bytes());
    m.call(Service::GetMemoryMap, &[size, map, key, dsize, dver]);
    let k = m.u64(key);
    assert_eq!(
        m.call(Service::ExitBootServices, &[image, k]),
        status::SUCCESS
    );
    // Boot services are gone; runtime services stay.
    assert_eq!(
        m.call(Service::AllocatePool, &[kind::LOADER_DATA as u64, 16, slot]),
        status::UNSUPPORTED
    );
    let time = m.alloc_pages_raw(1);
    assert_eq!(m.call(Service::GetTime, &[time, 0]), status::SUCCESS);
    assert!(u16::from_le_bytes(m.get(time, 2).try_into().unwrap()) >= 2024);
}

#[test]
fn variables_round_trip_and_enumerate() {
    let mut m = Machine::new();
    let name = m.scratch(4096);
    m.put(name, &utf16z("ArmvmTest"));
    let g = m.guid(&guid::GLOBAL_VARIABLE);
    let data = m.scratch(64);
    m.put(data, b"hello");
    // NV|BS|RT
    assert_eq!(
        m.call(Service::SetVariable, &[name, g, 7, 5, data]),
        status::SUCCESS
    );
    let out = m.scratch(4096);
    let size = m.scratch(8);
    m.put(size, &2u64.to_le_bytes());
    assert_eq!(
        m.call(Service::GetVariable, &[name, g, 0, size, out]),
        status::BUFFER_TOO_SMALL
    );
    assert_eq!(m.u64(size), 5);
    assert_eq!(
        m.call(Service::GetVariable, &[name, g, out + 100, size, out]),
        status::SUCCESS
    );
    assert_eq!(m.get(out, 5), b"hello");
    assert_eq!(m.get(out + 100, 4), 7u32.to_le_bytes());

    // GetNextVariableName from an empty name visits every variable once
    // and ends with NOT_FOUND.
    let buf = m.scratch(1024);
    let vendor = m.guid(&Guid::default());
    m.put(buf, &[0, 0]);
    let mut seen = Vec::new();
    loop {
        m.put(size, &1024u64.to_le_bytes());
        let st = m.call(Service::GetNextVariableName, &[size, buf, vendor]);
        if st == status::NOT_FOUND {
            break;
        }
        assert_eq!(st, status::SUCCESS);
        let len = m.u64(size) as usize;
        let units: Vec<u16> = m
            .get(buf, len - 2)
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        seen.push(String::from_utf16(&units).unwrap());
        assert!(seen.len() < 100);
    }
    assert!(seen.contains(&"ArmvmTest".to_string()), "{seen:?}");
    assert!(seen.contains(&"PlatformLangCodes".to_string()));
    // Size 0 deletes.
    assert_eq!(
        m.call(Service::SetVariable, &[name, g, 7, 0, 0]),
        status::SUCCESS
    );
    m.put(size, &64u64.to_le_bytes());
    assert_eq!(
        m.call(Service::GetVariable, &[name, g, 0, size, out]),
        status::NOT_FOUND
    );
}

#[test]
fn console_output_tracks_the_cursor_and_input_decodes_keys() {
    let mut m = Machine::new();
    let con_out = m.uefi.text.con_out;
    let s = m.scratch(64);
    m.put(s, &utf16z("ab\r\ncd"));
    assert_eq!(
        m.call(Service::OutputString, &[con_out, s]),
        status::SUCCESS
    );
    let out = String::from_utf8(m.console.output.lock().unwrap().clone()).unwrap();
    assert!(out.ends_with("ab\r\ncd"), "{out:?}");
    // Mode: CursorColumn 2, CursorRow 1.
    let mode = m.u64(con_out + 9 * 8);
    assert_eq!(m.get(mode + 12, 8), [2, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(
        m.call(Service::SetCursorPosition, &[con_out, 80, 0]),
        status::UNSUPPORTED
    );

    let con_in = m.uefi.text.con_in;
    let key = m.scratch(8);
    assert_eq!(
        m.call(Service::ReadKeyStroke, &[con_in, key]),
        status::NOT_READY
    );
    m.console.input.lock().unwrap().extend(b"\x1b[Bx");
    assert_eq!(
        m.call(Service::ReadKeyStroke, &[con_in, key]),
        status::SUCCESS
    );
    assert_eq!(m.get(key, 4), [2, 0, 0, 0]); // SCAN_DOWN
    assert_eq!(
        m.call(Service::ReadKeyStroke, &[con_in, key]),
        status::SUCCESS
    );
    assert_eq!(m.get(key, 4), [0, 0, b'x', 0]);
    // The wrong This is refused.
    assert_eq!(
        m.call(Service::ReadKeyStroke, &[con_out, key]),
        status::INVALID_PARAMETER
    );
}

#[test]
fn timer_events_and_waiting() {
    let mut m = Machine::new();
    let out = m.scratch(16);
    // EVT_TIMER, no notification.
    assert_eq!(
        m.call(Service::CreateEvent, &[0x8000_0000, 0, 0, 0, out]),
        status::SUCCESS
    );
    let e = m.u64(out);
    assert_eq!(m.call(Service::CheckEvent, &[e]), status::NOT_READY);
    // One second, relative (100 ns units).
    assert_eq!(
        m.call(Service::SetTimer, &[e, 2, 10_000_000]),
        status::SUCCESS
    );
    let list = m.scratch(8);
    m.put(list, &e.to_le_bytes());
    // Nothing signalled: the call waits and will be retried.
    assert!(matches!(
        m.outcome(Service::WaitForEvent, &[1, list, out + 8]),
        Outcome::Wait(_)
    ));
    m.now.store(1_000_000_001, Ordering::Relaxed);
    assert_eq!(
        m.call(Service::WaitForEvent, &[1, list, out + 8]),
        status::SUCCESS
    );
    assert_eq!(m.u64(out + 8), 0);
    // The signal was consumed.
    assert_eq!(m.call(Service::CheckEvent, &[e]), status::NOT_READY);
    assert_eq!(m.call(Service::CloseEvent, &[e]), status::SUCCESS);
    assert_eq!(m.call(Service::CheckEvent, &[e]), status::INVALID_PARAMETER);
}

#[test]
fn partitions_have_block_io_and_the_esp_a_file_system() {
    let mut m = Machine::new();
    let blocks = m.handles_with(&guid::BLOCK_IO);
    // The disk and its ESP.
    assert_eq!(blocks.len(), 2);
    let fs = m.handles_with(&guid::SIMPLE_FILE_SYSTEM);
    assert_eq!(fs.len(), 1);

    // The ESP's device path: the disk's, then HD(1,GPT,...).
    let gp = m.guid(&guid::DEVICE_PATH);
    let out = m.scratch(8);
    assert_eq!(
        m.call(Service::HandleProtocol, &[fs[0], gp, out]),
        status::SUCCESS
    );
    let path_at = m.u64(out);
    let bytes = m.get(path_at, 200);
    let (path, _) = DevicePath::parse(&bytes).unwrap();
    assert!(matches!(path.nodes[0], Node::VendorHw { .. }));
    assert!(matches!(
        path.nodes[1],
        Node::HardDrive { partition: 1, .. }
    ));

    // Read the partition's first block through Block I/O: a FAT boot sector.
    let gb = m.guid(&guid::BLOCK_IO);
    m.call(Service::HandleProtocol, &[fs[0], gb, out]);
    let bio = m.u64(out);
    let buf = m.scratch(512);
    assert_eq!(
        m.call(Service::ReadBlocks, &[bio, 0, 0, 512, buf]),
        status::SUCCESS
    );
    assert_eq!(m.get(buf + 510, 2), [0x55, 0xAA]);
    assert_eq!(
        m.call(Service::ReadBlocks, &[bio, 0, 0, 100, buf]),
        status::BAD_BUFFER_SIZE
    );
    assert_eq!(
        m.call(Service::ReadBlocks, &[bio, 0, 1 << 40, 512, buf]),
        status::INVALID_PARAMETER
    );
}

/// Opens `name` below `dir` with `mode`; the new file protocol.
fn open(m: &mut Machine, dir: u64, name: &str, mode: u64) -> Result<u64, u64> {
    let out = m.scratch(8);
    let n = m.scratch(512);
    m.put(n, &utf16z(name));
    match m.call(Service::FileOpen, &[dir, out, n, mode, 0]) {
        status::SUCCESS => Ok(m.u64(out)),
        s => Err(s),
    }
}

fn read_all(m: &mut Machine, file: u64) -> Vec<u8> {
    let size = m.scratch(8);
    let buf = m.scratch(1 << 16);
    m.put(size, &(1u64 << 16).to_le_bytes());
    assert_eq!(
        m.call(Service::FileRead, &[file, size, buf]),
        status::SUCCESS
    );
    let n = m.u64(size) as usize;
    m.get(buf, n)
}

#[test]
fn files_on_the_esp_read_list_and_write() {
    let mut m = Machine::new();
    let fs = m.handles_with(&guid::SIMPLE_FILE_SYSTEM)[0];
    let g = m.guid(&guid::SIMPLE_FILE_SYSTEM);
    let out = m.scratch(8);
    m.call(Service::HandleProtocol, &[fs, g, out]);
    let sfs = m.u64(out);
    assert_eq!(m.call(Service::OpenVolume, &[sfs, out]), status::SUCCESS);
    let root = m.u64(out);

    let cfg = open(&mut m, root, "\\EFI\\debian\\grub.cfg", 1).unwrap();
    assert_eq!(read_all(&mut m, cfg), b"set timeout=0\n");
    // At the end, a read returns nothing.
    assert_eq!(read_all(&mut m, cfg), b"");
    // Relative paths, case-insensitively, and a missing file.
    let efi = open(&mut m, root, "efi", 1).unwrap();
    assert!(open(&mut m, efi, "BOOT\\bootaa64.efi", 1).is_ok());
    assert_eq!(open(&mut m, efi, "nope", 1), Err(status::NOT_FOUND));

    // Directory reads return EFI_FILE_INFO records, then size 0.
    let mut names = Vec::new();
    loop {
        let info = read_all(&mut m, efi);
        if info.is_empty() {
            break;
        }
        let units: Vec<u16> = info[80..]
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        names.push(String::from_utf16(&units).unwrap());
    }
    assert!(names.iter().any(|n| n == "BOOT"), "{names:?}");

    // Create and write a file; it is on the disk afterwards.
    let f = open(&mut m, root, "\\new.txt", 0x8000_0000_0000_0003).unwrap();
    let size = m.scratch(8);
    let data = m.scratch(16);
    m.put(data, b"written by UEFI");
    m.put(size, &15u64.to_le_bytes());
    assert_eq!(
        m.call(Service::FileWrite, &[f, size, data]),
        status::SUCCESS
    );
    assert_eq!(m.call(Service::FileClose, &[f]), status::SUCCESS);
    let f = open(&mut m, root, "new.txt", 1).unwrap();
    assert_eq!(read_all(&mut m, f), b"written by UEFI");
    let disk = m.disk.lock().unwrap().clone();
    let view: &[u8] = &disk;
    let gpt = crate::image::gpt::Gpt::read(&view);
    let (start, len) = gpt.active().unwrap().entries[0].byte_range().unwrap();
    let esp = crate::image::esp::Esp::open(&view, start, len).unwrap();
    assert_eq!(
        esp.read_file(&["new.txt"], 1024).unwrap(),
        b"written by UEFI"
    );
}

#[test]
fn protocols_installed_by_a_payload_are_found_by_device_path() {
    let mut m = Machine::new();
    // systemd-boot's initrd: VenMedia(LINUX_EFI_INITRD_MEDIA)/End with a
    // LoadFile2 of its own.
    let path = DevicePath::new(vec![Node::VendorMedia {
        guid: guid::LINUX_INITRD_MEDIA,
        data: Vec::new(),
    }])
    .to_bytes();
    let dp = m.scratch(64);
    m.put(dp, &path);
    let (gdp, glf) = (m.guid(&guid::DEVICE_PATH), m.guid(&guid::LOAD_FILE2));
    let lookup = m.scratch(16);
    m.put(lookup, &dp.to_le_bytes());
    // Before it is installed: exactly NOT_FOUND (the kernel relies on it).
    assert_eq!(
        m.call(Service::LocateDevicePath, &[glf, lookup, lookup + 8]),
        status::NOT_FOUND
    );
    let handle = m.scratch(8);
    m.put(handle, &0u64.to_le_bytes());
    let loader = 0x1234_5678;
    assert_eq!(
        m.call(
            Service::InstallMultipleProtocolInterfaces,
            &[handle, gdp, dp, glf, loader, 0]
        ),
        status::SUCCESS
    );
    let h = m.u64(handle);
    assert_eq!(
        m.call(Service::LocateDevicePath, &[glf, lookup, lookup + 8]),
        status::SUCCESS
    );
    assert_eq!(m.u64(lookup + 8), h);
    // The remaining path is the End node.
    assert_eq!(m.u64(lookup), dp + 20);
    // The same device path on a second handle: already started.
    let other = m.scratch(8);
    assert_eq!(
        m.call(
            Service::InstallMultipleProtocolInterfaces,
            &[other, gdp, dp, 0]
        ),
        status::ALREADY_STARTED
    );
    // Many pairs: the variadic tail comes from the stack.
    let many: Vec<u64> = std::iter::once(h).chain([0; 9]).collect();
    assert_eq!(
        m.call(Service::UninstallMultipleProtocolInterfaces, &many),
        status::SUCCESS
    );
    assert_eq!(
        m.call(
            Service::UninstallMultipleProtocolInterfaces,
            &[h, gdp, dp, glf, loader, 0]
        ),
        status::SUCCESS
    );
    assert_eq!(
        m.call(Service::LocateDevicePath, &[glf, lookup, lookup + 8]),
        status::NOT_FOUND
    );
}

#[test]
fn images_load_start_and_return() {
    let mut m = Machine::new();
    let pe = crate::image::pe::minimal_image(0xAA64, true, 10);
    let src = m.scratch(pe.len() as u64);
    m.put(src, &pe);
    let out = m.scratch(8);
    let parent = m.uefi.firmware_image;
    assert_eq!(
        m.call(
            Service::LoadImage,
            &[0, parent, 0, src, pe.len() as u64, out]
        ),
        status::SUCCESS
    );
    let image = m.u64(out);
    let gli = m.guid(&guid::LOADED_IMAGE);
    m.call(Service::HandleProtocol, &[image, gli, out]);
    let li = m.u64(out);
    let base = m.u64(li + 64);
    assert_eq!(base % 4096, 0);
    assert_eq!(m.get(base, 2), b"MZ");
    assert_eq!(m.u32_at(li + 80), kind::LOADER_CODE);
    assert_eq!(m.u32_at(li + 84), kind::LOADER_DATA);

    // StartImage enters it with the handle and the system table.
    m.cpu.regs.x[19] = 0xfeed;
    assert_eq!(
        m.outcome(Service::StartImage, &[image, 0, 0]),
        Outcome::Continue
    );
    assert_eq!(m.cpu.regs.x[0], image);
    assert_eq!(m.cpu.regs.x[1], m.uefi.addrs.system_table);
    assert_eq!(m.cpu.regs.x[30], m.uefi.trampoline(Service::ImageReturn));
    // The image clobbers a callee-saved register and returns an error.
    m.cpu.regs.x[19] = 0;
    m.cpu.regs.x[0] = status::ABORTED;
    assert_eq!(
        m.outcome(Service::ImageReturn, &[status::ABORTED]),
        Outcome::Continue
    );
    assert_eq!(m.cpu.regs.x[0], status::ABORTED);
    assert_eq!(m.cpu.regs.x[19], 0xfeed);
    // An application is unloaded when it returns.
    assert_eq!(
        m.call(Service::HandleProtocol, &[image, gli, out]),
        status::INVALID_PARAMETER
    );

    // Not a PE for this machine: UNSUPPORTED; garbage: LOAD_ERROR.
    let x86 = crate::image::pe::minimal_image(0x8664, true, 10);
    m.put(src, &x86);
    assert_eq!(
        m.call(
            Service::LoadImage,
            &[0, parent, 0, src, x86.len() as u64, out]
        ),
        status::UNSUPPORTED
    );
    m.put(src, b"MZ garbage");
    assert_eq!(
        m.call(Service::LoadImage, &[0, parent, 0, src, 10, out]),
        status::LOAD_ERROR
    );
}

impl Machine {
    fn u32_at(&self, at: u64) -> u32 {
        u32::from_le_bytes(self.get(at, 4).try_into().unwrap())
    }
}

/// Every service with wild arguments: a status (or a wait), never a panic or
/// an access outside guest RAM.
#[test]
fn wild_arguments_never_panic() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..40 {
        let mut m = Machine::new();
        for s in Service::ALL {
            // These change the vCPU's whole state by design.
            if matches!(
                s,
                Service::BootManager | Service::ImageReturn | Service::CpuException
            ) {
                continue;
            }
            let args: Vec<u64> = (0..10)
                .map(|i| match (next() >> 60) % 4 {
                    0 => 0,
                    1 => next(),
                    2 => RAM_BASE + next() % RAM_SIZE,
                    _ => (i + round) as u64,
                })
                .collect();
            let _ = m.outcome(*s, &args);
        }
    }
}

#[test]
fn notification_functions_run_when_their_event_is_signalled() {
    let mut m = Machine::new();
    let out = m.scratch(16);
    let (notify, context) = (0x4123_4000, 0xc0de);
    // EVT_TIMER | EVT_NOTIFY_SIGNAL at TPL_CALLBACK.
    assert_eq!(
        m.call(
            Service::CreateEvent,
            &[0x8000_0200, 8, notify, context, out]
        ),
        status::SUCCESS
    );
    let e = m.u64(out);
    // CheckEvent is not for notify-signal events.
    assert_eq!(m.call(Service::CheckEvent, &[e]), status::INVALID_PARAMETER);
    // 100 microseconds (in 100 ns units).
    assert_eq!(m.call(Service::SetTimer, &[e, 2, 1000]), status::SUCCESS);
    // Once it has expired, the next service's return runs the function.
    m.now.store(100_000, Ordering::Relaxed);
    let count = out + 8;
    m.outcome(Service::GetNextMonotonicCount, &[count]);
    let back = m.uefi.trampoline(Service::GetNextMonotonicCount) + 4;
    assert_eq!(m.cpu.regs.pc, notify);
    assert_eq!((m.cpu.regs.x[0], m.cpu.regs.x[1]), (e, context));
    assert_eq!(m.cpu.regs.x[30], m.uefi.trampoline(Service::NotifyReturn));
    assert_eq!(m.uefi.tpl, 8);
    // It returns: the interrupted caller continues with its status.
    assert_eq!(m.outcome(Service::NotifyReturn, &[]), Outcome::Continue);
    assert_eq!(m.cpu.regs.pc, back);
    assert_eq!(m.cpu.regs.x[0], status::SUCCESS);
    assert_eq!(m.uefi.tpl, super::events::TPL_APPLICATION);
    // Once only (a relative timer).
    m.outcome(Service::GetNextMonotonicCount, &[count]);
    assert_eq!(m.cpu.regs.pc, back);

    // Raised to TPL_NOTIFY, a SignalEvent waits for RestoreTPL.
    m.call(Service::RaiseTpl, &[16]);
    assert_eq!(m.call(Service::SignalEvent, &[e]), status::SUCCESS);
    assert_eq!(m.cpu.regs.pc, m.uefi.trampoline(Service::SignalEvent) + 4);
    m.outcome(Service::RestoreTpl, &[4]);
    assert_eq!(m.cpu.regs.pc, notify);
}

#[test]
fn exit_boot_services_notifies_its_group_and_nothing_else() {
    let mut m = Machine::new();
    let out = m.scratch(16);
    // EVT_SIGNAL_EXIT_BOOT_SERVICES, and a plain notify-signal timer.
    m.call(Service::CreateEvent, &[0x201, 8, 0x4100_0000, 1, out]);
    m.call(
        Service::CreateEvent,
        &[0x8000_0200, 8, 0x4200_0000, 2, out + 8],
    );
    let timer = m.u64(out + 8);
    m.call(Service::SetTimer, &[timer, 1, 10]);
    let size = m.scratch(8);
    let map = m.scratch(64 * 1024);
    m.put(size, &(64 * 1024u64).to_le_bytes());
    m.call(Service::GetMemoryMap, &[size, map, out, out + 8, 0]);
    let key = m.u64(out);
    let image = m.uefi.firmware_image;
    m.now.store(10_000_000, Ordering::Relaxed);
    m.outcome(Service::ExitBootServices, &[image, key]);
    assert_eq!(m.cpu.regs.pc, 0x4100_0000, "the group's function runs");
    m.outcome(Service::NotifyReturn, &[]);
    assert_eq!(m.cpu.regs.x[0], status::SUCCESS);
    assert_eq!(
        m.cpu.regs.pc,
        m.uefi.trampoline(Service::ExitBootServices) + 4,
        "the timer's function does not run after ExitBootServices"
    );
}

#[test]
fn set_virtual_address_map_moves_the_tables_and_convert_pointer_follows() {
    let mut m = Machine::new();
    let size = m.scratch(8);
    let map = m.scratch(64 * 1024);
    let out = m.scratch(16);
    m.put(size, &(64 * 1024u64).to_le_bytes());
    m.call(Service::GetMemoryMap, &[size, map, out, out + 8, 0]);
    let key = m.u64(out);
    let len = m.u64(size);
    // Not before ExitBootServices.
    assert_eq!(
        m.call(Service::SetVirtualAddressMap, &[len, 48, 1, map]),
        status::UNSUPPORTED
    );
    let image = m.uefi.firmware_image;
    assert_eq!(
        m.call(Service::ExitBootServices, &[image, key]),
        status::SUCCESS
    );
    // The OS moves every runtime region up by a fixed offset.
    const OFFSET: u64 = 0xffff_8000_0000_0000;
    for i in 0..len / 48 {
        let d = map + 48 * i;
        let attr = m.u64(d + 32);
        if attr & (1 << 63) != 0 {
            let phys = m.u64(d + 8);
            m.put(d + 16, &(phys + OFFSET).to_le_bytes());
        }
    }
    assert_eq!(
        m.call(Service::SetVirtualAddressMap, &[len, 48, 1, map]),
        status::SUCCESS
    );
    let st = m.uefi.addrs.system_table;
    let rt_va = m.u64(st + 88);
    assert_eq!(rt_va, m.uefi.addrs.runtime_services + OFFSET);
    // RT->GetTime is the moved trampoline; the tables are still sealed.
    let rt = m.get(m.uefi.addrs.runtime_services, 136);
    let get_time = u64::from_le_bytes(rt[24..32].try_into().unwrap());
    assert_eq!(get_time, m.uefi.trampoline(Service::GetTime) + OFFSET);
    let mut zeroed = rt.clone();
    zeroed[16..20].fill(0);
    assert_eq!(
        u32::from_le_bytes(rt[16..20].try_into().unwrap()),
        crc32fast::hash(&zeroed)
    );
    // ConvertPointer: runtime addresses move, others are not found.
    let ptr = m.alloc_pages_raw(1);
    m.put(ptr, &st.to_le_bytes());
    assert_eq!(m.call(Service::ConvertPointer, &[0, ptr]), status::SUCCESS);
    assert_eq!(m.u64(ptr), st + OFFSET);
    m.put(ptr, &RAM_BASE.to_le_bytes());
    assert_eq!(
        m.call(Service::ConvertPointer, &[0, ptr]),
        status::NOT_FOUND
    );
    // Only once.
    assert_eq!(
        m.call(Service::SetVirtualAddressMap, &[len, 48, 1, map]),
        status::UNSUPPORTED
    );
}
