//! `armvm image inspect`: a description of a disk image: the protective MBR, both
//! GPT headers with their CRCs, the partition entries and the files in each EFI
//! System Partition. Damage is shown, not refused: whatever can be read is.

use std::fmt::Write;

use super::check::type_label;
use super::esp::Esp;
use super::gpt::{Gpt, GptCopy};
use super::mbr::Mbr;
use super::{guid, human_size, Disk, SECTOR};

/// The description, and whether there was a GPT to describe.
pub struct Inspection {
    pub text: String,
    /// A valid primary or backup GPT was found.
    pub has_gpt: bool,
}

pub fn inspect(disk: &dyn Disk) -> Inspection {
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(
        o,
        "image: {} bytes ({}), {} sectors of {SECTOR} bytes",
        disk.len(),
        human_size(disk.len()),
        disk.sectors()
    );

    let mbr = Mbr::read(disk);
    let _ = writeln!(
        o,
        "\nprotective MBR (LBA 0): {}",
        if mbr.is_valid() {
            "valid".to_string()
        } else {
            format!("INVALID: {}", mbr.problems.join("; "))
        }
    );
    for n in &mbr.notes {
        let _ = writeln!(o, "  note: {n}");
    }
    if mbr.present && mbr.signature == 0xAA55 {
        for (i, r) in mbr.records.iter().enumerate() {
            if r.is_empty() {
                let _ = writeln!(o, "  record {}: empty", i + 1);
            } else {
                let _ = writeln!(
                    o,
                    "  record {}: type 0x{:02X}, boot indicator 0x{:02X}, LBAs {}..{} ({} sectors)",
                    i + 1,
                    r.os_type,
                    r.boot_indicator,
                    r.first_lba,
                    (r.first_lba as u64 + r.sectors as u64).saturating_sub(1),
                    r.sectors
                );
            }
        }
    }

    let gpt = Gpt::read(disk);
    for n in &gpt.notes {
        let _ = writeln!(o, "\nnote: {n}");
    }
    for copy in [&gpt.primary, &gpt.backup] {
        describe_copy(o, copy);
    }
    match gpt.disagreements() {
        Ok(d) if d.is_empty() => {
            let _ = writeln!(o, "  the backup mirrors the primary");
        }
        Ok(d) => {
            for line in d {
                let _ = writeln!(o, "  the copies differ: {line}");
            }
        }
        Err(_) => {}
    }

    let Some(table) = gpt.active() else {
        let _ = writeln!(o, "\nno valid GPT: no partitions to show");
        return Inspection {
            text: out,
            has_gpt: false,
        };
    };
    let _ = writeln!(
        o,
        "\npartitions (from the {} GPT): {} in use of {} entries",
        table.which.name(),
        table.entries.len(),
        table.header.as_ref().map_or(0, |h| h.num_entries)
    );
    for e in &table.entries {
        let _ = writeln!(
            o,
            "  {:>3}  {} ({})",
            e.index,
            type_label(e),
            guid::fmt(&e.type_guid)
        );
        let _ = writeln!(o, "       unique GUID {}", guid::fmt(&e.unique_guid));
        match e.sectors() {
            Some(n) => {
                let _ = writeln!(
                    o,
                    "       LBAs {}..{} ({n} sectors, {})",
                    e.first_lba,
                    e.last_lba,
                    human_size(n.saturating_mul(SECTOR))
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "       LBAs {}..{} (LastLBA before FirstLBA!)",
                    e.first_lba, e.last_lba
                );
            }
        }
        let _ = writeln!(
            o,
            "       name \"{}\", attributes 0x{:016X}",
            e.name, e.attributes
        );
    }

    for e in table.entries.iter().filter(|e| e.type_guid == guid::ESP) {
        let _ = write!(o, "\nESP (partition {}): ", e.index);
        let esp = match e.byte_range() {
            Some((start, len)) => Esp::open(disk, start, len),
            None => Err("the partition's LBAs are reversed".into()),
        };
        match esp {
            Err(why) => {
                let _ = writeln!(o, "not readable as FAT: {why}");
            }
            Ok(esp) => {
                let b = &esp.bpb;
                let _ = writeln!(
                    o,
                    "{}, {} clusters of {} bytes, {} sectors of {} bytes, volume ID {:04X}-{:04X}, label \"{}\", OEM \"{}\"",
                    b.kind,
                    b.clusters,
                    b.cluster_bytes(),
                    b.total_sectors,
                    b.bytes_per_sector,
                    b.volume_id >> 16,
                    b.volume_id & 0xFFFF,
                    b.volume_label,
                    b.oem_name
                );
                let tree = esp.walk();
                if tree.nodes.is_empty() && tree.problems.is_empty() {
                    let _ = writeln!(o, "  (empty)");
                }
                let width = tree
                    .nodes
                    .iter()
                    .map(|n| n.path.len() + 1)
                    .max()
                    .unwrap_or(0);
                for n in &tree.nodes {
                    if n.is_dir {
                        let _ = writeln!(o, "  {}\\", n.path);
                    } else {
                        let _ = writeln!(o, "  {:<width$}  {:>10}", n.path, n.size);
                    }
                }
                for p in &tree.problems {
                    let _ = writeln!(o, "  problem: {p}");
                }
            }
        }
    }
    Inspection {
        text: out,
        has_gpt: true,
    }
}

fn describe_copy(o: &mut String, copy: &GptCopy) {
    let state = if copy.is_valid() && copy.header_faults.is_empty() {
        "valid".to_string()
    } else if copy.is_valid() {
        format!("valid, but {}", copy.header_faults.join("; "))
    } else {
        let why: Vec<&String> = copy
            .header_problems
            .iter()
            .chain(&copy.header_faults)
            .chain(&copy.entries_problems)
            .collect();
        format!(
            "INVALID: {}",
            why.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )
    };
    let _ = writeln!(
        o,
        "\n{} GPT header (LBA {}): {state}",
        copy.which.name(),
        copy.lba
    );
    let Some(h) = &copy.header else {
        return;
    };
    let crc = match h.computed_crc {
        Some(c) if c == h.header_crc => "correct".to_string(),
        Some(c) => format!("WRONG, computed 0x{c:08X}"),
        None => "not computable".to_string(),
    };
    let _ = writeln!(
        o,
        "  revision {}.{}, header size {}, CRC32 0x{:08X} ({crc})",
        h.revision >> 16,
        h.revision & 0xFFFF,
        h.header_size,
        h.header_crc
    );
    let _ = writeln!(o, "  MyLBA {}, AlternateLBA {}", h.my_lba, h.alternate_lba);
    let _ = writeln!(o, "  usable LBAs {}..{}", h.first_usable, h.last_usable);
    let _ = writeln!(o, "  disk GUID {}", guid::fmt(&h.disk_guid));
    let entries_crc = match copy.computed_entries_crc {
        Some(c) if c == h.entries_crc => "correct".to_string(),
        Some(c) => format!("WRONG, computed 0x{c:08X}"),
        None => "not read".to_string(),
    };
    let _ = writeln!(
        o,
        "  entries: {} of {} bytes at LBA {}, CRC32 0x{:08X} ({entries_crc})",
        h.num_entries, h.entry_size, h.entries_lba, h.entries_crc
    );
    for n in &copy.notes {
        let _ = writeln!(o, "  note: {n}");
    }
}
