//! Command-line interface.

use std::path::PathBuf;

use armvm_devices::gic::GicVersion;
use armvm_firmware::image::guid::Uuid;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(name = "armvm", version, about = "A full-system ARM (AArch64) emulator", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once
pub enum Command {
    /// Boot a machine: load a kernel or bare-metal program and run it.
    Run(RunArgs),
    /// Make, describe and check portable disk images (a GPT disk whose FAT32 EFI
    /// System Partition holds \EFI\BOOT\BOOTAA64.EFI, as the ARM VM System
    /// Specification describes).
    Image(ImageArgs),
}

#[derive(Args, Debug)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// Write a raw GPT disk image: a FAT32 EFI System Partition holding the boot
    /// program at the removable-media path, then any --partition images.
    Create(ImageCreateArgs),
    /// Describe an image: protective MBR, both GPT headers, partitions, ESP files.
    Inspect(ImageInspectArgs),
    /// Check an image against the specification's rules (exit status 0 when all
    /// pass, 1 when one fails, 2 when the image cannot be read).
    Check(ImageCheckArgs),
}

#[derive(Args, Debug)]
pub struct ImageCreateArgs {
    /// The image file to write (replaced if it exists).
    #[arg(value_name = "OUT")]
    pub out: PathBuf,

    /// The boot program (a UEFI application, e.g. grubaa64.efi), stored as
    /// \EFI\BOOT\BOOTAA64.EFI (BOOTARM.EFI with --arch arm).
    #[arg(long, value_name = "FILE")]
    pub efi: PathBuf,

    /// Also put host file SRC at DEST in the ESP (e.g. grub.cfg:EFI/debian/grub.cfg;
    /// a DEST ending in / keeps SRC's name). Repeatable.
    #[arg(long = "file", value_name = "SRC:DEST", value_parser = parse_esp_file)]
    pub files: Vec<(PathBuf, String)>,

    /// Copy host directory SRC (recursively) to DEST in the ESP (/ for its root).
    /// Repeatable.
    #[arg(long = "dir", value_name = "SRC:DEST", value_parser = parse_esp_dir)]
    pub dirs: Vec<(PathBuf, String)>,

    /// Size of the whole image (default: what the partitions need, plus 1 MiB at
    /// each end for the GPT).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub size: Option<u64>,

    /// Size of the EFI System Partition (FAT32 needs at least 33M).
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub esp_size: u64,

    /// The boot program's architecture: which removable-media name, PE format and
    /// machine type it must have.
    #[arg(long, value_enum, default_value = "aarch64")]
    pub arch: ImageArch,

    /// Add a partition holding FILE (a file system image, e.g. made by mke2fs),
    /// after the ESP, on a 1 MiB boundary. TYPE: linux (default), root-arm64,
    /// root-arm, usr-arm64, swap, home, srv, var, xbootldr, ... or a type GUID.
    /// Repeatable.
    #[arg(long = "partition", value_name = "FILE[:TYPE]", value_parser = parse_partition_arg)]
    pub partitions: Vec<(PathBuf, Uuid)>,

    /// Make the image reproducible: disk and partition GUIDs and the FAT volume ID
    /// derived from N, file times fixed at 2020-01-01.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

#[derive(Args, Debug)]
pub struct ImageInspectArgs {
    /// The image file.
    #[arg(value_name = "IMG")]
    pub image: PathBuf,
}

#[derive(Args, Debug)]
pub struct ImageCheckArgs {
    /// The image file.
    #[arg(value_name = "IMG")]
    pub image: PathBuf,

    /// Which boot program to require (default: BOOTAA64.EFI if present, else
    /// BOOTARM.EFI).
    #[arg(long, value_enum)]
    pub arch: Option<ImageArch>,
}

/// `armvm image --arch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ImageArch {
    /// AArch64: BOOTAA64.EFI, PE32+, machine 0xAA64
    Aarch64,
    /// AArch32: BOOTARM.EFI, PE32, machine 0x01C2
    Arm,
}

impl ImageArch {
    pub fn arch(self) -> armvm_firmware::image::Arch {
        match self {
            ImageArch::Aarch64 => armvm_firmware::image::Arch::Aarch64,
            ImageArch::Arm => armvm_firmware::image::Arch::Arm,
        }
    }
}

fn parse_esp_file(s: &str) -> Result<(PathBuf, String), String> {
    armvm_firmware::image::create::parse_src_dest(s, false)
}

fn parse_esp_dir(s: &str) -> Result<(PathBuf, String), String> {
    armvm_firmware::image::create::parse_src_dest(s, true)
}

