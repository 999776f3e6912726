//! The `eval`, `ood` and `conflicts` commands: their arguments and output.

use std::path::PathBuf;

use clap::Args;
use picotag::format::ModelFile;

use crate::data::asr::asr_form;
use crate::data::unified::TypeMap;
use crate::data::{has_intent_in, load_split, Sentence};
use crate::error::{Error, Result};
use crate::eval::conflicts::count;
use crate::eval::ood::false_slots;
use crate::eval::ptag::eval_model_gated;
use crate::eval::reject::{checkpoint_scores, model_scores, report as reject_report};
use crate::eval::symbols::{symbol_noise, Setting};
use crate::eval::{eval_checkpoint_in, unified_view};
use crate::model::read_meta;

/// `eval` arguments.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["model", "checkpoint"])))]
pub struct EvalArgs {
    /// A compressed model file.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// A checkpoint folder (model.safetensors + meta.json).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// The task (head) to evaluate.
    #[arg(long)]
    pub task: String,
    /// An IOB .tsv file or a seq.in/seq.out/label folder.
    #[arg(long)]
    pub data: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Maximum sub-tokens per window (checkpoints).
    #[arg(long, default_value_t = 128)]
    pub max_len: usize,
    /// Score the data in its ASR form: lower-cased, punctuation removed (labels kept aligned).
    #[arg(long)]
    pub asr: bool,
    /// With `--model`: the has-slot gate at this threshold (the runtime's
    /// default options: 0.5); off when not given, so that the slot head is
    /// scored on every sentence.
    #[arg(long, conflicts_with = "checkpoint")]
    pub gate: Option<f32>,
}

/// `conflicts` arguments.
#[derive(Debug, Clone, Args)]
pub struct ConflictsArgs {
    /// Checkpoint folder (model.safetensors + meta.json).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Which types of different tasks are the same (the `--type-map` of
    /// `train --head unified`); without it every type is its own.
    #[arg(long)]
    pub type_map: Option<PathBuf>,
    /// Only these tasks' slot heads (comma list; default: all).
    #[arg(long, value_delimiter = ',')]
    pub tasks: Vec<String>,
    /// The sentences.
    #[command(flatten)]
    pub input: UnlabelledInput,
}

/// The sentences of `ood` and `conflicts` and how to print the result.
#[derive(Debug, Clone, Args)]
pub struct UnlabelledInput {
    /// An IOB .tsv file or a seq.in/seq.out/label folder (its labels are ignored).
    #[arg(long)]
    pub data: PathBuf,
    /// Use the data's ASR form (lower-cased, punctuation removed).
    #[arg(long)]
    pub asr: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

impl UnlabelledInput {
    /// The sentences of `--data`, in ASR form with `--asr`.
    pub fn sentences(&self) -> Result<Vec<Sentence>> {
        let data = load_split(&self.data)?;
        Ok(if self.asr {
            data.iter().map(asr_form).collect()
        } else {
            data
        })
    }

