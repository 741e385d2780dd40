#![no_main]
//! See armvm_devices::virtio::fuzzing::virtio_mmio for the input format and checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    armvm_devices::virtio::fuzzing::virtio_mmio(data);
});
