//! Replays the fuzz corpus (`fuzz/corpus/<target>/`, inputs worth keeping:
//! seeds and whatever once crashed) and the built-in seeds through the fuzz
//! target bodies, as an ordinary test. See fuzz/README.md.

use std::path::PathBuf;

use armvm_devices::virtio::fuzzing::{seeds, virtio_blk, virtio_mmio, virtqueue};

/// A fuzz target body.
type Body = fn(&[u8]);

const TARGETS: [(&str, Body); 3] = [
    ("virtqueue", virtqueue),
    ("virtio_blk", virtio_blk),
    ("virtio_mmio", virtio_mmio),
];

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

fn body(target: &str) -> Body {
    TARGETS.iter().find(|(t, _)| *t == target).unwrap().1
}

#[test]
fn corpus_inputs_replay() {
    for (target, run) in TARGETS {
        let mut files: Vec<PathBuf> = std::fs::read_dir(corpus(target))
            .unwrap_or_else(|e| panic!("{}: {e}", corpus(target).display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no corpus for {target}");
        for file in files {
            // Shown if the input fails.
            println!("{target}: {}", file.display());
            run(&std::fs::read(&file).unwrap());
        }
    }
}

#[test]
fn seeds_replay() {
    for (target, name, input) in seeds() {
        println!("{target}: seed {name}");
        body(target)(&input);
    }
}

#[test]
fn short_and_empty_inputs_replay() {
    for (_, run) in TARGETS {
        for len in 0..64 {
            run(&vec![0xff; len]);
            run(&vec![0; len]);
        }
    }
}

/// Writes the seeds into the corpus: `cargo test -p armvm-devices --test
/// fuzz_corpus -- --ignored`.
#[test]
#[ignore]
fn write_seed_corpus() {
    for (target, name, input) in seeds() {
        let dir = corpus(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{name}")), input).unwrap();
    }
}
