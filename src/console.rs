//! The host side of the serial console: where UART output goes, where input comes
//! from, and the QEMU-style escape keys (Ctrl-A x quits, Ctrl-A h helps).
//!
//! Input is read by a thread and handed to the machine through a small bounded
//! channel: the thread reads stdin only as fast as the guest takes bytes out of
//! the UART (a fast producer such as `< /dev/zero` waits in the pipe, not in
//! armvm's memory). Ctrl-A x and host signals travel on a separate control
//! channel, so they get through while the guest is not reading. When stdin is a
//! terminal it is put in raw mode (restored when the console is dropped) so that
//! keys reach the guest unchanged; when it is not (a pipe in tests) it is read as is.

use std::io::{Read, Write};
use std::path::PathBuf;

use armvm_devices::Locked;
use crossbeam_channel::{Receiver, Sender};

/// `--serial` choices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SerialTarget {
    Stdio,
    File(PathBuf),
    None,
}

impl std::str::FromStr for SerialTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "stdio" => Ok(SerialTarget::Stdio),
            "none" => Ok(SerialTarget::None),
            _ => match s.strip_prefix("file:") {
                Some(p) if !p.is_empty() => Ok(SerialTarget::File(PathBuf::from(p))),
                _ => Err(format!("'{s}' is not stdio, file:PATH or none")),
            },
        }
    }
}

/// `--console` choices (the virtio console).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsoleTarget {
    Stdio,
    File(PathBuf),
    Socket(PathBuf),
    None,
}

impl std::str::FromStr for ConsoleTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(p) = s.strip_prefix("socket:").filter(|p| !p.is_empty()) {
            return Ok(ConsoleTarget::Socket(PathBuf::from(p)));
        }
        match s.parse::<SerialTarget>() {
            Ok(SerialTarget::Stdio) => Ok(ConsoleTarget::Stdio),
            Ok(SerialTarget::File(p)) => Ok(ConsoleTarget::File(p)),
            Ok(SerialTarget::None) => Ok(ConsoleTarget::None),
            Err(_) => Err(format!(
                "'{s}' is not stdio, file:PATH, socket:PATH or none"
            )),
        }
    }
}

/// A Unix socket console: armvm listens at `path`; one client at a time gets the
/// guest's output and sends it input. Output while nobody is connected is dropped,
/// as on a serial line with nothing plugged in.
pub fn socket_console(
    path: &std::path::Path,
) -> std::io::Result<(Box<dyn Write + Send>, Receiver<u8>)> {
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::sync::{Arc, Mutex};
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    let client: Arc<Mutex<Option<UnixStream>>> = Arc::default();
    let (tx, rx) = crossbeam_channel::bounded(INPUT_QUEUE);
    let accepted = client.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let Ok(mut reader) = stream.try_clone() else {
                continue;
            };
            *accepted.locked() = Some(stream);
            let mut buf = [0u8; 256];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || buf[..n].iter().any(|&b| tx.send(b).is_err()) {
                    break;
                }
            }
        }
    });
    struct ClientWriter(Arc<Mutex<Option<UnixStream>>>);
    impl Write for ClientWriter {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            let mut c = self.0.locked();
            if let Some(s) = c.as_mut() {
                if s.write_all(data).is_err() {
                    *c = None;
                }
            }
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    Ok((Box::new(ClientWriter(client)), rx))
}

/// What the input thread reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleEvent {
    Byte(u8),
    /// The user typed Ctrl-A x.
    Quit,
}

/// What stops the machine from the host side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Ctrl-A x on the console.
    Quit,
    /// SIGTERM, SIGINT or SIGHUP (the signal number).
    Signal(i32),
}

/// Bytes typed or piped in, at most this many ahead of the guest.
const INPUT_QUEUE: usize = 64;

/// The host's input to the machine.
pub struct HostInput {
    /// Console bytes (bounded: see the module documentation).
    pub bytes: Receiver<u8>,
    /// Quit requests and signals.
    pub control: Receiver<Control>,
    /// For other sources of quit requests (the monitor).
    pub control_sender: Sender<Control>,
}

const CTRL_A: u8 = 0x01;

const HELP: &str =
    "\r\nC-a h    print this help\r\nC-a x    exit armvm\r\nC-a C-a  send C-a to the guest\r\n";

