//! Image services: LoadImage, StartImage, Exit, UnloadImage (UEFI 2.10,
//! 7.4).
//!
//! StartImage saves the caller's registers and enters the image with
//! x0 = ImageHandle, x1 = SystemTable and a return address at the
//! ImageReturn trampoline; returning from the entry point or calling Exit
//! restores the caller's registers with the image's status in x0. Starts
//! nest (firmware, then GRUB or systemd-boot, then the kernel).

use std::collections::HashMap;

use armvm_cpu::state::Regs;

use super::boot::{locate_path, read_device_path};
use super::devpath::DevicePath;
use super::guest::Guest;
use super::guid;
use super::memory::{kind, Placement, PAGE};
use super::pe::{self, PeError};
use super::status::{self, Status};
use super::{fs, Object, Reply, Ret, Uefi};

/// EFI_LOADED_IMAGE_PROTOCOL field offsets.
pub mod li {
    pub const PARENT: u64 = 8;
    pub const SYSTEM_TABLE: u64 = 16;
    pub const DEVICE: u64 = 24;
    pub const FILE_PATH: u64 = 32;
    pub const OPTIONS_SIZE: u64 = 48;
    pub const OPTIONS: u64 = 56;
    pub const BASE: u64 = 64;
    pub const SIZE: u64 = 72;
    pub const CODE_TYPE: u64 = 80;
    pub const DATA_TYPE: u64 = 84;
    pub const LEN: u64 = 96;
}

#[derive(Clone, Debug)]
pub struct Image {
    pub base: u64,
    pub pages: u64,
    pub entry: u64,
    pub subsystem: u16,
    pub loaded_image: u64,
    pub started: bool,
}

struct Frame {
    image: u64,
    saved: Regs,
    exit_size_ptr: u64,
    exit_data_ptr: u64,
}

#[derive(Default)]
pub struct Images {
    images: HashMap<u64, Image>,
    frames: Vec<Frame>,
}

impl Images {
    pub fn is_image(&self, h: u64) -> bool {
        self.images.contains_key(&h)
    }

    pub fn get(&self, h: u64) -> Option<&Image> {
        self.images.get(&h)
    }
}

/// The firmware's own image handle: the parent of what the boot manager
/// loads (it has a LoadedImage but no code of its own).
pub fn install_firmware_image(u: &mut Uefi) {
    let h = u.new_handle();
    let li = loaded_image_struct(u, 0, 0, 0, 0, 0, kind::BOOT_SERVICES_CODE);
    let at = u.alloc_bytes(&li);
    let _ = u.handles.install(h, guid::LOADED_IMAGE, at);
    u.images.images.insert(
        h,
        Image {
            base: 0,
            pages: 0,
            entry: 0,
            subsystem: pe::SUBSYSTEM_BOOT_DRIVER,
            loaded_image: at,
            started: true,
        },
    );
    u.firmware_image = h;
}

fn loaded_image_struct(
    u: &Uefi,
    parent: u64,
    device: u64,
    file_path: u64,
    base: u64,
    size: u64,
    code_type: u32,
) -> Vec<u8> {
    let mut b = vec![0u8; li::LEN as usize];
    let mut put =
        |at: u64, v: u64| b[at as usize..at as usize + 8].copy_from_slice(&v.to_le_bytes());
    // Revision EFI_LOADED_IMAGE_PROTOCOL_REVISION (0x1000).
    put(0, 0x1000);
    put(li::PARENT, parent);
    put(li::SYSTEM_TABLE, u.addrs.system_table);
    put(li::DEVICE, device);
    put(li::FILE_PATH, file_path);
    put(li::BASE, base);
    put(li::SIZE, size);
    let data_type = if code_type == kind::LOADER_CODE {
        kind::LOADER_DATA
    } else {
        kind::BOOT_SERVICES_DATA
    };
    b[li::CODE_TYPE as usize..li::CODE_TYPE as usize + 4].copy_from_slice(&code_type.to_le_bytes());
    b[li::DATA_TYPE as usize..li::DATA_TYPE as usize + 4].copy_from_slice(&data_type.to_le_bytes());
    b
}

/// Why an image did not load: the status LoadImage returns and a sentence
/// for the boot manager's message.
pub type LoadFailure = (Status, String);

