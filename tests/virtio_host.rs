//! End-to-end: what the host sees of armvm's disks and consoles.
//!
//! - Power loss: a Debian guest (tests/common/guest.rs) writes a file to an ext4
//!   disk, syncs, says so and sleeps; armvm gets SIGTERM (or SIGINT) and must
//!   exit within seconds with 128 + the signal, leaving an image whose journal
//!   replays to a clean file system holding the synced file. The qcow2 variant
//!   also writes a second qcow2 disk with O_DIRECT and no flush: the new
//!   clusters' metadata is then in armvm's memory only, and the data is found
//!   on the host only if armvm writes it back when it stops (after a SIGKILL at
//!   that point `qemu-img check` finds the image corrupt).
//! - Signals: SIGTERM, SIGINT and SIGHUP stop a bare-metal guest with 143, 130, 129.
//! - Terminal: armvm on a pseudo-terminal (through `script`) puts it in raw mode
//!   and gives the original settings back when SIGTERM stops it.
//! - Locking: a writer holds QEMU's lock bytes, so a second armvm or a QEMU on
//!   the same image is refused, and armvm refuses an image QEMU writes; readers
//!   share.
//! - Discard: `fstrim` in the guest punches holes in a raw image on the host.
//! - Input backpressure: with `< /dev/zero` on a guest that never reads its UART,
//!   armvm's memory stays flat.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::guest::{linux_guest, marker, test_dir, Disk, Machine};
use common::host::*;
use common::*;

const BINARY: &str = "virtio_host";

/// Boot to the scenario's marker: about 7 s here on an idle machine; CI has 2
/// cores shared by tests running in parallel.
const BOOT_TIMEOUT: Duration = Duration::from_secs(300);
/// A bare-metal guest prints its marker at once.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long armvm may take to stop after a signal (it takes well under a second).
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// An emulator that must refuse to start does so before its guest runs.
const REFUSE_TIMEOUT: Duration = Duration::from_secs(60);

/// armvm running `sleeping_guest` with `extra` arguments, stdin from `stdin`.
fn sleeper(extra: &[&str], stdin: Stdio) -> Running {
    let mut cmd = armvm();
    cmd.args(["run", "--kernel"])
        .arg(sleeping_guest(BINARY))
        .args(extra);
    Running::spawn(cmd, stdin)
}

/// armvm booting the Linux guest of `machine` with `scenario`.
fn linux(dir: &Path, machine: &Machine, scenario: &str) -> Running {
    let guest = linux_guest();
    let initrd = guest.initramfs(dir, scenario);
    let mut cmd = armvm();
    cmd.args(machine.armvm_args(&guest.kernel, &initrd));
    Running::spawn(cmd, Stdio::null())
}

/// Waits for `marker` or fails the test with the output.
fn expect_marker(run: &mut Running, marker: &str, timeout: Duration) -> Duration {
    match run.wait_for(marker, timeout) {
        Ok(t) => t,
        Err(why) => panic!("{why}:\n{}", run.output()),
    }
}

/// Sends `signal` and expects armvm to exit with `code` within STOP_TIMEOUT;
/// returns how long it took.
fn stop_with(run: &mut Running, signal: i32, code: i32) -> Duration {
    let start = Instant::now();
    run.signal(signal);
    let status = run.wait_exit(STOP_TIMEOUT);
    let took = start.elapsed();
    assert!(
        status.is_some(),
        "armvm did not stop within {STOP_TIMEOUT:?} of signal {signal}:\n{}",
        run.output()
    );
    assert_eq!(
        status.unwrap().code(),
        Some(code),
        "signal {signal} must end armvm with status {code} ({:?}):\n{}",
        status,
        run.output()
    );
    assert!(
        run.stderr()
            .contains(&format!("stopping on signal {signal}")),
        "{}",
        run.output()
    );
    took
}

