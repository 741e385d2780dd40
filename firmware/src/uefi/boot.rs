//! Boot services: memory, protocol handlers, configuration tables,
//! ExitBootServices and small helpers (UEFI 2.10, chapter 7), and the small
//! protocols with no state of their own (RNG, the initrd's LoadFile2,
//! device-path-to-text).

use super::devpath::{self, DevicePath};
use super::guest::{utf16z, Guest};
use super::guid::{self, Guid};
use super::handles::{OPEN_BY_HANDLE_PROTOCOL, OPEN_TEST_PROTOCOL};
use super::memory::{kind, MemoryMap, Placement, DESCRIPTOR_SIZE, DESCRIPTOR_VERSION, PAGE};
use super::service::Service;
use super::status::{self, Status};
use super::{events, tables, Object, Reply, Ret, Uefi};

fn ok() -> Ret {
    Ok(Reply::Status(status::SUCCESS))
}

/// Device paths longer than this are refused (a guest bug or an attack).
const MAX_DEVICE_PATH: usize = 64 * 1024;
/// Variadic argument lists longer than this are refused.
const MAX_VARIADIC_PAIRS: usize = 64;

pub fn allocate_pages(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (how, k, pages, addr_ptr) = (g.arg(0)?, g.arg(1)? as u32, g.arg(2)?, g.arg(3)?);
    if addr_ptr == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let place = match how {
        0 => Placement::Anywhere,
        1 => Placement::Below(g.read_u64(addr_ptr)?),
        2 => Placement::At(g.read_u64(addr_ptr)?),
        _ => return Err(status::INVALID_PARAMETER),
    };
    let at = u.map.allocate(place, k, pages, PAGE)?;
    g.write_u64(addr_ptr, at)?;
    ok()
}

pub fn free_pages(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (addr, pages) = (g.arg(0)?, g.arg(1)?);
    u.map.free(addr, pages)?;
    ok()
}

pub fn get_memory_map(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (size_ptr, buf, key_ptr, desc_size_ptr, version_ptr) =
        (g.arg(0)?, g.arg(1)?, g.arg(2)?, g.arg(3)?, g.arg(4)?);
    if size_ptr == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let map = u.map.descriptors();
    let room = g.read_u64(size_ptr)?;
    g.write_u64(size_ptr, map.len() as u64)?;
    g.put_u64(desc_size_ptr, DESCRIPTOR_SIZE)?;
    if version_ptr != 0 {
        g.write_u32(version_ptr, DESCRIPTOR_VERSION)?;
    }
    if room < map.len() as u64 {
        return Err(status::BUFFER_TOO_SMALL);
    }
    if buf == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    g.write(buf, &map)?;
    g.put_u64(key_ptr, u.map.key())?;
    ok()
}

pub fn allocate_pool(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (k, size, out) = (g.arg(0)? as u32, g.arg(1)?, g.arg(2)?);
    if out == 0 || !MemoryMap::valid_kind(k) {
        return Err(status::INVALID_PARAMETER);
    }
    let at = u.allocate_pool_bytes(k, size)?;
    g.write_u64(out, at)?;
    ok()
}

pub fn free_pool(u: &mut Uefi, g: &mut Guest) -> Ret {
    let at = g.arg(0)?;
    let pages = u.pools.remove(&at).ok_or(status::INVALID_PARAMETER)?;
    u.map.free(at, pages)?;
    ok()
}

pub fn install_protocol_interface(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (handle_ptr, guid_ptr, interface_type, interface) =
        (g.arg(0)?, g.arg(1)?, g.arg(2)?, g.arg(3)?);
    if handle_ptr == 0 || interface_type != 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let guid = g.read_guid(guid_ptr)?;
    let mut handle = g.read_u64(handle_ptr)?;
    install_pairs(u, g, &mut handle, &[(guid, interface)])?;
    g.write_u64(handle_ptr, handle)?;
    ok()
}

