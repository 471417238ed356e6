#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kvpt::fuzzing::import_file(data));
