#![no_main]
// PROTOCOL's decoders must refuse any input with an error: chatseal::fuzzing::pairwise.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatseal::fuzzing::pairwise(data));
