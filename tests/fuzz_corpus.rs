//! Replays the committed fuzz seeds (`fuzz/seeds/`) through the fuzz target
//! bodies, so CI checks them without libFuzzer. The bodies are the very files
//! the fuzz crate builds (`fuzz/src/`). The C ABI target is replayed by
//! `ffi/tests/fuzz_corpus.rs`.

#[path = "../fuzz/src/check.rs"]
mod check;
#[path = "../fuzz/src/model_bytes.rs"]
mod model_bytes;
#[path = "../fuzz/src/models.rs"]
#[allow(dead_code)]
mod models;
#[path = "../fuzz/src/utterance.rs"]
mod utterance;

use std::path::PathBuf;

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}

#[test]
fn model_bytes_seeds_replay() {
    let files = seeds("model_bytes");
    assert!(files.len() >= 2, "model seeds missing");
    for (path, bytes) in &files {
        println!("{}", path.display());
        model_bytes::run(bytes);
    }
    // Models of the current writer too (the committed ones may predate a
    // format change), whole and cut in the metadata.
    for int8 in [false, true] {
        let bytes = models::small(7, int8).to_bytes().unwrap();
        assert!(picotag::Tagger::from_bytes(&bytes).is_ok());
        model_bytes::run(&bytes);
        model_bytes::run(&bytes[..bytes.len() / 2]);
    }
}

#[test]
fn utterance_seeds_replay() {
    let files = seeds("utterance");
    assert!(files.len() >= 5, "utterance seeds missing");
    for (path, bytes) in &files {
        println!("{}", path.display());
        utterance::run(bytes);
    }
}

/// Writes the valid model seeds of the `model_bytes` target. Run by name
/// after a format change: `cargo test --test fuzz_corpus -- --ignored write_model_seeds`.
#[test]
#[ignore]
fn write_model_seeds() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/model_bytes");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, int8) in [("small-f32.ptag", false), ("small-int8.ptag", true)] {
        let bytes = models::small(7, int8).to_bytes().unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
