//! Out-of-scope rejection: how well a score of an utterance tells requests a
//! task covers ("in scope") from requests it does not (intents held out of
//! training, other domains' sentences, other languages). Each score accepts an
//! utterance when it is at least a threshold; the threshold is set so that a
//! fraction `tpr` of the in-scope utterances is accepted, and the report says
//! how many out-of-scope ones are accepted with it (FPR at that TPR) and the
//! area under the ROC curve.

use std::path::Path;

use candle_core::{Device, Tensor, D};
use picotag::{IntentThreshold, TagOptions};
use serde::Serialize;

use super::prepare;
use super::ptag::open_with_tasks;
use crate::data::encode::Tok;
use crate::data::Sentence;
use crate::error::{Error, Result};
use crate::model::Model;

/// The scores of one utterance (higher: more in scope).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    /// Maximum softmax probability of the intent head.
    pub msp: f32,
    /// Log-sum-exp of the intent logits (negative energy, Liu et al. 2020).
    pub energy: f32,
    /// The has-slot head's probability of "yes" (NaN without such a head).
    pub has_slot: f32,
}

/// Names of the scores of [`Scores`], in report order.
pub const SCORE_NAMES: [&str; 3] = ["msp", "energy", "has_slot"];

impl Scores {
    fn get(&self, name: &str) -> f32 {
        match name {
            "msp" => self.msp,
            "energy" => self.energy,
            _ => self.has_slot,
        }
    }
}

/// Scores every sentence with the task's heads of a checkpoint (first window of each).
pub fn checkpoint_scores(dir: &Path, task: &str, sentences: Vec<Sentence>) -> Result<Vec<Scores>> {
    let dev = Device::Cpu;
    let model = Model::load(dir, false, &dev)?;
    let th = model.task(task)?.clone();
    let intent = th
        .intent
        .ok_or_else(|| Error::Model(format!("task {task:?} has no intent head")))?;
    let tok = Tok::from_json(&model.meta.tokenizer)?;
    let items = prepare(&tok, sentences, model.meta.architecture.max_positions)?;
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| items[i].enc.windows.first().map_or(0, |w| w.ids.len()));
    let mut out = vec![Scores::default(); items.len()];
    for chunk in order.chunks(64) {
        let ws: Vec<_> = chunk
            .iter()
            .map(|&i| {
                items[i].enc.windows.first().ok_or_else(|| {
                    Error::Spec(format!("sentence {} has no words", items[i].sentence.line))
                })
            })
            .collect::<Result<_>>()?;
        let (b, t) = (ws.len(), ws.iter().map(|w| w.ids.len()).max().unwrap_or(1));
        let mut ids = vec![0u32; b * t];
        let mut mask = vec![0f32; b * t];
        for (r, w) in ws.iter().enumerate() {
            ids[r * t..r * t + w.ids.len()].copy_from_slice(&w.ids);
            mask[r * t..r * t + w.ids.len()].fill(1.0);
        }
        let ids = Tensor::from_vec(ids, (b, t), &dev)?;
        let mask = Tensor::from_vec(mask, (b, t), &dev)?;
        let hidden = model.bert.forward(&ids, &mask, &mut None)?;
        let logits = model.heads[intent].sentence_logits(&hidden, &mask, b, t)?;
        let msp = candle_nn::ops::softmax_last_dim(&logits)?
            .max(D::Minus1)?
            .to_vec1::<f32>()?;
        let lse = logits.exp()?.sum(D::Minus1)?.log()?.to_vec1::<f32>()?;
        let yes = match th.has_slot {
            Some(h) => {
                let l = model.heads[h].sentence_logits(&hidden, &mask, b, t)?;
                candle_nn::ops::softmax_last_dim(&l)?
                    .narrow(1, 1, 1)?
                    .squeeze(1)?
                    .to_vec1::<f32>()?
            }
            None => vec![f32::NAN; b],
        };
        for (r, &i) in chunk.iter().enumerate() {
            out[i] = Scores {
                msp: msp[r],
                energy: lse[r],
                has_slot: yes[r],
            };
        }
    }
    Ok(out)
}

