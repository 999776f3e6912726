//! Entity-level exact-match precision / recall / F1 (conlleval semantics) and intent accuracy.
//!
//! Gold and predicted spans both come from [`picotag::decode`], the decoder the runtime uses.

use std::collections::{BTreeMap, BTreeSet};

use picotag::decode::decode_labels;
use serde::Serialize;

/// Counts of one entity type (or all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Predicted spans that match a gold span exactly (start, end, type).
    pub correct: usize,
    /// Predicted spans.
    pub predicted: usize,
    /// Gold spans.
    pub gold: usize,
}

/// Precision, recall, F1 of a set of counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prf {
    /// correct / predicted (0 when nothing predicted).
    pub precision: f64,
    /// correct / gold (0 when no gold).
    pub recall: f64,
    /// Harmonic mean (0 when both are 0).
    pub f1: f64,
    /// Gold spans.
    pub support: usize,
    /// Predicted spans.
    pub predicted: usize,
}

impl Counts {
    /// The scores.
    pub fn prf(&self) -> Prf {
        let p = if self.predicted > 0 {
            self.correct as f64 / self.predicted as f64
        } else {
            0.0
        };
        let r = if self.gold > 0 {
            self.correct as f64 / self.gold as f64
        } else {
            0.0
        };
        let f = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        Prf {
            precision: p,
            recall: r,
            f1: f,
            support: self.gold,
            predicted: self.predicted,
        }
    }
}

/// A span over data words: `(start, end, type)`, end exclusive.
pub type Span = (usize, usize, String);

/// Accumulates spans and intents over sentences.
#[derive(Debug, Clone, Default)]
pub struct Metric {
    total: Counts,
    per_type: BTreeMap<String, Counts>,
    sentences: usize,
    intent_right: usize,
    intent_n: usize,
}

/// The result of an evaluation, as the `eval --json` contract prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Task name.
    pub task: String,
    /// Sentences evaluated.
    pub sentences: usize,
    /// Micro precision.
    pub precision: f64,
    /// Micro recall.
    pub recall: f64,
    /// Micro F1.
    pub f1: f64,
    /// Intent accuracy, when the data and the model have intents.
    pub intent_accuracy: Option<f64>,
    /// Scores per entity type.
    pub per_type: BTreeMap<String, Prf>,
}

/// Gold spans of word-level labels.
pub fn gold_spans(labels: &[String]) -> Vec<Span> {
    decode_labels(labels)
        .into_iter()
        .map(|s| (s.start, s.end, s.kind.to_string()))
        .collect()
}

impl Metric {
    /// Adds one sentence: its gold and predicted spans (duplicates among predictions count once).
    pub fn add(&mut self, gold: &[Span], predicted: &[Span]) {
        self.sentences += 1;
        let g: BTreeSet<&Span> = gold.iter().collect();
        let p: BTreeSet<&Span> = predicted.iter().collect();
        for s in &g {
            self.total.gold += 1;
            self.per_type.entry(s.2.clone()).or_default().gold += 1;
        }
        for s in &p {
            self.total.predicted += 1;
            let c = self.per_type.entry(s.2.clone()).or_default();
            c.predicted += 1;
            if g.contains(s) {
                c.correct += 1;
                self.total.correct += 1;
            }
        }
    }

    /// Adds one sentence given word-level gold and predicted labels.
    pub fn add_labels(&mut self, gold: &[String], predicted: &[String]) {
        self.add(&gold_spans(gold), &gold_spans(predicted));
    }

    /// Adds one intent decision.
    pub fn add_intent(&mut self, gold: &str, predicted: &str) {
        self.intent_n += 1;
        if gold == predicted {
            self.intent_right += 1;
        }
    }

    /// Totals.
    pub fn total(&self) -> Counts {
        self.total
    }

    /// The report for `task`.
    pub fn report(&self, task: &str) -> Report {
        let t = self.total.prf();
        Report {
            task: task.to_string(),
            sentences: self.sentences,
            precision: t.precision,
            recall: t.recall,
            f1: t.f1,
            intent_accuracy: (self.intent_n > 0)
                .then(|| self.intent_right as f64 / self.intent_n as f64),
            per_type: self
                .per_type
                .iter()
                .map(|(k, c)| (k.clone(), c.prf()))
                .collect(),
        }
    }
}
