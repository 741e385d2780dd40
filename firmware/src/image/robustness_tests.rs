//! Bad images must never crash or hang `inspect` and `check`: directed cases (FAT
//! cycles, absurd cluster numbers, truncation) and seeded random mutations of a
//! valid image's GPT, FAT and PE bytes, with the CRCs recomputed half the time so
//! that the parsers behind the CRC checks see the damage too.
//!
//! `ARMVM_IMAGE_FUZZ_ITERS` (default 300) and `ARMVM_IMAGE_FUZZ_SEED` run more or
//! other cases.

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use super::check::check;
use super::create::tests::small_image;
use super::esp::Esp;
use super::fat::{Bpb, FatKind};
use super::gpt::tests::fix_header_crc;
use super::gpt::Gpt;
use super::inspect::inspect;
use super::{guard, SECTOR};

/// A run over this long is a hang.
const RUN_BUDGET: Duration = Duration::from_secs(10);

/// Runs inspect and check on `img`; returns the check report's text. Panics (the
/// test fails) if either panics or takes too long.
fn run_both(img: &[u8], what: &str) -> String {
    let start = Instant::now();
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let i = inspect(&img);
        let r = check(&img, None);
        (i.text, r.to_string())
    }));
    let elapsed = start.elapsed();
    let (_, report) = result.unwrap_or_else(|_| panic!("{what}: inspect/check panicked"));
    assert!(elapsed < RUN_BUDGET, "{what}: took {elapsed:?}");
    report
}

/// Where the interesting bytes of an image are.
struct Map {
    esp_start: usize,
    fat_start: usize,
    fat_len: usize,
    data_start: usize,
    cluster: usize,
    root_start: usize,
    pe_start: usize,
    bpb: Bpb,
}

fn map(img: &[u8]) -> Map {
    let gpt = Gpt::read(&img);
    let (start, len) = gpt.primary.entries[0].byte_range().unwrap();
    let esp = Esp::open(&img, start, len).unwrap();
    let b = esp.bpb.clone();
    let start = start as usize;
    let bps = b.bytes_per_sector as usize;
    let fat_start = start + b.reserved_sectors as usize * bps;
    let data_start = start + b.first_data_sector as usize * bps;
    let cluster = b.cluster_bytes() as usize;
    let root_start = if b.kind == FatKind::Fat32 {
        data_start + (b.root_cluster as usize - 2) * cluster
    } else {
        fat_start + b.fats as usize * b.sectors_per_fat as usize * bps
    };
    let pe_start = (data_start..img.len() - 0x100)
        .step_by(bps)
        .find(|&o| &img[o..o + 2] == b"MZ" && &img[o + 0x80..o + 0x84] == b"PE\0\0")
        .expect("the PE file's data");
    Map {
        esp_start: start,
        fat_start,
        fat_len: b.sectors_per_fat as usize * bps,
        data_start,
        cluster,
        root_start,
        pe_start,
        bpb: b,
    }
}

fn put_fat(img: &mut [u8], (fat_start, kind): (usize, FatKind), cluster: u32, value: u32) {
    match kind {
        FatKind::Fat32 => {
            let o = fat_start + cluster as usize * 4;
            img[o..o + 4].copy_from_slice(&value.to_le_bytes());
        }
        FatKind::Fat16 => {
            let o = fat_start + cluster as usize * 2;
            img[o..o + 2].copy_from_slice(&(value as u16).to_le_bytes());
        }
        FatKind::Fat12 => unreachable!("the tests make FAT16 and FAT32 ESPs"),
    }
}

/// The first cluster of the directory entry named `name` (11 bytes, 8.3) in the
/// directory bytes at `dir`.
fn entry_of(img: &[u8], dir: usize, name: &[u8; 11]) -> usize {
    (0..64)
        .map(|i| dir + i * 32)
        .find(|&o| &img[o..o + 11] == name)
        .unwrap_or_else(|| panic!("no {:?}", String::from_utf8_lossy(name)))
}

fn entry_cluster(img: &[u8], entry: usize) -> u32 {
    (u16::from_le_bytes([img[entry + 20], img[entry + 21]]) as u32) << 16
        | u16::from_le_bytes([img[entry + 26], img[entry + 27]]) as u32
}

fn set_entry_cluster(img: &mut [u8], entry: usize, c: u32) {
    img[entry + 20..entry + 22].copy_from_slice(&((c >> 16) as u16).to_le_bytes());
    img[entry + 26..entry + 28].copy_from_slice(&(c as u16).to_le_bytes());
}

