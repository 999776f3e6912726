//! Test helpers: a tiny WordPiece tokenizer and tiny datasets written to a temp folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Words of the tiny vocabulary (plus single letters and `##` letters).
const WORDS: &[&str] = &[
    "fly", "to", "from", "boston", "denver", "new", "york", "on", "monday", "show", "me",
    "flights", "play", "some", "jazz", "by", "miles", "the", "patient", "took", "aspirin", "for",
    "headache", "and", "migraine", "cancer", "breast", "il", "-", "2", ",", ".", "of", "with", "a",
];

/// Writes `tokenizer.json` into `dir` and returns its path.
pub fn write_tokenizer(dir: &Path) -> PathBuf {
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    vocab.extend(WORDS.iter().map(|s| s.to_string()));
    for c in 'a'..='z' {
        vocab.push(c.to_string());
        vocab.push(format!("##{c}"));
    }
    for c in '0'..='9' {
        vocab.push(c.to_string());
        vocab.push(format!("##{c}"));
    }
    let mut v = serde_json::Map::new();
    for (i, w) in vocab.iter().enumerate() {
        if !v.contains_key(w) {
            v.insert(w.clone(), serde_json::json!(i));
        }
    }
    let added: Vec<serde_json::Value> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            serde_json::json!({"id": i, "special": true, "content": t, "single_word": false,
                "lstrip": false, "rstrip": false, "normalized": false})
        })
        .collect();
    let tk = serde_json::json!({
        "version": "1.0",
        "truncation": {"max_length": 16, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": 16}, "direction": "Right", "pad_to_multiple_of": null,
                     "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                        "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": null,
        "decoder": null,
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": v}
    });
    let p = dir.join("tokenizer.json");
    std::fs::write(&p, tk.to_string()).unwrap();
    p
}

/// Writes a tiny slot-filling dataset (`train/`, `valid/` with seq.in/seq.out/label).
pub fn write_slu(dir: &Path) -> PathBuf {
    let rows = [
        (
            "fly from boston to denver",
            "O O B-from I-from O B-to",
            "flight",
        ),
        (
            "show me flights to new york on monday",
            "O O O O B-to I-to O B-day",
            "flight",
        ),
        ("play some jazz by miles", "O O B-genre O B-artist", "music"),
        ("fly to boston", "O O B-to", "flight"),
        ("play jazz", "O B-genre", "music"),
        (
            "flights from denver to boston on monday",
            "O O B-from O B-to O B-day",
            "flight",
        ),
    ];
    // fix the first row: 5 words, 5 labels
    let rows: Vec<(String, String, String)> = rows
        .iter()
        .enumerate()
        .map(|(i, (a, b, c))| {
            let b = if i == 0 { "O O B-from O B-to" } else { b };
            (a.to_string(), b.to_string(), c.to_string())
        })
        .collect();
    for split in ["train", "valid"] {
        let d = dir.join(split);
        std::fs::create_dir_all(&d).unwrap();
        let col = |k: usize| {
            rows.iter()
                .map(|r| match k {
                    0 => r.0.clone(),
                    1 => r.1.clone(),
                    _ => r.2.clone(),
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        };
        std::fs::write(d.join("seq.in"), col(0)).unwrap();
        std::fs::write(d.join("seq.out"), col(1)).unwrap();
        std::fs::write(d.join("label"), col(2)).unwrap();
    }
    dir.to_path_buf()
}

/// Writes a tiny IOB dataset (`train.tsv`, `devel.tsv`).
pub fn write_bio(dir: &Path) -> PathBuf {
    let sents = [
        "the\tO\npatient\tO\ntook\tO\naspirin\tB-Chemical\nfor\tO\nheadache\tB-Disease\n",
        "breast\tB-Disease\ncancer\tI-Disease\nand\tO\nmigraine\tB-Disease\n.\tO\n",
        "il-2\tB-Chemical\nwith\tO\naspirin\tB-Chemical\n,\tO\nheadache\tB-Disease\n",
        "a\tO\nmigraine\tB-Disease\nof\tO\nthe\tO\npatient\tO\n",
    ];
    let text = sents.join("\n");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("train.tsv"), &text).unwrap();
    std::fs::write(dir.join("devel.tsv"), &text).unwrap();
    dir.to_path_buf()
}

/// A two-task recipe (tiny SLU with intents + tiny bio, weight 0.5) on a
/// random 2-layer 32-wide encoder with the tiny tokenizer, all written into
/// `tmp`; aux heads on, 3 epochs.
pub fn tiny_recipe(tmp: &Path) -> picotag_quantize::recipe::Recipe {
    use picotag_quantize::recipe::{AuxHeads, InitFrom, Recipe, TaskRecipe};
    use picotag_quantize::train::optim::AdamWConfig;
    use picotag_quantize::train::schedule::Schedule;
    let tk = write_tokenizer(tmp);
    let slu = write_slu(&tmp.join("slu"));
    let bio = write_bio(&tmp.join("bio"));
    let vocab = picotag_quantize::data::encode::Tok::from_file(&tk)
        .unwrap()
        .vocab_size();
    let arch = picotag::format::Architecture {
        vocab_size: vocab,
        hidden: 32,
        layers: 2,
        heads: 4,
        intermediate: 64,
        max_positions: 64,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        embedding_rank: None,
    };
    Recipe {
        tasks: vec![
            TaskRecipe {
                name: "slu".into(),
                train: slu.join("train"),
                dev: slu.join("valid"),
                weight: 1.0,
                asr: false,
                asr_augment: false,
                domain: None,
                hold_out: Vec::new(),
                limit: 0,
                symbols: 0.0,
            },
            TaskRecipe {
                name: "bio".into(),
                train: bio.join("train.tsv"),
                dev: bio.join("devel.tsv"),
                weight: 0.5,
                asr: false,
                asr_augment: false,
                domain: None,
                hold_out: Vec::new(),
                limit: 0,
                symbols: 0.0,
            },
        ],
        init: InitFrom::Random(arch, tk),
        epochs: 3,
        batch_size: 2,
        max_tokens: 4096,
        max_len: 12,
        lr: 3e-3,
        warmup: 0.1,
        adamw: AdamWConfig::default(),
        dropout: 0.1,
        seed: 5,
        schedule: Schedule::Mixed,
        aux: AuxHeads {
            has_slot: true,
            mcls: true,
            mtcls: true,
        },
        aux_weight: 0.5,
        freeze_word_embeddings: true,
        unified: None,
        finetune_heads: false,
    }
}

/// The files of `dir` with their modification times, by name.
pub fn files_and_times(dir: &Path) -> Vec<(String, std::time::SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let t = e.metadata().unwrap().modified().unwrap();
            (e.file_name().to_string_lossy().into_owned(), t)
        })
        .collect();
    v.sort();
    v
}
