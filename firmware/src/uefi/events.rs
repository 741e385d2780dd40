//! Events, timers, task priority levels, Stall and the watchdog (UEFI 2.10,
//! 7.1 "Event, Timer, and Task Priority Services").
//!
//! Time comes from the board's clock; nothing here interrupts the guest.
//! Timers are checked when the guest asks (CheckEvent, WaitForEvent), and a
//! wait with nothing signalled hands the vCPU back to the board to sleep
//! until input or a deadline, then retries the call.
//!
//! Notification functions are recorded but not called: the payloads this
//! firmware boots (the Linux EFI stub, GRUB, systemd-boot) use timer and
//! key events by waiting on them.

use std::collections::HashMap;
use std::time::Duration;

use super::guest::Guest;
use super::guid::Guid;
use super::status;
use super::{console, Reply, Ret, Uefi};

pub const TPL_APPLICATION: u64 = 4;
pub const TPL_HIGH_LEVEL: u64 = 31;

const EVT_TIMER: u32 = 0x8000_0000;
const EVT_NOTIFY_WAIT: u32 = 0x0000_0100;
const EVT_NOTIFY_SIGNAL: u32 = 0x0000_0200;
const EVT_SIGNAL_EXIT_BOOT_SERVICES: u32 = 0x0000_0201;
const EVT_SIGNAL_VIRTUAL_ADDRESS_CHANGE: u32 = 0x6000_0202;
const EVT_RUNTIME: u32 = 0x4000_0000;

/// Longest sleep before a waiting call is retried.
const MAX_WAIT: Duration = Duration::from_millis(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Plain,
    /// Signalled while a key can be read (WaitForKey).
    KeyInput,
}

#[derive(Clone, Debug)]
pub struct Event {
    pub kind: Kind,
    pub event_type: u32,
    pub group: Option<Guid>,
    signalled: bool,
    /// (deadline in ns, period in ns; 0 for a one-shot timer)
    timer: Option<(u64, u64)>,
}

#[derive(Default)]
pub struct Events {
    pub events: HashMap<u64, Event>,
}

/// An event the firmware itself owns (WaitForKey).
pub fn create_internal(u: &mut Uefi, kind: Kind) -> u64 {
    let e = u.alloc_bytes(b"armvm event\0\0\0\0\0");
    u.events.events.insert(
        e,
        Event {
            kind,
            event_type: 0,
            group: None,
            signalled: false,
            timer: None,
        },
    );
    e
}

pub fn create_event(u: &mut Uefi, g: &mut Guest, ex: bool) -> Ret {
    let event_type = g.arg(0)? as u32;
    let notify_tpl = g.arg(1)?;
    let notify = g.arg(2)?;
    let (group, out) = if ex {
        let group = match g.arg(4)? {
            0 => None,
            p => Some(g.read_guid(p)?),
        };
        (group, g.arg(5)?)
    } else {
        (None, g.arg(4)?)
    };
    if out == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let notifies = event_type & (EVT_NOTIFY_WAIT | EVT_NOTIFY_SIGNAL) != 0;
    if notifies && (notify == 0 || !(1..=TPL_HIGH_LEVEL).contains(&notify_tpl)) {
        return Err(status::INVALID_PARAMETER);
    }
    if event_type & EVT_NOTIFY_WAIT != 0 && event_type & EVT_NOTIFY_SIGNAL != 0 {
        return Err(status::INVALID_PARAMETER);
    }
    // The two special signal types are only for CreateEvent; CreateEventEx
    // names groups instead.
    if event_type == EVT_SIGNAL_VIRTUAL_ADDRESS_CHANGE && event_type & EVT_RUNTIME == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let group = match (event_type, group) {
        (EVT_SIGNAL_EXIT_BOOT_SERVICES, None) => Some(super::guid::EVENT_GROUP_EXIT_BOOT_SERVICES),
        (_, g) => g,
    };
    let e = u.alloc_bytes(b"armvm event\0\0\0\0\0");
    u.events.events.insert(
        e,
        Event {
            kind: Kind::Plain,
            event_type,
            group,
            signalled: false,
            timer: None,
        },
    );
    g.write_u64(out, e)?;
    Ok(Reply::Status(status::SUCCESS))
}

pub fn set_timer(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (event, kind, time) = (g.arg(0)?, g.arg(1)?, g.arg(2)?);
    let now = u.now();
    let e = u
        .events
        .events
        .get_mut(&event)
        .ok_or(status::INVALID_PARAMETER)?;
    if e.event_type & EVT_TIMER == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    // TriggerTime is in 100 ns units.
    let ns = time.saturating_mul(100);
    e.timer = match kind {
        0 => None,
        // Periodic; a period of 0 fires on every check.
        1 => Some((now.saturating_add(ns), ns.max(1))),
        2 => Some((now.saturating_add(ns), 0)),
        _ => return Err(status::INVALID_PARAMETER),
    };
    Ok(Reply::Status(status::SUCCESS))
}

/// Moves expired timers to the signalled state.
fn poll_timers(u: &mut Uefi) {
    let now = u.now();
    for e in u.events.events.values_mut() {
        if let Some((deadline, period)) = e.timer {
            if now >= deadline {
                e.signalled = true;
                // A periodic timer skips the periods missed while nobody looked.
                e.timer = ((now - deadline).checked_div(period))
                    .map(|missed| (deadline + (missed + 1) * period, period));
            }
        }
    }
}