/// Expects the command to fail within REFUSE_TIMEOUT with status `code` and
/// `needle` on stderr; returns stderr.
fn expect_refusal(cmd: Command, code: Option<i32>, needle: &str) -> String {
    let mut run = Running::spawn(cmd, Stdio::null());
    let status = run.wait_exit(REFUSE_TIMEOUT);
    let err = run.stderr();
    assert!(
        status.is_some(),
        "it started instead of refusing (killed after {REFUSE_TIMEOUT:?}):\n{}",
        run.output()
    );
    let status = status.unwrap();
    match code {
        Some(c) => assert_eq!(status.code(), Some(c), "{}", run.output()),
        None => assert!(!status.success(), "{}", run.output()),
    }
    assert!(
        err.contains(needle),
        "expected '{needle}' on stderr:\n{}",
        run.output()
    );
    assert!(
        !run.stdout().contains(SLEEPING_GUEST_READY),
        "the guest ran:\n{}",
        run.output()
    );
    err
}

// ---------------------------------------------------------------- power loss

/// The synced file: `seq 1 SYNCED_COUNT`.
const SYNCED_COUNT: u32 = 200_000;
/// Written with O_DIRECT and never flushed (the qcow2 variant's second disk).
const UNFLUSHED_LEN: usize = 1 << 20;

fn power_loss(test: &str, signal: i32, code: i32, format: &'static str) {
    let dir = test_dir(BINARY, test);
    let raw = make_ext4(&dir, "disk.img", "64M", &[("hello.txt", b"hello\n")]);
    let mut disks = vec![];
    if format == "qcow2" {
        let q = dir.join("disk.qcow2");
        qemu_img_convert(&raw, "raw", &q, "qcow2");
        std::fs::remove_file(&raw).unwrap();
        disks.push(Disk {
            format,
            ..Disk::raw(&q)
        });
        let unflushed = dir.join("unflushed.qcow2");
        host_tool(
            Command::new("qemu-img")
                .args(["create", "-q", "-f", "qcow2"])
                .arg(&unflushed)
                .arg("16M"),
        );
        disks.push(Disk {
            format,
            ..Disk::raw(&unflushed)
        });
    } else {
        disks.push(Disk::raw(&raw));
    }
    let machine = Machine {
        disks,
        ..Machine::default()
    };
    let unflushed_part = if format == "qcow2" {
        // The pattern comes from the guest's RNG, so that it cannot be in the
        // image by chance; its hash tells the host what to look for.
        r#"
wait_for /dev/vdb
head -c 1048576 /dev/urandom > /tmp/pattern
dd if=/tmp/pattern of=/dev/vdb bs=65536 oflag=direct 2>/dev/null
h=$(sha256sum /tmp/pattern)
echo "ARMVM-UNFLUSHED-SHA: ${h%% *}"
"#
    } else {
        ""
    };
    let scenario = format!(
        r#"
wait_for /dev/vda
mount -t ext4 /dev/vda /mnt
seq 1 {SYNCED_COUNT} > /mnt/synced.txt
sync
{unflushed_part}
echo ARMVM-SYNCED
sleep 600
"#
    );
    let mut run = linux(&dir, &machine, &scenario);
    let boot = expect_marker(&mut run, "ARMVM-SYNCED", BOOT_TIMEOUT);
    let took = stop_with(&mut run, signal, code);
    eprintln!(
        "{test}: the guest synced after {:.1} s; armvm stopped {:.0} ms after signal {signal}",
        boot.as_secs_f64(),
        took.as_secs_f64() * 1000.0
    );
    std::fs::write(dir.join("output.txt"), run.output()).unwrap();
    assert_no_kernel_trouble(&run.stdout());

    let image = if format == "qcow2" {
        let check = host_tool(
            Command::new("qemu-img")
                .args(["check", "-f", "qcow2"])
                .arg(dir.join("disk.qcow2")),
        );
        assert!(check.contains("No errors were found"), "{check}");
        qemu_img_convert(&dir.join("disk.qcow2"), "qcow2", &raw, "raw");
        raw.clone()
    } else {
        // Leave the image as armvm left it; recover a copy.
        let copy = dir.join("recovered.img");
        std::fs::copy(&raw, &copy).unwrap();
        copy
    };
    replay_journal(&image);
    assert_fsck_clean(&image);
    let expected: String = (1..=SYNCED_COUNT).map(|i| format!("{i}\n")).collect();
    let got = debugfs_dump(&image, "/synced.txt", &dir.join("synced.out"));
    assert!(
        got == expected.as_bytes(),
        "synced.txt in the image ({} bytes) is not `seq 1 {SYNCED_COUNT}` ({} bytes)",
        got.len(),
        expected.len()
    );

    if format == "qcow2" {
        let unflushed = dir.join("unflushed.qcow2");
        let check = host_tool(
            Command::new("qemu-img")
                .args(["check", "-f", "qcow2"])
                .arg(&unflushed),
        );
        assert!(check.contains("No errors were found"), "{check}");
        let unflushed_raw = dir.join("unflushed.raw");
        qemu_img_convert(&unflushed, "qcow2", &unflushed_raw, "raw");
        let data = std::fs::read(&unflushed_raw).unwrap();
        let want = marker(&run.stdout(), "ARMVM-UNFLUSHED-SHA:");
        assert_eq!(
            sha256_of(&data[..UNFLUSHED_LEN]),
            want,
            "the data the guest wrote with O_DIRECT (no flush) is not in the qcow2 image \
             after armvm stopped on signal {signal}"
        );
    }
}