/// Installs every (protocol, interface) on `*handle` (a new handle when 0),
/// all or nothing.
fn install_pairs(
    u: &mut Uefi,
    g: &mut Guest,
    handle: &mut u64,
    pairs: &[(Guid, u64)],
) -> Result<(), Status> {
    if *handle != 0 && !u.handles.exists(*handle) {
        return Err(status::INVALID_PARAMETER);
    }
    // A device path already present on another handle means the device is
    // there already (UEFI: EFI_ALREADY_STARTED).
    for (guid, interface) in pairs {
        if *guid == guid::DEVICE_PATH {
            let path = read_device_path(g, *interface)?;
            let taken = u
                .handles
                .with_protocol(Some(&guid::DEVICE_PATH))
                .into_iter()
                .filter(|h| *h != *handle)
                .any(|h| handle_path(u, g, h).as_ref() == Some(&path));
            if taken {
                return Err(status::ALREADY_STARTED);
            }
        }
    }
    let created = *handle == 0;
    if created {
        *handle = u.new_handle();
    }
    for (i, (guid, interface)) in pairs.iter().enumerate() {
        if let Err(e) = u.handles.install(*handle, *guid, *interface) {
            for (guid, interface) in &pairs[..i] {
                let _ = u.handles.uninstall(*handle, guid, *interface);
            }
            if created {
                u.handles.remove(*handle);
            }
            return Err(e);
        }
    }
    Ok(())
}

pub fn reinstall_protocol_interface(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (handle, guid_ptr, old, new) = (g.arg(0)?, g.arg(1)?, g.arg(2)?, g.arg(3)?);
    let guid = g.read_guid(guid_ptr)?;
    u.handles.reinstall(handle, &guid, old, new)?;
    ok()
}

pub fn uninstall_protocol_interface(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (handle, guid_ptr, interface) = (g.arg(0)?, g.arg(1)?, g.arg(2)?);
    let guid = g.read_guid(guid_ptr)?;
    u.handles.uninstall(handle, &guid, interface)?;
    ok()
}

/// The (GUID, interface) pairs of a variadic call, from argument `first` to
/// the NULL that ends them.
fn variadic_pairs(g: &mut Guest, first: usize) -> Result<Vec<(Guid, u64)>, Status> {
    let mut pairs = Vec::new();
    let mut n = first;
    loop {
        let guid_ptr = g.arg(n)?;
        if guid_ptr == 0 {
            return Ok(pairs);
        }
        if pairs.len() >= MAX_VARIADIC_PAIRS {
            return Err(status::INVALID_PARAMETER);
        }
        pairs.push((g.read_guid(guid_ptr)?, g.arg(n + 1)?));
        n += 2;
    }
}

pub fn install_multiple(u: &mut Uefi, g: &mut Guest) -> Ret {
    let handle_ptr = g.arg(0)?;
    if handle_ptr == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let pairs = variadic_pairs(g, 1)?;
    let mut handle = g.read_u64(handle_ptr)?;
    install_pairs(u, g, &mut handle, &pairs)?;
    g.write_u64(handle_ptr, handle)?;
    ok()
}

pub fn uninstall_multiple(u: &mut Uefi, g: &mut Guest) -> Ret {
    let handle = g.arg(0)?;
    let pairs = variadic_pairs(g, 1)?;
    let present = pairs
        .iter()
        .all(|(guid, i)| u.handles.interface(handle, guid) == Some(*i));
    if !present {
        return Err(status::INVALID_PARAMETER);
    }
    for (guid, i) in &pairs {
        u.handles.uninstall(handle, guid, *i)?;
    }
    ok()
}

pub fn handle_protocol(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (handle, guid_ptr, out) = (g.arg(0)?, g.arg(1)?, g.arg(2)?);
    open(u, g, handle, guid_ptr, out, 0, 0, OPEN_BY_HANDLE_PROTOCOL)
}

pub fn open_protocol(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (handle, guid_ptr, out) = (g.arg(0)?, g.arg(1)?, g.arg(2)?);
    let (agent, controller, attrs) = (g.arg(3)?, g.arg(4)?, g.arg(5)? as u32);
    open(u, g, handle, guid_ptr, out, agent, controller, attrs)
}

