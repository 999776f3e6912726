//! Evaluation of a checkpoint (or a `.ptag` model) on labelled data.

pub mod args;
pub mod conflicts;
pub mod metric;
pub mod ood;
pub mod ptag;
pub mod reject;
pub mod symbols;

use std::path::Path;

use candle_core::{Device, Tensor, D};
use picotag::decode::decode_labels;

use crate::data::encode::{Encoded, Tok};
use crate::data::unified::TaskView;
use crate::data::Sentence;
use crate::error::Result;
use crate::model::heads::TaskHeads;
use crate::model::Model;
use crate::recipe::{recipe_views, training_recipe};
use metric::{gold_spans, Metric, Report, Span};

/// A data sentence with its encoding.
pub struct EvalSentence {
    /// The sentence as the data gives it.
    pub sentence: Sentence,
    /// Pieces and windows.
    pub enc: Encoded,
}

/// Encodes sentences for evaluation.
pub fn prepare(tok: &Tok, sentences: Vec<Sentence>, max_len: usize) -> Result<Vec<EvalSentence>> {
    sentences
        .into_iter()
        .map(|s| {
            let enc = tok.encode(&s.words, max_len)?;
            Ok(EvalSentence { sentence: s, enc })
        })
        .collect()
}

/// A model's output for one sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// One label per piece.
    pub pieces: Vec<String>,
    /// The intent, when the task has an intent head.
    pub intent: Option<String>,
}

/// Runs the task's slot (and intent) heads over every window, batched by length.
pub fn predict(
    model: &Model,
    th: &TaskHeads,
    items: &[EvalSentence],
    dev: &Device,
) -> Result<Vec<Prediction>> {
    Ok(predict_many(model, &[th], items, dev)?.remove(0))
}

/// [`predict`] for several tasks in one pass of the encoder: one list of
/// predictions per entry of `ths`.
pub fn predict_many(
    model: &Model,
    ths: &[&TaskHeads],
    items: &[EvalSentence],
    dev: &Device,
) -> Result<Vec<Vec<Prediction>>> {
    let empty: Vec<Prediction> = items
        .iter()
        .map(|s| Prediction {
            pieces: vec!["O".to_string(); s.enc.piece_word.len()],
            intent: None,
        })
        .collect();
    let mut preds = vec![empty; ths.len()];
    let mut wins: Vec<(usize, usize)> = items
        .iter()
        .enumerate()
        .flat_map(|(i, s)| (0..s.enc.windows.len()).map(move |w| (i, w)))
        .collect();
    wins.sort_by_key(|&(i, w)| items[i].enc.windows[w].ids.len());
    let max_tokens = 4096;
    let mut start = 0;
    while start < wins.len() {
        let mut end = start + 1;
        while end < wins.len() {
            let len = items[wins[end].0].enc.windows[wins[end].1].ids.len();
            if len * (end - start + 1) > max_tokens || end - start >= 64 {
                break;
            }
            end += 1;
        }
        let chunk = &wins[start..end];
        start = end;
        let ws: Vec<_> = chunk
            .iter()
            .map(|&(i, w)| &items[i].enc.windows[w])
            .collect();
        let (b, t) = (ws.len(), ws.iter().map(|w| w.ids.len()).max().unwrap_or(1));
        let mut ids = vec![0u32; b * t];
        let mut mask = vec![0f32; b * t];
        let mut sel = Vec::new();
        for (r, w) in ws.iter().enumerate() {
            ids[r * t..r * t + w.ids.len()].copy_from_slice(&w.ids);
            mask[r * t..r * t + w.ids.len()].fill(1.0);
            sel.extend(w.first_pos.iter().map(|&p| (r * t + p) as u32));
        }
        let ids = Tensor::from_vec(ids, (b, t), dev)?;
        let mask = Tensor::from_vec(mask, (b, t), dev)?;
        let hidden = model.bert.forward(&ids, &mask, &mut None)?;
        let n = sel.len();
        let rows = (n > 0)
            .then(|| hidden.index_select(&Tensor::from_vec(sel, n, dev)?, 0))
            .transpose()?;
        for (th, preds) in ths.iter().zip(preds.iter_mut()) {
            if let Some(rows) = &rows {
                let slot_head = &model.heads[th.slots];
                let best = slot_head
                    .logits(rows)?
                    .argmax(D::Minus1)?
                    .to_vec1::<u32>()?;
                let mut k = 0;
                for (&(i, _), w) in chunk.iter().zip(&ws) {
                    for j in 0..w.first_pos.len() {
                        preds[i].pieces[w.first_piece + j] =
                            slot_head.meta.labels[best[k] as usize].clone();
                        k += 1;
                    }
                }
            }
            if let Some(h) = th.intent.map(|i| &model.heads[i]) {
                let best = h
                    .sentence_logits(&hidden, &mask, b, t)?
                    .argmax(D::Minus1)?
                    .to_vec1::<u32>()?;
                for (r, &(i, wi)) in chunk.iter().enumerate() {
                    if wi == 0 {
                        preds[i].intent = Some(h.meta.labels[best[r] as usize].clone());
                    }
                }
            }
        }
    }
    Ok(preds)
}