/// Loads a PE image into guest memory and gives it a handle with
/// LoadedImage (and LoadedImageDevicePath when `full_path` is known).
pub fn load(
    u: &mut Uefi,
    parent: u64,
    file: &[u8],
    device: u64,
    file_path: &DevicePath,
    full_path: Option<&DevicePath>,
) -> Result<u64, LoadFailure> {
    let mut img = pe::prepare(file).map_err(|e| {
        let s = match e {
            PeError::Malformed(_) => status::LOAD_ERROR,
            PeError::WrongMachine(_) | PeError::NotUefi(_) => status::UNSUPPORTED,
        };
        (s, e.to_string())
    })?;
    let code_type = match img.subsystem {
        pe::SUBSYSTEM_APPLICATION => kind::LOADER_CODE,
        pe::SUBSYSTEM_BOOT_DRIVER => kind::BOOT_SERVICES_CODE,
        _ => {
            return Err((
                status::UNSUPPORTED,
                "runtime drivers are not supported by the built-in firmware".into(),
            ))
        }
    };
    let size = img.bytes.len() as u64;
    let pages = size.div_ceil(PAGE);
    let base = u
        .map
        .allocate(Placement::Anywhere, code_type, pages, img.alignment)
        .map_err(|s| (s, format!("no room for its {size} bytes in guest RAM")))?;
    if let Err(e) = img.relocate(base) {
        let _ = u.map.free(base, pages);
        return Err((status::LOAD_ERROR, e.to_string()));
    }
    u.write_phys(base, &img.bytes);
    if pages * PAGE > size {
        let _ = u.mem.fill(base + size, pages * PAGE - size, 0);
    }
    let path_copy = u.alloc_bytes(&file_path.to_bytes());
    let li = loaded_image_struct(u, parent, device, path_copy, base, size, code_type);
    let li_at = u.alloc_bytes(&li);
    let handle = u.new_handle();
    let _ = u.handles.install(handle, guid::LOADED_IMAGE, li_at);
    let device_path = full_path.map(|p| u.alloc_bytes(&p.to_bytes()));
    if let Some(p) = device_path {
        let _ = u.handles.install(handle, guid::LOADED_IMAGE_DEVICE_PATH, p);
    }
    u.images.images.insert(
        handle,
        Image {
            base,
            pages,
            entry: base + img.entry,
            subsystem: img.subsystem,
            loaded_image: li_at,
            started: false,
        },
    );
    Ok(handle)
}

/// Sets the image's LoadOptions (a copy in boot-services memory).
pub fn set_load_options(u: &mut Uefi, handle: u64, options: &[u8]) {
    let Some(img) = u.images.get(handle) else {
        return;
    };
    let li_at = img.loaded_image;
    let at = u.alloc_bytes(options);
    u.write_phys_u64(li_at + li::OPTIONS, at);
    u.write_phys(
        li_at + li::OPTIONS_SIZE,
        &(options.len() as u32).to_le_bytes(),
    );
}

/// Reads the file a device path names from the file system it lies on:
/// (the file system's handle, the file's bytes).
pub fn read_path(
    u: &Uefi,
    g: &mut Guest,
    path: &DevicePath,
) -> Result<(u64, Vec<u8>), LoadFailure> {
    let Some((handle, nodes)) = locate_path(u, g, &guid::SIMPLE_FILE_SYSTEM, path) else {
        return Err((status::NOT_FOUND, format!("no file system holds {path}")));
    };
    let rest = DevicePath::new(path.nodes[nodes..].to_vec());
    let Some(file) = rest.file_path() else {
        return Err((status::NOT_FOUND, format!("{path} names no file")));
    };
    let fs_index = u
        .handles
        .interface(handle, &guid::SIMPLE_FILE_SYSTEM)
        .and_then(|i| u.object(i))
        .and_then(|o| match o {
            Object::FileSystem(i) => Some(i),
            _ => None,
        })
        .ok_or((status::NOT_FOUND, format!("no file system holds {path}")))?;
    let bytes =
        fs::read_file(u, fs_index, &file).map_err(|(s, why)| (s, format!("{file}: {why}")))?;
    Ok((handle, bytes))
}

pub fn load_image(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (parent, path_ptr, source, source_size, out) =
        (g.arg(1)?, g.arg(2)?, g.arg(3)?, g.arg(4)?, g.arg(5)?);
    if out == 0 || !u.images.is_image(parent) {
        return Err(status::INVALID_PARAMETER);
    }
    let path = if path_ptr == 0 {
        None
    } else {
        Some(read_device_path(g, path_ptr)?)
    };
    let (device, file_path, bytes) = if source != 0 {
        if source_size == 0 {
            return Err(status::LOAD_ERROR);
        }
        let bytes = g.read_vec(source, source_size)?;
        let path = path.clone().unwrap_or_else(|| DevicePath::new(Vec::new()));
        (0, path, bytes)
    } else {
        let path = path.clone().ok_or(status::INVALID_PARAMETER)?;
        let (device, bytes) = read_path(u, g, &path).map_err(|(s, _)| s)?;
        let file_only = match locate_path(u, g, &guid::SIMPLE_FILE_SYSTEM, &path) {
            Some((_, n)) => DevicePath::new(path.nodes[n..].to_vec()),
            None => path.clone(),
        };
        (device, file_only, bytes)
    };
    let handle = load(u, parent, &bytes, device, &file_path, path.as_ref()).map_err(|(s, _)| s)?;
    g.write_u64(out, handle)?;
    Ok(Reply::Status(status::SUCCESS))
}

