//! Every input in `tests/fuzz-regressions/<target>/` (crashes the fuzzers of `fuzz/`
//! found, kept once fixed) and every seed of every target, run through the very function
//! the fuzz target runs: none may panic. `make fuzz` runs the fuzzers themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use chatseal::fuzzing::Target;

/// (target, what it runs, its seeds): the protocol's and the client's decoders, §6
/// tokens, and §7 JSON bodies through the real router.
fn targets() -> Vec<(&'static str, Target, Vec<Vec<u8>>)> {
    let mut all: Vec<(&'static str, Target, Vec<Vec<u8>>)> = chatseal::fuzzing::TARGETS
        .iter()
        .map(|(name, run)| (*name, *run, chatseal::fuzzing::seeds(name)))
        .collect();
    all.push((
        "jwt",
        chatseal_server::fuzzing::jwt,
        chatseal_server::fuzzing::seeds(),
    ));
    all.push((
        "json_bodies",
        chatseal_server::fuzzing::json_bodies,
        chatseal_server::fuzzing::body_seeds(),
    ));
    all
}

#[test]
fn every_regression_and_seed_is_refused_or_read_without_a_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fuzz-regressions");
    let mut replayed = 0;
    for (name, run, seeds) in targets() {
        assert!(!seeds.is_empty(), "{name}: no seeds");
        for seed in &seeds {
            run(seed);
        }
        let Ok(entries) = std::fs::read_dir(dir.join(name)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() && !path.ends_with("README.md") {
                run(&std::fs::read(&path).unwrap());
                replayed += 1;
            }
        }
    }
    // The directory holds hand-made hostile inputs too (see its README): they must run.
    assert!(
        replayed > 0,
        "no regression input found under {}",
        dir.display()
    );
}

#[test]
fn the_fuzz_crate_has_one_target_per_function() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
    for (name, _, _) in targets() {
        let target = std::fs::read_to_string(fuzz.join(format!("{name}.rs")))
            .unwrap_or_else(|e| panic!("fuzz/fuzz_targets/{name}.rs: {e}"));
        assert!(
            target.contains(&format!("::fuzzing::{name}(")),
            "{name}.rs runs {name}"
        );
    }
}
