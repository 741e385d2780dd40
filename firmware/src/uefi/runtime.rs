//! Runtime services (UEFI 2.10, chapter 8): variables, time, reset. They
//! keep working after ExitBootServices, when the kernel calls them with its
//! own virtual addresses ([`Guest`] translates through its page tables).
//!
//! SetVirtualAddressMap is not advertised (EFI_RT_PROPERTIES_TABLE leaves it
//! out, and Linux then keeps the firmware's 1:1 addresses), but works if an OS
//! calls it anyway: the services do not care where they are mapped (the
//! trampolines are told apart by immediate), so it only rewrites the pointers
//! an OS reads — the runtime services table and the system table's — and
//! remembers the map for ConvertPointer.

use std::time::{SystemTime, UNIX_EPOCH};

use super::guest::Guest;
use super::service::Service;
use super::status::{self, Status};
use super::variables::{VarStatus, MAX_VARIABLE_SIZE};
use super::{events, guid, tables, Reply, Ret, Uefi};

/// Whether `s` is still served after ExitBootServices.
pub fn is_runtime(s: Service) -> bool {
    (Service::GetTime as u16..=Service::QueryVariableInfo as u16).contains(&(s as u16))
        || matches!(s, Service::CpuException | Service::NotifyReturn)
}

fn ok() -> Ret {
    Ok(Reply::Status(status::SUCCESS))
}

fn var_error(e: VarStatus) -> Status {
    e.efi_status()
}

pub fn call(u: &mut Uefi, s: Service, g: &mut Guest) -> Ret {
    match s {
        Service::GetVariable => get_variable(u, g),
        Service::GetNextVariableName => get_next_variable_name(u, g),
        Service::SetVariable => set_variable(u, g),
        Service::QueryVariableInfo => {
            let (attrs, max, left, max_var) = (g.arg(0)? as u32, g.arg(1)?, g.arg(2)?, g.arg(3)?);
            if max == 0 || left == 0 || max_var == 0 {
                return Err(status::INVALID_PARAMETER);
            }
            let (m, l, v) = u
                .variables
                .query_info(attrs, u.exited_boot_services)
                .map_err(var_error)?;
            g.write_u64(max, m)?;
            g.write_u64(left, l)?;
            g.write_u64(max_var, v)?;
            ok()
        }
        Service::GetTime => get_time(u, g),
        Service::SetTime => set_time(u, g),
        Service::GetNextHighMonotonicCount => {
            let out = g.arg(0)?;
            if out == 0 {
                return Err(status::INVALID_PARAMETER);
            }
            u.monotonic = (u.monotonic & 0xffff_ffff) + (1 << 32);
            g.write_u32(out, (u.monotonic >> 32) as u32)?;
            ok()
        }
        Service::ResetSystem => {
            // EfiResetCold, EfiResetWarm, EfiResetShutdown, EfiResetPlatformSpecific.
            Ok(match g.arg(0)? {
                2 => Reply::PowerOff,
                _ => Reply::Reset,
            })
        }
        Service::SetVirtualAddressMap => set_virtual_address_map(u, g),
        Service::ConvertPointer => {
            let (disposition, ptr) = (g.arg(0)?, g.arg(1)?);
            if ptr == 0 {
                return Err(status::INVALID_PARAMETER);
            }
            let map = u.virtual_map.as_ref().ok_or(status::UNSUPPORTED)?;
            let addr = g.read_u64(ptr)?;
            // EFI_OPTIONAL_PTR: NULL stays NULL.
            if addr == 0 && disposition & 1 != 0 {
                return ok();
            }
            let moved = to_virtual(map, addr).ok_or(status::NOT_FOUND)?;
            g.write_u64(ptr, moved)?;
            ok()
        }
        // GetWakeupTime, SetWakeupTime, capsules: no wakeup timer, no
        // capsules (see EFI_RT_PROPERTIES_TABLE).
        _ => Err(status::UNSUPPORTED),
    }
}