/// Predicted word spans of a sentence from its piece labels.
pub fn predicted_spans(enc: &Encoded, pieces: &[String]) -> Vec<Span> {
    decode_labels(pieces)
        .into_iter()
        .map(|s| {
            let (a, b) = enc.piece_span_to_words(s.start, s.end);
            (a, b, s.kind.to_string())
        })
        .collect()
}

/// Scores predictions against the data.
pub fn score(task: &str, items: &[EvalSentence], preds: &[Prediction]) -> Report {
    score_in(task, items, preds, None).0
}

/// [`score`] of a unified head's predictions (`view`: the dataset's place in
/// its labels): gold types are renamed to unified ones, and only predicted
/// spans of types the dataset annotates are scored. Also gives the number of
/// predicted spans of other types (0 without a view).
pub fn score_in(
    task: &str,
    items: &[EvalSentence],
    preds: &[Prediction],
    view: Option<&TaskView>,
) -> (Report, usize) {
    let mut m = Metric::default();
    let mut foreign = 0;
    for (s, p) in items.iter().zip(preds) {
        let mut pred = predicted_spans(&s.enc, &p.pieces);
        let gold = match view {
            None => gold_spans(&s.sentence.labels),
            Some(v) => {
                let n = pred.len();
                pred.retain(|(_, _, t)| v.annotated.contains(t));
                foreign += n - pred.len();
                let labels: Vec<String> =
                    s.sentence.labels.iter().map(|l| v.unify_label(l)).collect();
                gold_spans(&labels)
            }
        };
        m.add(&gold, &pred);
        if let (Some(g), Some(pi)) = (&s.sentence.intent, &p.intent) {
            m.add_intent(g, pi);
        }
    }
    (m.report(task), foreign)
}

/// Evaluates task `task` of the checkpoint in `dir` on the data at `data`.
pub fn eval_checkpoint(dir: &Path, task: &str, data: &Path, max_len: usize) -> Result<Report> {
    eval_checkpoint_on(dir, task, crate::data::load_split(data)?, max_len)
}

/// [`eval_checkpoint`] on sentences already loaded (e.g. in ASR form).
pub fn eval_checkpoint_on(
    dir: &Path,
    task: &str,
    sentences: Vec<Sentence>,
    max_len: usize,
) -> Result<Report> {
    eval_checkpoint_in(dir, task, sentences, max_len, None)
}

/// [`eval_checkpoint_on`] of dataset task `task` of a checkpoint with a
/// unified slot head (`view`, see [`score_in`]): its slots from the unified
/// head, its intent and aux heads its own.
pub fn eval_checkpoint_in(
    dir: &Path,
    task: &str,
    sentences: Vec<Sentence>,
    max_len: usize,
    view: Option<&TaskView>,
) -> Result<Report> {
    let dev = Device::Cpu;
    let model = Model::load(dir, false, &dev)?;
    let th = match view {
        None => model.task(task)?.clone(),
        Some(v) => {
            let slots = model.task(&v.head.task)?.slots;
            crate::model::heads::heads_of_task(&model.meta, task, slots)
        }
    };
    let tok = Tok::from_json(&model.meta.tokenizer)?;
    let max_len = max_len.min(model.meta.architecture.max_positions);
    let items = prepare(&tok, sentences, max_len)?;
    let preds = predict(&model, &th, &items, &dev)?;
    Ok(score_in(task, &items, &preds, view).0)
}

/// The place of dataset task `task` in the unified slot head of a model
/// (from its training recipe), or `None` for a model without one.
pub fn unified_view(meta: &picotag::format::ModelMeta, task: &str) -> Result<Option<TaskView>> {
    let Some(recipe) = training_recipe(meta) else {
        return Ok(None);
    };
    Ok(recipe_views(&recipe)?.and_then(|mut v| v.remove(task)))
}
