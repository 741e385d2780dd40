//! The host side of the serial console: where UART output goes, where input comes
//! from, and the QEMU-style escape keys (Ctrl-A x quits, Ctrl-A h helps).
//!
//! Input is read by a thread and handed to the machine through a channel. When stdin
//! is a terminal it is put in raw mode (restored when the console is dropped) so that
//! keys reach the guest unchanged; when it is not (a pipe in tests) it is read as is.

use std::io::{Read, Write};
use std::path::PathBuf;

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

/// What the input thread reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleEvent {
    Byte(u8),
    /// The user typed Ctrl-A x.
    Quit,
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

/// Starts the stdin reader. Escape keys are honoured only on a terminal.
pub fn spawn_input(interactive: bool) -> Receiver<ConsoleEvent> {
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::spawn(move || read_input(tx, interactive));
    rx
}

fn read_input(tx: Sender<ConsoleEvent>, interactive: bool) {
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
            if let Some(e) = event {
                if tx.send(e).is_err() {
                    return;
                }
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
