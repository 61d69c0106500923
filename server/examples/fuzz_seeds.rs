//! Writes each fuzz target's starting corpus into `fuzz/corpus/<target>/` (valid inputs
//! for the targets' fixed keys, from `chatseal::fuzzing` and `chatseal_server::fuzzing`),
//! plus the texts of the §8 vectors. Run by `make fuzz` before the fuzzers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let vectors = root.join("tests/vectors");
    let write = |target: &str, seeds: Vec<Vec<u8>>| -> std::io::Result<()> {
        let dir = root.join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&dir)?;
        for (i, seed) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:03}")), seed)?;
        }
        println!("fuzz/corpus/{target}: {} seeds", seeds.len());
        Ok(())
    };
    // Every string of a vector file that is one of the protocol's texts.
    let texts = |file: &str, prefix: &str| -> Vec<Vec<u8>> {
        let json = std::fs::read_to_string(vectors.join(file)).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        let mut out = Vec::new();
        let mut stack = vec![&value];
        while let Some(v) = stack.pop() {
            match v {
                serde_json::Value::String(s) if s.starts_with(prefix) => {
                    out.push(s.clone().into_bytes())
                }
                serde_json::Value::Array(a) => stack.extend(a),
                serde_json::Value::Object(o) => stack.extend(o.values()),
                _ => {}
            }
        }
        out.truncate(64);
        out
    };
    for (name, _) in chatseal::fuzzing::TARGETS {
        let mut seeds = chatseal::fuzzing::seeds(name);
        match name {
            "card" => seeds.extend(texts("cards.json", "csc2.")),
            "envelope" => seeds.extend(texts("messages.json", "csm2.")),
            "group" => seeds.extend(texts("group_messages.json", "csg2.")),
            "backup" => seeds.extend(texts("backups.json", "csb1.")),
            "pairwise" => seeds.extend(texts("pairwise.json", "csp2.")),
            "passkey" => seeds.extend(texts("passkey_backups.json", "csw1.")),
            "link" => {
                seeds.extend(texts("links.json", "chatseal:link:"));
                seeds.extend(texts("links.json", "csl1."));
            }
            _ => {}
        }
        write(name, seeds)?;
    }
    write("jwt", chatseal_server::fuzzing::seeds())?;
    write("json_bodies", chatseal_server::fuzzing::body_seeds())
}
