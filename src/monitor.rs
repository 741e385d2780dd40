//! A small line-oriented monitor on a Unix socket (`--monitor PATH`), for what
//! QEMU users do in its human monitor: `balloon SIZE`, `info balloon`, `quit`.
//! Connect with e.g. `socat - UNIX-CONNECT:PATH`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use armvm_devices::virtio::balloon::BalloonControl;
use crossbeam_channel::Sender;

use crate::console::Control;
use armvm_devices::Locked;

/// What the monitor can reach; the balloon changes with each machine a reset builds.
#[derive(Clone)]
pub struct MonitorTarget {
    pub balloon: Arc<Mutex<Option<Arc<BalloonControl>>>>,
    pub ram_size: u64,
    pub control: Sender<Control>,
}

const HELP: &str = "balloon SIZE     ask the guest to shrink its memory to SIZE (e.g. 512M)\n\
info balloon     the guest's memory as the balloon leaves it\n\
quit             stop armvm\n";

/// Listens at `path` and serves one client at a time on a thread of its own.
pub fn start(path: &Path, target: MonitorTarget) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            serve(stream, &target);
        }
    });
    Ok(())
}

fn serve(stream: UnixStream, target: &MonitorTarget) {
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let _ = write!(out, "armvm monitor; 'help' lists the commands\n(armvm) ");
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else {
            return;
        };
        let reply = command(line.trim(), target);
        if out.write_all(reply.as_bytes()).is_err() || out.write_all(b"(armvm) ").is_err() {
            return;
        }
    }
}

/// Runs one command; returns the reply text.
pub fn command(line: &str, target: &MonitorTarget) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let balloon = target.balloon.locked().clone();
    match words.as_slice() {
        [] => String::new(),
        ["help"] => HELP.to_string(),
        ["quit"] => {
            let _ = target.control.send(Control::Quit);
            "stopping\n".to_string()
        }
        ["info", "balloon"] => match balloon {
            Some(b) => format!(
                "balloon: actual={}\n",
                (target.ram_size - b.actual().min(target.ram_size)) >> 20
            ),
            None => "no balloon device (use --balloon)\n".to_string(),
        },
        ["balloon", size] => match (balloon, crate::cli::parse_size(size)) {
            (None, _) => "no balloon device (use --balloon)\n".to_string(),
            (_, Err(e)) => format!("{e}\n"),
            (Some(b), Ok(size)) => {
                b.set_target(target.ram_size.saturating_sub(size));
                String::new()
            }
        },
        _ => format!("unknown command '{line}'; 'help' lists the commands\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let target = MonitorTarget {
            balloon: Arc::default(),
            ram_size: 1 << 30,
            control: tx,
        };
        assert!(command("balloon 512", &target).contains("no balloon"));
        *target.balloon.lock().unwrap() = Some(Arc::new(BalloonControl::default()));
        assert_eq!(command("info balloon", &target), "balloon: actual=1024\n");
        assert_eq!(command("balloon 512M", &target), "");
        assert!(command("balloon lots", &target).contains("not"));
        assert!(command("frobnicate", &target).contains("unknown"));
        assert!(command("help", &target).contains("balloon SIZE"));
        command("quit", &target);
        assert_eq!(rx.try_recv(), Ok(Control::Quit));
    }
}
