#![no_main]
//! The body, its input and its checks: `bodies::load_option` in
//! firmware/tests/fuzz_corpus.rs, which the corpus replay test runs too.

#[allow(dead_code)]
#[path = "../../firmware/tests/fuzz_corpus.rs"]
mod fuzz_corpus;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_corpus::bodies::load_option(data);
});
