//! Evaluation of a compressed `.ptag` model through the runtime's [`picotag::Tagger`].

use std::path::Path;

use picotag::{IntentThreshold, PunctuationWords, TagOptions, Tagger, Tagging};

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
    eval_model_gated(path, task, sentences, view, None)
}

/// [`eval_model_in`] with the has-slot gate at `gate` (`None`: off): the
/// figure an app gets with the runtime's default options at `Some(0.5)`.
pub fn eval_model_gated(
    path: &Path,
    task: &str,
    sentences: Vec<Sentence>,
    view: Option<&TaskView>,
    gate: Option<f32>,
) -> Result<Report> {
    let mut p = Predictor::open(path, task, view, SymbolHandling::default())?;
    p.opts.has_slot_threshold = gate;
    let mut m = Metric::default();
    for s in sentences {
        let (pred, intent) = p.predict(&s)?;
        m.add(&p.gold(&s), &pred);
        if let (Some(g), Some(i)) = (&s.intent, intent) {
            m.add_intent(g, &i);
        }
    }
    Ok(m.report(task))
}

/// What the runtime does with words made only of symbols (emoji, punctuation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolHandling {
    /// Nothing: they are input words and may be slots.
    Keep,
    /// Input words, but slots made only of them are dropped
    /// (`skip_symbol_words: false`, `keep_symbol_slots: false`).
    DropSlots,
    /// Emoji and other non-punctuation symbols left out of the input,
    /// punctuation kept (slots made only of it dropped;
    /// `punctuation_words: Keep`).
    SkipSymbols,
    /// As `SkipSymbols`, but punctuation left out of the input of the tasks
    /// trained on text without (`punctuation_words: ByTask`): the runtime's
    /// default options.
    #[default]
    ByTask,
    /// Every symbol word left out of the input, punctuation too
    /// (`punctuation_words: Skip`).
    SkipAll,
}

/// Tags data sentences with one task of a `.ptag` model the way
/// [`eval_model_in`] scores them: the has-slot gate and the out-of-scope
/// rejection off (the heads' own figures), a slot mapped to the data words
/// holding its first and last byte.
pub struct Predictor<'v> {
    tagger: Tagger,
    opts: TagOptions,
    task: String,
    slot_task: String,
    view: Option<&'v TaskView>,
}

impl<'v> Predictor<'v> {
    /// Opens the model at `path` for dataset task `task` (`view`: its unified
    /// slot head, if any), treating symbol words as `symbols` says.
    pub fn open(
        path: &Path,
        task: &str,
        view: Option<&'v TaskView>,
        symbols: SymbolHandling,
    ) -> Result<Predictor<'v>> {
        let slot_task = view.map_or(task, |v| v.head.task.as_str()).to_string();
        let tagger = open_with_tasks(path, [task, slot_task.as_str()])?;
        let opts = TagOptions {
            tasks: Some(vec![task.to_string(), slot_task.clone()]),
            has_slot_threshold: None,
            min_slot_score: 0.0,
            keep_symbol_slots: symbols == SymbolHandling::Keep,
            skip_symbol_words: matches!(
                symbols,
                SymbolHandling::SkipSymbols | SymbolHandling::ByTask | SymbolHandling::SkipAll
            ),
            punctuation_words: match symbols {
                SymbolHandling::ByTask => PunctuationWords::ByTask,
                SymbolHandling::SkipAll => PunctuationWords::Skip,
                _ => PunctuationWords::Keep,
            },
            intent_threshold: IntentThreshold::Off,
            ..TagOptions::default()
        };
        Ok(Predictor {
            tagger,
            opts,
            task: task.to_string(),
            slot_task,
            view,
        })
    }

    /// The predicted spans (over the data words; only the types the view
    /// annotates) and the intent of sentence `s`.
    pub fn predict(&self, s: &Sentence) -> Result<(Vec<Span>, Option<String>)> {
        let (pred, t) = predicted_spans(&self.tagger, &self.opts, s, &self.slot_task)?;
        let pred = pred
            .into_iter()
            .filter(|x| self.view.is_none_or(|v| v.annotated.contains(&x.2)))
            .collect();
        let intent = t
            .intents
            .iter()
            .find(|i| *i.task == *self.task)
            .map(|i| i.label.to_string());
        Ok((pred, intent))
    }

    /// The gold spans of `s` (types renamed by the unified view, if any).
    pub fn gold(&self, s: &Sentence) -> Vec<Span> {
        match self.view {
            Some(v) => gold_spans(
                &s.labels
                    .iter()
                    .map(|l| v.unify_label(l))
                    .collect::<Vec<_>>(),
            ),
            None => gold_spans(&s.labels),
        }
    }
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
