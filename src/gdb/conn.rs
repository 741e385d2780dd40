//! The gdb connection as host I/O: a listener thread that accepts one client at a
//! time, a reader thread per client that cuts the byte stream into frames, and the
//! write half that the VM thread uses to answer.
//!
//! The reader never lets a malformed frame reach gdbstub's parser, which treats junk
//! bytes, bad checksums, NACKs and oversized packets as fatal session errors: it drops
//! acknowledgements and junk between packets, reports a bad checksum (the VM thread
//! answers `-`, asking for a retransmission) and an oversized packet (answered with
//! an error reply) as events of their own.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

/// Largest packet accepted, `$`, body, `#` and checksum included. gdb learns it from
/// `qSupported` (PacketSize) and never sends more; gdbstub gets a buffer this large.
pub const PACKET_SIZE: usize = 0x4000;
/// Frames queued between the reader and the VM thread: a client that floods the
/// stub waits for the VM thread instead of growing a queue.
const QUEUE: usize = 256;
/// A client that stops reading our replies for this long is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// One unit of client input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete packet with a correct checksum, `$...#xx` exactly as received.
    Packet(Vec<u8>),
    /// The interrupt byte (Ctrl-C, 0x03) outside a packet.
    Interrupt,
    /// A packet whose checksum is wrong or not hexadecimal.
    BadChecksum,
    /// A packet longer than [`PACKET_SIZE`], discarded.
    Oversized,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between packets: `$` starts one, 0x03 interrupts, anything else is dropped.
    Idle,
    Body,
    Sum1,
    Sum2,
}

/// Cuts a byte stream into [`Frame`]s. Never allocates more than `max` bytes.
pub struct Framer {
    state: State,
    buf: Vec<u8>,
    max: usize,
    overflow: bool,
    sum: u8,
    sum_hi: Option<u8>,
}

impl Framer {
    pub fn new(max: usize) -> Framer {
        Framer {
            state: State::Idle,
            buf: Vec::new(),
            max: max.max(4),
            overflow: false,
            sum: 0,
            sum_hi: None,
        }
    }

    fn start(&mut self) {
        self.state = State::Body;
        self.buf.clear();
        self.buf.push(b'$');
        self.overflow = false;
        self.sum = 0;
    }

    fn keep(&mut self, b: u8) {
        if self.buf.len() < self.max {
            self.buf.push(b);
        } else {
            self.overflow = true;
        }
    }

    /// Feeds one byte; returns a frame when one is complete.
    pub fn push(&mut self, b: u8) -> Option<Frame> {
        match self.state {
            State::Idle => match b {
                b'$' => self.start(),
                0x03 => return Some(Frame::Interrupt),
                // Acknowledgements ('+', '-') and junk: gdbstub does not retransmit,
                // and a stray byte must not end the session.
                _ => {}
            },
            State::Body => match b {
                b'#' => {
                    self.keep(b);
                    self.state = State::Sum1;
                }
                // A '$' inside a body is always escaped by gdb: an unescaped one
                // means the client abandoned the previous packet.
                b'$' => self.start(),
                _ => {
                    self.sum = self.sum.wrapping_add(b);
                    self.keep(b);
                }
            },
            State::Sum1 => {
                self.sum_hi = hex_digit(b);
                self.keep(b);
                self.state = State::Sum2;
            }
            State::Sum2 => {
                self.keep(b);
                self.state = State::Idle;
                let frame = if self.overflow {
                    Frame::Oversized
                } else {
                    match (self.sum_hi, hex_digit(b)) {
                        (Some(hi), Some(lo)) if hi << 4 | lo == self.sum => {
                            Frame::Packet(std::mem::take(&mut self.buf))
                        }
                        _ => Frame::BadChecksum,
                    }
                };
                self.buf = Vec::new();
                return Some(frame);
            }
        }
        None
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Builds a complete packet `$body#xx`.
pub fn packet(body: &[u8]) -> Vec<u8> {
    let sum = body.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    let mut p = Vec::with_capacity(body.len() + 4);
    p.push(b'$');
    p.extend_from_slice(body);
    p.extend_from_slice(format!("#{sum:02x}").as_bytes());
    p
}

/// What the I/O threads tell the VM thread.
pub enum Event {
    Connected {
        id: u64,
        stream: TcpStream,
        peer: SocketAddr,
    },
    Frame {
        id: u64,
        frame: Frame,
    },
    /// The client closed the connection (or it failed).
    Closed {
        id: u64,
    },
}

/// The listening side: the accepted clients' events arrive on `events`.
pub struct Listener {
    pub events: Receiver<Event>,
    /// Set while a client is attached; cleared by the VM thread when it ends the session.
    pub busy: Arc<AtomicBool>,
    pub addr: SocketAddr,
}

/// Binds `addr` and starts the accept thread.
pub fn listen(addr: &str) -> std::io::Result<Listener> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let (tx, rx) = crossbeam_channel::bounded(QUEUE);
    let busy = Arc::new(AtomicBool::new(false));
    let b = busy.clone();
    std::thread::Builder::new()
        .name("gdb-accept".into())
        .spawn(move || accept_loop(listener, tx, b))?;
    Ok(Listener {
        events: rx,
        busy,
        addr: local,
    })
}

fn accept_loop(listener: TcpListener, tx: Sender<Event>, busy: Arc<AtomicBool>) {
    let mut next_id = 1u64;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        if busy.swap(true, Ordering::SeqCst) {
            eprintln!("armvm: gdb: refusing {peer}: a debugger is already attached");
            std::thread::spawn(move || refuse(stream));
            continue;
        }
        let id = next_id;
        next_id += 1;
        let reader = match stream.try_clone() {
            Ok(r) => r,
            Err(_) => {
                busy.store(false, Ordering::SeqCst);
                continue;
            }
        };
        let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
        let _ = stream.set_nodelay(true);
        // Connected goes first so that the VM thread knows the id of every frame.
        if tx.send(Event::Connected { id, stream, peer }).is_err() {
            return;
        }
        let tx = tx.clone();
        let _ = std::thread::Builder::new()
            .name("gdb-read".into())
            .spawn(move || read_loop(id, reader, tx));
    }
}

