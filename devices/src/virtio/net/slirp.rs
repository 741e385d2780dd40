//! User-mode networking through libslirp (the library QEMU's `-netdev user`
//! uses): DHCP, DNS forwarding to the host's resolver, NAT of the guest's TCP and
//! UDP through ordinary host sockets, and host port forwarding. No privileges.
//!
//! libslirp is single-threaded and poll-driven: one thread owns it, feeds it the
//! guest's frames (woken through an eventfd), runs its timers and polls its
//! sockets.

use std::cell::RefCell;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::io::RawFd;
use std::rc::Rc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use libslirp::{Context, Handler, PollEvents};
use libslirp_sys::{slirp_add_hostfwd, SlirpConfig};

use super::options::HostForward;
use super::NetBackend;

/// Frames waiting for the guest; more are dropped (a full NIC ring).
const TO_GUEST_QUEUE: usize = 1024;
/// Longest poll wait when nothing is scheduled.
const MAX_POLL_MS: u32 = 1000;

/// The guest's side of the slirp thread.
pub struct Slirp {
    to_slirp: Sender<Vec<u8>>,
    wake: RawFd,
    frames: Receiver<Vec<u8>>,
}

impl NetBackend for Slirp {
    fn send(&mut self, frame: &[u8]) {
        if self.to_slirp.send(frame.to_vec()).is_ok() {
            wake(self.wake);
        }
    }
    fn frames(&self) -> Receiver<Vec<u8>> {
        self.frames.clone()
    }
}

impl Drop for Slirp {
    fn drop(&mut self) {
        // The thread sees the closed channel on its next wake-up and ends.
        let (tx, _) = crossbeam_channel::bounded(0);
        self.to_slirp = tx;
        wake(self.wake);
    }
}

fn wake(fd: RawFd) {
    let one = 1u64;
    // SAFETY: writing 8 bytes from a valid u64 to an eventfd.
    unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}

/// The addresses of a user network: .2 is the host, .3 DNS, DHCP from .15.
fn addresses(net: (Ipv4Addr, u8)) -> (Ipv4Addr, Ipv4Addr, Ipv4Addr, Ipv4Addr) {
    let base = u32::from(net.0);
    let mask = Ipv4Addr::from(u32::MAX << (32 - net.1));
    (
        mask,
        Ipv4Addr::from(base + 2),
        Ipv4Addr::from(base + 3),
        Ipv4Addr::from(base + 15),
    )
}

/// Starts the slirp thread for network `net` with `forwards`. Fails if a
/// forwarded host port cannot be bound.
pub fn start(net: (Ipv4Addr, u8), forwards: &[HostForward]) -> Result<Slirp, String> {
    // SAFETY: plain eventfd creation.
    let wake_fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if wake_fd < 0 {
        return Err(format!("eventfd: {}", std::io::Error::last_os_error()));
    }
    let (to_slirp, from_guest) = crossbeam_channel::unbounded();
    let (to_guest, frames) = crossbeam_channel::bounded(TO_GUEST_QUEUE);
    let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
    let forwards = forwards.to_vec();
    std::thread::Builder::new()
        .name("slirp".into())
        .spawn(move || run(net, forwards, wake_fd, from_guest, to_guest, ready_tx))
        .map_err(|e| format!("cannot start the network thread: {e}"))?;
    ready_rx
        .recv()
        .map_err(|_| "the network thread ended".to_string())??;
    Ok(Slirp {
        to_slirp,
        wake: wake_fd,
        frames,
    })
}

type TimerFn = Rc<RefCell<Box<dyn FnMut()>>>;

struct State {
    start: Instant,
    to_guest: Sender<Vec<u8>>,
    /// Callback and expiry (ms on `start`'s clock) of each timer slirp made.
    timers: Vec<Option<(TimerFn, Option<i64>)>>,
}

impl Handler for State {
    type Timer = usize;
    fn clock_get_ns(&mut self) -> i64 {
        self.start.elapsed().as_nanos() as i64
    }
    fn send_packet(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.to_guest.try_send(buf.to_vec()) {
            Ok(()) | Err(TrySendError::Full(_)) => Ok(buf.len()),
            Err(TrySendError::Disconnected(_)) => Err(std::io::ErrorKind::BrokenPipe.into()),
        }
    }
    fn register_poll_fd(&mut self, _fd: RawFd) {}
    fn unregister_poll_fd(&mut self, _fd: RawFd) {}
    fn guest_error(&mut self, msg: &str) {
        if std::env::var_os("ARMVM_DEBUG").is_some() {
            eprintln!("armvm: user network: {msg}");
        }
    }
    fn notify(&mut self) {}
    fn timer_new(&mut self, func: Box<dyn FnMut()>) -> Box<usize> {
        self.timers.push(Some((Rc::new(RefCell::new(func)), None)));
        Box::new(self.timers.len() - 1)
    }
    fn timer_mod(&mut self, timer: &mut Box<usize>, expire_ms: i64) {
        if let Some(Some(t)) = self.timers.get_mut(**timer) {
            t.1 = Some(expire_ms);
        }
    }
    fn timer_free(&mut self, timer: Box<usize>) {
        if let Some(t) = self.timers.get_mut(*timer) {
            *t = None;
        }
    }
}