#[test]
fn power_loss_sigterm_raw() {
    power_loss("power_loss_sigterm_raw", libc::SIGTERM, 143, "raw");
}

#[test]
fn power_loss_sigint_qcow2() {
    power_loss("power_loss_sigint_qcow2", libc::SIGINT, 130, "qcow2");
}

#[test]
fn signals_stop_with_128_plus_signal() {
    for (signal, code) in [
        (libc::SIGTERM, 143),
        (libc::SIGINT, 130),
        (libc::SIGHUP, 129),
    ] {
        let mut run = sleeper(&[], Stdio::null());
        expect_marker(&mut run, SLEEPING_GUEST_READY, START_TIMEOUT);
        let took = stop_with(&mut run, signal, code);
        eprintln!(
            "signal {signal}: status {code} after {:.0} ms",
            took.as_secs_f64() * 1000.0
        );
    }
}

/// Serial output that does not end a line (a login or shell prompt) reaches
/// the host while the guest waits, not only at the next newline.
#[test]
fn a_prompt_without_a_newline_is_shown_at_once() {
    let mut run = sleeper(&[], Stdio::null());
    expect_marker(&mut run, "prompt> ", START_TIMEOUT);
    stop_with(&mut run, libc::SIGTERM, 143);
}

// ---------------------------------------------------------------- terminal

/// Runs in a new session on a pseudo-terminal (made by `script`): notes the
/// terminal's name and settings, runs armvm on it in the background (stdin from
/// the terminal, output to files), and when armvm has ended notes its status
/// and the settings again.
const PTY_SCRIPT: &str = r#"
cd "$DIR"
tty > tty.txt
stty -a > before.txt
"$ARMVM" run --kernel "$KERNEL" < /dev/tty > serial.txt 2> stderr.txt &
echo $! > pid.txt
wait $!
echo $? > status.txt
stty -a > after.txt
"#;

/// `stty -a` of the terminal at `tty`, from outside its session.
fn stty_of(tty: &str) -> String {
    host_tool(Command::new("stty").args(["-a", "-F", tty]))
}

/// Whether `stty -a` output shows `flag` set ("icanon", not "-icanon").
fn flag_on(stty: &str, flag: &str) -> bool {
    stty.split(|c: char| c.is_whitespace() || c == ';')
        .any(|w| w == flag)
}