#[allow(clippy::too_many_arguments)]
fn open(
    u: &mut Uefi,
    g: &mut Guest,
    handle: u64,
    guid_ptr: u64,
    out: u64,
    agent: u64,
    controller: u64,
    attrs: u32,
) -> Ret {
    let guid = g.read_guid(guid_ptr)?;
    if out == 0 && attrs != OPEN_TEST_PROTOCOL {
        return Err(status::INVALID_PARAMETER);
    }
    if !u.handles.exists(handle) {
        return Err(status::INVALID_PARAMETER);
    }
    match u.handles.interface(handle, &guid) {
        Some(i) => {
            if attrs != OPEN_TEST_PROTOCOL {
                g.write_u64(out, i)?;
            }
            u.handles
                .record_open(handle, &guid, agent, controller, attrs);
            ok()
        }
        None => {
            if out != 0 && attrs != OPEN_TEST_PROTOCOL {
                g.write_u64(out, 0)?;
            }
            Err(status::UNSUPPORTED)
        }
    }
}

pub fn close_protocol(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (handle, guid_ptr, agent, controller) = (g.arg(0)?, g.arg(1)?, g.arg(2)?, g.arg(3)?);
    let guid = g.read_guid(guid_ptr)?;
    u.handles.close(handle, &guid, agent, controller)?;
    ok()
}

pub fn open_protocol_information(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (handle, guid_ptr, buf_ptr, count_ptr) = (g.arg(0)?, g.arg(1)?, g.arg(2)?, g.arg(3)?);
    let guid = g.read_guid(guid_ptr)?;
    if buf_ptr == 0 || count_ptr == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let opens = u.handles.opens(handle, &guid).ok_or(status::NOT_FOUND)?;
    let mut bytes = Vec::with_capacity(opens.len() * 24);
    for o in &opens {
        bytes.extend_from_slice(&o.agent.to_le_bytes());
        bytes.extend_from_slice(&o.controller.to_le_bytes());
        bytes.extend_from_slice(&o.attributes.to_le_bytes());
        bytes.extend_from_slice(&o.count.to_le_bytes());
    }
    let at = u.allocate_pool_bytes(kind::BOOT_SERVICES_DATA, bytes.len() as u64)?;
    g.write(at, &bytes)?;
    g.write_u64(buf_ptr, at)?;
    g.write_u64(count_ptr, opens.len() as u64)?;
    ok()
}

pub fn protocols_per_handle(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (handle, buf_ptr, count_ptr) = (g.arg(0)?, g.arg(1)?, g.arg(2)?);
    if buf_ptr == 0 || count_ptr == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let guids: Vec<Guid> = u
        .handles
        .get(handle)
        .ok_or(status::INVALID_PARAMETER)?
        .protocols
        .iter()
        .map(|p| p.guid)
        .collect();
    // The pointer array, then the GUIDs it points at, in one pool buffer
    // (the caller frees the array; the GUIDs go with it).
    let n = guids.len() as u64;
    let at = u.allocate_pool_bytes(kind::BOOT_SERVICES_DATA, n * 24)?;
    let mut bytes = Vec::with_capacity(n as usize * 24);
    for i in 0..n {
        bytes.extend_from_slice(&(at + 8 * n + 16 * i).to_le_bytes());
    }
    for guid in &guids {
        bytes.extend_from_slice(&guid.0);
    }
    g.write(at, &bytes)?;
    g.write_u64(buf_ptr, at)?;
    g.write_u64(count_ptr, n)?;
    ok()
}

/// The handles a LocateHandle search selects.
fn search(u: &Uefi, g: &mut Guest, search_type: u64, guid_ptr: u64) -> Result<Vec<u64>, Status> {
    let found = match search_type {
        0 => u.handles.with_protocol(None),
        // ByRegisterNotify: this firmware never reports new handles.
        1 => Vec::new(),
        2 => {
            let guid = g.read_guid(guid_ptr)?;
            u.handles.with_protocol(Some(&guid))
        }
        _ => return Err(status::INVALID_PARAMETER),
    };
    if found.is_empty() {
        return Err(status::NOT_FOUND);
    }
    Ok(found)
}

