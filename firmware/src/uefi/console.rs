//! The console: EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL (ConOut and StdErr) turned
//! into VT100 on the serial line, as EDK2's terminal driver does, and
//! EFI_SIMPLE_TEXT_INPUT(_EX)_PROTOCOL decoding typed bytes and escape
//! sequences into EFI keys.
//!
//! The output Mode structure lives in guest memory (GRUB reads the cursor
//! position from it), so every change is written back.

use super::guest::Guest;
use super::guid;
use super::service::Service;
use super::status;
use super::{events, tables, Object, Reply, Ret, Uefi};

pub const COLUMNS: u64 = 80;
pub const ROWS: u64 = 25;
/// How long a lone ESC waits for the rest of an escape sequence.
const ESCAPE_WAIT_NS: u64 = 50_000_000;

/// EFI scan codes (UEFI 2.10, Table 12.2).
mod scan {
    pub const UP: u16 = 0x01;
    pub const DOWN: u16 = 0x02;
    pub const RIGHT: u16 = 0x03;
    pub const LEFT: u16 = 0x04;
    pub const HOME: u16 = 0x05;
    pub const END: u16 = 0x06;
    pub const INSERT: u16 = 0x07;
    pub const DELETE: u16 = 0x08;
    pub const PAGE_UP: u16 = 0x09;
    pub const PAGE_DOWN: u16 = 0x0A;
    pub const F1: u16 = 0x0B;
    pub const ESC: u16 = 0x17;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub scan: u16,
    pub unicode: u16,
}

#[derive(Default)]
pub struct TextState {
    pub con_in: u64,
    pub con_out: u64,
    mode: u64,
    attribute: u64,
    column: u64,
    row: u64,
    cursor_visible: bool,
    /// Bytes of an incomplete escape sequence or UTF-8 character, and when
    /// the first arrived.
    pending: Vec<u8>,
    pending_since: u64,
    /// A decoded key not yet read.
    ready: Option<Key>,
}

pub fn install(u: &mut Uefi) {
    let handle = u.new_handle();
    u.console_handle = handle;
    let wait = events::create_internal(u, events::Kind::KeyInput);
    let wait_ex = events::create_internal(u, events::Kind::KeyInput);

    use Service as S;
    let out = u.service_table(
        &[],
        &[
            S::TextReset,
            S::OutputString,
            S::TestString,
            S::QueryMode,
            S::SetMode,
            S::SetAttribute,
            S::ClearScreen,
            S::SetCursorPosition,
            S::EnableCursor,
        ],
    );
    let mode = u.alloc_struct(24);
    let mut out = out;
    out.extend_from_slice(&mode.to_le_bytes());
    let con_out = u.alloc_bytes(&out);

    let mut input = u.service_table(&[], &[S::InputReset, S::ReadKeyStroke]);
    input.extend_from_slice(&wait.to_le_bytes());
    let con_in = u.alloc_bytes(&input);

    let mut input_ex = u.service_table(&[], &[S::InputExReset, S::ReadKeyStrokeEx]);
    input_ex.extend_from_slice(&wait_ex.to_le_bytes());
    input_ex.extend_from_slice(&u.service_table(
        &[],
        &[S::SetState, S::RegisterKeyNotify, S::UnregisterKeyNotify],
    ));
    let con_in_ex = u.alloc_bytes(&input_ex);

    u.install_object(handle, guid::SIMPLE_TEXT_OUTPUT, con_out, Object::TextOut);
    u.install_object(handle, guid::SIMPLE_TEXT_INPUT, con_in, Object::TextIn);
    u.install_object(
        handle,
        guid::SIMPLE_TEXT_INPUT_EX,
        con_in_ex,
        Object::TextInEx,
    );
    u.text = TextState {
        con_in,
        con_out,
        mode,
        // EFI_LIGHTGRAY on EFI_BLACK.
        attribute: 0x07,
        cursor_visible: true,
        ..TextState::default()
    };
    write_mode(u);
    tables::write_system_table(u);
}

