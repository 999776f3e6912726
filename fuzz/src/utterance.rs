//! Target: arbitrary text through `Tagger::tag_utterance`.

use std::sync::OnceLock;

use picotag::{TagOptions, Tagger};

use crate::check::check_tagging;
use crate::models::utterance_model;

/// The target's tagger, built once per process.
pub fn tagger() -> &'static Tagger {
    static TAGGER: OnceLock<Tagger> = OnceLock::new();
    TAGGER.get_or_init(|| {
        let bytes = utterance_model()
            .to_bytes()
            .expect("the random model is valid");
        Tagger::from_bytes(&bytes).expect("the random model opens")
    })
}

/// Tags `data` (as UTF-8, invalid sequences replaced) with the default
/// options and with every slot kept; both must succeed with well-formed
/// results.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let tagger = tagger();
    let t = tagger
        .tag_utterance(&text)
        .unwrap_or_else(|e| panic!("tagging failed: {e}"));
    check_tagging(&text, &t);
    let all = TagOptions {
        has_slot_threshold: None,
        ..Default::default()
    };
    let t = tagger
        .tag_utterance_with(&text, &all)
        .unwrap_or_else(|e| panic!("tagging failed: {e}"));
    check_tagging(&text, &t);
}
