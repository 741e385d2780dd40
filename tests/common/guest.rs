//! A Linux guest for end-to-end device tests: Debian 12's generic arm64 kernel
//! (package `linux-image-arm64`, through `scripts/setup.sh path`) with a busybox
//! initramfs (busybox-static:arm64) that loads the kernel modules the virtio
//! devices and ext4 need, then runs a shell scenario given by the test.
//!
//! - `linux_guest()` finds the kernel and builds the common part of the initramfs
//!   once per test binary (tests run in parallel).
//! - `LinuxGuest::initramfs(dir, scenario)` writes, for one test, that archive
//!   followed by a second small cpio archive holding `/scenario` (the kernel
//!   unpacks concatenated archives in turn), so each test picks what the guest does.
//!   `LinuxGuest::initramfs_with` adds more files (e.g. test programs) to that
//!   second archive.
//! - `Machine::run` boots it on armvm, or on `qemu-system-aarch64 -M virt` when
//!   `ARMVM_VIRTIO_QEMU=1` (to check the guest side of a test against QEMU);
//!   `Machine::boot` boots a given initramfs on either, as the caller says.
//!
//! The guest's /init prints `ARMVM-GUEST-KERNEL: <release>`, one
//! `ARMVM-INSMOD-FAILED: <module>` per module that did not load,
//! `ARMVM-MODULES-LOADED`, then runs `/scenario` in a subshell under `set -e`
//! (so the first failing command ends it), prints `ARMVM-SCENARIO-EXIT: <status>`,
//! syncs and powers off with `poweroff -f`. Scenarios can use these /init functions:
//! `wait_for PATH` (waits up to 30 s for a file or device node to appear) and
//! `disk_by_serial SERIAL` (prints /dev/vdX of the virtio disk with that serial).

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use super::{cpio_newc, guest_package, run_command_until, scratch_dir};

/// The modules the guest loads (with their dependencies, found in the modules'
/// own `depends=` and `softdep=pre:` fields), by module name. Those built into
/// the kernel (listed in modules.builtin) are skipped.
pub const GUEST_MODULES: &[&str] = &[
    "virtio_mmio",
    "virtio_blk",
    "virtio_console",
    "virtio_rng",
    "virtio_balloon",
    "virtio_net",
    "ext4",
];

/// The environment variable that runs the guests on QEMU instead of armvm.
pub const QEMU_ENV: &str = "ARMVM_VIRTIO_QEMU";

const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# wait_for PATH: waits up to 30 s for PATH to exist (devices appear asynchronously).
wait_for() {
    i=0
    while [ ! -e "$1" ]; do
        i=$((i + 1))
        if [ "$i" -gt 300 ]; then
            echo "ARMVM-TIMEOUT-WAITING-FOR: $1"
            return 1
        fi
        sleep 0.1
    done
}

# disk_by_serial SERIAL: prints the /dev/vdX whose virtio-blk serial is SERIAL.
disk_by_serial() {
    for s in /sys/block/vd*/serial; do
        if [ -e "$s" ] && [ "$(cat "$s")" = "$1" ]; then
            d=${s%/serial}
            echo "/dev/${d##*/}"
            return 0
        fi
    done
    echo "ARMVM-NO-DISK-WITH-SERIAL: $1" >&2
    return 1
}

echo "ARMVM-GUEST-KERNEL: $(uname -r)"
while read -r m; do
    insmod "/lib/modules/$m.ko" || echo "ARMVM-INSMOD-FAILED: $m"
done < /etc/armvm-modules
echo "ARMVM-MODULES-LOADED"
rc=0
if [ -f /scenario ]; then
    # Not on the left of || or &&: that would switch set -e off inside.
    (set -e; . /scenario)
    rc=$?
fi
echo "ARMVM-SCENARIO-EXIT: $rc"
sync
poweroff -f
"#;

