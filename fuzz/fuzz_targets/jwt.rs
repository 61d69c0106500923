#![no_main]
// §6 token verification must refuse any input with an error: chatseal_server::fuzzing::jwt.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatseal_server::fuzzing::jwt(data));
