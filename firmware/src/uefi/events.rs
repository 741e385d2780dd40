//! Events, timers, task priority levels, Stall and the watchdog (UEFI 2.10,
//! 7.1 "Event, Timer, and Task Priority Services").
//!
//! Time comes from the board's clock; nothing here interrupts the guest.
//! Timers are checked when the guest asks (CheckEvent, WaitForEvent), and a
//! wait with nothing signalled hands the vCPU back to the board to sleep
//! until input or a deadline, then retries the call.
//!
//! Notification functions are guest code. A signalled EVT_NOTIFY_SIGNAL
//! event (or a not-yet-signalled EVT_NOTIFY_WAIT event that is checked) is
//! queued; when a service returns, the queued notification with the highest
//! TPL above the current one runs: the caller's registers are saved, the
//! function is entered with (Event, Context) and returns to the NotifyReturn
//! trampoline, which restores them (see [`dispatch`]). Timers are looked at
//! on every service call, so notifications run at the next call after their
//! timer expires, not in the middle of guest code.

use std::collections::HashMap;
use std::time::Duration;

use armvm_cpu::state::Regs;

use super::guest::Guest;
use super::guid::Guid;
use super::service::Service;
use super::status;
use super::{console, Reply, Ret, Uefi};

pub const TPL_APPLICATION: u64 = 4;
pub const TPL_HIGH_LEVEL: u64 = 31;

const EVT_TIMER: u32 = 0x8000_0000;
const EVT_NOTIFY_WAIT: u32 = 0x0000_0100;
const EVT_NOTIFY_SIGNAL: u32 = 0x0000_0200;
const EVT_SIGNAL_EXIT_BOOT_SERVICES: u32 = 0x0000_0201;
const EVT_SIGNAL_VIRTUAL_ADDRESS_CHANGE: u32 = 0x6000_0202;

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
    /// The notification function, its context and TPL (0: none).
    notify: u64,
    context: u64,
    notify_tpl: u64,
    /// Waiting for its notification function to run.
    queued: bool,
    signalled: bool,
    /// (deadline in ns, period in ns; 0 for a one-shot timer)
    timer: Option<(u64, u64)>,
}

/// A notification function running: what it interrupted.
struct Notifying {
    saved: Regs,
    tpl: u64,
}

#[derive(Default)]
pub struct Events {
    pub events: HashMap<u64, Event>,
    running: Vec<Notifying>,
}

impl Event {
    fn new(kind: Kind, event_type: u32, group: Option<Guid>) -> Event {
        Event {
            kind,
            event_type,
            group,
            notify: 0,
            context: 0,
            notify_tpl: 0,
            queued: false,
            signalled: false,
            timer: None,
        }
    }

    /// Signals the event: a notify-signal event queues its function instead
    /// of staying signalled.
    fn signal(&mut self) {
        if self.event_type & EVT_NOTIFY_SIGNAL != 0 {
            self.queued = true;
        } else {
            self.signalled = true;
        }
    }
}

/// An event the firmware itself owns (WaitForKey).
pub fn create_internal(u: &mut Uefi, kind: Kind) -> u64 {
    let e = u.alloc_bytes(b"armvm event\0\0\0\0\0");
    u.events.events.insert(e, Event::new(kind, 0, None));
    e
}

pub fn create_event(u: &mut Uefi, g: &mut Guest, ex: bool) -> Ret {
    let event_type = g.arg(0)? as u32;
    let notify_tpl = g.arg(1)?;
    let notify = g.arg(2)?;
    let context = g.arg(3)?;
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
    let group = match (event_type, group) {
        (EVT_SIGNAL_EXIT_BOOT_SERVICES, None) => Some(super::guid::EVENT_GROUP_EXIT_BOOT_SERVICES),
        (EVT_SIGNAL_VIRTUAL_ADDRESS_CHANGE, None) => {
            Some(super::guid::EVENT_GROUP_VIRTUAL_ADDRESS_CHANGE)
        }
        (_, g) => g,
    };
    let e = u.alloc_bytes(b"armvm event\0\0\0\0\0");
    let mut event = Event::new(Kind::Plain, event_type, group);
    if notifies {
        (event.notify, event.context, event.notify_tpl) = (notify, context, notify_tpl);
    }
    u.events.events.insert(e, event);
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
                e.signal();
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
    // A wait event's function runs when it is checked unsignalled (it may
    // signal the event for the next check).
    if !e.signalled && e.event_type & EVT_NOTIFY_WAIT != 0 {
        e.queued = true;
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
            e.signal();
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
            e.signal();
        }
    }
}

/// Enters the most urgent queued notification function above the current
/// TPL, if any, as if the service had been interrupted just before it
/// returned to its caller. True when one was entered.
pub fn dispatch(u: &mut Uefi, g: &mut Guest) -> bool {
    // Once the OS owns the machine only the groups of ExitBootServices and
    // SetVirtualAddressMap are notified (during those calls).
    let after_exit = u.exited_boot_services;
    if !after_exit {
        poll_timers(u);
    }
    let next = u
        .events
        .events
        .iter()
        .filter(|(_, e)| e.queued && e.notify_tpl > u.tpl)
        .filter(|(_, e)| {
            !after_exit
                || e.group == Some(super::guid::EVENT_GROUP_EXIT_BOOT_SERVICES)
                || e.group == Some(super::guid::EVENT_GROUP_VIRTUAL_ADDRESS_CHANGE)
        })
        .max_by_key(|(id, e)| (e.notify_tpl, std::cmp::Reverse(**id)))
        .map(|(id, e)| (*id, e.notify, e.context, e.notify_tpl));
    let Some((event, notify, context, tpl)) = next else {
        return false;
    };
    if let Some(e) = u.events.events.get_mut(&event) {
        e.queued = false;
    }
    u.events.running.push(Notifying {
        saved: g.cpu.regs.clone(),
        tpl: u.tpl,
    });
    u.tpl = tpl;
    let r = &mut g.cpu.regs;
    r.x[0] = event;
    r.x[1] = context;
    r.x[30] = u.trampoline(Service::NotifyReturn);
    r.pc = notify;
    let sp = r.sp() & !15;
    r.set_sp(sp);
    true
}

/// A notification function returned: back to what it interrupted.
pub fn notify_return(u: &mut Uefi, g: &mut Guest) -> Ret {
    let Some(n) = u.events.running.pop() else {
        return Ok(Reply::Halt(
            "a notification function returned with nothing to return to".into(),
        ));
    };
    g.cpu.regs = n.saved;
    u.tpl = n.tpl;
    Ok(Reply::Done)
}