/// Scores every sentence (words joined by spaces) through the runtime: the
/// intent's probability (MSP) with the has-slot gate and the rejection off;
/// energy and has-slot are not available there (NaN).
pub fn model_scores(path: &Path, task: &str, sentences: &[Sentence]) -> Result<Vec<Scores>> {
    let tagger = open_with_tasks(path, [task])?;
    let opts = TagOptions {
        tasks: Some(vec![task.to_string()]),
        has_slot_threshold: None,
        intent_threshold: IntentThreshold::Off,
        ..TagOptions::default()
    };
    sentences
        .iter()
        .map(|s| {
            let t = tagger.tag_utterance_with(&s.words.join(" "), &opts)?;
            let msp = t.intents.first().map(|i| i.score).ok_or_else(|| {
                Error::Model(format!(
                    "task {task:?} of {} gave no intent",
                    path.display()
                ))
            })?;
            Ok(Scores {
                msp,
                energy: f32::NAN,
                has_slot: f32::NAN,
            })
        })
        .collect()
}

/// How one score separates in-scope from out-of-scope utterances.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Separation {
    /// The score's name.
    pub score: String,
    /// Area under the ROC curve (in scope = positive), ties counted half.
    pub auroc: f64,
    /// The threshold accepting a fraction `tpr` of the in-scope utterances.
    pub threshold: f32,
    /// The fraction of in-scope utterances accepted at `threshold`.
    pub tpr: f64,
    /// The fraction of out-of-scope utterances accepted at `threshold`.
    pub fpr: f64,
}

/// The threshold that accepts (score ≥ threshold) at least a fraction `tpr` of `inside`.
pub fn threshold_at_tpr(inside: &[f32], tpr: f64) -> f32 {
    let mut v: Vec<f32> = inside.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    if v.is_empty() {
        return f32::NEG_INFINITY;
    }
    let k = ((tpr * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[k - 1]
}

/// AUROC, and FPR at the threshold that keeps `tpr` of `inside`. `None`
/// when either side is empty or a score is NaN.
pub fn separation(name: &str, inside: &[f32], outside: &[f32], tpr: f64) -> Option<Separation> {
    if inside.is_empty() || outside.is_empty() || inside.iter().chain(outside).any(|x| x.is_nan()) {
        return None;
    }
    let mut o: Vec<f32> = outside.to_vec();
    o.sort_by(f32::total_cmp);
    // For each in-scope score: out-of-scope scores below it, and ties.
    let mut wins = 0f64;
    for &x in inside {
        let below = o.partition_point(|&y| y < x);
        let upto = o.partition_point(|&y| y <= x);
        wins += below as f64 + 0.5 * (upto - below) as f64;
    }
    let auroc = wins / (inside.len() as f64 * o.len() as f64);
    let th = threshold_at_tpr(inside, tpr);
    let rate = |v: &[f32]| v.iter().filter(|&&x| x >= th).count() as f64 / v.len() as f64;
    Some(Separation {
        score: name.to_string(),
        auroc,
        threshold: th,
        tpr: rate(inside),
        fpr: rate(outside),
    })
}

/// One out-of-scope set's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutOfScope {
    /// What the set is (`held-out intents`, or a data path).
    pub name: String,
    /// Its utterances.
    pub sentences: usize,
    /// One entry per score available.
    pub scores: Vec<Separation>,
}

/// The report of `reject`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectReport {
    /// The task.
    pub task: String,
    /// In-scope utterances (dev sentences of intents the model was trained on).
    pub in_scope: usize,
    /// The intents held out.
    pub held_out: Vec<String>,
    /// The TPR the thresholds keep.
    pub target_tpr: f64,
    /// One entry per out-of-scope set.
    pub sets: Vec<OutOfScope>,
}

/// Separation of every score between `inside` and each set of `outside`.
pub fn report(
    task: &str,
    held_out: &[String],
    tpr: f64,
    inside: &[Scores],
    outside: &[(String, Vec<Scores>)],
) -> RejectReport {
    let sets = outside
        .iter()
        .map(|(name, o)| OutOfScope {
            name: name.clone(),
            sentences: o.len(),
            scores: SCORE_NAMES
                .iter()
                .filter_map(|n| {
                    let i: Vec<f32> = inside.iter().map(|s| s.get(n)).collect();
                    let v: Vec<f32> = o.iter().map(|s| s.get(n)).collect();
                    separation(n, &i, &v, tpr)
                })
                .collect(),
        })
        .collect();
    RejectReport {
        task: task.to_string(),
        in_scope: inside.len(),
        held_out: held_out.to_vec(),
        target_tpr: tpr,
        sets,
    }
}