pub fn locate_handle(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (search_type, guid_ptr, size_ptr, buf) = (g.arg(0)?, g.arg(1)?, g.arg(3)?, g.arg(4)?);
    if size_ptr == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let found = search(u, g, search_type, guid_ptr)?;
    let room = g.read_u64(size_ptr)?;
    let need = found.len() as u64 * 8;
    g.write_u64(size_ptr, need)?;
    if room < need {
        return Err(status::BUFFER_TOO_SMALL);
    }
    if buf == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let bytes: Vec<u8> = found.iter().flat_map(|h| h.to_le_bytes()).collect();
    g.write(buf, &bytes)?;
    ok()
}

pub fn locate_handle_buffer(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (search_type, guid_ptr, count_ptr, buf_ptr) = (g.arg(0)?, g.arg(1)?, g.arg(3)?, g.arg(4)?);
    if count_ptr == 0 || buf_ptr == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let found = search(u, g, search_type, guid_ptr)?;
    let bytes: Vec<u8> = found.iter().flat_map(|h| h.to_le_bytes()).collect();
    let at = u.allocate_pool_bytes(kind::BOOT_SERVICES_DATA, bytes.len() as u64)?;
    g.write(at, &bytes)?;
    g.write_u64(count_ptr, found.len() as u64)?;
    g.write_u64(buf_ptr, at)?;
    ok()
}

pub fn locate_protocol(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (guid_ptr, out) = (g.arg(0)?, g.arg(2)?);
    if out == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let guid = g.read_guid(guid_ptr)?;
    let found = u
        .handles
        .with_protocol(Some(&guid))
        .first()
        .and_then(|h| u.handles.interface(*h, &guid));
    match found {
        Some(i) => {
            g.write_u64(out, i)?;
            ok()
        }
        None => {
            g.write_u64(out, 0)?;
            Err(status::NOT_FOUND)
        }
    }
}

pub fn register_protocol_notify(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (guid_ptr, event, out) = (g.arg(0)?, g.arg(1)?, g.arg(2)?);
    g.read_guid(guid_ptr)?;
    if out == 0 || !u.events.events.contains_key(&event) {
        return Err(status::INVALID_PARAMETER);
    }
    // A token only: no protocol is ever installed later by the firmware.
    let token = u.alloc_bytes(b"armvm notify\0\0\0\0");
    g.write_u64(out, token)?;
    ok()
}

/// Reads the device path at `va` (bounded) and parses it.
pub fn read_device_path(g: &mut Guest, va: u64) -> Result<DevicePath, Status> {
    if va == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let mut read = |off: u64, buf: &mut [u8]| g.read(va + off, buf).is_ok();
    let len =
        devpath::measure(&mut read, MAX_DEVICE_PATH).map_err(|_| status::INVALID_PARAMETER)?;
    let bytes = g.read_vec(va, len as u64)?;
    DevicePath::parse(&bytes)
        .map(|(p, _)| p)
        .map_err(|_| status::INVALID_PARAMETER)
}

/// The device path installed on handle `h`, if it has a valid one.
pub fn handle_path(u: &Uefi, g: &mut Guest, h: u64) -> Option<DevicePath> {
    let at = u.handles.interface(h, &guid::DEVICE_PATH)?;
    read_device_path(g, at).ok()
}

/// LocateDevicePath's search: the handle with `protocol` whose device path
/// is the longest prefix of `path`, and how many nodes it matched.
pub fn locate_path(
    u: &Uefi,
    g: &mut Guest,
    protocol: &Guid,
    path: &DevicePath,
) -> Option<(u64, usize)> {
    let mut best: Option<(u64, usize)> = None;
    for h in u.handles.with_protocol(Some(protocol)) {
        let Some(hp) = handle_path(u, g, h) else {
            continue;
        };
        if path.starts_with(&hp) && best.is_none_or(|(_, n)| hp.nodes.len() > n) {
            best = Some((h, hp.nodes.len()));
        }
    }
    best
}