/// Whether `event` is signalled now, taking the signal when `consume`.
fn test_event(u: &mut Uefi, event: u64, consume: bool) -> Result<bool, status::Status> {
    let kind = u
        .events
        .events
        .get(&event)
        .ok_or(status::INVALID_PARAMETER)?
        .kind;
    if kind == Kind::KeyInput {
        return Ok(console::key_ready(u));
    }
    let e = u
        .events
        .events
        .get_mut(&event)
        .ok_or(status::INVALID_PARAMETER)?;
    if e.event_type & EVT_NOTIFY_SIGNAL != 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let set = e.signalled;
    if consume {
        e.signalled = false;
    }
    Ok(set)
}

/// The earliest timer deadline, for how long a wait may sleep.
fn next_deadline(u: &Uefi) -> Option<u64> {
    u.events
        .events
        .values()
        .filter_map(|e| e.timer.map(|(d, _)| d))
        .min()
}

fn sleep_until(u: &Uefi, deadline: Option<u64>) -> Duration {
    let now = u.now();
    deadline.map_or(MAX_WAIT, |d| {
        Duration::from_nanos(d.saturating_sub(now)).min(MAX_WAIT)
    })
}

pub fn wait_for_event(u: &mut Uefi, g: &mut Guest) -> Ret {
    let (count, list, index) = (g.arg(0)?, g.arg(1)?, g.arg(2)?);
    if count == 0 || count > 4096 || list == 0 || index == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    if u.tpl != TPL_APPLICATION {
        return Err(status::UNSUPPORTED);
    }
    poll_timers(u);
    for i in 0..count {
        let e = g.read_u64(list + 8 * i)?;
        if test_event(u, e, true)? {
            g.write_u64(index, i)?;
            return Ok(Reply::Status(status::SUCCESS));
        }
    }
    Ok(Reply::Wait(sleep_until(u, next_deadline(u))))
}

pub fn check_event(u: &mut Uefi, g: &mut Guest) -> Ret {
    let e = g.arg(0)?;
    poll_timers(u);
    if test_event(u, e, true)? {
        Ok(Reply::Status(status::SUCCESS))
    } else {
        Err(status::NOT_READY)
    }
}

pub fn signal_event(u: &mut Uefi, g: &mut Guest) -> Ret {
    let event = g.arg(0)?;
    let group = u
        .events
        .events
        .get(&event)
        .ok_or(status::INVALID_PARAMETER)?
        .group;
    for (id, e) in u.events.events.iter_mut() {
        if *id == event || (group.is_some() && e.group == group) {
            e.signalled = true;
        }
    }
    Ok(Reply::Status(status::SUCCESS))
}

pub fn close_event(u: &mut Uefi, g: &mut Guest) -> Ret {
    let e = g.arg(0)?;
    match u.events.events.get(&e) {
        Some(ev) if ev.kind == Kind::Plain => {
            u.events.events.remove(&e);
            Ok(Reply::Status(status::SUCCESS))
        }
        _ => Err(status::INVALID_PARAMETER),
    }
}

pub fn raise_tpl(u: &mut Uefi, g: &mut Guest) -> Ret {
    let new = g.arg(0)?;
    let old = u.tpl;
    if new <= TPL_HIGH_LEVEL {
        u.tpl = new.max(old);
    }
    Ok(Reply::Status(old))
}

pub fn restore_tpl(u: &mut Uefi, g: &mut Guest) -> Ret {
    let old = g.arg(0)?;
    if old <= TPL_HIGH_LEVEL {
        u.tpl = old;
    }
    // RestoreTPL returns nothing; x0 keeps the argument.
    Ok(Reply::Status(old))
}

/// Stall(Microseconds): the vCPU waits, and the call completes once the time
/// has passed (a retried call at the same trampoline continues the wait).
pub fn stall(u: &mut Uefi, g: &mut Guest) -> Ret {
    let pc = g.cpu.regs.pc;
    let now = u.now();
    let deadline = match u.stall {
        Some((at, deadline)) if at == pc => deadline,
        _ => now.saturating_add(g.arg(0)?.saturating_mul(1000)),
    };
    if now >= deadline {
        u.stall = None;
        return Ok(Reply::Status(status::SUCCESS));
    }
    u.stall = Some((pc, deadline));
    Ok(Reply::Wait(sleep_until(u, Some(deadline))))
}

pub fn set_watchdog_timer(u: &mut Uefi, g: &mut Guest) -> Ret {
    let seconds = g.arg(0)?;
    u.watchdog = if seconds == 0 {
        None
    } else {
        Some(
            u.now()
                .saturating_add(seconds.saturating_mul(1_000_000_000)),
        )
    };
    Ok(Reply::Status(status::SUCCESS))
}

/// Signals the events of a group (ExitBootServices signals its group).
pub fn signal_group(u: &mut Uefi, group: &Guid) {
    for e in u.events.events.values_mut() {
        if e.group.as_ref() == Some(group) {
            e.signalled = true;
        }
    }
}
