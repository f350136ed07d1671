#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fwgen::fuzzing::audit(data);
});
