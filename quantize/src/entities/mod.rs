//! `entities`: what entity injection does for a `.ptag` model, measured on
//! the dev sets.
//!
//! - *unseen values*: recall on the dev spans of open-class types whose text
//!   never occurs as a span of that type in training, without and with those
//!   values injected (alone, and with the distractors below);
//! - *no harm*: each task's overall dev F1 with the injected set, which also
//!   holds `--distractors` values per type (texts of other types, and of the
//!   same type from training), against F1 without a set;
//! - both for each `--bonus`; and the *cost* of a 100,000-value set: build
//!   time, memory, and latency at 12 words against no set (interleaved rounds,
//!   medians).

pub mod cost;
pub mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use picotag::{EntitySet, TagOptions, Tagger};
use serde::Serialize;

use crate::data::{load_split, Sentence, TaskSpec};
use crate::error::{Error, Result};
use crate::eval::metric::{gold_spans, Metric};
use crate::eval::ptag::predicted_spans;
use values::{distractors, texts_by_type, unseen, Unseen};

/// The open-class types of the datasets the shipped model knows.
pub const DEFAULT_TYPES: &str = "snips/artist,snips/album,snips/track,snips/playlist,\
snips/restaurant_name,snips/object_name,snips/movie_name,snips/entity_name,snips/poi,\
snips/geographic_poi,bc5cdr/Chemical";

/// `entities` arguments.
#[derive(Debug, Clone, Args)]
pub struct EntitiesArgs {
    /// The model file.
    #[arg(long)]
    pub model: PathBuf,
    /// A task of the model and its data: `NAME=DATASET_DIR` or
    /// `NAME=train=PATH,dev=PATH`. Repeatable.
    #[arg(long = "task", required = true)]
    pub tasks: Vec<String>,
    /// The types whose unseen dev values are injected (`task/type`).
    #[arg(long, value_delimiter = ',', default_value = DEFAULT_TYPES)]
    pub types: Vec<String>,
    /// Distractor values injected per type.
    #[arg(long, default_value_t = 10_000)]
    pub distractors: usize,
    /// The bonuses (log-probability) to measure.
    #[arg(long, value_delimiter = ',', default_value = "2,4,5,6,7")]
    pub bonus: Vec<f32>,
    /// Values of the cost measurement's set.
    #[arg(long, default_value_t = 100_000)]
    pub cost_values: usize,
    /// Rounds of the latency measurement.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Recall on unseen values and overall F1 of one task, at one setting.
#[derive(Debug, Clone, Serialize)]
pub struct TaskScore {
    /// Unseen dev spans found exactly (type and words) with only the unseen
    /// values injected (None: no set).
    pub values_only_found: Option<usize>,
    /// Unseen dev spans found exactly (type and words), with the whole set
    /// (unseen values and distractors).
    pub unseen_found: usize,
    /// Unseen dev spans.
    pub unseen: usize,
    /// `unseen_found / unseen`.
    pub unseen_recall: f64,
    /// `values_only_found / unseen`.
    pub values_only_recall: Option<f64>,
    /// Overall dev slot F1 (every type), gate off.
    pub f1: f64,
}

/// One setting: no set (`bonus` None) or the injected set at a bonus.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    /// The bonus; None: no entity set.
    pub bonus: Option<f32>,
    /// Per task.
    pub tasks: BTreeMap<String, TaskScore>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The model file.
    pub model: String,
    /// Per type: its unseen dev spans and the values injected (unseen +
    /// distractors).
    pub types: BTreeMap<String, (usize, usize)>,
    /// Values in the injected set ((value, type) pairs).
    pub injected: usize,
    /// No set, then each bonus.
    pub settings: Vec<Setting>,
    /// The cost of a large set.
    pub cost: cost::Cost,
}

struct TaskData {
    name: String,
    dev: Vec<Sentence>,
    unseen: Vec<Unseen>,
}

