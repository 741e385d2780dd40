//! The built-in UEFI on this board: its disks are the virtio disks' images
//! (shared with the devices, behind the same lock), its console the PL011,
//! its clock the board's, its variables the `--vars` file.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use armvm_devices::clock::Clock;
use armvm_devices::pl011::Pl011;
use armvm_devices::virtio::block::SharedDisk;
use armvm_devices::Locked;
use armvm_firmware::uefi::variables::{VariableStore, VarsError};
use armvm_firmware::uefi::{
    DirectKernel, DiskSlot, FirmwareConsole, FirmwareDisk, Uefi, UefiConfig,
};

use crate::board::{map, Board};

/// A virtio disk's image as the firmware sees it.
struct SharedImage(SharedDisk);

impl FirmwareDisk for SharedImage {
    fn len(&self) -> u64 {
        self.0.locked().size()
    }
    fn read_only(&self) -> bool {
        self.0.locked().read_only()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.0.locked().read_at(buf, offset)
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.0.locked().write_at(data, offset)
    }
    fn flush(&self) -> std::io::Result<()> {
        self.0.locked().flush()
    }
}

/// The firmware's console: the PL011's line, with its FIFO on.
struct Serial(Arc<Mutex<Pl011>>);

impl FirmwareConsole for Serial {
    fn write(&mut self, bytes: &[u8]) {
        self.0.locked().write_host(bytes);
    }
    fn read(&mut self) -> Option<u8> {
        self.0.locked().take_received()
    }
}

/// The disks the firmware boots from: each virtio disk's image and the MMIO
/// base of its slot.
pub struct FirmwareDisks(pub Vec<(SharedDisk, u64)>);

/// Opens `--vars` for the built-in firmware (in memory without it).
pub fn open_variables(path: Option<&PathBuf>) -> Result<VariableStore, VarsError> {
    match path {
        Some(p) => VariableStore::open(p),
        None => Ok(VariableStore::in_memory()),
    }
}

pub fn build(
    board: &Board,
    ram_size: u64,
    dtb: Vec<u8>,
    disks: FirmwareDisks,
    variables: VariableStore,
    direct: Option<DirectKernel>,
) -> Uefi {
    let clock = board.clock.clone();
    let hz = clock.frequency();
    board.uart.locked().enable_fifo();
    Uefi::new(UefiConfig {
        memory: board.memory.clone(),
        ram: (map::RAM_BASE, ram_size),
        dtb,
        disks: disks
            .0
            .into_iter()
            .map(|(disk, mmio_base)| DiskSlot {
                disk: Box::new(SharedImage(disk)),
                mmio_base,
            })
            .collect(),
        variables,
        direct,
        console: Box::new(Serial(board.uart.clone())),
        clock: Box::new(move || (clock.ticks() as u128 * 1_000_000_000 / hz as u128) as u64),
        entropy: Box::new(|buf| {
            use std::io::Read;
            // The host's random source; zeroes only if it cannot be read,
            // which OsEntropy at startup would already have reported.
            if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
                let _ = f.read_exact(buf);
            }
        }),
    })
}