/// Enters image `handle`; the caller's registers are restored when it
/// returns or exits. `resume_pc` overrides where the caller continues
/// (the boot manager resumes at its own trampoline).
pub fn enter(
    u: &mut Uefi,
    g: &mut Guest,
    handle: u64,
    exit_ptrs: (u64, u64),
    resume_pc: Option<u64>,
) -> Ret {
    let img = u
        .images
        .images
        .get_mut(&handle)
        .ok_or(status::INVALID_PARAMETER)?;
    if img.started {
        return Err(status::INVALID_PARAMETER);
    }
    img.started = true;
    let entry = img.entry;
    let mut saved = g.cpu.regs.clone();
    if let Some(pc) = resume_pc {
        saved.pc = pc;
    }
    u.images.frames.push(Frame {
        image: handle,
        saved,
        exit_size_ptr: exit_ptrs.0,
        exit_data_ptr: exit_ptrs.1,
    });
    let r = &mut g.cpu.regs;
    r.x[0] = handle;
    r.x[1] = u.addrs.system_table;
    r.x[30] = u.addrs.trampolines + super::service::Service::ImageReturn.offset();
    r.pc = entry;
    let sp = r.sp() & !15;
    r.set_sp(sp);
    Ok(Reply::Done)
}

pub fn start_image(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (handle, size_ptr, data_ptr) = (g.arg(0)?, g.arg(1)?, g.arg(2)?);
    enter(u, g, handle, (size_ptr, data_ptr), None)
}

pub fn image_return(u: &mut Uefi, g: &mut Guest) -> Ret {
    let Some(top) = u.images.frames.last() else {
        return Ok(Reply::Halt(
            "an image returned with nothing to return to".into(),
        ));
    };
    let (image, status) = (top.image, g.cpu.regs.x[0]);
    finish(u, g, image, status, 0, 0)
}

pub fn exit(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (handle, status, size, data) = (g.arg(0)?, g.arg(1)?, g.arg(2)?, g.arg(3)?);
    match u.images.frames.last() {
        Some(top) if top.image == handle => finish(u, g, handle, status, size, data),
        _ => match u.images.images.get(&handle) {
            // Exit of a loaded image that never started unloads it.
            Some(img) if !img.started => {
                unload(u, handle);
                Ok(Reply::Status(status::SUCCESS))
            }
            _ => Err(status::INVALID_PARAMETER),
        },
    }
}

/// Returns from image `handle` to whoever started it.
fn finish(u: &mut Uefi, g: &mut Guest, handle: u64, status: Status, size: u64, data: u64) -> Ret {
    let frame = u.images.frames.pop().ok_or(status::INVALID_PARAMETER)?;
    debug_assert_eq!(frame.image, handle);
    g.cpu.regs = frame.saved;
    g.cpu.regs.x[0] = status;
    let _ = g.put_u64(frame.exit_size_ptr, size);
    let _ = g.put_u64(frame.exit_data_ptr, data);
    // Applications go away when they return; drivers that failed too.
    let keep = u.images.get(handle).is_some_and(|i| {
        i.subsystem == pe::SUBSYSTEM_BOOT_DRIVER && status == super::status::SUCCESS
    });
    if !keep {
        unload(u, handle);
    }
    Ok(Reply::Done)
}

fn unload(u: &mut Uefi, handle: u64) {
    if let Some(img) = u.images.images.remove(&handle) {
        if img.pages > 0 {
            let _ = u.map.free(img.base, img.pages);
        }
        u.handles.remove(handle);
    }
}

pub fn unload_image(u: &mut Uefi, g: &mut Guest) -> Ret {
    let handle = g.arg(0)?;
    let img = u.images.get(handle).ok_or(status::INVALID_PARAMETER)?;
    if img.started {
        // A started image would have to unload itself (its Unload function).
        return Err(status::UNSUPPORTED);
    }
    unload(u, handle);
    Ok(Reply::Status(status::SUCCESS))
}
