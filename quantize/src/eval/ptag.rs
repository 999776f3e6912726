//! Evaluation of a compressed `.ptag` model through the runtime's [`picotag::Tagger`].

use std::path::Path;

use picotag::{TagOptions, Tagger, Tagging};

use super::metric::{gold_spans, Metric, Report, Span};
use crate::data::unified::TaskView;
use crate::data::{load_split, Sentence};
use crate::error::{Error, Result};

/// Evaluates task `task` of the model file `path` on `data`.
///
/// Each data sentence is tagged as one string (words joined by single spaces);
/// a slot covers the data words holding its first and last byte. The
/// "has a slot" gate is off, so the figure is the slot head's own.
pub fn eval_model(path: &Path, task: &str, data: &Path) -> Result<Report> {
    eval_model_on(path, task, load_split(data)?)
}

/// Opens the model at `path`, checking that it has every task of `tasks`.
pub fn open_with_tasks<'t>(
    path: &Path,
    tasks: impl IntoIterator<Item = &'t str>,
) -> Result<Tagger> {
    let tagger = Tagger::open(path)?;
    let known: Vec<String> = tagger.tasks().into_iter().map(|t| t.name).collect();
    if let Some(t) = tasks.into_iter().find(|t| !known.iter().any(|k| k == t)) {
        return Err(Error::Model(format!(
            "no task {t:?} in {} (has {known:?})",
            path.display()
        )));
    }
    Ok(tagger)
}

/// [`eval_model`] on sentences already loaded (e.g. in ASR form).
pub fn eval_model_on(path: &Path, task: &str, sentences: Vec<Sentence>) -> Result<Report> {
    eval_model_in(path, task, sentences, None)
}

/// [`eval_model_on`] of dataset task `task` of a model with a unified slot
/// head: the slots come from the unified task `view.head.task` and only
/// those of types the dataset annotates are scored, against its gold types
/// renamed as the type map says; the intent comes from `task` itself.
pub fn eval_model_in(
    path: &Path,
    task: &str,
    sentences: Vec<Sentence>,
    view: Option<&TaskView>,
) -> Result<Report> {
    let slot_task = view.map_or(task, |v| v.head.task.as_str());
    let tagger = open_with_tasks(path, [task, slot_task])?;
    let opts = TagOptions {
        tasks: Some(vec![task.to_string(), slot_task.to_string()]),
        has_slot_threshold: None,
        min_slot_score: 0.0,
        keep_symbol_slots: false,
        ..TagOptions::default()
    };
    let mut m = Metric::default();
    for s in sentences {
        let (pred, t) = predicted_spans(&tagger, &opts, &s, slot_task)?;
        let pred: Vec<Span> = pred
            .into_iter()
            .filter(|x| view.is_none_or(|v| v.annotated.contains(&x.2)))
            .collect();
        let gold = match view {
            Some(v) => gold_spans(
                &s.labels
                    .iter()
                    .map(|l| v.unify_label(l))
                    .collect::<Vec<_>>(),
            ),
            None => gold_spans(&s.labels),
        };
        m.add(&gold, &pred);
        if let Some(g) = &s.intent {
            if let Some(i) = t.intents.iter().find(|i| &*i.task == task) {
                m.add_intent(g, &i.label);
            }
        }
    }
    Ok(m.report(task))
}

/// Tags a data sentence as one string (words joined by single spaces) and
/// returns the slots of `slot_task` as word spans (a slot covers the words
/// holding its first and last byte), with the whole result.
pub fn predicted_spans(
    tagger: &Tagger,
    opts: &TagOptions,
    s: &Sentence,
    slot_task: &str,
) -> Result<(Vec<Span>, Tagging)> {
    let mut text = String::new();
    let mut starts = Vec::with_capacity(s.words.len());
    for (i, w) in s.words.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        starts.push(text.len());
        text.push_str(w);
    }
    let word_at = |b: usize| starts.partition_point(|&x| x <= b).saturating_sub(1);
    let t = tagger.tag_utterance_with(&text, opts)?;
    let pred = t
        .slots
        .iter()
        .filter(|x| &*x.task == slot_task && x.end > x.start)
        .map(|x| {
            (
                word_at(x.start),
                word_at(x.end - 1) + 1,
                x.label.to_string(),
            )
        })
        .collect();
    Ok((pred, t))
}
