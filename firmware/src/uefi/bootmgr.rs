//! The boot manager (UEFI 2.10, 3.1-3.5): BootNext (deleted before its one
//! try), then BootOrder's Boot#### options, then the removable-media path
//! `\EFI\BOOT\BOOTAA64.EFI` on each disk's EFI System Partition, in disk
//! order. A failed option prints why and the next one is tried; an image
//! that returns hands control back here.
//!
//! It runs as a service: the vCPU starts at the BootManager trampoline, and
//! every image it starts returns to that trampoline.

use std::collections::VecDeque;

use super::devpath::{DevicePath, Node};
use super::guest::{utf16z, Guest};
use super::guid;
use super::image;
use super::load_option::{self, LoadOption};
use super::service::Service;
use super::status;
use super::variables::{ATTR_BOOTSERVICE_ACCESS, ATTR_RUNTIME_ACCESS};
use super::{Reply, Ret, Uefi};

pub const REMOVABLE_PATH: &str = "\\EFI\\BOOT\\BOOTAA64.EFI";

enum Target {
    Direct,
    Option(u16),
    Removable(usize),
}

#[derive(Default)]
pub struct BootState {
    queue: Option<VecDeque<Target>>,
    /// The option running now, for the message when it returns.
    current: Option<String>,
}

/// The firmware's own variables and image handle.
pub fn install_defaults(u: &mut Uefi) {
    image::install_firmware_image(u);
    let volatile = ATTR_BOOTSERVICE_ACCESS | ATTR_RUNTIME_ACCESS;
    let g = guid::GLOBAL_VARIABLE;
    u.variables
        .set_firmware("PlatformLangCodes", &g, volatile, b"en-US\0");
    // No OS indications: no "boot into firmware setup" to offer.
    u.variables
        .set_firmware("OsIndicationsSupported", &g, volatile, &0u64.to_le_bytes());
    u.variables
        .set_firmware("BootOptionSupport", &g, volatile, &0u32.to_le_bytes());
}

fn u16_var(u: &Uefi, name: &str) -> Option<Vec<u16>> {
    let v = u.variables.get_str(name, &guid::GLOBAL_VARIABLE)?;
    load_option::parse_u16_list(&v.data).ok()
}

fn build_queue(u: &mut Uefi) -> VecDeque<Target> {
    let mut q = VecDeque::new();
    if u.direct.is_some() {
        q.push_back(Target::Direct);
        return q;
    }
    if let Some(next) = u16_var(u, "BootNext") {
        u.variables
            .delete_firmware("BootNext", &guid::GLOBAL_VARIABLE);
        let _ = u.variables.save();
        if let Some(&n) = next.first() {
            q.push_back(Target::Option(n));
        }
    }
    for n in u16_var(u, "BootOrder").unwrap_or_default() {
        q.push_back(Target::Option(n));
    }
    // Removable media: each disk's ESP first, then its other FAT partitions.
    for disk in 0..u.disks.len() {
        let mut devs: Vec<(bool, usize)> = u
            .blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.disk == disk)
            .filter_map(|(i, b)| {
                let p = b.partition.as_ref()?;
                p.fat.then_some((p.kind != guid::ESP_TYPE, i))
            })
            .collect();
        devs.sort();
        if devs.is_empty() {
            let why = if u
                .blocks
                .iter()
                .any(|b| b.disk == disk && b.partition.is_some())
            {
                "no FAT EFI System Partition"
            } else {
                "no valid GPT partition table"
            };
            let msg = format!("armvm: disk {}: {why}\r\n", disk + 1);
            u.print(&msg);
        }
        q.extend(devs.into_iter().map(|(_, i)| Target::Removable(i)));
    }
    q
}

/// The BootManager service: reports how the last option ended and starts the
/// next one.
pub fn next(u: &mut Uefi, g: &mut Guest) -> Ret {
    if let Some(label) = u.boot.current.take() {
        let s = g.cpu.regs.x[0];
        u.print(&format!("armvm: {label} returned: {}\r\n", status::name(s)));
        u.variables
            .delete_firmware("BootCurrent", &guid::GLOBAL_VARIABLE);
    }
    if u.boot.queue.is_none() {
        u.boot.queue = Some(build_queue(u));
    }
    loop {
        let Some(target) = u.boot.queue.as_mut().and_then(|q| q.pop_front()) else {
            // The board reports it (on stderr) and stops.
            let hint = if u.disks.is_empty() {
                " (the machine has no disk: give --disk IMAGE, or --kernel FILE)"
            } else {
                ""
            };
            return Ok(Reply::Halt(format!(
                "no bootable option or device was found{hint}"
            )));
        };
        let label = label(u, &target);
        match try_boot(u, g, &target) {
            Ok((handle, options, number)) => {
                image::set_load_options(u, handle, &options);
                if let Some(n) = number {
                    u.variables.set_firmware(
                        "BootCurrent",
                        &guid::GLOBAL_VARIABLE,
                        ATTR_BOOTSERVICE_ACCESS | ATTR_RUNTIME_ACCESS,
                        &n.to_le_bytes(),
                    );
                }
                u.boot.current = Some(label);
                // The spec's watchdog: five minutes for the boot option,
                // which a loader that needs longer disables or extends.
                u.watchdog = Some(u.now().saturating_add(300_000_000_000));
                let sp = u.addrs.stack_top;
                g.cpu.regs.set_sp(sp);
                let here = u.trampoline(Service::BootManager);
                return image::enter(u, g, handle, (0, 0), Some(here));
            }
            Err(why) => u.print(&format!("armvm: {label}: {why}\r\n")),
        }
    }
}

