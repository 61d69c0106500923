#![no_main]
// §7 JSON request bodies through the real router and store: never a panic, never a 5xx.
// chatseal_server::fuzzing::json_bodies.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatseal_server::fuzzing::json_bodies(data));