/// Answers a second client's first packet with an error that says why, then hangs up.
fn refuse(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let mut framer = Framer::new(PACKET_SIZE);
    let mut buf = [0u8; 512];
    'read: while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            if let Some(Frame::Packet(_)) = framer.push(b) {
                let mut reply = b"+".to_vec();
                reply.extend(packet(b"E.armvm: a debugger is already attached"));
                let _ = stream.write_all(&reply);
                break 'read;
            }
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

fn read_loop(id: u64, mut stream: TcpStream, tx: Sender<Event>) {
    let mut framer = Framer::new(PACKET_SIZE);
    let mut buf = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = tx.send(Event::Closed { id });
                return;
            }
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if let Some(frame) = framer.push(b) {
                if tx.send(Event::Frame { id, frame }).is_err() {
                    return;
                }
            }
        }
    }
}

/// The write half, as gdbstub's [`gdbstub::conn::Connection`]. Output is collected
/// and sent on `flush`; a muted connection discards it (used when the session's
/// negotiated state is replayed into a fresh stub).
pub struct Conn {
    stream: TcpStream,
    out: Vec<u8>,
    pub muted: bool,
}

impl Conn {
    pub fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            out: Vec::new(),
            muted: false,
        }
    }
}

impl gdbstub::conn::Connection for Conn {
    type Error = std::io::Error;

    fn write(&mut self, byte: u8) -> Result<(), Self::Error> {
        if !self.muted {
            self.out.push(byte);
        }
        Ok(())
    }

    fn write_all(&mut self, buf: &[u8]) -> Result<(), Self::Error> {
        if !self.muted {
            self.out.extend_from_slice(buf);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        if !self.out.is_empty() {
            let r = std::io::Write::write_all(&mut self.stream, &self.out);
            self.out.clear();
            r?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(max: usize, input: &[u8]) -> Vec<Frame> {
        let mut f = Framer::new(max);
        input.iter().filter_map(|&b| f.push(b)).collect()
    }

    #[test]
    fn cuts_packets_and_drops_junk() {
        let cases: &[(&[u8], Vec<Frame>)] = &[
            (b"$g#67", vec![Frame::Packet(b"$g#67".to_vec())]),
            (b"+$g#67-", vec![Frame::Packet(b"$g#67".to_vec())]),
            (
                b"junk\n\x03$?#3f",
                vec![Frame::Interrupt, Frame::Packet(b"$?#3f".to_vec())],
            ),
            (b"$g#68", vec![Frame::BadChecksum]),
            (b"$g#zz", vec![Frame::BadChecksum]),
            // An abandoned packet is restarted by the next '$'.
            (b"$m0,4$g#67", vec![Frame::Packet(b"$g#67".to_vec())]),
            (b"$#00", vec![Frame::Packet(b"$#00".to_vec())]),
            // 0x03 inside a packet is data, not an interrupt.
            (b"$\x03#03", vec![Frame::Packet(b"$\x03#03".to_vec())]),
        ];
        for (input, want) in cases {
            assert_eq!(
                &frames(64, input),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn oversized_packets_are_reported_not_kept() {
        let mut input = b"$".to_vec();
        input.extend(std::iter::repeat_n(b'a', 100));
        input.extend(b"#00$g#67");
        assert_eq!(
            frames(32, &input),
            vec![Frame::Oversized, Frame::Packet(b"$g#67".to_vec())]
        );
        // Exactly at the limit is accepted.
        let p = packet(&[b'a'; 28]);
        assert_eq!(p.len(), 32);
        assert_eq!(frames(32, &p), vec![Frame::Packet(p.clone())]);
    }

    /// Random input never panics, never yields a packet over the limit, and every
    /// packet it yields has a correct checksum.
    #[test]
    fn fuzz_framer() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        const ALPHABET: &[u8] = b"$#+-\x03}0123456789abcdefgmMXZz:,;";
        for round in 0..2000 {
            let max = 8 + (rand() % 64) as usize;
            let mut f = Framer::new(max);
            let len = rand() % 300;
            for _ in 0..len {
                let r = rand();
                let b = if r % 4 == 0 {
                    r as u8 >> 3
                } else {
                    ALPHABET[(r >> 8) as usize % ALPHABET.len()]
                };
                if let Some(Frame::Packet(p)) = f.push(b) {
                    assert!(p.len() <= max, "round {round}");
                    let hash = p.iter().position(|&c| c == b'#').unwrap();
                    let body = &p[1..hash];
                    assert_eq!(packet(body), p, "round {round}");
                }
            }
        }
    }
}
