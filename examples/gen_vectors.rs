//! Writes the test vectors of PROTOCOL.md §8 into `tests/vectors/`, from the fixed
//! inputs in `tests/support/mod.rs`. `cargo run --example gen_vectors`; the test
//! `tests/vectors.rs` fails if the committed files differ from what this writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

fn main() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    std::fs::create_dir_all(&dir)?;
    for (name, json) in support::generate_all() {
        std::fs::write(dir.join(name), json)?;
        println!("wrote tests/vectors/{name}");
    }
    Ok(())
}
