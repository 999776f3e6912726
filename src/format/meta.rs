//! The JSON metadata section of a `.ptag` file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::decode::Scheme;

/// The encoder's shape (a BERT encoder).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// Size of the WordPiece vocabulary.
    pub vocab_size: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Number of encoder layers.
    pub layers: usize,
    /// Number of attention heads.
    pub heads: usize,
    /// Inner size of the feed-forward block.
    pub intermediate: usize,
    /// Maximum number of positions (sub-tokens, including `[CLS]`/`[SEP]`).
    pub max_positions: usize,
    /// Number of token types (segment ids).
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f32,
    /// Rank of factorized word embeddings, if factorized: the word embedding
    /// table is then `[vocab_size, r]` and a projection `[hidden, r]` maps
    /// each row to the hidden size (as in ALBERT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_rank: Option<usize>,
}

fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f32 {
    1e-12
}

/// Whether a head labels every word or the whole utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    /// One label per word (slots, entities).
    Token,
    /// One label per utterance (intent, "has any slot").
    Sentence,
}

/// What a head is for; decides how the runtime uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HeadRole {
    /// Token head whose decoded spans are returned as slots.
    #[default]
    Slots,
    /// Sentence head returned as the task's intent.
    Intent,
    /// Sentence head `["no", "yes"]`: does the utterance hold a slot of this task.
    /// Used to silence a task that does not apply.
    HasSlot,
    /// Auxiliary training head kept in the file but not used at run time.
    Aux,
}

/// How a sentence head pools the encoder's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The `[CLS]` position.
    #[default]
    Cls,
    /// Mean over the real (non-padded) positions.
    Mean,
    /// Element-wise max over the real positions.
    Max,
}

/// One classification head over the shared encoder. Its tensors are
/// `heads.<name>.weight` (`[labels, hidden]`) and `heads.<name>.bias` (`[labels]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadMeta {
    /// Unique head name, e.g. `atis`, `atis.intent`, `atis.bcls`.
    pub name: String,
    /// The task (dataset) this head belongs to, e.g. `atis`.
    pub task: String,
    /// Token or sentence head.
    pub kind: HeadKind,
    /// What the runtime does with it.
    #[serde(default)]
    pub role: HeadRole,
    /// The label of each output.
    pub labels: Vec<String>,
    /// Tagging scheme (token heads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Scheme>,
    /// Pooling (sentence heads).
    #[serde(default)]
    pub pooling: Pooling,
    /// Intent heads: below this probability the intent is "none of these"
    /// (out of scope), when the caller asks for the model's threshold
    /// ([`crate::IntentThreshold::Model`]). Calibrated on dev: the
    /// probability that keeps a fixed share of the in-scope utterances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_below: Option<f32>,
    /// Token heads: the words without a letter or digit (`&`, `-`, `(`) that
    /// the task's training data has inside its slots. When present, the
    /// runtime ends a slot at any other such word (see
    /// [`crate::TagOptions::keep_symbol_slots`]): a `!` or `,` typed between
    /// the words of a task that never had one in a slot is not part of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_symbols: Option<Vec<String>>,
    /// The share of the words of the task's training text (as the tokenizer
    /// cuts them) made only of punctuation: with
    /// [`crate::PunctuationWords::ByTask`] a task below
    /// [`crate::PUNCTUATION_SHARE_TO_KEEP`] sees its input without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub punctuation_share: Option<f32>,
}

/// Everything in the metadata section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Free-form model name.
    #[serde(default)]
    pub name: String,
    /// Encoder shape.
    pub architecture: Architecture,
    /// The heads, in order.
    pub heads: Vec<HeadMeta>,
    /// The `tokenizer.json` text of the model's tokenizer.
    pub tokenizer: String,
    /// Where the model came from: data, teacher, recipe (free-form).
    #[serde(default)]
    pub provenance: BTreeMap<String, serde_json::Value>,
    /// Dev-set scores measured on this file (free-form).
    #[serde(default)]
    pub scores: BTreeMap<String, serde_json::Value>,
}