fn config(net: (Ipv4Addr, u8)) -> SlirpConfig {
    let (mask, host, dns, dhcp) = addresses(net);
    SlirpConfig {
        // Version 3: the crate's callback table has no version-4 entries.
        version: 3,
        restricted: 0,
        in_enabled: true,
        vnetwork: net.0.into(),
        vnetmask: mask.into(),
        vhost: host.into(),
        in6_enabled: false,
        vprefix_addr6: Ipv6Addr::UNSPECIFIED.into(),
        vprefix_len: 0,
        vhost6: Ipv6Addr::UNSPECIFIED.into(),
        vhostname: std::ptr::null(),
        tftp_server_name: std::ptr::null(),
        tftp_path: std::ptr::null(),
        bootfile: std::ptr::null(),
        vdhcp_start: dhcp.into(),
        vnameserver: dns.into(),
        vnameserver6: Ipv6Addr::UNSPECIFIED.into(),
        vdnssearch: std::ptr::null_mut(),
        vdomainname: std::ptr::null(),
        if_mtu: 1500,
        if_mru: 1500,
        disable_host_loopback: false,
        enable_emu: false,
        outbound_addr: std::ptr::null(),
        outbound_addr6: std::ptr::null(),
        disable_dns: false,
        disable_dhcp: false,
    }
}

fn to_poll(ev: PollEvents) -> i16 {
    let mut r = 0;
    if ev.has_in() {
        r |= libc::POLLIN;
    }
    if ev.has_out() {
        r |= libc::POLLOUT;
    }
    if ev.has_pri() {
        r |= libc::POLLPRI;
    }
    r
}

fn from_poll(r: i16) -> PollEvents {
    let mut e = PollEvents::empty();
    for (bit, ev) in [
        (libc::POLLIN, PollEvents::poll_in()),
        (libc::POLLOUT, PollEvents::poll_out()),
        (libc::POLLPRI, PollEvents::poll_pri()),
        (libc::POLLERR, PollEvents::poll_err()),
        (libc::POLLHUP, PollEvents::poll_hup()),
    ] {
        if r & bit != 0 {
            e |= ev;
        }
    }
    e
}

fn run(
    net: (Ipv4Addr, u8),
    forwards: Vec<HostForward>,
    wake_fd: RawFd,
    from_guest: Receiver<Vec<u8>>,
    to_guest: Sender<Vec<u8>>,
    ready: Sender<Result<(), String>>,
) {
    let state = Rc::new(RefCell::new(State {
        start: Instant::now(),
        to_guest,
        timers: Vec::new(),
    }));
    let ctx = Context::new_with_config(&config(net), state.clone());
    let (_, _, _, dhcp) = addresses(net);
    for f in &forwards {
        // SAFETY: a live slirp context; addresses passed by value.
        let r = unsafe {
            slirp_add_hostfwd(
                ctx.inner.context,
                f.udp as i32,
                f.host_addr.into(),
                f.host_port as i32,
                f.guest_addr.unwrap_or(dhcp).into(),
                f.guest_port as i32,
            )
        };
        if r != 0 {
            let _ = ready.send(Err(format!(
                "cannot forward host port {}:{} (in use?)",
                f.host_addr, f.host_port
            )));
            return;
        }
    }
    let _ = ready.send(Ok(()));
    loop {
        let mut drained = 0u64;
        // SAFETY: reading 8 bytes into a u64 from a non-blocking eventfd.
        unsafe { libc::read(wake_fd, (&mut drained as *mut u64).cast(), 8) };
        loop {
            match from_guest.try_recv() {
                Ok(frame) => ctx.input(&frame),
                Err(crossbeam_channel::TryRecvError::Empty) => break,
                // The device is gone: so is the network.
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    // SAFETY: closing our own eventfd once.
                    unsafe { libc::close(wake_fd) };
                    return;
                }
            }
        }
        // Timers run without a borrow held: their callbacks re-enter the handler.
        let now = state.borrow().start.elapsed().as_millis() as i64;
        let due: Vec<TimerFn> = state
            .borrow_mut()
            .timers
            .iter_mut()
            .flatten()
            .filter(|(_, at)| at.is_some_and(|t| t <= now))
            .map(|(f, at)| {
                *at = None;
                f.clone()
            })
            .collect();
        for f in due {
            (f.borrow_mut())();
        }
        let mut fds = vec![libc::pollfd {
            fd: wake_fd,
            events: libc::POLLIN,
            revents: 0,
        }];
        let mut timeout = MAX_POLL_MS;
        ctx.pollfds_fill(&mut timeout, |fd, ev| {
            fds.push(libc::pollfd {
                fd,
                events: to_poll(ev),
                revents: 0,
            });
            (fds.len() - 1) as i32
        });
        let next_timer = state
            .borrow()
            .timers
            .iter()
            .flatten()
            .filter_map(|(_, at)| *at)
            .min();
        if let Some(at) = next_timer {
            timeout = timeout.min((at - now).clamp(0, MAX_POLL_MS as i64) as u32);
        }
        // SAFETY: `fds` is a valid array of pollfd of the given length.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as _, timeout as i32) };
        ctx.pollfds_poll(r < 0, |i| {
            fds.get(i as usize)
                .map_or(PollEvents::empty(), |p| from_poll(p.revents))
        });
    }
}
