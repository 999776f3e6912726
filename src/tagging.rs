//! What tagging returns.

use std::sync::Arc;

use serde::Serialize;

/// A slot (entity) found in the input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slot {
    /// The task (dataset head) that found it, e.g. `atis`.
    pub task: Arc<str>,
    /// The slot type, e.g. `fromloc.city_name` or `Chemical`.
    pub label: Arc<str>,
    /// Byte offset of the first byte in the input.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// `input[start..end]`.
    pub text: String,
    /// Mean probability of the chosen labels over the span's words, in [0, 1].
    pub score: f32,
}

/// The intent (or other sentence label) of the input for one task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Intent {
    /// The task, e.g. `snips`.
    pub task: Arc<str>,
    /// The most probable label.
    pub label: Arc<str>,
    /// Its probability, in [0, 1].
    pub score: f32,
}

/// The result of tagging one utterance.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tagging {
    /// Slots, ordered by start offset.
    pub slots: Vec<Slot>,
    /// One intent per task that has an intent head.
    pub intents: Vec<Intent>,
}

impl Tagging {
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty() && self.intents.is_empty()
    }
}