/// SIMPLE_TEXT_OUTPUT_MODE: MaxMode, Mode, Attribute, CursorColumn,
/// CursorRow (INT32 each), CursorVisible (BOOLEAN).
fn write_mode(u: &Uefi) {
    let t = &u.text;
    let mut m = Vec::with_capacity(24);
    for v in [1u32, 0, t.attribute as u32, t.column as u32, t.row as u32] {
        m.extend_from_slice(&v.to_le_bytes());
    }
    m.extend_from_slice(&[t.cursor_visible as u8, 0, 0, 0]);
    u.write_phys(t.mode, &m);
}

pub fn call(u: &mut Uefi, s: Service, g: &mut Guest) -> Ret {
    let this = g.arg(0)?;
    let expected = match s {
        Service::InputReset | Service::ReadKeyStroke => Object::TextIn,
        Service::InputExReset
        | Service::ReadKeyStrokeEx
        | Service::SetState
        | Service::RegisterKeyNotify
        | Service::UnregisterKeyNotify => Object::TextInEx,
        _ => Object::TextOut,
    };
    if u.object(this) != Some(expected) {
        return Err(status::INVALID_PARAMETER);
    }
    match s {
        Service::TextReset => {
            clear_screen(u);
            ok()
        }
        Service::OutputString => output_string(u, g),
        Service::TestString => ok(),
        Service::QueryMode => {
            let (mode, columns, rows) = (g.arg(1)?, g.arg(2)?, g.arg(3)?);
            if mode != 0 {
                return Err(status::UNSUPPORTED);
            }
            g.put_u64(columns, COLUMNS)?;
            g.put_u64(rows, ROWS)?;
            ok()
        }
        Service::SetMode => {
            if g.arg(1)? != 0 {
                return Err(status::UNSUPPORTED);
            }
            clear_screen(u);
            ok()
        }
        Service::SetAttribute => {
            let attr = g.arg(1)?;
            if attr > 0x7F {
                return Err(status::UNSUPPORTED);
            }
            u.text.attribute = attr;
            let sgr = sgr(attr);
            u.console.write(sgr.as_bytes());
            write_mode(u);
            ok()
        }
        Service::ClearScreen => {
            clear_screen(u);
            ok()
        }
        Service::SetCursorPosition => {
            let (col, row) = (g.arg(1)?, g.arg(2)?);
            if col >= COLUMNS || row >= ROWS {
                return Err(status::UNSUPPORTED);
            }
            u.text.column = col;
            u.text.row = row;
            let seq = format!("\x1b[{};{}H", row + 1, col + 1);
            u.console.write(seq.as_bytes());
            write_mode(u);
            ok()
        }
        Service::EnableCursor => {
            let on = g.arg(1)? & 0xff != 0;
            u.text.cursor_visible = on;
            u.console
                .write(if on { b"\x1b[?25h" } else { b"\x1b[?25l" });
            write_mode(u);
            ok()
        }
        Service::InputReset | Service::InputExReset => {
            u.text.pending.clear();
            u.text.ready = None;
            ok()
        }
        Service::ReadKeyStroke => {
            let out = g.arg(1)?;
            let key = take_key(u).ok_or(status::NOT_READY)?;
            g.write_u16(out, key.scan)?;
            g.write_u16(out + 2, key.unicode)?;
            ok()
        }
        Service::ReadKeyStrokeEx => {
            // EFI_KEY_DATA: the key, then EFI_KEY_STATE (shift and toggle
            // state; zero: not reported).
            let out = g.arg(1)?;
            let key = take_key(u).ok_or(status::NOT_READY)?;
            g.write_u16(out, key.scan)?;
            g.write_u16(out + 2, key.unicode)?;
            g.write_u32(out + 4, 0)?;
            g.write_u8(out + 8, 0)?;
            ok()
        }
        Service::SetState => ok(),
        Service::RegisterKeyNotify | Service::UnregisterKeyNotify => Err(status::UNSUPPORTED),
        _ => Err(status::UNSUPPORTED),
    }
}

fn ok() -> Ret {
    Ok(Reply::Status(status::SUCCESS))
}

fn clear_screen(u: &mut Uefi) {
    u.console.write(b"\x1b[2J\x1b[H");
    u.text.column = 0;
    u.text.row = 0;
    write_mode(u);
}

