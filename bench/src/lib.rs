//! `picotag-bench`: the benches, `examples/compare.rs` and the tests that need
//! heavy dev-dependencies (criterion, tract through `picotag-onnx`, HF
//! `tokenizers`), kept out of the runtime crate so that its quick start
//! (`cargo run --release --example tag`) compiles only what tagging needs.
//!
//! This library is what they share: which model to measure, dev utterances
//! by length, resident memory.

use std::path::{Path, PathBuf};

use picotag::testing::{tiny_tokenizer_json, RandomModel};

/// The workspace root (this crate is `bench/` inside it).
pub fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(Path::to_path_buf).unwrap_or(here)
}

/// The model to measure and a sentence saying which it is: `$PICOTAG_MODEL`,
/// else `models/default.ptag`, else a random int8 model of all-MiniLM-L6-v2's
/// shape (6 × 384, 12 heads, FFN 1536) with the real tokenizer when fetched,
/// written to `target/bench-random-minilm.ptag`.
pub fn model_path() -> (PathBuf, String) {
    if let Some(p) = std::env::var_os("PICOTAG_MODEL") {
        let p = PathBuf::from(p);
        return (p.clone(), format!("model {} ($PICOTAG_MODEL)", p.display()));
    }
    let default = root().join("models/default.ptag");
    if default.exists() {
        return (default, "the shipped models/default.ptag".into());
    }
    let out = root().join("target/bench-random-minilm.ptag");
    let which = if out.exists() {
        "the tokenizer it was written with"
    } else {
        write_random_minilm(&out)
    };
    let note = format!(
        "no trained model found: a RANDOM-weight int8 model of MiniLM-L6's shape with {which} ({})",
        out.display()
    );
    (out, note)
}

/// Writes a random int8 model of all-MiniLM-L6-v2's shape (6 × 384, 12
/// heads, FFN 1536, the tiny model's tasks and heads) to `out`, with the real
/// MiniLM tokenizer when fetched (`$PICOTAG_TEACHER_DIR` or
/// `.cache/teacher/all-minilm-l6-v2`); returns which tokenizer it took.
pub fn write_random_minilm(out: &Path) -> &'static str {
    let dir = std::env::var_os("PICOTAG_TEACHER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".cache/teacher/all-minilm-l6-v2"));
    let (json, which) = match std::fs::read_to_string(dir.join("tokenizer.json")) {
        Ok(j) => (j, "the real MiniLM tokenizer"),
        Err(_) => (
            tiny_tokenizer_json(),
            "the tiny test tokenizer (MiniLM's not fetched)",
        ),
    };
    let mut m = RandomModel::tiny(1);
    m.arch.hidden = 384;
    m.arch.layers = 6;
    m.arch.heads = 12;
    m.arch.intermediate = 1536;
    m.arch.max_positions = 512;
    m.tokenizer = json;
    m.int8 = true;
    let bytes = m.to_bytes().expect("random model");
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).expect("create the model's folder");
    }
    std::fs::write(out, bytes).expect("write the random model");
    which
}

/// Dev utterances of every dataset in ../shared/data (words joined by spaces).
pub fn dev_utterances() -> Vec<String> {
    let data = root().join("../shared/data");
    let mut out = Vec::new();
    for ds in ["atis", "snips"] {
        if let Ok(s) = std::fs::read_to_string(data.join("slu").join(ds).join("valid/seq.in")) {
            out.extend(s.lines().map(str::to_string));
        }
    }
    for ds in ["BC5CDR", "NCBI-disease", "BC2GM"] {
        if let Ok(s) = std::fs::read_to_string(data.join("bio").join(ds).join("devel.tsv")) {
            for block in s.split("\n\n") {
                let w: Vec<&str> = block.lines().filter_map(|l| l.split('\t').next()).collect();
                if !w.is_empty() {
                    out.push(w.join(" "));
                }
            }
        }
    }
    if out.is_empty() {
        out.push("book a flight from boston to denver tomorrow morning".into());
    }
    out
}

/// Up to `n` dev utterances of exactly `words` words (or the closest length
/// found when none has exactly that many).
pub fn of_length(all: &[String], words: usize, n: usize) -> Vec<String> {
    let count = |s: &String| s.split(' ').count();
    let best = all
        .iter()
        .map(|s| count(s).abs_diff(words))
        .min()
        .unwrap_or(0);
    all.iter()
        .filter(|s| count(s).abs_diff(words) == best)
        .take(n)
        .cloned()
        .collect()
}

/// A field of /proc/self/status in kB (`VmRSS`, `VmHWM`), 0 where there is none.
pub fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Size of a file in bytes.
pub fn file_bytes(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// `[CLS] ids [SEP]` of `text` for the tract side (the same tokenizer).
pub fn tract_ids(t: &picotag::Tagger, text: &str) -> Vec<u32> {
    let tok = t.tokenizer();
    let mut ids = vec![tok.cls_id()];
    ids.extend(tok.tokenize(text).expect("tokenize").ids);
    ids.push(tok.sep_id());
    ids
}