#[test]
fn fat_cycles_and_absurd_clusters_end_with_a_clear_failure() {
    for kind in [FatKind::Fat16, FatKind::Fat32] {
        let base = small_image(kind, if kind == FatKind::Fat32 { 34 } else { 8 }, &[]);
        let m = map(&base);
        let efi = entry_of(&base, m.root_start, b"EFI        ");
        let efi_cluster = entry_cluster(&base, efi);
        let efi_dir = m.data_start + (efi_cluster as usize - 2) * m.cluster;
        let boot = entry_of(&base, efi_dir, b"BOOT       ");
        let boot_dir = m.data_start + (entry_cluster(&base, boot) as usize - 2) * m.cluster;
        let file = entry_of(&base, boot_dir, b"BOOTAA64EFI");
        let file_cluster = entry_cluster(&base, file);
        let fat = (m.fat_start, m.bpb.kind);
        let cluster = m.cluster;
        type Edit = Box<dyn Fn(&mut Vec<u8>)>;
        let cases: Vec<(&str, Edit, &str)> = vec![
            // The loop is past the end-of-directory entry: harmless.
            (
                "\\EFI's cluster chain loops on itself",
                Box::new(move |d| put_fat(d, fat, efi_cluster, efi_cluster)),
                "-",
            ),
            // Now the driver must follow it: no end marker, and no BOOT to find
            // before the loop.
            (
                "\\EFI loops, with no end marker and no \\EFI\\BOOT",
                Box::new(move |d| {
                    put_fat(d, fat, efi_cluster, efi_cluster);
                    for i in 0..cluster / 32 {
                        let e = efi_dir + i * 32;
                        if d[e] == 0 || &d[e..e + 11] == b"BOOT       " {
                            d[e] = 0xE5;
                            d[e - 32] = 0xE5;
                        }
                    }
                }),
                "read budget exhausted",
            ),
            // A one- or two-cluster file whose chain loops reads as its size
            // says: nothing may fail, but nothing may hang either.
            (
                "the boot file's chain loops",
                Box::new(move |d| put_fat(d, fat, file_cluster, file_cluster)),
                "-",
            ),
            (
                "the boot file's size is more than its chain holds",
                Box::new(move |d| {
                    d[file + 28..file + 32].copy_from_slice(&0x4000u32.to_le_bytes())
                }),
                "cluster chain holds only",
            ),
            (
                "\\EFI\\BOOT is \\EFI (a directory cycle)",
                Box::new(move |d| set_entry_cluster(d, boot, efi_cluster)),
                "removable media path",
            ),
            (
                "\\EFI at cluster 1",
                Box::new(move |d| set_entry_cluster(d, efi, 1)),
                "removable media path",
            ),
            (
                "\\EFI at cluster 0",
                Box::new(move |d| set_entry_cluster(d, efi, 0)),
                "removable media path",
            ),
            (
                "\\EFI past the volume",
                Box::new(move |d| set_entry_cluster(d, efi, 0x0FFF_FFF0)),
                "removable media path",
            ),
            (
                "the file past the volume",
                Box::new(move |d| set_entry_cluster(d, file, 0x0FFF_FFF0)),
                "EFI application",
            ),
            (
                "a huge file size",
                Box::new(move |d| d[file + 28..file + 32].copy_from_slice(&u32::MAX.to_le_bytes())),
                "EFI application",
            ),
        ];
        for (name, edit, failing) in cases {
            let mut img = base.clone();
            edit(&mut img);
            let report = run_both(&img, name);
            if failing == "-" {
                continue;
            }
            assert!(report.contains("FAIL"), "{kind} {name}: {report}");
            if !failing.is_empty() {
                assert!(
                    report
                        .lines()
                        .any(|l| l.starts_with("FAIL") && l.contains(failing)),
                    "{kind} {name}: {report}"
                );
            }
        }
    }
}

#[test]
fn truncated_images_are_described() {
    let base = small_image(FatKind::Fat16, 8, &[&[7u8; 5000]]);
    let len = base.len();
    for cut in [
        0,
        1,
        511,
        512,
        1024,
        17 * 1024,
        1 << 20,
        (1 << 20) + 700,
        5 << 20,
        len - 512,
        len - 1,
    ] {
        let report = run_both(&base[..cut], &format!("cut at {cut}"));
        assert!(report.contains("FAIL"), "cut {cut}: {report}");
    }
    let report = run_both(&base[..len - 512], "no backup");
    assert!(report.contains("FAIL  backup GPT header: LBA"), "{report}");
    assert!(report.contains("OK    EFI application"), "{report}");
}