/// An ANSI "select graphic rendition" sequence for an EFI text attribute
/// (foreground in bits 3:0, background in bits 6:4).
fn sgr(attr: u64) -> String {
    // EFI colour order (black, blue, green, cyan, red, magenta, brown,
    // light gray) to ANSI's (black, red, green, yellow, blue, magenta, cyan, white).
    const ANSI: [u8; 8] = [0, 4, 2, 6, 1, 5, 3, 7];
    let fg = ANSI[(attr & 7) as usize];
    let bright = attr & 8 != 0;
    let bg = ANSI[((attr >> 4) & 7) as usize];
    format!("\x1b[0;{}3{};4{}m", if bright { "1;" } else { "" }, fg, bg)
}

fn output_string(u: &mut Uefi, g: &mut Guest) -> Ret {
    let at = g.arg(1)?;
    let units = g.read_utf16(at)?;
    let text: String = char::decode_utf16(units.iter().copied())
        .map(|c| c.unwrap_or('\u{FFFD}'))
        .collect();
    for c in text.chars() {
        match c {
            '\r' => u.text.column = 0,
            '\n' => u.text.row = (u.text.row + 1).min(ROWS - 1),
            '\u{8}' => u.text.column = u.text.column.saturating_sub(1),
            _ => {
                u.text.column += 1;
                if u.text.column >= COLUMNS {
                    u.text.column = 0;
                    u.text.row = (u.text.row + 1).min(ROWS - 1);
                }
            }
        }
    }
    u.console.write(text.as_bytes());
    write_mode(u);
    ok()
}

/// Whether a key can be read now (WaitForKey).
pub fn key_ready(u: &mut Uefi) -> bool {
    if u.text.ready.is_none() {
        u.text.ready = decode_key(u);
    }
    u.text.ready.is_some()
}

fn take_key(u: &mut Uefi) -> Option<Key> {
    key_ready(u);
    u.text.ready.take()
}

/// Reads typed bytes until they make a key (or wait for more).
fn decode_key(u: &mut Uefi) -> Option<Key> {
    loop {
        let now = u.now();
        if let Some(b) = u.console.read() {
            if u.text.pending.is_empty() {
                u.text.pending_since = now;
            }
            u.text.pending.push(b);
        }
        match parse_key(&u.text.pending) {
            Parse::Key(key, used) => {
                u.text.pending.drain(..used);
                return Some(key);
            }
            Parse::Incomplete => {
                if u.text.pending.is_empty() {
                    return None;
                }
                let waited = now.saturating_sub(u.text.pending_since);
                if waited < ESCAPE_WAIT_NS {
                    // Let more bytes arrive; the caller polls again.
                    if u.console_has_nothing_new() {
                        return None;
                    }
                    continue;
                }
                // A lone ESC (or a broken sequence): report ESC, drop the rest.
                let first = u.text.pending[0];
                u.text.pending.clear();
                return Some(if first == 0x1b {
                    Key {
                        scan: scan::ESC,
                        unicode: 0,
                    }
                } else {
                    Key {
                        scan: 0,
                        unicode: 0xFFFD,
                    }
                });
            }
        }
    }
}

impl Uefi {
    /// True when the console has no byte waiting (peeking is not possible,
    /// so this reads one into the pending buffer when there is one).
    fn console_has_nothing_new(&mut self) -> bool {
        match self.console.read() {
            Some(b) => {
                self.text.pending.push(b);
                false
            }
            None => true,
        }
    }
}

enum Parse {
    Key(Key, usize),
    Incomplete,
}

fn unicode(c: u16) -> Key {
    Key {
        scan: 0,
        unicode: c,
    }
}

fn scan_key(s: u16) -> Key {
    Key {
        scan: s,
        unicode: 0,
    }
}

/// Decodes the first key in `b`: a character (UTF-8), or a VT100/xterm
/// escape sequence.
fn parse_key(b: &[u8]) -> Parse {
    let Some(&first) = b.first() else {
        return Parse::Incomplete;
    };
    match first {
        0x1b => parse_escape(b),
        // Enter arrives as CR (or LF from a pipe); Backspace as DEL or BS.
        b'\r' | b'\n' => Parse::Key(unicode(0x0D), 1),
        0x7f | 0x08 => Parse::Key(unicode(0x08), 1),
        0..=0x7f => Parse::Key(unicode(first as u16), 1),
        _ => {
            let len = match first {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => return Parse::Key(unicode(0xFFFD), 1),
            };
            if b.len() < len {
                return Parse::Incomplete;
            }
            let c = std::str::from_utf8(&b[..len])
                .ok()
                .and_then(|s| s.chars().next())
                .map_or(0xFFFD, |c| {
                    // Outside the BMP: EFI keys hold one UTF-16 unit.
                    u16::try_from(c as u32).unwrap_or(0xFFFD)
                });
            Parse::Key(unicode(c), len)
        }
    }
}

