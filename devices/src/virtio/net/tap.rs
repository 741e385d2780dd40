//! A tap device (`--net tap,ifname=NAME`): frames go to and come from a host
//! network interface opened through /dev/net/tun. The interface must exist and
//! be usable by the user running armvm (e.g. `ip tuntap add NAME mode tap user
//! USER`), or armvm needs CAP_NET_ADMIN to create it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use crossbeam_channel::Receiver;

use super::NetBackend;

/// Frames from the host waiting for the guest.
const TO_GUEST_QUEUE: usize = 1024;

pub struct Tap {
    file: File,
    frames: Receiver<Vec<u8>>,
}

impl NetBackend for Tap {
    fn send(&mut self, frame: &[u8]) {
        // A frame the host refuses (interface down) is lost, as on a wire.
        let _ = self.file.write(frame);
    }
    fn frames(&self) -> Receiver<Vec<u8>> {
        self.frames.clone()
    }
}

/// Opens tap interface `ifname`.
pub fn open(ifname: &str) -> std::io::Result<Tap> {
    const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
    const IFF_TAP: libc::c_short = 0x0002;
    const IFF_NO_PI: libc::c_short = 0x1000;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")?;
    // struct ifreq: the name, then the flags.
    let mut ifreq = [0u8; 40];
    ifreq[..ifname.len()].copy_from_slice(ifname.as_bytes());
    ifreq[16..18].copy_from_slice(&(IFF_TAP | IFF_NO_PI).to_ne_bytes());
    // SAFETY: TUNSETIFF reads and writes a struct ifreq (40 bytes) we own.
    if unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, ifreq.as_mut_ptr()) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut reader = file.try_clone()?;
    let (tx, frames) = crossbeam_channel::bounded(TO_GUEST_QUEUE);
    std::thread::Builder::new()
        .name("tap".into())
        .spawn(move || {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = reader.read(&mut buf) {
                // A full queue drops the frame, as a full NIC ring does.
                if n == 0
                    || matches!(
                        tx.try_send(buf[..n].to_vec()),
                        Err(crossbeam_channel::TrySendError::Disconnected(_))
                    )
                {
                    return;
                }
            }
        })?;
    Ok(Tap { file, frames })
}
