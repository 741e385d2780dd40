//! `armvm image check`: the ARM VM System Specification's rules for a portable
//! disk image, one verdict per rule, each with the reason.
//!
//! When the primary GPT is invalid the later rules use the backup, as UEFI
//! firmware does, and the report says so.

use std::fmt;

use super::esp::Esp;
use super::fat::FatKind;
use super::gpt::{Entry, Gpt, GptCopy, Which};
use super::mbr::Mbr;
use super::{guid, human_size, pe, Arch, Disk};

/// The largest boot program `check` reads.
pub const MAX_EFI_FILE: u64 = 256 << 20;

/// One rule's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// Every rule's verdict, in order.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub rules: Vec<Rule>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.rules.iter().all(|r| r.ok)
    }

    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    fn push(&mut self, name: &'static str, verdict: Result<String, String>) {
        let (ok, detail) = match verdict {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        self.rules.push(Rule { name, ok, detail });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.rules {
            writeln!(
                f,
                "{:<4}  {}: {}",
                if r.ok { "OK" } else { "FAIL" },
                r.name,
                r.detail
            )?;
        }
        let failed = self.rules.iter().filter(|r| !r.ok).count();
        if failed == 0 {
            writeln!(f, "all {} rules pass", self.rules.len())
        } else {
            writeln!(f, "{failed} of {} rules fail", self.rules.len())
        }
    }
}

/// The rule names, in report order.
pub const RULES: [&str; 14] = [
    "protective MBR",
    "primary GPT header",
    "primary GPT entries",
    "backup GPT header",
    "backup GPT entries",
    "GPT copies agree",
    "partitions in usable range",
    "partitions do not overlap",
    "unique partition GUIDs",
    "EFI System Partition",
    "ESP file system",
    "removable media path",
    "EFI application",
    "PE sections",
];