/// Debian's generic arm64 kernel and the common initramfs built for it.
pub struct LinuxGuest {
    /// boot/vmlinuz-RELEASE (on Debian arm64 a plain, uncompressed Image).
    pub kernel: PathBuf,
    /// The kernel release, e.g. 6.1.0-57-arm64.
    pub release: String,
    /// Module names in the order /init loads them (dependencies first).
    pub modules: Vec<String>,
    /// The modules of `GUEST_MODULES` found in modules.builtin, not loaded.
    pub builtin: Vec<String>,
    /// The common cpio archive: busybox, the modules, /init.
    base_cpio: Vec<u8>,
}

/// The guest, prepared once per test binary.
pub fn linux_guest() -> &'static LinuxGuest {
    static GUEST: OnceLock<LinuxGuest> = OnceLock::new();
    GUEST.get_or_init(build_linux_guest)
}

impl LinuxGuest {
    /// Writes `dir/initramfs.cpio`: the common archive and then one holding
    /// `scenario` as /scenario. Returns its path.
    pub fn initramfs(&self, dir: &Path, scenario: &str) -> PathBuf {
        self.initramfs_with(dir, scenario, &[])
    }

    /// [`LinuxGuest::initramfs`] whose second archive also holds `files`, as
    /// `cpio_newc` takes them (e.g. `("bin/prog", 0o100755, &elf)`; /bin, /tmp,
    /// /usr/bin, ... exist already).
    pub fn initramfs_with(
        &self,
        dir: &Path,
        scenario: &str,
        files: &[(&str, u32, &[u8])],
    ) -> PathBuf {
        let mut data = self.base_cpio.clone();
        let mut entries = vec![("scenario", 0o100644, scenario.as_bytes())];
        entries.extend_from_slice(files);
        data.extend(cpio_newc(&entries));
        let path = dir.join("initramfs.cpio");
        std::fs::write(&path, data).expect("write initramfs");
        path
    }
}

fn build_linux_guest() -> LinuxGuest {
    let pkg = guest_package("linux-image-arm64");
    let kernel = std::fs::read_dir(pkg.join("boot"))
        .expect("boot/ in linux-image-arm64")
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("vmlinuz-")
        })
        .expect("no boot/vmlinuz-* in linux-image-arm64");
    let release = kernel
        .file_name()
        .unwrap()
        .to_string_lossy()
        .trim_start_matches("vmlinuz-")
        .to_string();
    let moddir = pkg.join("lib/modules").join(&release);
    let index = ModuleIndex::new(&moddir);

    let builtin_text = std::fs::read_to_string(moddir.join("modules.builtin")).unwrap_or_default();
    let builtin_names: HashSet<String> = builtin_text
        .lines()
        .filter_map(|l| l.rsplit('/').next())
        .map(|f| normalize(f.trim_end_matches(".ko")))
        .collect();

    let mut order = Vec::new();
    let mut builtin = Vec::new();
    let mut seen = HashSet::new();
    for m in GUEST_MODULES {
        let name = normalize(m);
        if !index.paths.contains_key(&name) && builtin_names.contains(&name) {
            builtin.push(name);
            continue;
        }
        index.add_with_deps(&name, &builtin_names, &mut seen, &mut order);
    }

    let busybox = std::fs::read(guest_package("busybox-static:arm64").join("bin/busybox"))
        .expect("busybox binary");
    let module_data: Vec<(String, Vec<u8>)> = order
        .iter()
        .map(|m| {
            let path = &index.paths[m];
            let data = std::fs::read(path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            (format!("lib/modules/{m}.ko"), data)
        })
        .collect();
    let module_list: String = order.iter().map(|m| format!("{m}\n")).collect();

    let mut entries: Vec<(&str, u32, &[u8])> = Vec::new();
    for d in [
        "bin",
        "sbin",
        "usr",
        "usr/bin",
        "usr/sbin",
        "etc",
        "proc",
        "sys",
        "dev",
        "mnt",
        "tmp",
        "lib",
        "lib/modules",
    ] {
        entries.push((d, 0o040755, b""));
    }
    entries.push(("bin/busybox", 0o100755, &busybox));
    entries.push(("bin/sh", 0o120777, b"busybox"));
    entries.push(("init", 0o100755, INIT.as_bytes()));
    entries.push(("etc/armvm-modules", 0o100644, module_list.as_bytes()));
    for (name, data) in &module_data {
        entries.push((name, 0o100644, data));
    }
    let base_cpio = cpio_newc(&entries);
    LinuxGuest {
        kernel,
        release,
        modules: order,
        builtin,
        base_cpio,
    }
}

