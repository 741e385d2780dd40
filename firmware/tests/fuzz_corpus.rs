//! The bodies of the firmware's fuzz targets (`bodies`), and a test that
//! replays the fuzz corpus (`fuzz/corpus/<target>/`: seeds, inputs the fuzzer
//! found worth keeping, and whatever once crashed) and the built-in seeds
//! through them. The cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`) include
//! this file as a module, so fuzzing and this test run the same code. See
//! fuzz/README.md.

/// One function per fuzz target: it feeds the input to the parser, and on
/// success checks what the result promises. Any panic is a bug.
pub mod bodies {
    use armvm_firmware::image::esp::{self, Esp};
    use armvm_firmware::image::gpt::{Gpt, MAX_ENTRY_ARRAY};
    use armvm_firmware::image::mbr::Mbr;
    use armvm_firmware::image::{check, inspect, pe as pe_headers, Arch, Disk, SECTOR};
    use armvm_firmware::uefi::devpath::{measure, DevicePath};
    use armvm_firmware::uefi::guid::Guid;
    use armvm_firmware::uefi::load_option::{optional_data_text, parse_u16_list, LoadOption};
    use armvm_firmware::uefi::pe;
    use armvm_firmware::uefi::variables::{
        VarStatus, VariableStore, ATTR_BOOTSERVICE_ACCESS, ATTR_NON_VOLATILE, ATTR_RUNTIME_ACCESS,
        MAX_STORAGE, MAX_VARIABLE_SIZE,
    };

    /// A fuzz target body.
    pub type Body = fn(&[u8]);

    pub const TARGETS: [(&str, Body); 5] = [
        ("uefi_pe", uefi_pe),
        ("gpt", gpt),
        ("fat", fat),
        ("load_option", load_option),
        ("uefi_vars", uefi_vars),
    ];

    fn u16_at(b: &[u8], at: usize) -> u16 {
        b.get(at..at + 2)
            .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        b.get(at..at + 4)
            .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn u64_at(b: &[u8], at: usize) -> u64 {
        u64::from(u32_at(b, at)) | u64::from(u32_at(b, at + 4)) << 32
    }

    /// uefi_pe: a PE file, as LoadImage gets it. `pe::prepare`, and on
    /// success `relocate` to a base taken from the last 8 bytes of the input
    /// (page aligned); also the header check of `armvm image check`.
    pub fn uefi_pe(data: &[u8]) {
        for arch in [Arch::Aarch64, Arch::Arm] {
            let _ = pe_headers::check(data, arch);
        }
        let Ok(mut img) = pe::prepare(data) else {
            return;
        };
        let size = img.bytes.len();
        assert!(size > 0 && size <= 512 << 20, "SizeOfImage {size:#x}");
        assert!(
            img.entry < size as u64,
            "entry {:#x} of {size:#x}",
            img.entry
        );
        assert!(
            img.alignment.is_power_of_two() && (4096..=2 << 20).contains(&img.alignment),
            "alignment {:#x}",
            img.alignment
        );
        assert!((pe::SUBSYSTEM_APPLICATION..=pe::SUBSYSTEM_RUNTIME_DRIVER).contains(&img.subsystem));
        let tail = data.len().saturating_sub(8);
        let base = u64_at(data, tail) & !(img.alignment - 1);
        let _ = img.relocate(base);
        assert_eq!(img.bytes.len(), size, "relocation resized the image");
    }

    /// gpt: a disk image. Both GPT copies (`Gpt::read`, `active`,
    /// `disagreements`), the protective MBR, and `armvm image inspect` and
    /// `check`, which read the rest; then all of it again with the header
    /// and entry-array CRCs made right, so that mutations reach past the
    /// CRC checks.
    pub fn gpt(data: &[u8]) {
        gpt_once(data);
        if let Some(fixed) = fix_gpt_crcs(data) {
            gpt_once(&fixed);
        }
    }

    fn gpt_once(data: &[u8]) {
        let disk = &data;
        let g = Gpt::read(disk);
        if let Some(active) = g.active() {
            assert!(active.is_valid());
            let h = active.header.as_ref().unwrap();
            assert!(active.entries.len() <= h.num_entries as usize);
            for e in &active.entries {
                assert!(e.index >= 1 && e.index <= h.num_entries);
                let _ = (e.sectors(), e.byte_range());
            }
        }
        if let Ok(d) = g.disagreements() {
            assert!(g.primary.header_ok() && g.backup.header_ok());
            let _ = d;
        }
        let _ = Mbr::read(disk).is_valid();
        let i = inspect::inspect(disk);
        assert_eq!(i.has_gpt, g.active().is_some(), "{}", i.text);
        let report = check::check(disk, None);
        let _ = (report.passed(), report.to_string());
    }

    /// The input with the CRCs of the GPT headers at LBA 1, at the last LBA
    /// and at the primary's AlternateLBA (and of the entry arrays they point
    /// to, when those are in the input) recomputed; None if nothing changed.
    pub fn fix_gpt_crcs(data: &[u8]) -> Option<Vec<u8>> {
        let mut d = data.to_vec();
        let last = (d.len() as u64 / SECTOR).checked_sub(1)?;
        let alternate = fix_gpt_copy(&mut d, 1);
        fix_gpt_copy(&mut d, last);
        if let Some(lba) = alternate.filter(|&a| a != last && a != 1) {
            fix_gpt_copy(&mut d, lba);
        }
        (d != data).then_some(d)
    }

    /// Fixes the header at `lba`; returns its AlternateLBA.
    fn fix_gpt_copy(d: &mut [u8], lba: u64) -> Option<u64> {
        let at = usize::try_from(lba.checked_mul(SECTOR)?).ok()?;
        let h = d.get(at..at.checked_add(SECTOR as usize)?)?;
        if &h[..8] != b"EFI PART" {
            return None;
        }
        let size = u32_at(h, 12) as usize;
        let alternate = u64_at(h, 32);
        let (array_lba, count, entry_size) = (u64_at(h, 72), u32_at(h, 80), u32_at(h, 84));
        let array_len = u64::from(count) * u64::from(entry_size);
        if array_len <= MAX_ENTRY_ARRAY {
            let array = array_lba
                .checked_mul(SECTOR)
                .and_then(|s| usize::try_from(s).ok())
                .and_then(|s| d.get(s..s.checked_add(array_len as usize)?));
            if let Some(array) = array {
                let crc = crc32fast::hash(array);
                d[at + 88..at + 92].copy_from_slice(&crc.to_le_bytes());
            }
        }
        if (92..=SECTOR as usize).contains(&size) {
            d[at + 16..at + 20].fill(0);
            let crc = crc32fast::hash(&d[at..at + size]);
            d[at + 16..at + 20].copy_from_slice(&crc.to_le_bytes());
        }
        Some(alternate)
    }

    /// Partitions padded with zeros up to this size are also tried.
    const MAX_PADDED: u64 = 64 << 20;

    /// The input followed by zeros up to `len` bytes: a FAT volume whose
    /// unused tail was cut off (FAT32 needs 33 MiB; its seeds would be too
    /// large whole).
    struct Padded<'a> {
        data: &'a [u8],
        len: u64,
    }