/// Checks an image. `arch` None: the boot program is `BOOTAA64.EFI` if present,
/// else `BOOTARM.EFI`.
pub fn check(disk: &dyn Disk, arch: Option<Arch>) -> Report {
    let mut report = Report::default();
    let mbr = Mbr::read(disk);
    report.push(RULES[0], mbr_verdict(&mbr, disk.sectors()));

    let gpt = Gpt::read(disk);
    for copy in [&gpt.primary, &gpt.backup] {
        let (h, e) = copy_verdicts(&gpt, copy);
        report.push(
            if copy.which == Which::Primary {
                RULES[1]
            } else {
                RULES[3]
            },
            h,
        );
        report.push(
            if copy.which == Which::Primary {
                RULES[2]
            } else {
                RULES[4]
            },
            e,
        );
    }
    report.push(
        RULES[5],
        match gpt.disagreements() {
            Ok(d) if d.is_empty() => Ok("the backup header and entries mirror the primary".into()),
            Ok(d) => Err(d.join("; ")),
            Err(e) => Err(e),
        },
    );

    let Some(table) = gpt.active() else {
        for name in &RULES[6..] {
            report.push(name, Err("not checked: neither GPT copy is valid".into()));
        }
        return report;
    };
    let from = if table.which == Which::Backup {
        " (from the backup GPT)"
    } else {
        ""
    };
    report.push(RULES[6], range_verdict(&gpt, table, from));
    report.push(RULES[7], overlap_verdict(&table.entries, from));
    report.push(RULES[8], unique_verdict(&table.entries, from));

    let esps: Vec<&Entry> = table
        .entries
        .iter()
        .filter(|e| e.type_guid == guid::ESP)
        .collect();
    let Some(esp_entry) = esps.first() else {
        let types: Vec<String> = table
            .entries
            .iter()
            .map(|e| format!("{}: {}", e.index, type_label(e)))
            .collect();
        report.push(
            RULES[9],
            Err(format!(
                "no partition has the EFI System Partition type {}{from}{}",
                guid::fmt(&guid::ESP),
                if types.is_empty() {
                    " (there are no partitions)".to_string()
                } else {
                    format!(" (partitions {})", types.join(", "))
                }
            )),
        );
        for name in &RULES[10..] {
            report.push(name, Err("not checked: no EFI System Partition".into()));
        }
        return report;
    };
    let mut detail = format!(
        "partition {}{from}, LBAs {}..{} ({})",
        esp_entry.index,
        esp_entry.first_lba,
        esp_entry.last_lba,
        human_size(
            esp_entry
                .sectors()
                .unwrap_or(0)
                .saturating_mul(super::SECTOR)
        )
    );
    if esps.len() > 1 {
        let all: Vec<String> = esps.iter().map(|e| e.index.to_string()).collect();
        detail += &format!(
            "; there are {} ESPs ({}), the first is checked",
            esps.len(),
            all.join(", ")
        );
    }
    report.push(RULES[9], Ok(detail));

    let esp = match esp_entry.byte_range() {
        None => Err(format!(
            "partition {} has LastLBA before FirstLBA",
            esp_entry.index
        )),
        Some((start, len)) => Esp::open(disk, start, len),
    };
    let esp = match esp {
        Ok(esp) => esp,
        Err(e) => {
            report.push(RULES[10], Err(format!("not a usable FAT file system: {e}")));
            for name in &RULES[11..] {
                report.push(name, Err("not checked: the ESP cannot be read".into()));
            }
            return report;
        }
    };
    let b = &esp.bpb;
    let geometry = format!(
        "{} clusters of {} bytes{}",
        b.clusters,
        b.cluster_bytes(),
        if b.volume_label.is_empty() {
            String::new()
        } else {
            format!(", label \"{}\"", b.volume_label)
        }
    );
    report.push(
        RULES[10],
        if b.kind == FatKind::Fat32 {
            Ok(format!("FAT32, {geometry}"))
        } else {
            Err(format!(
                "{}, {geometry}: the specification requires FAT32 (note: UEFI firmware also reads \
                 FAT12/16, but a FAT32 ESP of at least 33 MiB is what a portable image must have)",
                b.kind
            ))
        },
    );

    // The removable-media path.
    let candidates: Vec<Arch> = match arch {
        Some(a) => vec![a],
        None => vec![Arch::Aarch64, Arch::Arm],
    };
    let mut found = None;
    let mut errors = Vec::new();
    for a in &candidates {
        let path = ["EFI", "BOOT", a.boot_file()];
        match esp.find(&path) {
            Ok(Some(node)) if !node.is_dir => {
                found = Some((*a, node));
                break;
            }
            Ok(Some(_)) => errors.push(format!("{} is a directory, not a file", a.boot_path())),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    let Some((arch, node)) = found else {
        let wanted: Vec<String> = candidates.iter().map(|a| a.boot_path()).collect();
        let mut why = format!("no {}", wanted.join(" or "));
        if !errors.is_empty() {
            why += &format!(" ({})", errors.join("; "));
        } else if let Some(listing) = boot_dir_listing(&esp) {
            why += &format!("; \\EFI\\BOOT holds {listing}");
        }
        report.push(RULES[11], Err(why));
        for name in &RULES[12..] {
            report.push(name, Err("not checked: no boot program".into()));
        }
        return report;
    };
    report.push(
        RULES[11],
        Ok(format!(
            "{} ({} bytes, {})",
            node.path,
            node.size,
            arch.name()
        )),
    );
    match esp.read_file(&["EFI", "BOOT", arch.boot_file()], MAX_EFI_FILE) {
        Ok(data) => {
            let v = pe::check(&data, arch);
            report.push(RULES[12], v.application);
            report.push(RULES[13], v.sections);
        }
        Err(e) => {
            report.push(RULES[12], Err(format!("cannot read it: {e}")));
            report.push(
                RULES[13],
                Err("not checked: the file cannot be read".into()),
            );
        }
    }
    report
}

/// "EFI System" / the GUID.
pub fn type_label(e: &Entry) -> String {
    match guid::type_name(&e.type_guid) {
        Some(n) => n.to_string(),
        None => guid::fmt(&e.type_guid),
    }
}

/// What `\EFI\BOOT` holds, when it exists: "BOOTX64.EFI (an x86-64 program?)".
fn boot_dir_listing(esp: &Esp) -> Option<String> {
    let tree = esp.walk();
    let names: Vec<String> = tree
        .nodes
        .iter()
        .filter_map(|n| {
            let rest = n.path.strip_prefix("\\")?;
            let mut parts = rest.split('\\');
            let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
            (a.eq_ignore_ascii_case("EFI")
                && b.eq_ignore_ascii_case("BOOT")
                && parts.next().is_none())
            .then(|| c.to_string())
        })
        .collect();
    if names.is_empty() {
        return tree
            .nodes
            .iter()
            .any(|n| n.is_dir && n.path.eq_ignore_ascii_case("\\EFI\\BOOT"))
            .then(|| "nothing".to_string());
    }
    Some(names.join(", "))
}

fn mbr_verdict(mbr: &Mbr, sectors: u64) -> Result<String, String> {
    let notes = if mbr.notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", mbr.notes.join("; "))
    };
    if mbr.is_valid() {
        Ok(format!(
            "a 0xEE record covers LBAs 1..{}{notes}",
            sectors.saturating_sub(1).min(0xFFFF_FFFF)
        ))
    } else {
        Err(format!("{}{notes}", mbr.problems.join("; ")))
    }
}

/// The header and entry-array verdicts of one copy.
fn copy_verdicts(gpt: &Gpt, copy: &GptCopy) -> (Result<String, String>, Result<String, String>) {
    let other = match copy.which {
        Which::Primary => &gpt.backup,
        Which::Backup => &gpt.primary,
    };
    // Which copy the later rules use, when this one is unusable.
    let fallback = if copy.which == Which::Primary && !copy.is_valid() && other.is_valid() {
        format!(
            "; using the backup GPT at LBA {}, as UEFI requires",
            other.lba
        )
    } else {
        String::new()
    };
    let header = match &copy.header {
        Some(h) if copy.header_clean() => Ok(format!(
            "at LBA {}, CRC32 0x{:08X} correct, {} entries of {} bytes at LBA {}, usable LBAs {}..{}",
            copy.lba, h.header_crc, h.num_entries, h.entry_size, h.entries_lba, h.first_usable, h.last_usable
        )),
        _ => {
            let mut why: Vec<String> = copy.header_problems.iter().chain(&copy.header_faults).cloned().collect();
            if copy.which == Which::Primary && copy.header.is_none() {
                why.extend(gpt.notes.iter().cloned());
            }
            Err(format!("{}{}", why.join("; "), if copy.header_ok() { String::new() } else { fallback.clone() }))
        }
    };
    let entries = if copy.entries_ok() {
        Ok(format!(
            "CRC32 0x{:08X} correct, {} in use",
            copy.computed_entries_crc.unwrap_or(0),
            plural(copy.entries.len(), "partition")
        ))
    } else if copy.entries_read || !copy.entries_problems.is_empty() {
        Err(format!(
            "{}{}",
            copy.entries_problems.join("; "),
            if copy.header_ok() { &fallback } else { "" }
        ))
    } else {
        Err("not checked: the header is invalid".into())
    };
    (header, entries)
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn range_verdict(gpt: &Gpt, table: &GptCopy, from: &str) -> Result<String, String> {
    let h = table.header.as_ref().expect("a valid copy has a header");
    let mut why = Vec::new();
    for e in &table.entries {
        if e.sectors().is_none() {
            why.push(format!(
                "partition {}: LastLBA {} is before FirstLBA {}",
                e.index, e.last_lba, e.first_lba
            ));
            continue;
        }
        if e.first_lba < h.first_usable || e.last_lba > h.last_usable {
            why.push(format!(
                "partition {} (LBAs {}..{}) is outside the usable LBAs {}..{}",
                e.index, e.first_lba, e.last_lba, h.first_usable, h.last_usable
            ));
        }
        if e.last_lba >= gpt.disk_sectors {
            why.push(format!(
                "partition {} ends at LBA {}, past the end of the image ({} sectors): is it truncated?",
                e.index, e.last_lba, gpt.disk_sectors
            ));
        }
    }
    if why.is_empty() {
        Ok(format!(
            "{} inside the usable LBAs {}..{}{from}",
            plural(table.entries.len(), "partition"),
            h.first_usable,
            h.last_usable
        ))
    } else {
        Err(why.join("; "))
    }
}

fn overlap_verdict(entries: &[Entry], from: &str) -> Result<String, String> {
    let mut sorted: Vec<&Entry> = entries.iter().filter(|e| e.sectors().is_some()).collect();
    sorted.sort_by_key(|e| (e.first_lba, e.last_lba));
    let mut why = Vec::new();
    for (i, a) in sorted.iter().enumerate() {
        for b in &sorted[i + 1..] {
            if b.first_lba > a.last_lba {
                break;
            }
            why.push(format!(
                "partitions {} (LBAs {}..{}) and {} (LBAs {}..{}) overlap",
                a.index, a.first_lba, a.last_lba, b.index, b.first_lba, b.last_lba
            ));
            if why.len() >= 8 {
                why.push("...".into());
                return Err(why.join("; "));
            }
        }
    }
    if why.is_empty() {
        Ok(format!(
            "no two of the {} share a sector{from}",
            plural(entries.len(), "partition")
        ))
    } else {
        Err(why.join("; "))
    }
}

fn unique_verdict(entries: &[Entry], from: &str) -> Result<String, String> {
    let mut why = Vec::new();
    for (i, a) in entries.iter().enumerate() {
        if a.unique_guid.is_nil() {
            why.push(format!("partition {} has a zero unique GUID", a.index));
        } else if let Some(b) = entries[i + 1..]
            .iter()
            .find(|b| b.unique_guid == a.unique_guid)
        {
            why.push(format!(
                "partitions {} and {} share the unique GUID {}",
                a.index,
                b.index,
                guid::fmt(&a.unique_guid)
            ));
        }
    }
    if why.is_empty() {
        Ok(format!("every partition has its own GUID{from}"))
    } else {
        Err(why.join("; "))
    }
}