/// Module names use '_' where file names and aliases may use '-'.
fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// The modules of one kernel release, by name (the unpacked package has no
/// modules.dep: Debian's postinst runs depmod on the target).
struct ModuleIndex {
    paths: HashMap<String, PathBuf>,
    /// alias -> module names, read from every module when first needed.
    aliases: OnceCell<HashMap<String, Vec<String>>>,
}

impl ModuleIndex {
    fn new(moddir: &Path) -> Self {
        fn walk(dir: &Path, paths: &mut HashMap<String, PathBuf>) {
            for e in std::fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, paths);
                } else if let Some(stem) = p
                    .file_name()
                    .and_then(|f| f.to_str())
                    .and_then(|f| f.strip_suffix(".ko"))
                {
                    paths.insert(normalize(stem), p.clone());
                }
            }
        }
        let mut paths = HashMap::new();
        walk(&moddir.join("kernel"), &mut paths);
        assert!(
            !paths.is_empty(),
            "no uncompressed .ko modules under {} (compressed modules would need \
             decompressing here)",
            moddir.display()
        );
        ModuleIndex {
            paths,
            aliases: OnceCell::new(),
        }
    }

    /// Appends `name`'s soft (pre) and hard dependencies, then `name`, to `order`.
    fn add_with_deps(
        &self,
        name: &str,
        builtin: &HashSet<String>,
        seen: &mut HashSet<String>,
        order: &mut Vec<String>,
    ) {
        if !seen.insert(name.to_string()) {
            return;
        }
        let path = self
            .paths
            .get(name)
            .unwrap_or_else(|| panic!("module {name} is neither a module nor built in"));
        let info = modinfo(path);
        let mut deps = Vec::new();
        for (key, value) in &info {
            if key == "softdep" {
                // "pre: a b post: c": the pre modules, which may be aliases.
                let mut pre = false;
                for word in value.split_whitespace() {
                    match word {
                        "pre:" => pre = true,
                        "post:" => pre = false,
                        w if pre => deps.push(self.resolve(w, builtin)),
                        _ => {}
                    }
                }
            }
        }
        for (key, value) in &info {
            if key == "depends" {
                deps.extend(
                    value
                        .split(',')
                        .filter(|d| !d.is_empty())
                        .map(|d| Some(normalize(d))),
                );
            }
        }
        for dep in deps.into_iter().flatten() {
            self.add_with_deps(&dep, builtin, seen, order);
        }
        order.push(name.to_string());
    }

    /// The module providing `name` (a module name or an alias such as
    /// crypto-crc32c); None if it is built into the kernel.
    fn resolve(&self, name: &str, builtin: &HashSet<String>) -> Option<String> {
        let n = normalize(name);
        if self.paths.contains_key(&n) {
            return Some(n);
        }
        if builtin.contains(&n) {
            return None;
        }
        let aliases = self.aliases.get_or_init(|| {
            let mut map: HashMap<String, Vec<String>> = HashMap::new();
            for (module, path) in &self.paths {
                for (k, v) in modinfo(path) {
                    if k == "alias" {
                        map.entry(v).or_default().push(module.clone());
                    }
                }
            }
            for providers in map.values_mut() {
                providers.sort();
            }
            map
        });
        // None found: the kernel provides it itself (e.g. a built-in crypto driver).
        aliases.get(name).map(|p| p[0].clone())
    }
}