/// xorshift64*: small, seeded, good enough to pick bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: [u32; 12] = [
    0,
    1,
    2,
    0x7F,
    0x80,
    0xFF,
    0xFFFF,
    0x8000_0000,
    0x0FFF_FFF7,
    0x0FFF_FFFF,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
];

/// One random mutation of `img`; returns the bytes to restore (offset, old).
fn mutate(img: &mut [u8], m: &Map, rng: &mut Rng) -> Vec<(usize, u8)> {
    let sectors = img.len() / SECTOR as usize;
    let backup = (sectors - 1) * SECTOR as usize;
    // (region start, region length, is a GPT header at this LBA)
    let regions: [(usize, usize, Option<u64>); 9] = [
        (0, 512, None),
        (512, 92, Some(1)),
        (1024, 4 * 128, Some(1)),
        (backup, 92, Some(sectors as u64 - 1)),
        (m.esp_start, 512, None),
        (m.fat_start, m.fat_len.min(4096), None),
        (m.root_start, m.cluster.max(512), None),
        (m.data_start, 8 * m.cluster, None),
        (m.pe_start, 0x200, None),
    ];
    let (start, len, header) = regions[rng.below(regions.len())];
    let mut undo = Vec::new();
    let mut set = |img: &mut [u8], at: usize, v: u8| {
        if at < img.len() {
            undo.push((at, img[at]));
            img[at] = v;
        }
    };
    for _ in 0..1 + rng.below(4) {
        let at = start + rng.below(len);
        match rng.below(4) {
            0 => set(img, at, rng.next() as u8),
            1 => {
                let bit = 1 << rng.below(8);
                let old = img.get(at).copied().unwrap_or(0);
                set(img, at, old ^ bit)
            }
            2 => {
                let v = INTERESTING[rng.below(INTERESTING.len())].to_le_bytes();
                let at = at & !3;
                for (i, b) in v.iter().enumerate() {
                    set(img, at + i, *b);
                }
            }
            _ => {
                // A FAT entry pointing at itself or at its neighbour: a cycle.
                let c = 2 + rng.below(64) as u32;
                let target = if rng.below(2) == 0 {
                    c
                } else {
                    c.saturating_sub(1).max(2)
                };
                let (o, v) = match m.bpb.kind {
                    FatKind::Fat32 => (m.fat_start + c as usize * 4, target.to_le_bytes().to_vec()),
                    _ => (
                        m.fat_start + c as usize * 2,
                        (target as u16).to_le_bytes().to_vec(),
                    ),
                };
                for (i, b) in v.iter().enumerate() {
                    set(img, o + i, *b);
                }
            }
        }
    }
    // Half the time, make the GPT's CRCs agree with the damage.
    if let Some(lba) = header {
        if rng.below(2) == 0 {
            let h = (lba * SECTOR) as usize;
            undo.extend((h..h + 512).zip(img[h..h + 512].iter().copied()));
            if start == 1024 {
                let crc = crc32fast::hash(&img[1024..1024 + 128 * 128]);
                img[h + 88..h + 92].copy_from_slice(&crc.to_le_bytes());
            }
            fix_header_crc(img, lba);
        }
    }
    undo
}

fn fuzz(kind: FatKind, esp_mib: u64, iterations: u64, seed: u64) {
    let mut img = small_image(kind, esp_mib, &[&[0x33; 3000]]);
    let pristine = img.clone();
    let m = map(&img);
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let contained_before = guard::contained_count();
    let mut failing_runs = 0;
    for i in 0..iterations {
        let undo = mutate(&mut img, &m, &mut rng);
        let cut = if rng.below(8) == 0 {
            rng.below(img.len())
        } else {
            img.len()
        };
        let what = format!("{kind} seed {seed:#x} iteration {i}");
        let report = run_both(&img[..cut], &what);
        if report.contains("FAIL") {
            failing_runs += 1;
        }
        for (at, old) in undo.into_iter().rev() {
            img[at] = old;
        }
    }
    assert_eq!(img, pristine, "mutations were not undone");
    eprintln!(
        "{kind}: {iterations} mutated images, {failing_runs} with FAIL lines, {} panics contained in the FAT/PE parsers",
        guard::contained_count() - contained_before
    );
}

fn iterations() -> u64 {
    std::env::var("ARMVM_IMAGE_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

fn seed() -> u64 {
    std::env::var("ARMVM_IMAGE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_1AB0)
}

#[test]
fn random_damage_to_a_fat16_image() {
    fuzz(FatKind::Fat16, 8, iterations(), seed());
}

#[test]
fn random_damage_to_a_fat32_image() {
    fuzz(FatKind::Fat32, 34, iterations() / 3, seed() ^ 0xF32);
}