/// Turns raw key bytes into console events, handling the Ctrl-A escapes.
#[derive(Default)]
pub struct EscapeParser {
    after_ctrl_a: bool,
}

impl EscapeParser {
    /// Returns the events for one input byte and any text to show the user.
    pub fn feed(&mut self, b: u8) -> (Option<ConsoleEvent>, Option<&'static str>) {
        if std::mem::take(&mut self.after_ctrl_a) {
            return match b {
                b'x' | b'X' => (Some(ConsoleEvent::Quit), None),
                b'h' | b'H' | b'?' => (None, Some(HELP)),
                CTRL_A => (Some(ConsoleEvent::Byte(CTRL_A)), None),
                _ => (None, None),
            };
        }
        if b == CTRL_A {
            self.after_ctrl_a = true;
            return (None, None);
        }
        (Some(ConsoleEvent::Byte(b)), None)
    }
}

/// Saved terminal settings, restored on drop.
pub struct RawMode {
    saved: libc::termios,
}

impl RawMode {
    /// Puts stdin in raw mode if it is a terminal.
    pub fn enter() -> Option<RawMode> {
        // SAFETY: isatty/tcgetattr/tcsetattr on fd 0 with a valid termios buffer.
        unsafe {
            if libc::isatty(0) != 1 {
                return None;
            }
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return None;
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            // Keep output post-processing so that the host's own messages stay readable.
            t.c_oflag |= libc::OPOST;
            if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                return None;
            }
            Some(RawMode { saved })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `enter`.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.saved);
        }
    }
}

/// Starts the stdin reader and the signal watcher. Escape keys are honoured only
/// on a terminal.
pub fn spawn_input(interactive: bool) -> HostInput {
    let (tx, bytes) = crossbeam_channel::bounded(INPUT_QUEUE);
    let (control_tx, control) = crossbeam_channel::unbounded();
    let quit = control_tx.clone();
    std::thread::spawn(move || read_input(tx, quit, interactive));
    watch_signals(control_tx.clone());
    HostInput {
        bytes,
        control,
        control_sender: control_tx,
    }
}

/// SIGTERM, SIGINT and SIGHUP become [`Control::Signal`]: the machine stops in
/// order (disks flushed, terminal restored) instead of dying mid-write.
fn watch_signals(tx: Sender<Control>) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) else {
        eprintln!("armvm: cannot watch for signals; SIGTERM will not flush disks");
        return;
    };
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if tx.send(Control::Signal(sig)).is_err() {
                return;
            }
        }
    });
}

fn read_input(tx: Sender<u8>, control: Sender<Control>, interactive: bool) {
    let mut parser = EscapeParser::default();
    let mut buf = [0u8; 256];
    let mut stdin = std::io::stdin();
    while let Ok(n) = stdin.read(&mut buf) {
        if n == 0 {
            return;
        }
        for &b in &buf[..n] {
            let event = if interactive {
                let (event, text) = parser.feed(b);
                if let Some(t) = text {
                    let _ = std::io::stderr().write_all(t.as_bytes());
                }
                event
            } else {
                Some(ConsoleEvent::Byte(b))
            };
            let sent = match event {
                Some(ConsoleEvent::Byte(b)) => tx.send(b).is_ok(),
                Some(ConsoleEvent::Quit) => control.send(Control::Quit).is_ok(),
                None => true,
            };
            if !sent {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut p = EscapeParser::default();
        assert_eq!(p.feed(b'a'), (Some(ConsoleEvent::Byte(b'a')), None));
        assert_eq!(p.feed(CTRL_A), (None, None));
        assert_eq!(p.feed(b'x'), (Some(ConsoleEvent::Quit), None));
        assert_eq!(p.feed(CTRL_A), (None, None));
        assert_eq!(p.feed(CTRL_A), (Some(ConsoleEvent::Byte(CTRL_A)), None));
        p.feed(CTRL_A);
        assert!(p.feed(b'h').1.is_some_and(|t| t.contains("C-a x")));
        assert_eq!(
            "file:/tmp/x".parse(),
            Ok(SerialTarget::File("/tmp/x".into()))
        );
        assert!("tcp:1".parse::<SerialTarget>().is_err());
    }
}
