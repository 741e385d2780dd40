//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The armvm binary under test.
pub fn armvm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_armvm"))
}

/// A scratch directory for this test binary's build products.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Assembles and links a bare-metal AArch64 program at 0x40080000 with Debian's
/// cross compiler. Panics with a clear message if the compiler is missing: the
/// tests must fail, not skip, on a machine that was not set up.
pub fn build_baremetal(source: &Path, out: &Path) {
    let status = Command::new("aarch64-linux-gnu-gcc")
        .args([
            "-nostdlib",
            "-static",
            "-Wl,-N",
            "-Wl,--build-id=none",
            "-Wl,--no-warn-rwx-segments",
        ])
        .args(["-Wl,-Ttext=0x40080000", "-o"])
        .arg(out)
        .arg(source)
        .status()
        .unwrap_or_else(|e| {
            panic!("aarch64-linux-gnu-gcc not runnable ({e}): run scripts/setup.sh first")
        });
    assert!(status.success(), "building {} failed", source.display());
}
