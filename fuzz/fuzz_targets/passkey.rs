#![no_main]
// PROTOCOL's decoders must refuse any input with an error: chatseal::fuzzing::passkey.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatseal::fuzzing::passkey(data));