fn get_variable(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (name_ptr, guid_ptr, attrs_ptr, size_ptr, data) =
        (g.arg(0)?, g.arg(1)?, g.arg(2)?, g.arg(3)?, g.arg(4)?);
    if size_ptr == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let name = g.read_utf16(name_ptr)?;
    let guid = g.read_guid(guid_ptr)?;
    if name.is_empty() {
        return Err(status::NOT_FOUND);
    }
    let var = u
        .variables
        .get(&name, &guid, u.exited_boot_services)
        .ok_or(status::NOT_FOUND)?;
    let (attributes, value) = (var.attributes, var.data.clone());
    let room = g.read_u64(size_ptr)?;
    g.write_u64(size_ptr, value.len() as u64)?;
    if attrs_ptr != 0 {
        g.write_u32(attrs_ptr, attributes)?;
    }
    if room < value.len() as u64 {
        return Err(status::BUFFER_TOO_SMALL);
    }
    if data == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    g.write(data, &value)?;
    ok()
}

fn get_next_variable_name(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (size_ptr, name_ptr, guid_ptr) = (g.arg(0)?, g.arg(1)?, g.arg(2)?);
    if size_ptr == 0 || name_ptr == 0 || guid_ptr == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let room = g.read_u64(size_ptr)?;
    // The previous name must be terminated within the buffer.
    let mut buf = vec![0u8; room.min(MAX_VARIABLE_SIZE as u64 + 2) as usize];
    g.read(name_ptr, &mut buf)?;
    let units: Vec<u16> = buf
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let Some(end) = units.iter().position(|&c| c == 0) else {
        return Err(status::INVALID_PARAMETER);
    };
    let prev = &units[..end];
    let prev_guid = g.read_guid(guid_ptr)?;
    let (name, guid) = u
        .variables
        .next_name(prev, &prev_guid, u.exited_boot_services)
        .map_err(var_error)?;
    let need = (name.len() as u64 + 1) * 2;
    if room < need {
        g.write_u64(size_ptr, need)?;
        return Err(status::BUFFER_TOO_SMALL);
    }
    let bytes: Vec<u8> = name
        .iter()
        .chain(std::iter::once(&0))
        .flat_map(|u| u.to_le_bytes())
        .collect();
    g.write(name_ptr, &bytes)?;
    g.write(guid_ptr, &guid.0)?;
    g.write_u64(size_ptr, need)?;
    ok()
}

fn set_variable(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (name_ptr, guid_ptr, attrs, size, data) =
        (g.arg(0)?, g.arg(1)?, g.arg(2)? as u32, g.arg(3)?, g.arg(4)?);
    let name = g.read_utf16(name_ptr)?;
    let guid = g.read_guid(guid_ptr)?;
    if size > MAX_VARIABLE_SIZE as u64 {
        return Err(status::INVALID_PARAMETER);
    }
    if size != 0 && data == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let value = g.read_vec(data, size)?;
    u.variables
        .set(&name, &guid, attrs, &value, u.exited_boot_services)
        .map_err(var_error)?;
    // Non-volatile changes reach the file now: a crash loses nothing.
    if let Err(e) = u.variables.save() {
        u.print(&format!("armvm: cannot save the UEFI variables: {e}\r\n"));
        return Err(status::DEVICE_ERROR);
    }
    ok()
}

/// Where `addr` is after SetVirtualAddressMap.
fn to_virtual(map: &[(u64, u64, u64)], addr: u64) -> Option<u64> {
    map.iter()
        .find(|(phys, len, _)| (*phys..phys + len).contains(&addr))
        .map(|(phys, _, virt)| virt + (addr - phys))
}