fn read_when_present(path: &Path, timeout: Duration) -> Option<String> {
    let start = Instant::now();
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            if s.ends_with('\n') {
                return Some(s);
            }
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn terminal_settings_restored_after_sigterm() {
    let dir = test_dir(BINARY, "terminal");
    std::fs::write(dir.join("run.sh"), PTY_SCRIPT).unwrap();
    let mut cmd = Command::new("script");
    // -q: no banner, -e: the shell's status, -f: no buffering; no typescript.
    cmd.args(["-qef", "-c"])
        .arg(format!("sh {}", dir.join("run.sh").display()))
        .arg("/dev/null")
        .env("DIR", &dir)
        .env("ARMVM", env!("CARGO_BIN_EXE_armvm"))
        .env("KERNEL", sleeping_guest(BINARY));
    // script copies its stdin to the terminal: keep it open and quiet.
    let mut script = Running::spawn(cmd, Stdio::piped());
    let failure = |what: &str, script: &Running| {
        let files: String = ["tty.txt", "pid.txt", "serial.txt", "stderr.txt"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
                format!("--- {f} ---\n{text}\n")
            })
            .collect();
        format!("{what}\n{files}--- script ---\n{}", script.output())
    };
    let Some(pid) = read_when_present(&dir.join("pid.txt"), START_TIMEOUT) else {
        panic!(
            "{}",
            failure("armvm was not started on a terminal", &script)
        );
    };
    let pid: i32 = pid.trim().parse().unwrap();
    let tty = std::fs::read_to_string(dir.join("tty.txt")).unwrap();
    let tty = tty.trim();
    assert!(tty.starts_with("/dev/pts/"), "not a pseudo-terminal: {tty}");
    let before = std::fs::read_to_string(dir.join("before.txt")).unwrap();
    assert!(
        flag_on(&before, "icanon") && flag_on(&before, "echo"),
        "a new terminal should be canonical with echo:\n{before}"
    );

    // Raw mode: once the guest runs, the terminal is no longer canonical.
    let start = Instant::now();
    let mut during = String::new();
    while start.elapsed() < START_TIMEOUT {
        let serial = std::fs::read_to_string(dir.join("serial.txt")).unwrap_or_default();
        if serial.contains(SLEEPING_GUEST_READY) {
            during = stty_of(tty);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if during.is_empty() {
        // SAFETY: kill(2) on the armvm this test started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        panic!("{}", failure("the guest did not start", &script));
    }
    assert!(
        !flag_on(&during, "icanon") && !flag_on(&during, "echo") && !flag_on(&during, "isig"),
        "armvm did not put its terminal in raw mode:\n{during}"
    );

    let signalled = Instant::now();
    // SAFETY: kill(2) on the armvm this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = read_when_present(&dir.join("status.txt"), STOP_TIMEOUT);
    let took = signalled.elapsed();
    if status.is_none() {
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        panic!(
            "{}",
            failure("armvm did not stop within 10 s of SIGTERM", &script)
        );
    }
    assert_eq!(
        status.unwrap().trim(),
        "143",
        "{}",
        failure("SIGTERM must end armvm with 143", &script)
    );
    let after = read_when_present(&dir.join("after.txt"), STOP_TIMEOUT)
        .unwrap_or_else(|| panic!("{}", failure("no stty -a after armvm", &script)));
    assert!(
        script.wait_exit(STOP_TIMEOUT).is_some_and(|s| s.success()),
        "{}",
        failure("script failed", &script)
    );
    eprintln!(
        "terminal {tty}: raw while the guest ran, armvm stopped {:.0} ms after SIGTERM",
        took.as_secs_f64() * 1000.0
    );
    assert_eq!(
        after, before,
        "armvm left its terminal with other settings than it found"
    );
}

// ---------------------------------------------------------------- locking

/// QEMU on the virt board with `drive` (a -drive option) as a virtio-blk
/// device, paused (-S: no firmware needed), monitor on stdio. Its "(qemu)"
/// prompt can come before the devices, and so the image locks, are set up.
fn qemu_with_drive(drive: &str) -> Command {
    let mut cmd = Command::new("qemu-system-aarch64");
    cmd.args([
        "-M",
        "virt",
        "-nodefaults",
        "-display",
        "none",
        "-S",
        "-monitor",
        "stdio",
        "-drive",
        drive,
        "-device",
        "virtio-blk-device,drive=d",
    ]);
    cmd
}

fn raw_drive(img: &Path, extra: &str) -> String {
    format!("file={},format=raw,if=none,id=d{extra}", img.display())
}

/// An armvm that must be refused the image: status 2, the lock named.
fn expect_armvm_refused(disk: &str) {
    let mut cmd = armvm();
    cmd.args(["run", "--kernel"])
        .arg(sleeping_guest(BINARY))
        .args(["--disk", disk]);
    let err = expect_refusal(cmd, Some(2), "in use by another program");
    assert!(err.contains("lock"), "{err}");
}

#[test]
fn lock_a_writer_excludes_armvm_and_qemu() {
    let dir = test_dir(BINARY, "lock_writer");
    let img = dir.join("disk.img");
    std::fs::write(&img, vec![0u8; 1 << 20]).unwrap();
    let disk = format!("{},format=raw", img.display());

    let mut holder = sleeper(&["--disk", &disk], Stdio::null());
    expect_marker(&mut holder, SLEEPING_GUEST_READY, START_TIMEOUT);
    assert_eq!(
        ofd_lock_bytes(&img),
        [100, 101, 201],
        "a raw writer holds QEMU's bytes for read and write and does not share write"
    );
    expect_armvm_refused(&disk);
    expect_armvm_refused(&format!("{disk},readonly=on"));
    expect_refusal(
        qemu_with_drive(&raw_drive(&img, "")),
        None,
        "Failed to get \"write\" lock",
    );
    stop_with(&mut holder, libc::SIGTERM, 143);
    assert_eq!(
        ofd_lock_bytes(&img),
        [0u64; 0],
        "locks left after armvm ended"
    );

    // The other way round: QEMU writes the image.
    let mut qemu = Running::spawn(qemu_with_drive(&raw_drive(&img, "")), Stdio::piped());
    expect_marker(&mut qemu, "(qemu)", START_TIMEOUT);
    // QEMU prints its monitor prompt before it realises the devices, and so
    // before it takes the write locks: wait for them (seen once as [100]).
    let deadline = Instant::now() + START_TIMEOUT;
    while !ofd_lock_bytes(&img).contains(&201) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        ofd_lock_bytes(&img).contains(&201),
        "QEMU does not hold the write-unshared byte: {:?}",
        ofd_lock_bytes(&img)
    );
    expect_armvm_refused(&disk);
    expect_armvm_refused(&format!("{disk},readonly=on"));
    qemu.signal(libc::SIGTERM);
    qemu.wait_exit(STOP_TIMEOUT);

    // Free again: armvm starts.
    let mut after = sleeper(&["--disk", &disk], Stdio::null());
    expect_marker(&mut after, SLEEPING_GUEST_READY, START_TIMEOUT);
    stop_with(&mut after, libc::SIGTERM, 143);
}

#[test]
fn lock_qcow2_writer_bytes() {
    let dir = test_dir(BINARY, "lock_qcow2");
    let img = dir.join("disk.qcow2");
    host_tool(
        Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2"])
            .arg(&img)
            .arg("16M"),
    );
    let disk = format!("{},format=qcow2", img.display());
    let mut holder = sleeper(&["--disk", &disk], Stdio::null());
    expect_marker(&mut holder, SLEEPING_GUEST_READY, START_TIMEOUT);
    assert_eq!(
        ofd_lock_bytes(&img),
        [100, 101, 103, 201, 203],
        "a qcow2 writer also holds resize and does not share it"
    );
    expect_armvm_refused(&disk);
    let drive = format!("file={},format=qcow2,if=none,id=d", img.display());
    expect_refusal(
        qemu_with_drive(&drive),
        None,
        "Failed to get \"write\" lock",
    );
    stop_with(&mut holder, libc::SIGTERM, 143);
}

#[test]
fn lock_readers_share() {
    let dir = test_dir(BINARY, "lock_readers");
    let img = dir.join("disk.img");
    std::fs::write(&img, vec![0u8; 1 << 20]).unwrap();
    let ro = format!("{},format=raw,readonly=on", img.display());

    let mut first = sleeper(&["--disk", &ro], Stdio::null());
    expect_marker(&mut first, SLEEPING_GUEST_READY, START_TIMEOUT);
    assert_eq!(
        ofd_lock_bytes(&img),
        [100, 201],
        "a reader holds read and does not share write"
    );
    let mut second = sleeper(&["--disk", &ro], Stdio::null());
    expect_marker(&mut second, SLEEPING_GUEST_READY, START_TIMEOUT);
    // QEMU reads beside them too.
    let mut qemu = Running::spawn(
        qemu_with_drive(&raw_drive(&img, ",readonly=on")),
        Stdio::piped(),
    );
    expect_marker(&mut qemu, "(qemu)", START_TIMEOUT);
    // No writer while they read.
    expect_armvm_refused(&format!("{},format=raw", img.display()));
    expect_refusal(
        qemu_with_drive(&raw_drive(&img, "")),
        None,
        "Failed to get \"write\" lock",
    );
    assert!(first.try_status().is_none(), "{}", first.output());
    qemu.signal(libc::SIGTERM);
    qemu.wait_exit(STOP_TIMEOUT);
    stop_with(&mut first, libc::SIGTERM, 143);
    stop_with(&mut second, libc::SIGTERM, 143);
}

// ---------------------------------------------------------------- discard

/// Bytes the host has allocated for a file (st_blocks).
fn allocated(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().blocks() * 512
}

#[test]
fn fstrim_punches_holes_in_a_raw_image() {
    let test = "fstrim";
    let dir = test_dir(BINARY, test);
    let big = pseudo_random(40 << 20, 3);
    let keep = pseudo_random(1 << 20, 4);
    let img = make_ext4(
        &dir,
        "disk.img",
        "64M",
        &[("big.bin", &big), ("keep.bin", &keep)],
    );
    drop(big);
    let before = allocated(&img);
    assert!(
        before >= 40 << 20,
        "mke2fs -d should have allocated the big file: {before} bytes"
    );
    let scenario = r#"
wait_for /dev/vda
echo "ARMVM-DISCARD-MAX: $(cat /sys/block/vda/queue/discard_max_bytes)"
mount -t ext4 /dev/vda /mnt
rm /mnt/big.bin
sync
fstrim -v /mnt
umount /mnt
echo ARMVM-TRIM-DONE
"#;
    let machine = Machine {
        disks: vec![Disk::raw(&img)],
        ..Machine::default()
    };
    let mut run = linux(&dir, &machine, scenario);
    let status = run.wait_exit(BOOT_TIMEOUT);
    std::fs::write(dir.join("output.txt"), run.output()).unwrap();
    let out = run.stdout();
    assert_no_kernel_trouble(&out);
    assert!(
        out.contains("ARMVM-SCENARIO-EXIT: 0") && status.and_then(|s| s.code()) == Some(0),
        "the scenario failed ({status:?}):\n{}",
        run.output()
    );
    let max: u64 = marker(&out, "ARMVM-DISCARD-MAX:").parse().unwrap();
    assert!(max > 0, "the disk does not offer discard");
    // busybox: "/mnt: 41943040 bytes trimmed"
    let trimmed: u64 = marker(&out, "/mnt:").parse().unwrap();
    assert!(trimmed >= 40 << 20, "fstrim trimmed only {trimmed} bytes");
    let after = allocated(&img);
    eprintln!(
        "{test}: fstrim trimmed {} MiB; the image held {} MiB on the host before, {} MiB after",
        trimmed >> 20,
        before >> 20,
        after >> 20
    );
    assert!(
        after + (32 << 20) <= before,
        "the image still holds {after} bytes on the host ({before} before fstrim)"
    );
    assert_eq!(
        std::fs::metadata(&img).unwrap().len(),
        64 << 20,
        "size kept"
    );
    assert_fsck_clean(&img);
    assert!(
        debugfs_dump(&img, "/keep.bin", &dir.join("keep.out")) == keep,
        "fstrim damaged a file it should have left alone"
    );
}

// ---------------------------------------------------------------- input

#[test]
fn input_backpressure_keeps_memory_flat() {
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let mut run = sleeper(&[], Stdio::from(zero));
    expect_marker(&mut run, SLEEPING_GUEST_READY, START_TIMEOUT);
    std::thread::sleep(Duration::from_secs(1));
    let early = rss_kib(run.pid());
    std::thread::sleep(Duration::from_secs(4));
    let late = rss_kib(run.pid());
    eprintln!(
        "armvm RSS with stdin from /dev/zero: {} MiB after 1 s, {} MiB after 5 s",
        early >> 10,
        late >> 10
    );
    // Guest RAM is 128 MiB (mostly untouched); an unbounded input queue grew
    // by hundreds of MiB per second.
    assert!(
        late < (128 + 200) << 10,
        "armvm's RSS reached {} MiB",
        late >> 10
    );
    assert!(
        late < early + (32 << 10),
        "armvm's RSS grew from {} to {} MiB in 4 s",
        early >> 10,
        late >> 10
    );
    // Signals still get through while input waits.
    stop_with(&mut run, libc::SIGTERM, 143);
}