fn parse_partition_arg(s: &str) -> Result<(PathBuf, Uuid), String> {
    armvm_firmware::image::create::parse_partition(s)
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Kernel or program to run: an arm64 Linux Image (optionally gzip-compressed),
    /// an AArch64 ELF file (loaded at its physical addresses, started at its entry
    /// point) or, with --load-addr, a raw image.
    #[arg(long, value_name = "FILE")]
    pub kernel: Option<PathBuf>,

    /// Firmware to boot instead of a kernel: an AArch64 UEFI (EDK2's
    /// QEMU_EFI.fd or AAVMF_CODE.fd) or U-Boot image, placed in the flash at
    /// address 0 where the vCPU starts, as QEMU's -bios does.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["kernel", "load_addr"])]
    pub bios: Option<PathBuf>,

    /// The firmware's variable store for this VM, created on first use.
    /// With the built-in UEFI: armvm's own variables file, written atomically
    /// whenever the guest changes a non-volatile variable. With --bios: the
    /// second flash bank (e.g. a copy of AAVMF_VARS.fd), written back when
    /// armvm stops if the firmware changed it. Without it, variables last for
    /// one run.
    #[arg(long, value_name = "FILE")]
    pub vars: Option<PathBuf>,

    /// Which firmware boots the machine: `uefi`, armvm's built-in UEFI (it
    /// boots the disks' EFI System Partitions, or with --kernel the kernel's
    /// EFI stub with --initrd and --append, as QEMU with EDK2 does); `none`,
    /// the kernel started directly (Linux boot protocol); `auto` (default),
    /// `none` with --kernel, `uefi` without.
    #[arg(long, value_enum, default_value = "auto", conflicts_with = "bios")]
    pub firmware: FirmwareArg,

    /// Initial ramdisk for a Linux kernel.
    #[arg(long, value_name = "FILE")]
    pub initrd: Option<PathBuf>,

    /// Load a raw (non-ELF) image at this physical address and start there.
    #[arg(long, value_name = "ADDR", value_parser = parse_u64)]
    pub load_addr: Option<u64>,

    /// Guest RAM size, e.g. 128M, 1G (RAM starts at 0x40000000).
    #[arg(short = 'm', long, value_name = "SIZE", default_value = "128M", value_parser = parse_size)]
    pub memory: u64,

    /// Kernel command line (FDT /chosen/bootargs; the EFI stub's LoadOptions
    /// under --firmware uefi; semihosting SYS_GET_CMDLINE).
    #[arg(long, value_name = "STRING", default_value = "")]
    pub append: String,

    /// Number of vCPUs (started through PSCI CPU_ON, except the first).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub smp: usize,

    /// CPU model: the identification registers and caches guests see
    /// (cortex-a72: a real core with everything armvm implements of ARMv8.0;
    /// max: also LSE atomics, with no real core's MIDR).
    #[arg(long, value_enum, default_value = "cortex-a72")]
    pub cpu: CpuArg,

    /// Execution engine: jit translates hot guest code into host code (x86-64
    /// hosts; the default there), interp interprets everything (the default
    /// elsewhere, and the reference the JIT is tested against).
    #[arg(long, value_enum, default_value_t = EngineArg::default_for_host())]
    pub engine: EngineArg,

    /// Size of the JIT's code cache, e.g. 64M (emptied as a whole when full).
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub jit_cache_size: u64,

    /// Print execution statistics on exit (instructions retired, exceptions,
    /// the JIT's blocks and code cache) to standard error.
    #[arg(long)]
    pub stats: bool,

    /// Interrupt controller: GICv2 (up to 8 vCPUs) or GICv3.
    #[arg(long, value_enum, default_value = "2")]
    pub gic: GicArg,

    /// Instruction the guest uses to call PSCI firmware.
    #[arg(long, value_enum, default_value = "hvc")]
    pub psci_conduit: PsciConduit,

    /// Where the PL011 UART goes: stdio, file:PATH, or none.
    #[arg(long, value_name = "TARGET", default_value = "stdio")]
    pub serial: crate::console::SerialTarget,

    /// A virtio block device (QEMU: -drive if=none,... -device virtio-blk-device):
    /// FILE[,format=raw|qcow2][,readonly=on][,cache=writeback|none|unsafe][,serial=STR].
    /// Repeatable; the first is /dev/vda in Linux.
    #[arg(long = "disk", value_name = "FILE[,OPTION...]")]
    pub disks: Vec<armvm_devices::virtio::block::DiskOptions>,

    /// A virtio network card (QEMU: -nic): user[,hostfwd=tcp:HOSTADDR:PORT-:PORT]...
    /// [,net=10.0.2.0/24][,mac=52:54:00:12:34:56] for user-mode networking
    /// (libslirp: DHCP, DNS, NAT, port forwarding; no privileges), or
    /// tap,ifname=NAME[,mac=...] for a host tap interface. Repeatable.
    #[arg(long = "net", value_name = "user|tap[,OPTION...]")]
    pub nets: Vec<armvm_devices::virtio::net::NetOptions>,

    /// A virtio console, hvc0 in Linux (QEMU: -device virtconsole): stdio,
    /// file:PATH, socket:PATH (a Unix socket armvm listens on) or none.
    #[arg(long, value_name = "TARGET")]
    pub console: Option<crate::console::ConsoleTarget>,

    /// Leave out the virtio entropy device (present by default; the guest's
    /// /dev/hwrng reads the host's random source).
    #[arg(long)]
    pub no_rng: bool,

    /// Attach a virtio memory balloon that asks the guest to give SIZE of its
    /// RAM back to the host (default 0: the device only). QEMU: -device
    /// virtio-balloon-device, then `balloon` in the monitor.
    #[arg(long, value_name = "SIZE", num_args = 0..=1, default_missing_value = "0", value_parser = parse_size_or_zero)]
    pub balloon: Option<u64>,

    /// The virtio devices in command-line order (filled in from the parsed
    /// matches by [`Cli::parse_in_order`]); the slots follow it.
    #[arg(skip)]
    pub device_order: Vec<DeviceKind>,

    /// Listen on a Unix socket at PATH for monitor commands (`balloon SIZE`,
    /// `info balloon`, `quit`; QEMU: -monitor unix:PATH,server).
    #[arg(long, value_name = "PATH")]
    pub monitor: Option<PathBuf>,

    /// Exit (status 3) instead of restarting when the guest asks for a reset.
    #[arg(long)]
    pub no_reboot: bool,

    /// Write the generated device tree blob to FILE and exit.
    #[arg(long, value_name = "FILE")]
    pub dump_dtb: Option<PathBuf>,

    /// Give the guest this device tree blob instead of the generated one.
    #[arg(long, value_name = "FILE")]
    pub dtb: Option<PathBuf>,

    /// Enable ARM semihosting (HLT #0xF000): console I/O, time and exit status.
    #[arg(long)]
    pub semihosting: bool,

    /// Write one line per executed instruction to FILE: vCPU, EL, PC, disassembly,
    /// registers written; then a summary of exceptions taken.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// Stop tracing after N instructions (the guest keeps running).
    #[arg(long, value_name = "N")]
    pub trace_limit: Option<u64>,

    /// Trace only instructions whose PC is in START..END (hex or decimal).
    #[arg(long, value_name = "START..END", value_parser = parse_range)]
    pub trace_range: Option<(u64, u64)>,

    // ---- Debugger (src/gdb)
    /// Accept a gdb connection on ADDR: HOST:PORT, or a PORT on 127.0.0.1
    /// (default 127.0.0.1:1234; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = crate::gdb::DEFAULT_ADDR)]
    pub gdb: Option<String>,

    /// Shorthand for --gdb 127.0.0.1:1234.
    #[arg(short = 's')]
    pub gdb_default: bool,

    /// Stop before the first instruction until gdb continues (listens on
    /// 127.0.0.1:1234 unless --gdb says otherwise).
    #[arg(short = 'S')]
    pub gdb_stop: bool,
}