/// SetVirtualAddressMap(MemoryMapSize, DescriptorSize, DescriptorVersion,
/// VirtualMap): once, after ExitBootServices, with every runtime region.
fn set_virtual_address_map(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (size, desc_size, version, map_ptr) = (g.arg(0)?, g.arg(1)?, g.arg(2)?, g.arg(3)?);
    if !u.exited_boot_services || u.virtual_map.is_some() {
        return Err(status::UNSUPPORTED);
    }
    if version != 1 || desc_size < 40 || size % desc_size != 0 || size > 1 << 20 || map_ptr == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let bytes = g.read_vec(map_ptr, size)?;
    let mut map = Vec::new();
    for d in bytes.chunks_exact(desc_size as usize) {
        let field = |at: usize| u64::from_le_bytes(d[at..at + 8].try_into().unwrap_or([0; 8]));
        const RUNTIME: u64 = 1 << 63;
        if field(32) & RUNTIME != 0 {
            map.push((field(8), field(24).saturating_mul(4096), field(16)));
        }
    }
    // Every runtime region of the firmware must have moved with the map.
    let (code, data) = (u.addrs.trampolines, u.addrs.system_table);
    let (Some(code_va), Some(data_va)) = (to_virtual(&map, code), to_virtual(&map, data)) else {
        return Err(status::NO_MAPPING);
    };
    tables::enter_virtual_mode(u, code_va, data_va);
    u.virtual_map = Some(map);
    events::signal_group(u, &guid::EVENT_GROUP_VIRTUAL_ADDRESS_CHANGE);
    ok()
}

/// EFI_TIME for `secs` since the Unix epoch (UTC).
pub fn efi_time(secs: i64, nanos: u32) -> [u8; 16] {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut t = [0u8; 16];
    t[0..2].copy_from_slice(&(y as u16).to_le_bytes());
    t[2] = m as u8;
    t[3] = d as u8;
    t[4] = (rem / 3600) as u8;
    t[5] = (rem / 60 % 60) as u8;
    t[6] = (rem % 60) as u8;
    t[8..12].copy_from_slice(&nanos.to_le_bytes());
    // TimeZone: EFI_UNSPECIFIED_TIMEZONE (local time unknown: UTC).
    t[12..14].copy_from_slice(&0x07FFu16.to_le_bytes());
    t
}

/// (year, month, day) of day `z` counted from 1970-01-01, in the proleptic
/// Gregorian calendar (eras of 400 years, as in H. Hinnant's date algorithms).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days from 1970-01-01 to (year, month, day): the inverse of the above.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn host_now() -> (i64, u32) {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_secs() as i64, t.subsec_nanos())
}

fn get_time(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (time, caps) = (g.arg(0)?, g.arg(1)?);
    if time == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let (secs, nanos) = host_now();
    g.write(time, &efi_time(secs + u.time_offset, nanos))?;
    if caps != 0 {
        // EFI_TIME_CAPABILITIES: Resolution 1 Hz, Accuracy 50 ppm (in
        // parts per 10^12, as the field is defined), SetsToZero false.
        g.write_u32(caps, 1)?;
        g.write_u32(caps + 4, 50_000_000)?;
        g.write_u8(caps + 8, 0)?;
    }
    ok()
}

fn set_time(u: &mut Uefi, g: &mut Guest) -> Ret {
    let time = g.arg(0)?;
    if time == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let mut t = [0u8; 16];
    g.read(time, &mut t)?;
    let year = i64::from(u16::from_le_bytes([t[0], t[1]]));
    let (month, day, hour, minute, second) = (t[2], t[3], t[4], t[5], t[6]);
    let valid = (1900..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return Err(status::INVALID_PARAMETER);
    }
    let secs = days_from_civil(year, i64::from(month), i64::from(day)) * 86_400
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second);
    u.time_offset = secs - host_now().0;
    ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_conversions() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // 2000-02-29 was day 11016.
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(days_from_civil(2026, 12, 3), 20_790);
        for d in [-800_000, -1, 0, 59, 60, 20_000, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        let t = efi_time(1_700_000_000, 5);
        // 2023-11-14 22:13:20 UTC
        assert_eq!(u16::from_le_bytes([t[0], t[1]]), 2023);
        assert_eq!((t[2], t[3], t[4], t[5], t[6]), (11, 14, 22, 13, 20));
    }
}
