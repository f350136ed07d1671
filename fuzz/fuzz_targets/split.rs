#![no_main]

// Differential: the parallel splitter and the whole-document parser must accept exactly the
// same catalogue files and read them the same (see fwgen::fuzzing::split).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fwgen::fuzzing::split(data);
});