pub fn locate_device_path(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (guid_ptr, path_ptr, out) = (g.arg(0)?, g.arg(1)?, g.arg(2)?);
    if path_ptr == 0 || out == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let guid = g.read_guid(guid_ptr)?;
    let path_va = g.read_u64(path_ptr)?;
    let path = read_device_path(g, path_va)?;
    let (handle, nodes) = locate_path(u, g, &guid, &path).ok_or(status::NOT_FOUND)?;
    let consumed: usize = path.nodes[..nodes].iter().map(|n| n.byte_len()).sum();
    g.write_u64(path_ptr, path_va + consumed as u64)?;
    g.write_u64(out, handle)?;
    ok()
}

pub fn install_configuration_table(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (guid_ptr, table) = (g.arg(0)?, g.arg(1)?);
    let guid = g.read_guid(guid_ptr)?;
    if tables::set_config_table(u, guid, table) {
        ok()
    } else if table == 0 {
        Err(status::NOT_FOUND)
    } else {
        Err(status::OUT_OF_RESOURCES)
    }
}

pub fn exit_boot_services(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (image, key) = (g.arg(0)?, g.arg(1)?);
    if !u.images.is_image(image) {
        return Err(status::INVALID_PARAMETER);
    }
    if key != u.map.key() {
        return Err(status::INVALID_PARAMETER);
    }
    events::signal_group(u, &guid::EVENT_GROUP_EXIT_BOOT_SERVICES);
    u.exited_boot_services = true;
    u.watchdog = None;
    ok()
}

pub fn get_next_monotonic_count(u: &mut Uefi, g: &mut Guest) -> Ret {
    let out = g.arg(0)?;
    if out == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    u.monotonic += 1;
    g.write_u64(out, u.monotonic)?;
    ok()
}

pub fn connect_controller(u: &mut Uefi, g: &mut Guest) -> Ret {
    // Every device's protocols are installed from the start: there is never
    // a driver left to connect.
    if !u.handles.exists(g.arg(0)?) {
        return Err(status::INVALID_PARAMETER);
    }
    ok()
}

pub fn calculate_crc32(_u: &mut Uefi, g: &mut Guest) -> Ret {
    let (data, size, out) = (g.arg(0)?, g.arg(1)?, g.arg(2)?);
    if data == 0 || size == 0 || out == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let bytes = g.read_vec(data, size)?;
    g.write_u32(out, crc32fast::hash(&bytes))?;
    ok()
}

pub fn copy_mem(_u: &mut Uefi, g: &mut Guest) -> Ret {
    let (dst, src, len) = (g.arg(0)?, g.arg(1)?, g.arg(2)?);
    // Read everything first: the ranges may overlap.
    let bytes = g.read_vec(src, len)?;
    g.write(dst, &bytes)?;
    Ok(Reply::Status(dst))
}

pub fn set_mem(_u: &mut Uefi, g: &mut Guest) -> Ret {
    let (dst, len, value) = (g.arg(0)?, g.arg(1)?, g.arg(2)?);
    g.fill(dst, len, value as u8)?;
    Ok(Reply::Status(dst))
}

/// RNG, DevicePathToText and (for a direct kernel boot) the initrd's
/// LoadFile2, each on its own handle.
pub fn install_misc_protocols(u: &mut Uefi) {
    let rng = u.service_table(&[], &[Service::RngGetInfo, Service::RngGetRng]);
    let rng = u.alloc_bytes(&rng);
    let h = u.new_handle();
    u.install_object(h, guid::RNG, rng, Object::Rng);

    let text = u.service_table(&[], &[Service::DeviceNodeToText, Service::DevicePathToText]);
    let text = u.alloc_bytes(&text);
    let h = u.new_handle();
    u.install_object(h, guid::DEVICE_PATH_TO_TEXT, text, Object::DevicePathToText);

    if u.direct.as_ref().is_some_and(|d| d.initrd.is_some()) {
        // Linux finds its initrd as LoadFile2 on VenMedia(LINUX_EFI_INITRD_MEDIA).
        let loader = u.service_table(&[], &[Service::LoadFile]);
        let loader = u.alloc_bytes(&loader);
        let path = DevicePath::new(vec![devpath::Node::VendorMedia {
            guid: guid::LINUX_INITRD_MEDIA,
            data: Vec::new(),
        }]);
        let path = u.alloc_bytes(&path.to_bytes());
        let h = u.new_handle();
        let _ = u.handles.install(h, guid::DEVICE_PATH, path);
        u.install_object(h, guid::LOAD_FILE2, loader, Object::InitrdLoader);
    }
}

