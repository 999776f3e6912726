//! The `eval`, `ood` and `conflicts` commands: their arguments and output.

use std::path::PathBuf;

use clap::Args;
use picotag::format::ModelFile;

use crate::data::asr::asr_form;
use crate::data::unified::TypeMap;
use crate::data::{load_split, Sentence};
use crate::error::{Error, Result};
use crate::eval::conflicts::count;
use crate::eval::ood::false_slots;
use crate::eval::ptag::eval_model_in;
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
            eval_model_in(m, &a.task, data, view.as_ref())?
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
