//! Debugging armvm guests with Debian's `gdb-multiarch` over the remote protocol
//! (`--gdb`, `-S`): bare-metal programs built with `-g` from tests/gdb/, a two-vCPU
//! program, a Linux boot, and a raw-socket client that sends what gdb never would.
//!
//! gdb runs in batch mode with a command file; the tests assert on its output and on
//! the guest's. A missing gdb-multiarch or cross compiler is a failure that points
//! at scripts/setup.sh, not a skip.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{armvm, assert_no_kernel_trouble, installer_images, scratch_dir};

const GDB: &str = "gdb-multiarch";
/// Longest gdb session: a Linux boot on a loaded 2-core CI machine.
const GDB_TIMEOUT: Duration = Duration::from_secs(1200);

fn require(tool: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "{tool} is not runnable: run scripts/setup.sh first");
}

/// Builds tests/gdb/NAME.S with debug information, linked at 0x40080000.
fn build(name: &str) -> PathBuf {
    require("aarch64-linux-gnu-gcc");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/gdb/{name}.S"));
    let out = scratch_dir("gdb").join(format!("{name}.elf"));
    let status = Command::new("aarch64-linux-gnu-gcc")
        .args([
            "-g",
            "-nostdlib",
            "-static",
            "-Wl,-N",
            "-Wl,--build-id=none",
        ])
        .args(["-Wl,--no-warn-rwx-segments", "-Wl,-Ttext=0x40080000", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| {
            panic!("aarch64-linux-gnu-gcc not runnable ({e}): run scripts/setup.sh first")
        });
    assert!(status.success(), "building {} failed", src.display());
    out
}

/// Collects a child's output stream on a thread.
fn collect(stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let t = text.clone();
    std::thread::spawn(move || {
        let mut r = BufReader::new(stream);
        let mut line = String::new();
        while r.read_line(&mut line).is_ok_and(|n| n > 0) {
            t.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    text
}

/// An armvm process with a gdb stub on a free loopback port.
struct Vm {
    child: Child,
    port: u16,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Vm {
    fn start(args: &[&str]) -> Vm {
        let mut child = armvm()
            .arg("run")
            .args(args)
            .args(["--gdb", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start armvm");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        let mut vm = Vm {
            child,
            port: 0,
            stdout,
            stderr,
        };
        let text = vm.wait_for_stderr("listening on ", Duration::from_secs(30));
        let addr = text
            .split("listening on ")
            .nth(1)
            .and_then(|s| s.split([';', '\n']).next())
            .unwrap_or_default();
        vm.port = addr
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no port in: {text}"));
        vm
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn wait_for_stderr(&self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let text = self.stderr();
            if text.contains(needle) {
                return text;
            }
            assert!(
                start.elapsed() < timeout,
                "armvm never said '{needle}'; stderr: {text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for armvm to exit.
    fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the collector threads drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!(
                    "armvm did not exit within {timeout:?}\nstdout: {}\nstderr: {}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn raw(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs gdb-multiarch in batch mode on `elf` (or no file), connected to `vm`, with
/// `commands`; returns its output and asserts that it succeeded. `interrupts` are
/// moments at which gdb gets SIGINT (what Ctrl-C does at a terminal): each is a
/// closure that waits until it is time.
fn gdb_session(
    vm: &Vm,
    elf: Option<&Path>,
    commands: &[&str],
    interrupts: Vec<Box<dyn FnOnce() + Send>>,
) -> String {
    let (status, text) = gdb_run(vm, elf, commands, interrupts);
    assert!(status.success(), "gdb failed ({status}):\n{text}");
    text
}

fn gdb_run(
    vm: &Vm,
    elf: Option<&Path>,
    commands: &[&str],
    interrupts: Vec<Box<dyn FnOnce() + Send>>,
) -> (ExitStatus, String) {
    require(GDB);
    let script = scratch_dir("gdb").join(format!("cmds-{}.gdb", vm.port));
    let mut text = String::from("set pagination off\nset confirm off\n");
    match elf {
        Some(e) => text.push_str(&format!("file {}\n", e.display())),
        None => text.push_str("set architecture aarch64\n"),
    }
    text.push_str(&format!("target remote 127.0.0.1:{}\n", vm.port));
    for c in commands {
        text.push_str(c);
        text.push('\n');
    }
    std::fs::write(&script, text).unwrap();
    let mut child = Command::new(GDB)
        .args(["-batch", "-nx", "-x"])
        .arg(&script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{GDB} not runnable ({e}): run scripts/setup.sh first"));
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let pid = child.id() as i32;
    let signaller = std::thread::spawn(move || {
        for wait in interrupts {
            wait();
            // SAFETY: kill(2) on the pid of our own child.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > GDB_TIMEOUT {
            let _ = child.kill();
            panic!("gdb hung; output so far:\n{}", out.lock().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = signaller.join();
    std::thread::sleep(Duration::from_millis(100));
    let text = format!("{}{}", out.lock().unwrap(), err.lock().unwrap());
    (status, text)
}

fn after(d: Duration) -> Box<dyn FnOnce() + Send> {
    Box::new(move || std::thread::sleep(d))
}

fn assert_has(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "expected '{n}' in:\n{text}");
    }
}

/// The value gdb printed for `p/x EXPR` labelled `$N = VALUE` after `marker` (an
/// `echo`ed line), for comparisons.
fn value_after(text: &str, marker: &str) -> String {
    let rest = text
        .split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("no '{marker}' in:\n{text}"));
    let line = rest
        .lines()
        .find(|l| l.starts_with('$'))
        .unwrap_or_else(|| panic!("no value after '{marker}' in:\n{text}"));
    line.split(" = ")
        .nth(1)
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn bare_metal_breakpoints_steps_registers_memory_watchpoints() {
    let elf = build("basic");
    let mut vm = Vm::start(&["--semihosting", "-S", "--kernel", elf.to_str().unwrap()]);
    let out = gdb_session(
        &vm,
        Some(&elf),
        &[
            // Stopped before the first instruction.
            "echo @start\\n",
            "p/x $pc",
            "break compute",
            "continue",
            "echo @regs\\n",
            "info registers",
            // Across the branch: `b compute_mul` skips a nop.
            "stepi",
            "stepi",
            "echo @after-branch\\n",
            "p $pc == compute_mul",
            // System registers from the target description, and FP control.
            "echo @vbar\\n",
            "p $VBAR_EL1 == (long)&vectors",
            "set $fpcr = 0x1000000",
            "stepi",
            "echo @fpcr\\n",
            "p/x $fpcr",
            "echo @fpsr\\n",
            "p/x $fpsr",
            // Memory: read the data, then change what the program will print.
            "x/2gx &counter",
            "set {long}&magic = 99",
            "echo @magic\\n",
            "p/x *(long*)&magic",
            // A register changes the program's output: report(x0) prints it.
            "break report",
            "continue",
            "set $x0 = 1234",
            "delete",
            "watch *(long*)&counter",
            "rwatch *(long*)&counter2",
            "continue",
            "continue",
            "delete",
            // The SVC lands at VBAR_EL1 + 0x200 (current EL, SP_EL1, synchronous).
            "echo @before-svc\\n",
            "x/i $pc",
            "stepi",
            "echo @vector\\n",
            "p/x $pc - (long)&vectors",
            "echo @esr\\n",
            "p/x $ESR_EL1",
            "info symbol $pc",
            "continue",
        ],
        vec![],
    );
    let status = vm.wait(Duration::from_secs(30));
    let stdout = vm.stdout();

    assert_eq!(value_after(&out, "@start"), "0x40080000", "{out}");
    assert_has(&out, &["Breakpoint 1, compute ()", "<compute>"]);
    let regs = out.split("@regs").nth(1).unwrap();
    assert!(
        regs.lines()
            .any(|l| l.starts_with("x0 ") && l.contains("0x7")),
        "{regs}"
    );
    assert!(
        regs.lines()
            .any(|l| l.starts_with("cpsr") && l.contains("EL=1")),
        "{regs}"
    );
    assert_eq!(value_after(&out, "@after-branch"), "1", "{out}");
    assert_eq!(value_after(&out, "@vbar"), "1", "{out}");
    assert_eq!(value_after(&out, "@fpcr"), "0x1000000", "{out}");
    assert_eq!(value_after(&out, "@fpsr"), "0x0", "{out}");
    assert_has(&out, &["0x0000000000000000\t0x0000000000000005"]);
    assert_eq!(value_after(&out, "@magic"), "0x63", "{out}");
    assert_has(
        &out,
        &[
            "Breakpoint 2, report ()",
            "Hardware watchpoint 3: *(long*)&counter",
            "Old value = 0",
            "New value = 3",
            // A read watchpoint is reported only if the data address is right.
            "Hardware read watchpoint 4: *(long*)&counter2",
            "Value = 5",
            "svc\t#0x42",
            "el1h_sync in section .text",
            "exited normally",
        ],
    );
    assert_eq!(value_after(&out, "@vector"), "0x200", "{out}");
    assert_eq!(value_after(&out, "@esr"), "0x56000042", "SVC #0x42: {out}");
    // The program printed what the debugger made of it.
    assert_has(&stdout, &["result=1234", "magic=99"]);
    assert!(!stdout.contains("result=42"), "{stdout}");
    assert_eq!(status.code(), Some(0), "{}", vm.stderr());
}

#[test]
fn smp_threads_interrupt_detach_and_reattach() {
    let elf = build("smp");
    let mut vm = Vm::start(&["--smp", "2", "-S", "--kernel", elf.to_str().unwrap()]);
    let out = gdb_session(
        &vm,
        Some(&elf),
        &[
            "break cpu1_loop",
            "continue",
            "delete",
            "echo @threads\\n",
            "info threads",
            "thread 1",
            "echo @pc1\\n",
            "p/x $pc",
            "thread 2",
            "echo @pc2\\n",
            "p/x $pc",
            "echo @ctx\\n",
            "p/x $x22",
            // Ctrl-C stops a running machine.
            "continue",
            "echo @interrupted\\n",
            "thread 1",
            "echo @count\\n",
            "p $x21 > 0",
            "detach",
        ],
        vec![after(Duration::from_secs(2))],
    );
    let threads = out.split("@threads").nth(1).unwrap();
    assert_has(
        &out,
        &[
            "Thread 2 hit Breakpoint 1, cpu1_loop ()",
            "received signal SIGINT",
            "detached",
        ],
    );
    assert_has(threads, &["Thread 1.1 (vCPU 0)", "Thread 1.2 (vCPU 1)"]);
    let (pc1, pc2) = (value_after(&out, "@pc1"), value_after(&out, "@pc2"));
    assert_ne!(pc1, pc2, "{out}");
    assert_eq!(pc2, "0x40080024", "cpu1_loop: {out}");
    assert_eq!(value_after(&out, "@ctx"), "0x55", "context ID in x0: {out}");
    assert_eq!(value_after(&out, "@count"), "1", "vCPU 0 ran: {out}");

    // Detached, the machine runs on; a new gdb attaches to it while it runs.
    vm.wait_for_stderr("detached (detach)", Duration::from_secs(10));
    let out = gdb_session(
        &vm,
        Some(&elf),
        &[
            "info threads",
            "echo @x23\\n",
            "thread 2",
            "p $x23 > 0",
            "kill",
        ],
        vec![],
    );
    assert_has(&out, &["cpu0_loop", "cpu1_loop"]);
    assert_eq!(value_after(&out, "@x23"), "1", "{out}");
    let status = vm.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert_has(&vm.stderr(), &["killed by the debugger"]);
}

#[test]
fn monitor_commands_reset_phys_and_quit() {
    let elf = build("basic");
    let mut vm = Vm::start(&["--semihosting", "-S", "--kernel", elf.to_str().unwrap()]);
    let (_, out) = gdb_run(
        &vm,
        Some(&elf),
        &[
            "break report",
            "continue",
            "monitor reset",
            "maint flush register-cache",
            "echo @reset-pc\\n",
            "p/x $pc",
            // The breakpoint is still there in the rebuilt machine.
            "continue",
            "monitor phys on",
            "echo @phys\\n",
            "x/1gx 0x40081030",
            "monitor phys off",
            "monitor step-irq on",
            "monitor step-irq off",
            "monitor translate 0xffff000000000000",
            "monitor translate zz",
            "monitor frobnicate",
            "echo @quit\\n",
            "monitor quit",
        ],
        vec![],
    );
    let status = vm.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", vm.stderr());
    assert_has(
        &out,
        &[
            "resetting the machine",
            "memory addresses are now physical",
            "0x40081030:\t0x0000000000000011",
            "single steps now take interrupts",
            "single steps now hold interrupts off",
            "(MMU off: VA = PA)",
            "=> fault: address size fault at level 0",
            "'zz' is not a number",
            "unknown command 'frobnicate'",
            "armvm quits",
        ],
    );
    assert_eq!(value_after(&out, "@reset-pc"), "0x40080000", "{out}");
    let after_reset = out.split("@reset-pc").nth(1).unwrap();
    assert_has(after_reset, &["Breakpoint 1, report ()"]);
    // The program ran to report() twice and no further: nothing printed.
    assert_eq!(vm.stdout(), "");
}

/// Single steps hold interrupts off by default (an IRQ is pending at every step
/// here) and take them after `monitor step-irq on`, landing at the IRQ vector;
/// checked against QEMU's gdb stub, which does the same.
#[test]
fn single_steps_hold_interrupts_off_unless_asked() {
    let elf = build("irq");
    let mut vm = Vm::start(&["-S", "--kernel", elf.to_str().unwrap()]);
    let out = gdb_session(
        &vm,
        Some(&elf),
        &[
            "break unmask",
            "continue",
            "delete",
            // msr daifclr, #2 and a nop: no interrupt taken.
            "stepi",
            "stepi",
            "echo @held\\n",
            "info symbol $pc",
            "echo @x25-held\\n",
            "p $x25",
            "monitor step-irq on",
            "stepi",
            "echo @vector\\n",
            "p/x $pc - (long)&vectors",
            "echo @x25-vector\\n",
            "p $x25",
            "monitor step-irq off",
            "continue",
            "echo @x25-handled\\n",
            "p $x25",
            "kill",
        ],
        vec![after(Duration::from_secs(2))],
    );
    let held = out.split("@held").nth(1).unwrap();
    assert!(
        held.trim_start()
            .starts_with("after_unmask + 4 in section .text"),
        "{out}"
    );
    assert_eq!(value_after(&out, "@x25-held"), "0", "{out}");
    assert_eq!(
        value_after(&out, "@vector"),
        "0x280",
        "IRQ, current EL, SP_EL1: {out}"
    );
    assert_eq!(
        value_after(&out, "@x25-vector"),
        "0",
        "stopped at the vector: {out}"
    );
    // The handler ran once: turning the timer off lowers its interrupt at once (as
    // QEMU counts it too).
    assert_eq!(value_after(&out, "@x25-handled"), "1", "{out}");
    assert_eq!(vm.wait(Duration::from_secs(10)).code(), Some(0));
}

/// The Debian 12 installer's kernel boots with a debugger attached on the way:
/// attached while it runs, interrupted with Ctrl-C, a kernel address translated,
/// and on to the end of the kernel's boot (it starts /init), without a warning.
#[test]
fn linux_attach_interrupt_translate_and_boot_on() {
    let (kernel, initrd) = installer_images();
    let console = scratch_dir("gdb").join("linux-console.txt");
    let _ = std::fs::remove_file(&console);
    let serial = format!("file:{}", console.display());
    let mut vm = Vm::start(&[
        "--kernel",
        kernel.to_str().unwrap(),
        "--initrd",
        initrd.to_str().unwrap(),
        "-m",
        "1G",
        "--append",
        "console=ttyAMA0",
        "--serial",
        &serial,
    ]);
    let read_console = {
        let console = console.clone();
        move || std::fs::read_to_string(&console).unwrap_or_default()
    };
    let wait_console = |needle: &'static str| {
        let read = read_console.clone();
        move || {
            let start = Instant::now();
            while !read().contains(needle) {
                assert!(start.elapsed() < GDB_TIMEOUT, "no '{needle}'");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    };
    // Attach while it runs: the kernel has started printing.
    wait_console("Linux version")();
    let out = gdb_session(
        &vm,
        None,
        &[
            "continue",
            "echo @interrupted\\n",
            "info threads",
            "eval \"monitor translate 0x%lx\", $pc",
            "monitor info registers",
            "continue",
            "echo @booted\\n",
            "kill",
        ],
        vec![
            after(Duration::from_secs(3)),
            Box::new(wait_console("Run /init as init process")),
        ],
    );
    let status = vm.wait(Duration::from_secs(30));
    let translate = out.split("@interrupted").nth(1).unwrap_or_default();
    assert_has(&out, &["received signal SIGINT"]);
    // A kernel address, walked through TTBR1 to a physical address in RAM.
    assert_has(
        translate,
        &["via TTBR1", "level 1 descriptor", "=> PA 0x", "EL1 r"],
    );
    let console = read_console();
    assert_has(
        &console,
        &["Freeing unused kernel memory", "Run /init as init process"],
    );
    assert_no_kernel_trouble(&console);
    assert_eq!(status.code(), Some(0));
}

// ---- A raw client: what gdb never sends

/// A minimal remote-protocol client for the robustness test.
struct Raw {
    s: TcpStream,
    no_ack: bool,
}

fn packet(body: &str) -> Vec<u8> {
    let sum = body.bytes().fold(0u8, |a, b| a.wrapping_add(b));
    format!("${body}#{sum:02x}").into_bytes()
}

/// Undoes the remote protocol's run-length encoding: `c*n` is `c` and n-29 more.
fn expand_rle(body: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        match (body[i], out.last().copied(), body.get(i + 1)) {
            (b'*', Some(prev), Some(&n)) => {
                out.extend(std::iter::repeat_n(prev, (n as usize).saturating_sub(29)));
                i += 2;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

impl Raw {
    fn new(s: TcpStream) -> Raw {
        Raw { s, no_ack: false }
    }

    fn send_bytes(&mut self, b: &[u8]) {
        self.s.write_all(b).unwrap();
    }

    /// Reads one reply packet body, skipping acknowledgements (and acking it).
    fn reply(&mut self) -> String {
        self.try_reply().expect("no reply")
    }

    fn try_reply(&mut self) -> Option<String> {
        let mut body = Vec::new();
        let mut byte = [0u8; 1];
        let mut in_packet = false;
        loop {
            match self.s.read(&mut byte) {
                Ok(1) => {}
                _ => return None,
            }
            match (in_packet, byte[0]) {
                (false, b'$') => in_packet = true,
                (false, _) => {}
                (true, b'#') => {
                    let mut sum = [0u8; 2];
                    self.s.read_exact(&mut sum).unwrap();
                    if !self.no_ack {
                        self.send_bytes(b"+");
                    }
                    return Some(String::from_utf8_lossy(&expand_rle(&body)).into_owned());
                }
                (true, c) => body.push(c),
            }
        }
    }

    fn ask(&mut self, body: &str) -> String {
        let p = packet(body);
        self.send_bytes(&p);
        self.reply()
    }

    /// Reads raw bytes for a moment (to see a bare '-').
    fn peek_bytes(&mut self) -> Vec<u8> {
        self.s
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut buf = [0u8; 64];
        let n = self.s.read(&mut buf).unwrap_or(0);
        self.s
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        buf[..n].to_vec()
    }
}

#[test]
fn bad_input_gets_error_replies_and_the_stub_keeps_serving() {
    let elf = build("basic");
    let mut vm = Vm::start(&["--semihosting", "-S", "--kernel", elf.to_str().unwrap()]);
    let mut c = Raw::new(vm.raw());
    c.send_bytes(b"+");
    assert!(c
        .ask("qSupported:multiprocess+;swbreak+;hwbreak+")
        .contains("PacketSize"));
    let regs = c.ask("g");
    assert!(regs.len() >= 66 * 16, "g: {regs}");

    // Junk between packets is ignored.
    c.send_bytes(b"hello\r\n");
    assert!(c.ask("?").starts_with('T'), "stop reason");
    // A wrong checksum is NACKed.
    c.send_bytes(b"$g#00");
    assert_eq!(c.peek_bytes(), b"-");
    // An oversized packet is refused with an error.
    let big = "M40080000,4000:".to_string() + &"00".repeat(0x4000);
    assert!(c.ask(&big).starts_with('E'));
    // Packets gdbstub cannot parse, or did not expect: an error reply each.
    for bad in [
        "m zz,4",
        "mfoo",
        "Z9,1,1",
        "vCont;s",
        "vCont;x",
        "p",
        "Hgzz",
        "qXfer:features:read:target.xml:zz,10",
    ] {
        let r = c.ask(bad);
        assert!(r.starts_with('E') || r.is_empty(), "{bad}: {r}");
    }
    // Unmapped memory, and a software breakpoint there: errors, not crashes.
    assert!(c.ask("m0,4").starts_with('E'), "read at PA 0");
    assert!(
        c.ask("M8000000000000,2:abcd").starts_with('E'),
        "write beyond PA range"
    );
    assert!(
        c.ask("Z0,10,4").starts_with('E'),
        "sw breakpoint at an unmapped address"
    );
    assert_eq!(c.ask("Z1,10,4"), "OK", "hw breakpoints may be anywhere");
    assert_eq!(c.ask("z1,10,4"), "OK");
    // Still serving, state intact: same registers as before.
    assert_eq!(c.ask("g"), regs);

    // A second client is refused with a reason while this one is attached.
    let mut second = Raw::new(vm.raw());
    second.send_bytes(b"+");
    let r = second.ask("qSupported");
    assert!(r.contains("already attached"), "{r}");
    vm.wait_for_stderr("refusing", Duration::from_secs(5));
    assert_eq!(c.ask("g"), regs, "the first client is undisturbed");

    // A write watchpoint reports the data address (counter at 0x40081020), with
    // the PC still at the store.
    assert_eq!(c.ask("Z2,40081020,8"), "OK");
    let stop = c.ask("vCont;c");
    assert!(stop.contains("watch:40081020"), "{stop}");
    assert_eq!(c.ask("z2,40081020,8"), "OK");

    // The client vanishes in the middle of a packet: the machine runs on to the end.
    c.send_bytes(b"$m4008");
    drop(c);
    let status = vm.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{}", vm.stderr());
    assert_has(&vm.stdout(), &["result=42", "magic=17"]);
    assert_has(
        &vm.stderr(),
        &["answered with an error", "connection closed"],
    );
    assert!(!vm.stderr().contains("panicked"), "{}", vm.stderr());
}

/// Random packets with valid checksums into a stopped machine: the stub answers
/// every one, and armvm is alive and unchanged in mood at the end.
#[test]
fn random_packets_do_not_break_the_stub() {
    let elf = build("smp");
    let mut vm = Vm::start(&["--smp", "2", "-S", "--kernel", elf.to_str().unwrap()]);
    let mut c = Raw::new(vm.raw());
    c.send_bytes(b"+");
    c.ask("qSupported:multiprocess+");
    assert_eq!(c.ask("QStartNoAckMode"), "OK");
    c.no_ack = true;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Starts of packets that do not resume or end the session.
    const HEADS: &[&str] = &[
        "m",
        "M",
        "X",
        "g",
        "G",
        "p",
        "P",
        "Z",
        "z",
        "H",
        "T",
        "q",
        "Q",
        "?",
        "qRcmd,",
        "qXfer:",
        "vMustReplyEmpty",
        "qfThreadInfo",
        "qThreadExtraInfo,",
    ];
    const TAIL: &[u8] = b"0123456789abcdefABCDEF,:;-pPxX}*";
    let mut log = Vec::new();
    for i in 0..3000 {
        let mut body = HEADS[rand() as usize % HEADS.len()].to_string();
        for _ in 0..rand() % 40 {
            body.push(TAIL[rand() as usize % TAIL.len()] as char);
        }
        // qRcmd with "reset"/"quit" in hex is vanishingly unlikely but excluded.
        if body.starts_with("qRcmd,") && body.len() > 6 {
            body.truncate(6);
            body.push_str("68656c70"); // "help"
        }
        let p = packet(&body);
        c.send_bytes(&p);
        let no_reply = |body: &str, log: &Vec<(String, String)>| {
            panic!(
                "no reply to {body:?}; the packets before: {:#?}",
                &log[log.len().saturating_sub(5)..]
            )
        };
        let mut r = c.try_reply().unwrap_or_else(|| no_reply(&body, &log));
        // Console output (`monitor help`) comes first, then the final reply.
        while r.starts_with('O') && r != "OK" {
            r = c.try_reply().unwrap_or_else(|| no_reply(&body, &log));
        }
        log.push((body.clone(), r));
        if i % 100 == 0 {
            let q = c.ask("?");
            assert!(
                q.starts_with('T'),
                "'?' answered {q}; the last packets: {:#?}",
                &log[log.len().saturating_sub(8)..]
            );
        }
    }
    assert!(c.ask("qfThreadInfo").starts_with('m'));
    // Run: a malformed packet while the machine runs gets an error and the machine
    // runs on (whatever the random packets did to it); Ctrl-C still stops it.
    c.send_bytes(&packet("vCont;c"));
    std::thread::sleep(Duration::from_millis(200));
    assert!(c.ask("m zz,4").starts_with('E'));
    std::thread::sleep(Duration::from_millis(200));
    c.send_bytes(b"\x03");
    let stop = c.reply();
    assert!(stop.starts_with("T02"), "SIGINT stop: {stop}");
    c.send_bytes(&packet("k"));
    let status = vm.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", vm.stderr());
    assert!(!vm.stderr().contains("panicked"), "{}", vm.stderr());
}