    /// Prints `v` as JSON with `--json`, else `text()`.
    pub fn print<T: serde::Serialize>(&self, v: &T, text: impl FnOnce() -> String) -> Result<()> {
        if self.json {
            let s = serde_json::to_string(v).map_err(|e| Error::json(&self.data, e))?;
            println!("{s}");
        } else {
            println!("{}", text());
        }
        Ok(())
    }
}

/// `ood` arguments.
#[derive(Debug, Clone, Args)]
pub struct OodArgs {
    /// The .ptag file.
    #[arg(long)]
    pub model: PathBuf,
    /// The tasks whose slots are counted (comma list); the data must be of
    /// another domain than theirs.
    #[arg(long, value_delimiter = ',', required = true)]
    pub tasks: Vec<String>,
    /// Count only slots of these types (comma list; default every type),
    /// e.g. `--tasks slots --types Chemical,Disease` for a unified head.
    #[arg(long, value_delimiter = ',')]
    pub types: Vec<String>,
    /// The sentences.
    #[command(flatten)]
    pub input: UnlabelledInput,
}

/// Runs `eval`.
pub fn run_eval(a: &EvalArgs) -> Result<()> {
    let mut data = load_split(&a.data)?;
    if a.asr {
        data = data.iter().map(asr_form).collect();
    }
    // A unified model scores a dataset on the types it annotates.
    let rep = match (&a.checkpoint, &a.model) {
        (Some(dir), _) => {
            let view = unified_view(&read_meta(dir)?, &a.task)?;
            eval_checkpoint_in(dir, &a.task, data, a.max_len, view.as_ref())?
        }
        (None, Some(m)) => {
            let file = ModelFile::open(m, Default::default())?;
            let view = unified_view(file.meta(), &a.task)?;
            eval_model_gated(m, &a.task, data, view.as_ref(), a.gate)?
        }
        (None, None) => return Err(Error::Spec("give --model or --checkpoint".into())),
    };
    if a.json {
        let s = serde_json::to_string(&rep).map_err(|e| Error::json(&a.data, e))?;
        println!("{s}");
    } else {
        println!(
            "{}: {} sentences  P {:.2}  R {:.2}  F1 {:.2}{}",
            rep.task,
            rep.sentences,
            100.0 * rep.precision,
            100.0 * rep.recall,
            100.0 * rep.f1,
            rep.intent_accuracy
                .map(|x| format!("  intent acc {:.2}", 100.0 * x))
                .unwrap_or_default()
        );
        for (k, p) in &rep.per_type {
            println!(
                "  {k:<32} P {:6.2}  R {:6.2}  F1 {:6.2}  gold {}",
                100.0 * p.precision,
                100.0 * p.recall,
                100.0 * p.f1,
                p.support
            );
        }
    }
    Ok(())
}

/// Runs `conflicts`.
pub fn run_conflicts(a: &ConflictsArgs) -> Result<()> {
    let map = a.type_map.as_deref().map(TypeMap::load).transpose()?;
    let c = count(&a.checkpoint, map.as_ref(), &a.tasks, a.input.sentences()?)?;
    a.input.print(&c, || {
        format!(
            "{} sentences of {} through slot heads {:?}: {} spans, {} conflicting pairs \
             in {} sentences, {} agreeing duplicates",
            c.sentences,
            a.input.data.display(),
            c.heads,
            c.spans,
            c.conflicting_pairs,
            c.sentences_with_conflict,
            c.agreeing_duplicates
        )
    })
}

/// Runs `ood`.
pub fn run_ood(a: &OodArgs) -> Result<()> {
    let r = false_slots(&a.model, &a.tasks, &a.types, &a.input.sentences()?)?;
    a.input.print(&r, || {
        format!(
            "{} sentences of {} through {:?}: false slots per 1,000 sentences {:.1} with the gate off, \
             {:.1} with the gate on (threshold {}); sentences with a slot {} -> {}",
            r.sentences,
            a.input.data.display(),
            r.tasks,
            r.gate_off.per_1000,
            r.gate_on.per_1000,
            r.threshold,
            r.gate_off.sentences_with_slots,
            r.gate_on.sentences_with_slots
        )
    })
}

/// `reject` arguments.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["model", "checkpoint"])))]
pub struct RejectArgs {
    /// A compressed model file (scores through the runtime: MSP only).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// A checkpoint folder (every score: MSP, energy, has-slot).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// The task (it must have an intent head).
    #[arg(long)]
    pub task: String,
    /// The task's labelled dev data: utterances of `--held-out` intents are
    /// out of scope, the others in scope.
    #[arg(long)]
    pub data: PathBuf,
    /// Intents the model was trained without (comma list; `a#b` labels
    /// count as held out when any part is).
    #[arg(long, value_delimiter = ',')]
    pub held_out: Vec<String>,
    /// More out-of-scope sets, each on its own: a data split (labels
    /// ignored) or a `.txt` file of one utterance per line.
    #[arg(long)]
    pub ood: Vec<PathBuf>,
    /// The fraction of in-scope utterances the thresholds keep.
    #[arg(long, default_value_t = 0.95)]
    pub tpr: f64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Utterances of a `.txt` file (one a line, blank lines skipped) or a data split.
fn utterances(path: &std::path::Path) -> Result<Vec<Sentence>> {
    if path.extension().is_some_and(|e| e == "txt") {
        let text = crate::error::read_text(path)?;
        Ok(text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| Sentence {
                words: l.split_whitespace().map(str::to_string).collect(),
                line: i + 1,
                ..Sentence::default()
            })
            .collect())
    } else {
        load_split(path)
    }
}

/// Runs `reject`.
pub fn run_reject(a: &RejectArgs) -> Result<()> {
    if !(a.tpr > 0.0 && a.tpr <= 1.0) {
        return Err(Error::Spec("--tpr must be in (0, 1]".into()));
    }
    let score = |s: Vec<Sentence>| match (&a.checkpoint, &a.model) {
        (Some(dir), _) => checkpoint_scores(dir, &a.task, s),
        (None, Some(m)) => model_scores(m, &a.task, &s),
        (None, None) => Err(Error::Spec("give --model or --checkpoint".into())),
    };
    let (out, inside): (Vec<Sentence>, Vec<Sentence>) = load_split(&a.data)?
        .into_iter()
        .partition(|s| has_intent_in(s, &a.held_out));
    let mut sets = Vec::new();
    if !a.held_out.is_empty() {
        if out.is_empty() {
            return Err(Error::Spec(format!(
                "{}: no utterance of the held-out intents {:?}",
                a.data.display(),
                a.held_out
            )));
        }
        sets.push(("held-out intents".to_string(), score(out)?));
    }
    for p in &a.ood {
        sets.push((p.display().to_string(), score(utterances(p)?)?));
    }
    if sets.is_empty() {
        return Err(Error::Spec(
            "give --held-out or --ood: no out-of-scope utterances".into(),
        ));
    }
    let rep = reject_report(&a.task, &a.held_out, a.tpr, &score(inside)?, &sets);
    if a.json {
        let s = serde_json::to_string(&rep).map_err(|e| Error::json(&a.data, e))?;
        println!("{s}");
        return Ok(());
    }
    println!(
        "{}: {} in-scope dev utterances; thresholds keep {:.0}% of them",
        rep.task,
        rep.in_scope,
        100.0 * rep.target_tpr
    );
    for set in &rep.sets {
        println!(
            "  out of scope: {} ({} utterances)",
            set.name, set.sentences
        );
        for s in &set.scores {
            println!(
                "    {:<9} AUROC {:.3}  FPR@{:.0}%TPR {:5.1}%  threshold {:.4}",
                s.score,
                s.auroc,
                100.0 * s.tpr,
                100.0 * s.fpr,
                s.threshold
            );
        }
    }
    Ok(())
}

/// `symbol-noise` arguments.
#[derive(Debug, Clone, Args)]
pub struct SymbolNoiseArgs {
    /// The .ptag file.
    #[arg(long)]
    pub model: PathBuf,
    /// A task and its dev set, `NAME=PATH` (an IOB .tsv file or a
    /// seq.in/seq.out/label folder). Repeatable.
    #[arg(long = "dev", required = true)]
    pub dev: Vec<String>,
    /// Probability of a symbol in each gap between words (and at both ends).
    #[arg(long, default_value_t = 0.15)]
    pub rate: f64,
    /// Seed of the insertions.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `symbol-noise`.
pub fn run_symbol_noise(a: &SymbolNoiseArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&a.rate) {
        return Err(Error::Spec(format!("--rate {}: expected 0..=1", a.rate)));
    }
    let file = ModelFile::open(&a.model, Default::default())?;
    let mut reports = Vec::new();
    for d in &a.dev {
        let (task, path) = d
            .split_once('=')
            .ok_or_else(|| Error::Spec(format!("--dev {d:?}: expected NAME=PATH")))?;
        let view = unified_view(file.meta(), task)?;
        let data = load_split(std::path::Path::new(path))?;
        let r = symbol_noise(&a.model, task, view.as_ref(), &data, a.rate, a.seed)?;
        if !a.json {
            let row = |name: &str, s: &Setting| {
                format!(
                    "  {name:<13} clean F1 {:.2}  noisy F1 {:.2}  change {:+.2}  \
                     false slots on symbols {} (symbols only {})",
                    100.0 * s.clean.f1,
                    100.0 * s.noisy.f1,
                    s.f1_change_points,
                    s.noisy.false_slots_on_symbols,
                    s.noisy.symbol_only_slots
                )
            };
            println!(
                "{}: {} sentences, {} words, {} symbols inserted (rate {}, seed {})",
                r.task, r.sentences, r.words, r.inserted, r.rate, r.seed,
            );
            for s in &r.settings {
                println!("{}", row(&format!("{:?}", s.handling), s));
            }
        }
        reports.push(r);
    }
    if a.json {
        let v = serde_json::json!({ "model": a.model, "tasks": reports });
        println!("{v}");
    }
    Ok(())
}