pub fn misc_protocol(u: &mut Uefi, s: Service, g: &mut Guest) -> Ret {
    if matches!(s, Service::DeviceNodeToText | Service::DevicePathToText) {
        // These take the path first: the protocol's functions have no This.
        return path_to_text(u, g, s == Service::DeviceNodeToText);
    }
    let this = g.arg(0)?;
    match (s, u.object(this)) {
        (Service::RngGetInfo, Some(Object::Rng)) => {
            let (size_ptr, list) = (g.arg(1)?, g.arg(2)?);
            if size_ptr == 0 {
                return Err(status::INVALID_PARAMETER);
            }
            let room = g.read_u64(size_ptr)?;
            g.write_u64(size_ptr, 16)?;
            if room < 16 {
                return Err(status::BUFFER_TOO_SMALL);
            }
            g.write(list, &guid::RNG_ALGORITHM_RAW.0)?;
            ok()
        }
        (Service::RngGetRng, Some(Object::Rng)) => {
            let (alg, len, out) = (g.arg(1)?, g.arg(2)?, g.arg(3)?);
            if alg != 0 && g.read_guid(alg)? != guid::RNG_ALGORITHM_RAW {
                return Err(status::UNSUPPORTED);
            }
            if out == 0 || len == 0 || len > 1 << 20 {
                return Err(status::INVALID_PARAMETER);
            }
            let mut bytes = vec![0u8; len as usize];
            (u.entropy)(&mut bytes);
            g.write(out, &bytes)?;
            ok()
        }
        (Service::LoadFile, Some(Object::InitrdLoader)) => load_initrd(u, g),
        _ => Err(status::INVALID_PARAMETER),
    }
}

/// LoadFile2.LoadFile(This, FilePath, BootPolicy, BufferSize, Buffer) for
/// the initrd of a direct kernel boot.
fn load_initrd(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (boot_policy, size_ptr, buf) = (g.arg(2)?, g.arg(3)?, g.arg(4)?);
    if boot_policy != 0 {
        return Err(status::UNSUPPORTED);
    }
    if size_ptr == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let Some(initrd) = u.direct.as_ref().and_then(|d| d.initrd.as_ref()) else {
        return Err(status::NOT_FOUND);
    };
    let len = initrd.len() as u64;
    let room = g.read_u64(size_ptr)?;
    g.write_u64(size_ptr, len)?;
    if buf == 0 || room < len {
        return Err(status::BUFFER_TOO_SMALL);
    }
    let initrd = initrd.clone();
    g.write(buf, &initrd)?;
    ok()
}

/// ConvertDeviceNodeToText / ConvertDevicePathToText: a pool string.
fn path_to_text(u: &mut Uefi, g: &mut Guest, node_only: bool) -> Ret {
    let at = g.arg(0)?;
    let path = read_device_path_or_node(g, at, node_only)?;
    let text = path.to_string();
    let bytes = utf16z(&text);
    let at = u.allocate_pool_bytes(kind::BOOT_SERVICES_DATA, bytes.len() as u64)?;
    g.write(at, &bytes)?;
    Ok(Reply::Status(at))
}

fn read_device_path_or_node(g: &mut Guest, va: u64, node_only: bool) -> Result<DevicePath, Status> {
    if !node_only {
        return read_device_path(g, va);
    }
    // A lone node: copy it and terminate it.
    let len = g.read_u16(va + 2)? as u64;
    if len < 4 {
        return Err(status::INVALID_PARAMETER);
    }
    let mut bytes = g.read_vec(va, len)?;
    bytes.extend_from_slice(&[0x7F, 0xFF, 4, 0]);
    DevicePath::parse(&bytes)
        .map(|(p, _)| p)
        .map_err(|_| status::INVALID_PARAMETER)
}