/// The key=value strings of a module's .modinfo section.
fn modinfo(path: &Path) -> Vec<(String, String)> {
    fn read_at(f: &mut File, off: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        f.seek(SeekFrom::Start(off)).unwrap();
        f.read_exact(&mut buf).unwrap();
        buf
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap());
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());

    let mut f = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ehdr = read_at(&mut f, 0, 64);
    assert!(
        &ehdr[..4] == b"\x7fELF" && ehdr[4] == 2 && ehdr[5] == 1,
        "{} is not a little-endian ELF64 module",
        path.display()
    );
    let shoff = u64_at(&ehdr, 0x28);
    let shentsize = u16_at(&ehdr, 0x3a) as usize;
    let shnum = u16_at(&ehdr, 0x3c) as usize;
    let shstrndx = u16_at(&ehdr, 0x3e) as usize;
    let shdrs = read_at(&mut f, shoff, shentsize * shnum);
    let section = |i: usize| {
        let s = &shdrs[i * shentsize..(i + 1) * shentsize];
        (u32_at(s, 0) as usize, u64_at(s, 24), u64_at(s, 32) as usize)
    };
    let (_, stroff, strsize) = section(shstrndx);
    let strtab = read_at(&mut f, stroff, strsize);
    for i in 0..shnum {
        let (name, off, size) = section(i);
        let end = strtab[name..].iter().position(|&c| c == 0).unwrap() + name;
        if &strtab[name..end] == b".modinfo" {
            return read_at(&mut f, off, size)
                .split(|&c| c == 0)
                .filter_map(|s| {
                    let s = String::from_utf8_lossy(s);
                    s.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                })
                .collect();
        }
    }
    Vec::new()
}

/// A virtio-blk disk.
#[derive(Clone, Debug)]
pub struct Disk {
    pub path: PathBuf,
    /// "raw" or "qcow2".
    pub format: &'static str,
    pub readonly: bool,
    pub serial: Option<String>,
}

impl Disk {
    pub fn raw(path: &Path) -> Disk {
        Disk {
            path: path.to_path_buf(),
            format: "raw",
            readonly: false,
            serial: None,
        }
    }
}

/// What a test boots: the guest's devices besides the default ones (virtio-rng
/// is always there, as it is on by default in armvm).
#[derive(Clone, Debug, Default)]
pub struct Machine {
    /// In slot order: the first is /dev/vda.
    pub disks: Vec<Disk>,
    /// A virtio console (hvc0) written to this host file.
    pub console: Option<PathBuf>,
    /// Appended to the kernel command line (after `console=ttyAMA0`).
    pub append: String,
    /// The number of vCPUs (`--smp`, QEMU's `-smp`); None: one.
    pub smp: Option<u32>,
    /// More options for QEMU only (e.g. `-icount shift=0`).
    pub qemu_extra: Vec<String>,
}

/// Whether the guests run on QEMU (`ARMVM_VIRTIO_QEMU=1`) instead of armvm.
pub fn on_qemu() -> bool {
    std::env::var(QEMU_ENV).is_ok_and(|v| v == "1")
}