fn parse_escape(b: &[u8]) -> Parse {
    let Some(&second) = b.get(1) else {
        return Parse::Incomplete;
    };
    if second != b'[' && second != b'O' {
        // ESC followed by something else: ESC now, the rest later.
        return Parse::Key(scan_key(scan::ESC), 1);
    }
    let Some(end) = b[2..].iter().position(|c| (0x40..=0x7e).contains(c)) else {
        return if b.len() > 8 {
            Parse::Key(scan_key(scan::ESC), 1)
        } else {
            Parse::Incomplete
        };
    };
    let params = &b[2..2 + end];
    let fin = b[2 + end];
    let used = 3 + end;
    let key = match (fin, params) {
        (b'A', _) => scan::UP,
        (b'B', _) => scan::DOWN,
        (b'C', _) => scan::RIGHT,
        (b'D', _) => scan::LEFT,
        (b'H', _) => scan::HOME,
        (b'F', _) => scan::END,
        (b'P'..=b'S', _) => scan::F1 + u16::from(fin - b'P'),
        (b'~', p) => match p {
            b"1" | b"7" => scan::HOME,
            b"2" => scan::INSERT,
            b"3" => scan::DELETE,
            b"4" | b"8" => scan::END,
            b"5" => scan::PAGE_UP,
            b"6" => scan::PAGE_DOWN,
            b"11" | b"12" | b"13" | b"14" | b"15" => scan::F1 + p[1] as u16 - b'1' as u16,
            b"17" | b"18" | b"19" | b"20" | b"21" => {
                // F6..F10 (xterm skips 16).
                let n: u16 = std::str::from_utf8(p)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(17);
                scan::F1 + 5 + (n - 17)
            }
            _ => 0,
        },
        _ => 0,
    };
    if key == 0 {
        // Unknown sequence: swallow it.
        return Parse::Key(unicode(0), used);
    }
    Parse::Key(scan_key(key), used)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: &[u8]) -> Option<(Key, usize)> {
        match parse_key(b) {
            Parse::Key(k, n) => Some((k, n)),
            Parse::Incomplete => None,
        }
    }

    #[test]
    fn characters_and_control_keys() {
        assert_eq!(key(b"a"), Some((unicode(b'a' as u16), 1)));
        assert_eq!(key(b"\r"), Some((unicode(0x0D), 1)));
        assert_eq!(key(b"\x7f"), Some((unicode(0x08), 1)));
        assert_eq!(key("é".as_bytes()), Some((unicode(0xE9), 2)));
        assert!(key(&"é".as_bytes()[..1]).is_none());
    }

    #[test]
    fn escape_sequences() {
        assert_eq!(key(b"\x1b[A"), Some((scan_key(scan::UP), 3)));
        assert_eq!(key(b"\x1b[B"), Some((scan_key(scan::DOWN), 3)));
        assert_eq!(key(b"\x1bOH"), Some((scan_key(scan::HOME), 3)));
        assert_eq!(key(b"\x1b[3~"), Some((scan_key(scan::DELETE), 4)));
        assert_eq!(key(b"\x1b[6~"), Some((scan_key(scan::PAGE_DOWN), 4)));
        assert_eq!(key(b"\x1b[12~"), Some((scan_key(scan::F1 + 1), 5)));
        assert_eq!(key(b"\x1b[21~"), Some((scan_key(scan::F1 + 9), 5)));
        assert_eq!(key(b"\x1bOP"), Some((scan_key(scan::F1), 3)));
        assert!(key(b"\x1b").is_none());
        assert!(key(b"\x1b[").is_none());
        assert_eq!(key(b"\x1bx"), Some((scan_key(scan::ESC), 1)));
    }

    #[test]
    fn attributes_become_ansi_colours() {
        // EFI_WHITE (15) on EFI_BLUE (1 << 4).
        assert_eq!(sgr(0x1F), "\x1b[0;1;37;44m");
        assert_eq!(sgr(0x07), "\x1b[0;37;40m");
    }
}
