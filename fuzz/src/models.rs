//! The small random models the targets run on.

use std::path::PathBuf;

use picotag::testing::RandomModel;

/// Where the real MiniLM tokenizer is cached (by the teacher download).
const MINILM_TOKENIZER: &str = ".cache/teacher/all-minilm-l6-v2/tokenizer.json";

/// A very small model (hidden 8, one layer) over the tiny tokenizer: the
/// model-bytes seeds and the C ABI target's model. `int8` stores the Linear
/// weights packed (the fast path), else f32 (the reference path).
pub fn small(seed: u64, int8: bool) -> RandomModel {
    let mut m = RandomModel::tiny(seed);
    // Field by field: the architecture may gain fields with defaults.
    m.arch.hidden = 8;
    m.arch.layers = 1;
    m.arch.heads = 2;
    m.arch.intermediate = 16;
    m.arch.max_positions = 16;
    m.int8 = int8;
    m
}

/// The real MiniLM `tokenizer.json`, when cached in an ancestor folder of
/// the crate being built (the checkout's `.cache/`).
pub fn minilm_tokenizer_json() -> Option<String> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|d| d.join(MINILM_TOKENIZER))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::read_to_string(p).ok())
}

/// The utterance target's model: int8, hidden 16, windows of 30 tokens (so
/// that long inputs are split), over the MiniLM tokenizer when it is cached
/// and the tiny one otherwise.
pub fn utterance_model() -> RandomModel {
    let mut m = small(5, true);
    m.arch.hidden = 16;
    m.arch.intermediate = 32;
    m.arch.max_positions = 32;
    if let Some(json) = minilm_tokenizer_json() {
        m.tokenizer = json;
    }
    m
}