impl Machine {
    /// The armvm command line for this machine.
    pub fn armvm_args(&self, kernel: &Path, initrd: &Path) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "run".into(),
            "-m".into(),
            "1024".into(),
            "--kernel".into(),
            kernel.display().to_string(),
            "--initrd".into(),
            initrd.display().to_string(),
            "--append".into(),
            self.cmdline(),
        ];
        if let Some(n) = self.smp {
            args.extend(["--smp".into(), n.to_string()]);
        }
        for d in &self.disks {
            let mut spec = format!("{},format={}", d.path.display(), d.format);
            if d.readonly {
                spec.push_str(",readonly=on");
            }
            if let Some(s) = &d.serial {
                spec.push_str(&format!(",serial={s}"));
            }
            args.push("--disk".into());
            args.push(spec);
        }
        if let Some(c) = &self.console {
            args.push("--console".into());
            args.push(format!("file:{}", c.display()));
        }
        args
    }

    /// The equivalent QEMU command line (`-M virt`, virtio-mmio devices).
    pub fn qemu_args(&self, kernel: &Path, initrd: &Path) -> Vec<String> {
        let mut args: Vec<String> = [
            "-M",
            "virt",
            "-cpu",
            "cortex-a57",
            "-m",
            "1024",
            "-nodefaults",
            "-display",
            "none",
            "-serial",
            "stdio",
            "-no-reboot",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend([
            "-kernel".into(),
            kernel.display().to_string(),
            "-initrd".into(),
            initrd.display().to_string(),
            "-append".into(),
            self.cmdline(),
        ]);
        if let Some(n) = self.smp {
            args.extend(["-smp".into(), n.to_string()]);
        }
        args.extend(self.qemu_extra.iter().cloned());
        // QEMU puts each -device on the free virtio-mmio transport with the
        // highest address and Linux numbers disks from the lowest address up, so
        // the disks go in reverse for the first one to be /dev/vda (as on armvm,
        // whose slots follow the command line).
        for (i, d) in self.disks.iter().enumerate().rev() {
            let mut drive = format!(
                "if=none,id=d{i},file={},format={}",
                d.path.display(),
                d.format
            );
            if d.readonly {
                drive.push_str(",readonly=on");
            }
            let mut dev = format!("virtio-blk-device,drive=d{i}");
            if let Some(s) = &d.serial {
                dev.push_str(&format!(",serial={s}"));
            }
            args.extend(["-drive".into(), drive, "-device".into(), dev]);
        }
        if let Some(c) = &self.console {
            args.extend([
                "-device".into(),
                "virtio-serial-device".into(),
                "-chardev".into(),
                format!("file,id=c0,path={}", c.display()),
                "-device".into(),
                "virtconsole,chardev=c0".into(),
            ]);
        }
        args.extend(["-device".into(), "virtio-rng-device".into()]);
        args
    }

    fn cmdline(&self) -> String {
        format!("console=ttyAMA0 {}", self.append)
            .trim()
            .to_string()
    }

    /// Boots the guest with `scenario` (see the module comment) on armvm, or on
    /// QEMU under `ARMVM_VIRTIO_QEMU=1`, until it exits or `timeout` passes.
    /// `dir` holds the test's files (the initramfs is written there).
    /// Returns (serial output + stderr, exit status if it exited, seconds taken).
    pub fn run(&self, dir: &Path, scenario: &str, timeout: Duration) -> (String, Option<i32>, f64) {
        let initrd = linux_guest().initramfs(dir, scenario);
        self.boot(&initrd, on_qemu(), timeout)
    }

    /// Boots the guest kernel with `initrd` (from [`LinuxGuest::initramfs`] or
    /// [`LinuxGuest::initramfs_with`]) on armvm, or on QEMU if `qemu`, until it
    /// exits or `timeout` passes. Returns what [`Machine::run`] does.
    pub fn boot(&self, initrd: &Path, qemu: bool, timeout: Duration) -> (String, Option<i32>, f64) {
        let guest = linux_guest();
        let cmd = if qemu {
            let mut c = Command::new("qemu-system-aarch64");
            c.args(self.qemu_args(&guest.kernel, initrd));
            c
        } else {
            let mut c = super::armvm();
            c.args(self.armvm_args(&guest.kernel, initrd));
            c
        };
        let start = std::time::Instant::now();
        let (out, status) = run_command_until(cmd, None, timeout, |o| o.contains("Kernel panic"));
        (out, status, start.elapsed().as_secs_f64())
    }
}

/// A fresh scratch directory for one test (emptied if a previous run left it).
pub fn test_dir(binary: &str, test: &str) -> PathBuf {
    let dir = scratch_dir(binary).join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test dir");
    dir
}

/// The first word after `key` on the guest's output line holding it ("" if
/// nothing follows); panics with the end of the output if no line holds it.
pub fn marker(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| l.find(key).map(|p| l[p + key.len()..].trim()))
        .unwrap_or_else(|| {
            let chars: Vec<char> = out.chars().collect();
            let tail: String = chars[chars.len().saturating_sub(6000)..].iter().collect();
            panic!("no {key} in the output:\n{tail}")
        })
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}