fn label(u: &Uefi, t: &Target) -> String {
    match t {
        Target::Direct => "the kernel".into(),
        Target::Option(n) => {
            let name = load_option::option_name("Boot", *n);
            match u
                .variables
                .get_str(&name, &guid::GLOBAL_VARIABLE)
                .and_then(|v| LoadOption::parse(&v.data).ok())
            {
                Some(o) => format!("{name} \"{}\"", o.description),
                None => name,
            }
        }
        Target::Removable(i) => {
            let b = &u.blocks[*i];
            let n = b.partition.as_ref().map_or(0, |p| p.number);
            format!("{REMOVABLE_PATH} on disk {} partition {n}", b.disk + 1)
        }
    }
}

/// Loads the target's image: (its handle, LoadOptions, Boot#### number).
fn try_boot(
    u: &mut Uefi,
    g: &mut Guest,
    t: &Target,
) -> Result<(u64, Vec<u8>, Option<u16>), String> {
    match t {
        Target::Direct => {
            let direct = u.direct.as_ref().ok_or("no kernel")?;
            let kernel = direct.kernel.clone();
            let options = if direct.cmdline.is_empty() {
                Vec::new()
            } else {
                utf16z(&direct.cmdline)
            };
            let path = DevicePath::new(vec![Node::FilePath("\\kernel".into())]);
            let parent = u.firmware_image;
            let h =
                image::load(u, parent, &kernel, 0, &path, Some(&path)).map_err(|(_, why)| why)?;
            Ok((h, options, None))
        }
        Target::Removable(i) => {
            let full = u.blocks[*i].path.join(&DevicePath::new(vec![Node::FilePath(
                REMOVABLE_PATH.into(),
            )]));
            let h = load_path(u, g, &full)?;
            Ok((h, Vec::new(), None))
        }
        Target::Option(n) => {
            let name = load_option::option_name("Boot", *n);
            let var = u
                .variables
                .get_str(&name, &guid::GLOBAL_VARIABLE)
                .ok_or("the variable does not exist")?;
            let option = LoadOption::parse(&var.data).map_err(|e| format!("malformed: {e}"))?;
            if !option.is_active() {
                return Err("the option is not active".into());
            }
            let path = option
                .paths
                .first()
                .ok_or("the option has no device path")?;
            let full = expand(u, g, path)?;
            let h = load_path(u, g, &full)?;
            Ok((h, option.optional_data.clone(), Some(*n)))
        }
    }
}

/// A complete device path for a boot option's: short-form HardDrive paths
/// get their disk's path in front, file-only paths the first file system
/// that has the file, and a path without a file the removable-media file.
fn expand(u: &mut Uefi, g: &mut Guest, path: &DevicePath) -> Result<DevicePath, String> {
    let full = match path.nodes.first() {
        Some(Node::HardDrive { signature, .. }) => {
            let dev = u
                .blocks
                .iter()
                .find(|b| {
                    b.partition
                        .as_ref()
                        .is_some_and(|p| p.unique.0 == *signature)
                })
                .ok_or_else(|| format!("no disk has the partition of {path}"))?;
            dev.path.join(&DevicePath::new(path.nodes[1..].to_vec()))
        }
        Some(Node::FilePath(_)) => {
            let file = path.file_path().unwrap_or_default();
            let found = u
                .blocks
                .iter()
                .filter(|b| b.partition.as_ref().is_some_and(|p| p.fat))
                .map(|b| b.path.join(path))
                .find(|p| image::read_path(u, g, p).is_ok());
            found.ok_or_else(|| format!("no file system has {file}"))?
        }
        _ => path.clone(),
    };
    if full.file_path().is_none() {
        return Ok(full.join(&DevicePath::new(vec![Node::FilePath(
            REMOVABLE_PATH.into(),
        )])));
    }
    Ok(full)
}

fn load_path(u: &mut Uefi, g: &mut Guest, full: &DevicePath) -> Result<u64, String> {
    let (device, bytes) = image::read_path(u, g, full).map_err(|(_, why)| why)?;
    let file_only = DevicePath::new(full.nodes[full.without_files().nodes.len()..].to_vec());
    let parent = u.firmware_image;
    image::load(u, parent, &bytes, device, &file_only, Some(full)).map_err(|(_, why)| why)
}