/// A virtio device option, for the slot order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// The nth `--disk`.
    Disk(usize),
    /// The nth `--net`.
    Net(usize),
    Console,
    Balloon,
}

impl Cli {
    /// Parses the command line, also recording the order in which virtio
    /// devices were given (clap's derive keeps each option's values apart).
    pub fn parse_in_order() -> Cli {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Cli::command().get_matches();
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        if let (Command::Run(run), Some(("run", m))) = (&mut cli.command, matches.subcommand()) {
            run.device_order = device_order(m);
        }
        cli
    }
}

/// The virtio options of `m` sorted by their position on the command line.
fn device_order(m: &clap::ArgMatches) -> Vec<DeviceKind> {
    let positions =
        |id: &str| -> Vec<usize> { m.indices_of(id).map(|i| i.collect()).unwrap_or_default() };
    let mut order: Vec<(usize, DeviceKind)> = Vec::new();
    order.extend(
        positions("disks")
            .into_iter()
            .enumerate()
            .map(|(n, at)| (at, DeviceKind::Disk(n))),
    );
    order.extend(
        positions("nets")
            .into_iter()
            .enumerate()
            .map(|(n, at)| (at, DeviceKind::Net(n))),
    );
    order.extend(
        positions("console")
            .first()
            .map(|&at| (at, DeviceKind::Console)),
    );
    // --balloon may come without a value: its position is still recorded.
    order.extend(
        positions("balloon")
            .first()
            .map(|&at| (at, DeviceKind::Balloon)),
    );
    order.sort_by_key(|&(at, _)| at);
    order.into_iter().map(|(_, k)| k).collect()
}