/// Runs `entities`.
pub fn run(a: &EntitiesArgs) -> Result<()> {
    let tagger = Tagger::open(&a.model)?;
    let mut set = EntitySet::new(&tagger);
    let mut only = EntitySet::new(&tagger);
    let known: BTreeSet<String> = set.types().map(str::to_string).collect();
    if let Some(bad) = a.types.iter().find(|t| !known.contains(*t)) {
        return Err(Error::Spec(format!(
            "--types: the model has no type {bad:?}"
        )));
    }
    let mut tasks = Vec::new();
    let mut report_types = BTreeMap::new();
    for spec in &a.tasks {
        let spec = TaskSpec::parse(spec)?;
        let train = load_split(&spec.train)?;
        let dev = load_split(&spec.dev)?;
        let prefix = format!("{}/", spec.name);
        let types: Vec<String> = a
            .types
            .iter()
            .filter_map(|t| t.strip_prefix(&prefix).map(str::to_string))
            .collect();
        let unseen = unseen(&train, &dev, &types);
        let (train_texts, dev_texts) = (texts_by_type(&train), texts_by_type(&dev));
        for ty in &types {
            let mine: BTreeSet<String> = unseen
                .iter()
                .filter(|u| &u.ty == ty)
                .map(|u| u.text.to_lowercase())
                .collect();
            let full = format!("{prefix}{ty}");
            // A value longer than a set takes is not injected (an unseen one
            // still counts in the recall).
            let fits = |v: &&String| {
                v.len() <= picotag::entities::MAX_VALUE_BYTES
                    && v.split_whitespace().count() <= picotag::entities::MAX_VALUE_WORDS
            };
            for v in mine.iter().filter(fits) {
                set.add(&full, v)?;
                only.add(&full, v)?;
            }
            let d: Vec<String> = distractors(ty, &train_texts, &dev_texts, &mine, usize::MAX)
                .into_iter()
                .filter(|v| fits(&v))
                .take(a.distractors)
                .collect();
            for v in &d {
                set.add(&full, v)?;
            }
            report_types.insert(full, (mine.len(), mine.len() + d.len()));
        }
        tasks.push(TaskData {
            name: spec.name,
            dev,
            unseen,
        });
    }
    let (set, only) = (Arc::new(set), Arc::new(only));
    let mut settings = vec![score(&tagger, &tasks, None)?];
    for &b in &a.bonus {
        let mut s = score(&tagger, &tasks, Some((&set, b)))?;
        let alone = score(&tagger, &tasks, Some((&only, b)))?;
        for (t, x) in s.tasks.iter_mut() {
            let y = &alone.tasks[t];
            x.values_only_found = Some(y.unseen_found);
            x.values_only_recall = Some(y.unseen_recall);
        }
        settings.push(s);
    }
    let utterances: Vec<String> = tasks
        .iter()
        .flat_map(|t| &t.dev)
        .filter(|s| s.words.len() == 12)
        .take(50)
        .map(|s| s.words.join(" "))
        .collect();
    let cost = cost::measure(&tagger, a.cost_values, &utterances, a.rounds)?;
    let report = Report {
        model: a.model.display().to_string(),
        types: report_types,
        injected: set.len(),
        settings,
        cost,
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| Error::Model(e.to_string()))?
        );
    } else {
        print_table(&report);
    }
    Ok(())
}

/// Scores every task with no set, or with `set` at a bonus (gate off, so
/// that F1 is the slot heads' own, as `eval` reports it).
fn score(
    tagger: &Tagger,
    tasks: &[TaskData],
    set: Option<(&Arc<EntitySet>, f32)>,
) -> Result<Setting> {
    let mut out = BTreeMap::new();
    for t in tasks {
        let opts = TagOptions {
            tasks: Some(vec![t.name.clone()]),
            has_slot_threshold: None,
            entities: set.map(|(s, _)| s.clone()),
            entity_bonus: set.map_or(0.0, |(_, b)| b),
            ..TagOptions::default()
        };
        let mut m = Metric::default();
        let mut found = 0;
        for (i, s) in t.dev.iter().enumerate() {
            let (pred, _) = predicted_spans(tagger, &opts, s, &t.name)?;
            m.add(&gold_spans(&s.labels), &pred);
            found += t
                .unseen
                .iter()
                .filter(|u| u.sentence == i)
                .filter(|u| {
                    pred.iter()
                        .any(|p| p.0 == u.start && p.1 == u.end && p.2 == u.ty)
                })
                .count();
        }
        let n = t.unseen.len();
        out.insert(
            t.name.clone(),
            TaskScore {
                values_only_found: None,
                values_only_recall: None,
                unseen_found: found,
                unseen: n,
                unseen_recall: if n > 0 { found as f64 / n as f64 } else { 0.0 },
                f1: m.report(&t.name).f1,
            },
        );
    }
    Ok(Setting {
        bonus: set.map(|(_, b)| b),
        tasks: out,
    })
}

fn print_table(r: &Report) {
    println!("{}: {} (value, type) pairs injected", r.model, r.injected);
    for (t, (u, n)) in &r.types {
        println!("  {t:<28} {u:>5} unseen dev values, {n:>6} injected");
    }
    println!(
        "{:<6} {:<8} {:>19} {:>19} {:>8}",
        "bonus", "task", "recall, values only", "recall, whole set", "dev F1"
    );
    for s in &r.settings {
        let b = s.bonus.map_or("none".to_string(), |b| b.to_string());
        for (t, x) in &s.tasks {
            let alone = match (x.values_only_recall, x.values_only_found) {
                (Some(r), Some(f)) => format!("{:.2} ({f}/{})", 100.0 * r, x.unseen),
                _ => "-".to_string(),
            };
            let whole = format!(
                "{:.2} ({}/{})",
                100.0 * x.unseen_recall,
                x.unseen_found,
                x.unseen
            );
            println!(
                "{b:<6} {t:<8} {alone:>19} {whole:>19} {:>8.2}",
                100.0 * x.f1
            );
        }
    }
    let c = &r.cost;
    println!(
        "cost of {} values: build {:.1} ms, {:.2} MB; latency at 12 words {:.3} ms without, {:.3} ms with ({:+.1}%)",
        c.values,
        c.build_ms,
        c.heap_bytes as f64 / 1e6,
        c.latency_ms_without,
        c.latency_ms_with,
        100.0 * (c.latency_ms_with / c.latency_ms_without - 1.0)
    );
}
