//! A last line of defence around third-party parsers (the `fatfs` driver and
//! `goblin`): armvm validates what it hands them, but a corrupt image must never
//! bring the process down, so their calls run under `catch_unwind`. While a guarded
//! call runs on a thread, a panic's message is kept for the report instead of being
//! printed; panics elsewhere go to the previous hook as usual.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static GUARDED: Cell<u32> = const { Cell::new(0) };
    static MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARDED.with(|g| g.get()) > 0 {
                let text = if let Some(s) = info.payload().downcast_ref::<&str>() {
                    s.to_string()
                } else if let Some(s) = info.payload().downcast_ref::<String>() {
                    s.clone()
                } else {
                    "panic".to_string()
                };
                let place = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                MESSAGE.with(|m| *m.borrow_mut() = Some(format!("{text}{place}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`; a panic inside it becomes `Err("WHAT failed on malformed data (...)")`.
pub fn contain<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    GUARDED.with(|g| g.set(g.get() + 1));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(g.get() - 1));
    result.map_err(|_| {
        let msg = MESSAGE
            .with(|m| m.borrow_mut().take())
            .unwrap_or_else(|| "panic".into());
        CONTAINED.with(|c| c.set(c.get() + 1));
        format!("{what} failed on malformed data ({msg})")
    })
}

thread_local! {
    static CONTAINED: Cell<u64> = const { Cell::new(0) };
}

/// How many panics this thread has contained (for the robustness tests).
#[cfg(test)]
pub fn contained_count() -> u64 {
    CONTAINED.with(|c| c.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors() {
        let before = contained_count();
        assert_eq!(contain("adding", || 2 + 2), Ok(4));
        let err = contain("the parser", || -> u32 { panic!("index out of range") }).unwrap_err();
        assert!(
            err.starts_with("the parser failed on malformed data (index out of range at "),
            "{err}"
        );
        assert_eq!(contained_count(), before + 1);
        // Nested guards unwind to the innermost.
        let outer = contain("outer", || contain("inner", || panic!("deep")).unwrap_err()).unwrap();
        assert!(outer.starts_with("inner failed"), "{outer}");
    }
}