/// `--cpu`: the CPU model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CpuArg {
    /// Cortex-A57 (r1p3): ARMv8.0 with the cryptographic extension
    CortexA57,
    /// Cortex-A72 (r0p3): ARMv8.0 with the cryptographic extension
    CortexA72,
    /// Everything armvm implements (adds LSE atomics)
    Max,
}

impl CpuArg {
    pub fn model(self) -> armvm_cpu::model::Model {
        use armvm_cpu::model::Model;
        match self {
            CpuArg::CortexA57 => Model::CortexA57,
            CpuArg::CortexA72 => Model::CortexA72,
            CpuArg::Max => Model::Max,
        }
    }
}

/// `--engine`: how guest code is executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// Translate hot blocks into x86-64 code (falls back to interp elsewhere)
    Jit,
    /// Interpret every instruction
    Interp,
}

impl EngineArg {
    pub fn default_for_host() -> EngineArg {
        if cfg!(target_arch = "x86_64") {
            EngineArg::Jit
        } else {
            EngineArg::Interp
        }
    }
}

/// `--gic`: the interrupt controller's architecture version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GicArg {
    /// GICv2 (memory-mapped CPU interface, up to 8 vCPUs)
    #[value(name = "2")]
    V2,
    /// GICv3 (system-register CPU interface, redistributors)
    #[value(name = "3")]
    V3,
}

impl GicArg {
    pub fn version(self) -> GicVersion {
        match self {
            GicArg::V2 => GicVersion::V2,
            GicArg::V3 => GicVersion::V3,
        }
    }
}

/// `--firmware`: what starts the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FirmwareArg {
    Auto,
    Uefi,
    None,
}

/// `--psci-conduit`: the instruction that calls PSCI firmware.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PsciConduit {
    Hvc,
    Smc,
}

impl PsciConduit {
    /// The FDT `method` property.
    pub fn name(self) -> &'static str {
        match self {
            PsciConduit::Hvc => "hvc",
            PsciConduit::Smc => "smc",
        }
    }
}

/// Parses decimal or 0x-prefixed hexadecimal.
pub fn parse_u64(s: &str) -> Result<u64, String> {
    let s = s.trim().replace('_', "");
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("'{s}' is not a number"))
}

/// Parses a size with an optional K/M/G/T suffix (powers of 1024). A bare number
/// is in MiB, as with QEMU's -m.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        Some('T') => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1 << 20),
    };
    let n = parse_u64(num)?;
    n.checked_mul(mult)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("'{s}' is not a valid size"))
}

/// A size as for [`parse_size`], or 0.
fn parse_size_or_zero(s: &str) -> Result<u64, String> {
    if s.trim() == "0" {
        return Ok(0);
    }
    parse_size(s)
}

fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s.split_once("..").ok_or("expected START..END")?;
    let (a, b) = (parse_u64(a)?, parse_u64(b)?);
    if a >= b {
        return Err("START must be below END".into());
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_keep_their_command_line_order() {
        use clap::{CommandFactory, FromArgMatches};
        let argv = [
            "armvm",
            "run",
            "--kernel",
            "k",
            "--net",
            "user",
            "--disk",
            "a.img",
            "--balloon",
            "--console",
            "none",
            "--disk",
            "b.img",
            "--net",
            "user",
        ];
        let matches = Cli::command().get_matches_from(argv);
        let Some(("run", m)) = matches.subcommand() else {
            panic!()
        };
        assert_eq!(
            device_order(m),
            vec![
                DeviceKind::Net(0),
                DeviceKind::Disk(0),
                DeviceKind::Balloon,
                DeviceKind::Console,
                DeviceKind::Disk(1),
                DeviceKind::Net(1),
            ]
        );
        assert!(Cli::from_arg_matches(&matches).is_ok());
    }

    #[test]
    fn sizes_and_numbers() {
        assert_eq!(parse_size("128M"), Ok(128 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("512"), Ok(512 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert_eq!(parse_u64("0x4000_0000"), Ok(0x4000_0000));
        assert_eq!(parse_range("0x10..0x20"), Ok((0x10, 0x20)));
        assert!(parse_range("0x20..0x10").is_err());
    }
}