    impl Disk for Padded<'_> {
        fn len(&self) -> u64 {
            self.len
        }

        fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
            if offset >= self.len {
                return Ok(0);
            }
            let n = buf.len().min((self.len - offset) as usize);
            let got = self.data.read_at(offset, &mut buf[..n])?;
            buf[got..n].fill(0);
            Ok(n)
        }
    }

    /// The volume size the boot sector claims (BytsPerSec × TotSec).
    fn claimed_volume(data: &[u8]) -> u64 {
        let total = match u16_at(data, 19) {
            0 => u32_at(data, 32),
            n => u32::from(n),
        };
        u64::from(u16_at(data, 11)) * u64::from(total)
    }

    /// fat: an EFI System Partition. `Esp::open` over the whole input, then
    /// `walk`, `find` and `read_file` of the removable-media path and of the
    /// first files the walk lists; again with the input padded with zeros
    /// to the size its boot sector claims, when that is larger (up to 64 MiB).
    pub fn fat(data: &[u8]) {
        fat_once(&data, data.len() as u64);
        let claimed = claimed_volume(data);
        if claimed > data.len() as u64 && claimed <= MAX_PADDED {
            fat_once(&Padded { data, len: claimed }, claimed);
        }
    }

    fn fat_once(disk: &dyn Disk, len: u64) {
        const BOOT: [&str; 3] = ["EFI", "BOOT", "BOOTAA64.EFI"];
        const CAP: u64 = 1 << 20;
        let Ok(esp) = Esp::open(disk, 0, len) else {
            return;
        };
        assert!(esp.bpb.volume_bytes() <= len);
        let tree = esp.walk();
        assert!(tree.nodes.len() <= esp::MAX_ENTRIES);
        if let Ok(Some(node)) = esp.find(&BOOT) {
            assert_eq!(node.path, esp::display_path(&BOOT));
        }
        if let Ok(bytes) = esp.read_file(&BOOT, CAP) {
            assert!(bytes.len() as u64 <= CAP);
        }
        for node in tree.nodes.iter().filter(|n| !n.is_dir).take(4) {
            let parts: Vec<&str> = node.path.split('\\').filter(|p| !p.is_empty()).collect();
            if let Ok(bytes) = esp.read_file(&parts, 64 << 10) {
                assert!(bytes.len() <= 64 << 10);
            }
        }
    }

    /// load_option: a Boot#### variable's data. `LoadOption::parse`, and on
    /// success `to_bytes` parses back to the same option; the same bytes as
    /// a device path (`DevicePath::parse`, `parse_instances`), each of which
    /// must also survive encoding and parsing again, and as a UINT16 list.
    pub fn load_option(data: &[u8]) {
        if let Ok(option) = LoadOption::parse(data) {
            let bytes = option.to_bytes();
            let again = LoadOption::parse(&bytes)
                .unwrap_or_else(|e| panic!("to_bytes of {option:?} does not parse: {e}"));
            assert_eq!(again, option);
            assert_eq!(again.to_bytes(), bytes);
            let _ = (option.is_active(), option.is_boot_category());
            let _ = optional_data_text(&option.optional_data);
            for path in &option.paths {
                path_round_trips(path);
            }
        }
        match DevicePath::parse(data) {
            Ok((path, len)) => {
                assert!(len <= data.len());
                path_round_trips(&path);
                // measure (which walks guest memory) agrees on the length.
                let mut read = |at: u64, buf: &mut [u8]| {
                    let at = at as usize;
                    match data.get(at..at + buf.len()) {
                        Some(src) => {
                            buf.copy_from_slice(src);
                            true
                        }
                        None => false,
                    }
                };
                assert_eq!(measure(&mut read, data.len()), Ok(len));
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
        if let Ok(paths) = DevicePath::parse_instances(data) {
            assert!(!paths.is_empty());
            for path in &paths {
                path_round_trips(path);
            }
        }
        let _ = (parse_u16_list(data), optional_data_text(data));
    }

    fn path_round_trips(path: &DevicePath) {
        let bytes = path.to_bytes();
        assert_eq!(bytes.len(), path.byte_len());
        assert_eq!(
            DevicePath::parse(&bytes),
            Ok((path.clone(), bytes.len())),
            "{path:?}"
        );
        let _ = (path.to_string(), path.file_path(), path.without_files());
    }

    /// uefi_vars: a `--vars` file. `VariableStore::parse_file`, and on
    /// success: every variable is one that SetVariable accepts into an empty
    /// store, GetNextVariableName lists each once, and QueryVariableInfo
    /// agrees; again with the trailing CRC made right.
    pub fn uefi_vars(data: &[u8]) {
        vars_once(data);
        if let Some(body) = data.len().checked_sub(4) {
            let crc = crc32fast::hash(&data[..body]).to_le_bytes();
            if data[body..] != crc {
                let mut fixed = data.to_vec();
                fixed[body..].copy_from_slice(&crc);
                vars_once(&fixed);
            }
        }
    }

    fn vars_once(data: &[u8]) {
        let store = match VariableStore::parse_file(data) {
            Ok(s) => s,
            Err(e) => {
                assert!(!e.to_string().is_empty());
                return;
            }
        };
        let nv = ATTR_NON_VOLATILE | ATTR_BOOTSERVICE_ACCESS;
        let mut again = VariableStore::in_memory();
        let mut runtime_vars = 0;
        for v in store.iter() {
            assert_eq!(v.attributes & nv, nv, "{v:?}");
            assert!((v.name.len() + 1) * 2 + v.data.len() <= MAX_VARIABLE_SIZE);
            assert_eq!(store.get(&v.name, &v.guid, false), Some(v));
            assert_eq!(
                again.set(&v.name, &v.guid, v.attributes, &v.data, false),
                Ok(()),
                "a stored variable SetVariable refuses: {v:?}"
            );
            runtime_vars += usize::from(v.attributes & ATTR_RUNTIME_ACCESS != 0);
        }
        assert!(again.iter().eq(store.iter()));
        for (runtime, want) in [(false, store.iter().count()), (true, runtime_vars)] {
            let (mut name, mut guid, mut seen) = (Vec::new(), Guid::default(), 0);
            loop {
                match store.next_name(&name, &guid, runtime) {
                    Ok((n, g)) => (name, guid) = (n, g),
                    Err(VarStatus::NotFound) => break,
                    Err(e) => panic!("GetNextVariableName: {e:?}"),
                }
                seen += 1;
                assert!(seen <= want);
            }
            assert_eq!(seen, want);
        }
        let info = store.query_info(nv, false).unwrap();
        assert_eq!(Ok(info), again.query_info(nv, false));
        assert!(info.1 <= MAX_STORAGE as u64);
    }
}

#[cfg(test)]
mod replay {
    use std::path::{Path, PathBuf};

    use armvm_firmware::image::create::{self, CreateOptions, Source};
    use armvm_firmware::image::esp::Esp;
    use armvm_firmware::image::fat::FatKind;
    use armvm_firmware::image::pe::{
        minimal_image, MACHINE_ARM64, MACHINE_ARM_THUMB, MACHINE_X86_64, SUBSYSTEM_EFI_APPLICATION,
    };
    use armvm_firmware::image::SECTOR;
    use armvm_firmware::uefi::devpath::{DevicePath, Node};
    use armvm_firmware::uefi::guid::{self, Guid};
    use armvm_firmware::uefi::load_option::LoadOption;
    use armvm_firmware::uefi::variables::{
        VariableStore, ATTR_BOOTSERVICE_ACCESS, ATTR_NON_VOLATILE, ATTR_RUNTIME_ACCESS,
    };

    use super::bodies::{fix_gpt_crcs, Body, TARGETS};

    fn corpus(target: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/corpus")
            .join(target)
    }

    fn body(target: &str) -> Body {
        TARGETS.iter().find(|(t, _)| *t == target).unwrap().1
    }

    #[test]
    fn corpus_inputs_replay() {
        for (target, run) in TARGETS {
            let mut files: Vec<PathBuf> = std::fs::read_dir(corpus(target))
                .unwrap_or_else(|e| panic!("{}: {e}", corpus(target).display()))
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            assert!(!files.is_empty(), "no corpus for {target}");
            for file in files {
                // Shown if the input fails.
                println!("{target}: {}", file.display());
                run(&std::fs::read(&file).unwrap());
            }
        }
    }

    #[test]
    fn seeds_replay() {
        for (target, name, input) in seeds() {
            println!("{target}: seed {name}");
            body(target)(&input);
        }
    }

    /// The seeds get past the first checks, so that fuzzing starts deep.
    #[test]
    fn seeds_are_well_formed() {
        use armvm_firmware::image::gpt::Gpt;
        use armvm_firmware::uefi::pe;
        let all = seeds();
        let of = |target: &'static str| {
            all.iter()
                .filter(move |(t, _, _)| *t == target)
                .map(|(_, name, bytes)| (name.as_str(), bytes.as_slice()))
        };
        for (name, bytes) in of("uefi_pe") {
            let ok = pe::prepare(bytes).and_then(|mut i| i.relocate(0x4000_0000));
            assert_eq!(
                ok.is_ok(),
                name.starts_with("minimal-") && !name.contains("x86") && !name.contains("pe32"),
                "{name}"
            );
        }
        for (name, bytes) in of("gpt") {
            let g = Gpt::read(&bytes);
            let valid = [g.primary.is_valid(), g.backup.is_valid()];
            let want = match name {
                "created-head-tail" | "primary-only" => [true, false],
                "backup-only" => [false, true],
                "4k-sectors" => [false, false],
                _ => [true, true],
            };
            assert_eq!(valid, want, "{name}");
        }
        for (name, bytes) in of("fat") {
            let len = 64 << 20;
            let padded = [bytes, &vec![0; len - bytes.len()]].concat();
            let whole = padded.as_slice();
            let len = Esp::open(&whole, 0, len as u64).unwrap().bpb.volume_bytes() as usize;
            let volume = &padded[..len];
            let esp = Esp::open(&volume, 0, len as u64).unwrap();
            let efi = esp.read_file(&["EFI", "BOOT", "BOOTAA64.EFI"], 1 << 20);
            assert_eq!(efi, Ok(relocatable_image()), "{name}");
            assert!(esp.walk().problems.is_empty(), "{name}");
        }
        for (name, bytes) in of("load_option") {
            let parsed = match name {
                "device-path" | "multi-instance-path" | "boot-order" => {
                    DevicePath::parse_instances(bytes).map(|_| ()).is_ok()
                }
                _ => LoadOption::parse(bytes).is_ok(),
            };
            assert_eq!(parsed, name != "boot-order", "{name}");
        }
        for (name, bytes) in of("uefi_vars") {
            let store = VariableStore::parse_file(bytes).unwrap();
            assert_eq!(
                store.iter().count(),
                if name == "empty" { 0 } else { 4 },
                "{name}"
            );
        }
    }

    #[test]
    fn short_and_empty_inputs_replay() {
        for (_, run) in TARGETS {
            for len in 0..64 {
                run(&vec![0xff; len]);
                run(&vec![0; len]);
            }
        }
    }

    /// Writes the seeds into the corpus: `cargo test -p armvm-firmware --test
    /// fuzz_corpus -- --ignored`. Besides the built-in seeds, FAT images made
    /// by mkfs.fat and mtools (when installed). Downloaded loaders are not
    /// committed: `debian_loaders_replay` runs them from the cache instead.
    #[test]
    #[ignore]
    fn write_seed_corpus() {
        let mut all = seeds();
        all.extend(host_seeds());
        for (target, name, input) in all {
            let dir = corpus(target);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("seed-{name}")), input).unwrap();
        }
    }

    type Seed = (&'static str, String, Vec<u8>);

    /// Well-formed inputs for each target, made here.
    fn seeds() -> Vec<Seed> {
        let mut out = Vec::new();
        let mut add = |target, name: &str, bytes| out.push((target, name.to_string(), bytes));
        for (name, bytes) in pe_seeds() {
            add("uefi_pe", name, bytes);
        }
        for (name, bytes) in gpt_seeds() {
            add("gpt", name, bytes);
        }
        for (name, bytes) in fat_seeds() {
            add("fat", name, bytes);
        }
        for (name, bytes) in load_option_seeds() {
            add("load_option", name, bytes);
        }
        for (name, bytes) in vars_seeds() {
            add("uefi_vars", name, bytes);
        }
        out
    }

    fn put16(b: &mut [u8], at: usize, v: u16) {
        b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }

    fn put32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn put64(b: &mut [u8], at: usize, v: u64) {
        b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    fn get32(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    /// `minimal_image` with an ImageBase and a base relocation table (one
    /// DIR64 and one HIGHLOW fixup) in the last bytes of its `.text`.
    fn relocatable_image() -> Vec<u8> {
        let mut b = minimal_image(MACHINE_ARM64, true, SUBSYSTEM_EFI_APPLICATION);
        let opt = 0x84 + 20;
        put64(&mut b, opt + 24, 0x1000_0000); // ImageBase
        let (file, rva) = (0x3E0, 0x11E0);
        put32(&mut b, file, 0x1000); // page RVA
        put32(&mut b, file + 4, 16); // block size
        put16(&mut b, file + 8, 0xA000 | 0x100); // DIR64 at 0x1100
        put16(&mut b, file + 10, 0x3000 | 0x108); // HIGHLOW at 0x1108
        put16(&mut b, file + 12, 0); // ABSOLUTE (padding)
        put16(&mut b, file + 14, 0);
        put64(&mut b, 0x300, 0x1000_1000);
        put32(&mut b, 0x308, 0x1000_1010);
        put32(&mut b, opt + 112 + 5 * 8, rva); // data directory 5
        put32(&mut b, opt + 112 + 5 * 8 + 4, 16);
        b
    }

    fn pe_seeds() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            (
                "minimal-application",
                minimal_image(MACHINE_ARM64, true, SUBSYSTEM_EFI_APPLICATION),
            ),
            (
                "minimal-boot-driver",
                minimal_image(MACHINE_ARM64, true, 11),
            ),
            (
                "minimal-runtime-driver",
                minimal_image(MACHINE_ARM64, true, 12),
            ),
            ("minimal-relocations", relocatable_image()),
            (
                "minimal-x86_64",
                minimal_image(MACHINE_X86_64, true, SUBSYSTEM_EFI_APPLICATION),
            ),
            (
                "minimal-pe32-arm",
                minimal_image(MACHINE_ARM_THUMB, false, SUBSYSTEM_EFI_APPLICATION),
            ),
        ]
    }

    /// A one-file ESP image made by `armvm image create`'s builder.
    fn created_image(kind: FatKind, esp_mib: u64) -> (Vec<u8>, (u64, u64)) {
        let mut opts = CreateOptions::new(Source::Bytes(relocatable_image()));
        opts.esp_fat = kind;
        opts.esp_size = esp_mib << 20;
        opts.seed = Some(7);
        opts.files.push((
            "EFI/debian/grub.cfg".into(),
            Source::Bytes(b"set timeout=0\nlinux /vmlinuz root=/dev/vda2\n".to_vec()),
        ));
        opts.files.push((
            "EFI/debian/A long file name.txt".into(),
            Source::Bytes(vec![0x5A; 3000]),
        ));
        let (cursor, summary) = create::build(std::io::Cursor::new(Vec::new()), &opts, |c, len| {
            c.get_mut().resize(len as usize, 0);
            Ok(())
        })
        .unwrap();
        let (_, _, _, _, first, last) = summary.partitions[0];
        (cursor.into_inner(), (first, last))
    }

    /// The bytes up to the last non-zero sector.
    fn trim_zeros(mut b: Vec<u8>) -> Vec<u8> {
        let end = b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
        b.truncate(end.div_ceil(SECTOR as usize) * SECTOR as usize);
        b
    }

    fn gpt_seeds() -> Vec<(&'static str, Vec<u8>)> {
        let s = SECTOR as usize;
        let (img, _) = created_image(FatKind::Fat12, 1);
        let sectors = img.len() / s;
        // The first 34 and the last 33 sectors: MBR, both GPT copies.
        let mut head_tail = img[..34 * s].to_vec();
        head_tail.extend_from_slice(&img[(sectors - 33) * s..]);
        // The same, moved so that both copies are valid on a 67-sector disk:
        // the primary points to the backup at LBA 66, whose entry array
        // starts at LBA 34; no usable LBAs are left.
        let mut shrunk = head_tail.clone();
        put64(&mut shrunk, s + 32, 66); // primary AlternateLBA
        put64(&mut shrunk, s + 48, 33); // primary LastUsableLBA
        put64(&mut shrunk, 66 * s + 24, 66); // backup MyLBA
        put64(&mut shrunk, 66 * s + 48, 33); // backup LastUsableLBA
        put64(&mut shrunk, 66 * s + 72, 34); // backup PartitionEntryLBA
        let shrunk = fix_gpt_crcs(&shrunk).unwrap();
        // A backup-only table, and a primary without its backup.
        let mut backup_only = shrunk.clone();
        backup_only[s..2 * s].fill(0);
        let mut primary_only = shrunk.clone();
        primary_only[66 * s..].fill(0);
        // A header where a disk with 4096-byte sectors has it.
        let mut four_k = vec![0u8; 16 * s];
        four_k[4096..4096 + 8].copy_from_slice(b"EFI PART");
        vec![
            ("created-head-tail", head_tail),
            ("created-shrunk", shrunk.clone()),
            ("backup-only", backup_only),
            ("primary-only", primary_only),
            ("4k-sectors", four_k),
            ("three-partitions", three_partition_disk()),
        ]
    }

    /// A 128-sector disk with three partitions, an ESP, a Linux root (both
    /// in the usable LBAs) and one overlapping the root, in both copies.
    fn three_partition_disk() -> Vec<u8> {
        let s = SECTOR as usize;
        let mut d = vec![0u8; 128 * s];
        // Protective MBR.
        d[446 + 4] = 0xEE;
        put32(&mut d, 446 + 8, 1);
        put32(&mut d, 446 + 12, 127);
        d[510] = 0x55;
        d[511] = 0xAA;
        let parts: [(u128, u64, u64, &str); 3] = [
            (
                0xC12A7328_F81F_11D2_BA4B_00A0C93EC93B,
                34,
                63,
                "EFI System Partition",
            ),
            (0x0FC63DAF_8483_4772_8E79_3D69D8477DE4, 64, 90, "root"),
            (0x0FC63DAF_8483_4772_8E79_3D69D8477DE4, 80, 94, "overlap"),
        ];
        for array_lba in [2usize, 95] {
            for (i, (ty, first, last, name)) in parts.iter().enumerate() {
                let e = &mut d[array_lba * s + i * 128..][..128];
                e[..16].copy_from_slice(&Guid::from_u128(*ty).0);
                e[16..32].copy_from_slice(&[i as u8 + 1; 16]);
                put64(e, 32, *first);
                put64(e, 40, *last);
                put64(e, 48, if i == 0 { 1 } else { 0 });
                for (j, c) in name.encode_utf16().enumerate() {
                    put16(e, 56 + 2 * j, c);
                }
            }
        }
        for (lba, alternate, array) in [(1u64, 127u64, 2u64), (127, 1, 95)] {
            let h = &mut d[lba as usize * s..][..s];
            h[..8].copy_from_slice(b"EFI PART");
            put32(h, 8, 0x0001_0000);
            put32(h, 12, 92);
            put64(h, 24, lba);
            put64(h, 32, alternate);
            put64(h, 40, 34);
            put64(h, 48, 94);
            h[56..72].copy_from_slice(&[0x11; 16]);
            put64(h, 72, array);
            put32(h, 80, 128);
            put32(h, 84, 128);
        }
        fix_gpt_crcs(&d).unwrap()
    }

    fn fat_seeds() -> Vec<(&'static str, Vec<u8>)> {
        let mut out = Vec::new();
        for (name, kind, mib) in [
            ("created-fat12", FatKind::Fat12, 1),
            ("created-fat16", FatKind::Fat16, 8),
            ("created-fat32", FatKind::Fat32, 34),
        ] {
            let (img, (first, last)) = created_image(kind, mib);
            let s = SECTOR as usize;
            let esp = img[first as usize * s..(last as usize + 1) * s].to_vec();
            out.push((name, trim_zeros(esp)));
        }
        out
    }

    fn utf16z(text: &str) -> Vec<u8> {
        text.encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect()
    }

    /// `efibootmgr -c -d /dev/vda -p 1 -L debian -l \EFI\debian\grubaa64.efi`.
    fn debian_path() -> DevicePath {
        DevicePath::new(vec![
            Node::HardDrive {
                partition: 1,
                start_lba: 0x800,
                size_lba: 0x10_0000,
                signature: Guid::from_u128(0x1B4A9D0E_2C3F_4E5D_8A6B_7C8D9E0F1A2B).0,
                format: 2,
                signature_type: 2,
            },
            Node::FilePath("\\EFI\\debian\\grubaa64.efi".into()),
        ])
    }

    /// The path the firmware gives a virtio disk's partition.
    fn firmware_path() -> DevicePath {
        DevicePath::new(vec![
            Node::VendorHw {
                guid: guid::VIRTIO_MMIO_TRANSPORT,
                data: 0x0a00_3e00u64.to_le_bytes().to_vec(),
            },
            Node::MemoryMapped {
                memory_type: 11,
                start: 0x0a00_3e00,
                end: 0x0a00_3fff,
            },
            Node::HardDrive {
                partition: 1,
                start_lba: 0x800,
                size_lba: 0x1_0000,
                signature: [0xEF, 0xBE, 0xAD, 0xDE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                format: 1,
                signature_type: 1,
            },
            Node::FilePath("\\EFI".into()),
            Node::FilePath("BOOT\\BOOTAA64.EFI".into()),
        ])
    }

    fn load_option_seeds() -> Vec<(&'static str, Vec<u8>)> {
        let option = |attributes, description: &str, paths, optional_data| LoadOption {
            attributes,
            description: description.into(),
            paths,
            optional_data,
        };
        let initrd = DevicePath::new(vec![
            Node::VendorMedia {
                guid: guid::LINUX_INITRD_MEDIA,
                data: vec![],
            },
            Node::FilePath("\\initrd.img".into()),
        ]);
        let pci = DevicePath::new(vec![
            Node::Other {
                kind: 2,
                subtype: 1,
                data: vec![0xD0, 0x41, 0x03, 0x0A, 0, 0, 0, 0],
            },
            Node::Other {
                kind: 1,
                subtype: 1,
                data: vec![0, 2],
            },
        ]);
        // Two instances separated by End-Instance.
        let mut multi = debian_path().to_bytes();
        let len = multi.len();
        multi[len - 3] = 0x01;
        multi.extend(pci.to_bytes());
        let mut multi_option = 1u32.to_le_bytes().to_vec();
        multi_option.extend((multi.len() as u16).to_le_bytes());
        multi_option.extend(utf16z("multi"));
        multi_option.extend(&multi);
        vec![
            (
                "debian",
                option(1, "debian", vec![debian_path()], vec![]).to_bytes(),
            ),
            (
                "linux-cmdline",
                option(
                    1,
                    "Linux",
                    vec![firmware_path()],
                    utf16z("root=/dev/vda2 ro console=ttyAMA0"),
                )
                .to_bytes(),
            ),
            (
                "kernel-initrd",
                option(
                    0x109,
                    "k\u{e9}rnel \u{1F427}",
                    vec![debian_path(), initrd],
                    vec![1, 2, 3],
                )
                .to_bytes(),
            ),
            ("pci-hidden", option(8, "", vec![pci], vec![]).to_bytes()),
            ("multi-instance", multi_option),
            ("device-path", firmware_path().to_bytes()),
            ("multi-instance-path", multi),
            ("boot-order", vec![3, 0, 1, 0, 0, 0]),
        ]
    }

    fn vars_seeds() -> Vec<(&'static str, Vec<u8>)> {
        let nv_bs = ATTR_NON_VOLATILE | ATTR_BOOTSERVICE_ACCESS;
        let nv_bs_rt = nv_bs | ATTR_RUNTIME_ACCESS;
        let boot = LoadOption {
            attributes: 1,
            description: "debian".into(),
            paths: vec![debian_path()],
            optional_data: vec![],
        };
        let vendor = Guid::from_u128(0x605DAB50_E046_4300_ABB6_3DD810DD8B23);
        let saved = |f: &dyn Fn(&mut VariableStore)| {
            let dir = TempDir::new();
            let path = dir.0.join("vars");
            let mut store = VariableStore::open(&path).unwrap();
            f(&mut store);
            store.save().unwrap();
            std::fs::read(&path).unwrap()
        };
        let g = guid::GLOBAL_VARIABLE;
        vec![
            (
                "boot-entries",
                saved(&|s| {
                    s.set_firmware("Boot0000", &g, nv_bs_rt, &boot.to_bytes());
                    s.set_firmware("BootOrder", &g, nv_bs_rt, &[0, 0]);
                    s.set_firmware("Timeout", &g, nv_bs_rt, &[5, 0]);
                    s.set_firmware("MokListRT", &vendor, nv_bs, &[0xA5; 40]);
                    s.set_firmware("BootCurrent", &g, 6, &[0, 0]);
                }),
            ),
            (
                "empty",
                saved(&|s| {
                    s.set_firmware("X", &g, nv_bs, &[1]);
                    s.set_firmware("X", &g, nv_bs, &[]);
                }),
            ),
        ]
    }

    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let dir = std::env::temp_dir().join(format!(
                "armvm-fuzz-seed-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The Debian installer's GRUB and shim (when `scripts/setup.sh` has
    /// fetched them into the cache) go through the PE target, whole and with
    /// their big sections left out; they load and relocate.
    #[test]
    fn debian_loaders_replay() {
        let cache = std::env::var_os("ARMVM_CACHE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/armvm")))
            .unwrap_or_default();
        let d_i = cache.join(
            "pkgs/debian-installer-12-netboot-arm64/usr/lib/debian-installer\
             /images/12/arm64/text/debian-installer/arm64",
        );
        for name in ["grubaa64.efi", "bootnetaa64.efi"] {
            let Ok(pe) = std::fs::read(d_i.join(name)) else {
                eprintln!("{name} is not in the cache: skipped");
                continue;
            };
            for input in [without_big_sections(&pe), pe] {
                let mut img = armvm_firmware::uefi::pe::prepare(&input).unwrap();
                img.relocate(0x4000_0000).unwrap();
                crate::bodies::uefi_pe(&input);
            }
        }
    }

    /// Seeds from tools of the host, when they are there.
    fn host_seeds() -> Vec<Seed> {
        let mut out = Vec::new();
        let dir = TempDir::new();
        for (name, args, size_kib) in [
            ("mkfs-fat12", &["-F", "12"][..], 256),
            ("mkfs-fat16", &["-F", "16", "-s", "1"][..], 4096),
            ("mkfs-fat32", &["-F", "32", "-s", "1"][..], 40 << 10),
        ] {
            if let Some(img) = mkfs_image(&dir.0, args, size_kib) {
                let whole = img.as_slice();
                let esp = Esp::open(&whole, 0, img.len() as u64).unwrap();
                let efi = esp.read_file(&["EFI", "BOOT", "BOOTAA64.EFI"], 1 << 20);
                assert_eq!(efi, Ok(relocatable_image()), "{name}");
                out.push(("fat", name.into(), trim_zeros(img)));
            }
        }
        out
    }

    /// A PE file with the raw data of sections over 1 MiB (GRUB's `mods`,
    /// its built-in modules) left out and the signature dropped, so that a
    /// real GRUB fits the corpus: its code, data and relocations remain.
    fn without_big_sections(pe: &[u8]) -> Vec<u8> {
        let pe_at = get32(pe, 0x3C) as usize;
        let count = u16::from_le_bytes([pe[pe_at + 6], pe[pe_at + 7]]) as usize;
        let opt = pe_at + 24;
        let opt_size = u16::from_le_bytes([pe[pe_at + 20], pe[pe_at + 21]]) as usize;
        let table = opt + opt_size;
        let headers = get32(pe, opt + 60) as usize;
        let mut out = pe[..headers].to_vec();
        out[opt + 112 + 4 * 8..opt + 112 + 5 * 8].fill(0); // certificate table
        for i in 0..count {
            let sec = table + 40 * i;
            let (size, at) = (get32(pe, sec + 16) as usize, get32(pe, sec + 20) as usize);
            if size > 1 << 20 {
                put32(&mut out, sec + 16, 0);
                put32(&mut out, sec + 20, 0);
            } else if size > 0 {
                let at_now = out.len() as u32;
                put32(&mut out, sec + 20, at_now);
                out.extend_from_slice(&pe[at..at + size]);
            }
        }
        out
    }

    /// A FAT image made by mkfs.fat, with the removable-media boot program
    /// and a few more files copied in by mtools; None without the tools.
    fn mkfs_image(dir: &Path, args: &[&str], size_kib: u32) -> Option<Vec<u8>> {
        use std::process::Command;
        let img = dir.join("fat.img");
        let _ = std::fs::remove_file(&img);
        let run = |cmd: &mut Command| cmd.status().is_ok_and(|s| s.success());
        let mkfs = run(Command::new("mkfs.fat")
            .args(args)
            .args(["-i", "1234ABCD", "-n", "ESP", "-C"])
            .arg(&img)
            .arg(size_kib.to_string()));
        if !mkfs {
            return None;
        }
        let efi = dir.join("BOOTAA64.EFI");
        std::fs::write(&efi, relocatable_image()).unwrap();
        let cfg = dir.join("grub.cfg");
        std::fs::write(&cfg, "set timeout=0\n").unwrap();
        let image = format!("{}", img.display());
        let on = |p: &str| format!("::{p}");
        let ok = run(Command::new("mmd").args([
            "-i",
            &image,
            "::EFI",
            "::EFI/BOOT",
            "::EFI/debian",
            "::EFI/debian/a long directory name",
        ])) && run(Command::new("mcopy")
            .args(["-i", &image])
            .arg(&efi)
            .arg(on("EFI/BOOT/BOOTAA64.EFI")))
            && run(Command::new("mcopy")
                .args(["-i", &image])
                .arg(&cfg)
                .arg(on("EFI/debian/a long directory name/grub.cfg")));
        ok.then(|| std::fs::read(&img).unwrap())
    }
}
