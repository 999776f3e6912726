//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use picotag::format::Architecture;

use crate::compress::{CompressOptions, EmbeddingPrecision};
use crate::data::unified::TypeMap;
use crate::data::TaskSpec;
use crate::error::{Error, Result};
use crate::train::optim::AdamWConfig;
use crate::train::schedule::Schedule;
use crate::train::{AuxHeads, InitFrom, Recipe, RunControl, TaskRecipe};

/// Trains, evaluates and compresses picotag models.
#[derive(Debug, Parser)]
#[command(name = "picotag-quantize", version, args_override_self = true)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Train (or resume) a multi-task teacher.
    Train(TrainArgs),
    /// Distil a teacher checkpoint into a smaller student (resumable like `train`).
    Distill(crate::distill::args::DistillArgs),
    /// Evaluate a checkpoint or a .ptag model on labelled data.
    Eval(EvalArgs),
    /// Measure training throughput (tokens/s) on random batches.
    Bench(BenchArgs),
    /// Compress a checkpoint into a `.ptag` model file (int8 by default).
    Compress(CompressArgs),
    /// Print a `.ptag` file's architecture, heads, tensors, size and scores.
    Inspect(InspectArgs),
    /// Write a `.ptag` model as an ONNX graph (f32).
    ExportOnnx(ExportOnnxArgs),
    /// Rewrite a `.ptag` model in the current format version, same weights.
    Reencode(crate::reencode::ReencodeArgs),
    /// Count the slots some tasks of a `.ptag` model invent on out-of-domain
    /// sentences, with the has-slot gate off and on.
    Ood(OodArgs),
    /// Measure entity injection on the dev sets: recall on unseen values,
    /// F1 with distractors injected, and the cost of a large set.
    Entities(crate::entities::EntitiesArgs),
    /// Count where the slot heads of a checkpoint disagree about the same
    /// words (overlapping spans of two heads) on some sentences.
    Conflicts(ConflictsArgs),
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
    pub fn sentences(&self) -> Result<Vec<crate::data::Sentence>> {
        let data = crate::data::load_split(&self.data)?;
        Ok(if self.asr {
            data.iter().map(crate::data::asr::asr_form).collect()
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

/// `compress` arguments.
#[derive(Debug, Clone, Args)]
pub struct CompressArgs {
    /// Checkpoint folder (model.safetensors + meta.json), e.g. runs/NAME/best.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// The .ptag file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Write every tensor as f32 (no quantization), for comparisons.
    #[arg(long)]
    pub fp32: bool,
    /// Precision of the word and position embedding tables.
    #[arg(long, value_enum, default_value_t = EmbeddingPrecision::I8)]
    pub embeddings: EmbeddingPrecision,
    /// Do not measure and store dev scores.
    #[arg(long)]
    pub no_eval: bool,
    /// Dev set of a task, `NAME=PATH` (default: the checkpoint recipe's). Repeatable.
    #[arg(long = "dev")]
    pub dev: Vec<String>,
}

/// `inspect` arguments.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// The .ptag file.
    pub model: PathBuf,
}

/// `export-onnx` arguments.
#[derive(Debug, Clone, Args)]
pub struct ExportOnnxArgs {
    /// The .ptag file.
    #[arg(long)]
    pub model: PathBuf,
    /// The .onnx file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Also run the graph with tract on a few sentences of both domains and
    /// fail unless its logits match the runtime's reference path within this
    /// absolute tolerance (e.g. 1e-4).
    #[arg(long)]
    pub check: Option<f32>,
}

/// Encoder shape for `--init random`.
#[derive(Debug, Clone, Args)]
pub struct ArchArgs {
    /// Encoder layers (random init).
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Hidden size (random init).
    #[arg(long, default_value_t = 64)]
    pub hidden: usize,
    /// Attention heads (random init).
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// Feed-forward size (random init).
    #[arg(long, default_value_t = 128)]
    pub intermediate: usize,
    /// Maximum positions (random init).
    #[arg(long, default_value_t = 512)]
    pub max_positions: usize,
    /// tokenizer.json for `--init random`.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
}

/// `train` arguments.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// A task: `NAME=DATASET_DIR[,weight=λ]` or `NAME=train=PATH,dev=PATH[,weight=λ]`. Repeatable.
    #[arg(long = "task", required = true)]
    pub tasks: Vec<String>,
    /// Pretrained folder (model.safetensors + config.json + tokenizer.json), or `random`.
    #[arg(
        long,
        required_unless_present = "refine_from",
        conflicts_with = "refine_from"
    )]
    pub init: Option<String>,
    /// Start from a trained checkpoint (e.g. runs/NAME/best) with the same
    /// tasks and heads, and train on: refinement (usually with a smaller --lr).
    #[arg(long)]
    pub refine_from: Option<PathBuf>,
    /// Train the heads only (the encoder stays fixed): per-task fine-tuning
    /// that keeps one shared forward pass.
    #[arg(long)]
    pub finetune_heads: bool,
    /// Slot heads: one per dataset, or one over the union of their types
    /// (partial-label loss; needs --type-map).
    #[arg(long, value_enum, default_value_t = HeadMode::PerTask)]
    pub head: HeadMode,
    /// The type map of `--head unified` (JSON: `{"task": "slots", "types":
    /// {"ncbi:Disease": "Disease", "bc5cdr:Disease": "Disease"}}`).
    #[arg(long)]
    pub type_map: Option<PathBuf>,
    /// Run folder (checkpoints, dev.jsonl).
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the run in --out from its last checkpoint (starts fresh when there is none).
    #[arg(long)]
    pub resume: bool,
    /// Epochs.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Sentences per batch (at most).
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Padded tokens per batch (at most).
    #[arg(long, default_value_t = 2048)]
    pub max_tokens: usize,
    /// Maximum sub-tokens per window (longer sentences are split).
    #[arg(long, default_value_t = 128)]
    pub max_len: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// Warm-up fraction of all steps.
    #[arg(long, default_value_t = 0.06)]
    pub warmup: f64,
    /// AdamW weight decay.
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Clip the global gradient norm (0 = off).
    #[arg(long, default_value_t = 1.0)]
    pub max_grad_norm: f64,
    /// Dropout.
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f32,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Batch order across tasks.
    #[arg(long, value_enum, default_value_t = Schedule::Mixed)]
    pub schedule: Schedule,
    /// Auxiliary heads to train: comma list of bcls,mcls,mtcls, or `none`.
    #[arg(long, default_value = "bcls,mcls,mtcls")]
    pub aux: String,
    /// Weight of the auxiliary losses.
    #[arg(long, default_value_t = 1.0)]
    pub aux_weight: f64,
    /// Also train the word-embedding matrix (frozen by default: ~15% faster).
    #[arg(long)]
    pub train_word_embeddings: bool,
    /// Save the resumable checkpoint every N steps (and at each epoch end).
    #[arg(long, default_value_t = 200)]
    pub save_every: u64,
    /// Stop after this many steps in total (a checkpoint is saved).
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Seconds between plain progress lines (when not on a terminal).
    #[arg(long, default_value_t = 30)]
    pub log_every: u64,
    /// Evaluate at most N dev sentences per task after each epoch.
    #[arg(long)]
    pub dev_limit: Option<usize>,
    /// Architecture for --init random.
    #[command(flatten)]
    pub arch: ArchArgs,
}

/// How slot heads are laid out over the datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HeadMode {
    /// One slot head per dataset task.
    PerTask,
    /// One slot head over the union of the datasets' types.
    Unified,
}

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

/// `bench` arguments.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Pretrained folder, or `random`.
    #[arg(long)]
    pub init: String,
    /// Sentences per batch.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Tokens per sentence.
    #[arg(long, default_value_t = 32)]
    pub len: usize,
    /// Timed steps (after one warm-up step).
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Also train the word-embedding matrix.
    #[arg(long)]
    pub train_word_embeddings: bool,
    /// Dropout.
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f32,
    /// Architecture for --init random.
    #[command(flatten)]
    pub arch: ArchArgs,
}

impl ArchArgs {
    /// The architecture for a random init with `vocab_size` words.
    pub fn architecture(&self, vocab_size: usize) -> Architecture {
        Architecture {
            vocab_size,
            hidden: self.hidden,
            layers: self.layers,
            heads: self.heads,
            intermediate: self.intermediate,
            max_positions: self.max_positions,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            embedding_rank: None,
        }
    }
    /// Resolves `--init`.
    pub fn init(&self, init: &str) -> Result<InitFrom> {
        if init == "random" {
            let tok = self
                .tokenizer
                .clone()
                .ok_or_else(|| Error::Spec("--init random needs --tokenizer PATH".into()))?;
            let vocab = crate::data::encode::Tok::from_file(&tok)?.vocab_size();
            Ok(InitFrom::Random(self.architecture(vocab), tok))
        } else {
            Ok(InitFrom::Pretrained(PathBuf::from(init)))
        }
    }
}

/// Parses `--aux`.
pub fn parse_aux(s: &str) -> Result<AuxHeads> {
    let mut a = AuxHeads {
        bcls: false,
        mcls: false,
        mtcls: false,
    };
    for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match p {
            "none" => {}
            "bcls" => a.bcls = true,
            "mcls" => a.mcls = true,
            "mtcls" => a.mtcls = true,
            _ => return Err(Error::Spec(format!("--aux: unknown head {p:?}"))),
        }
    }
    Ok(a)
}

impl TrainArgs {
    /// The recipe and run control of these arguments.
    pub fn recipe(&self) -> Result<(Recipe, RunControl)> {
        let tasks = self
            .tasks
            .iter()
            .map(|t| TaskSpec::parse(t).map(|s| TaskRecipe::from(&s)))
            .collect::<Result<Vec<_>>>()?;
        let mut names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
        names.sort();
        names.dedup();
        if names.len() != tasks.len() {
            return Err(Error::Spec("two --task share a name".into()));
        }
        let init = match (&self.refine_from, &self.init) {
            (Some(d), _) => InitFrom::Checkpoint(d.clone()),
            (None, Some(i)) => self.arch.init(i)?,
            (None, None) => return Err(Error::Spec("give --init or --refine-from".into())),
        };
        let unified = match (self.head, &self.type_map) {
            (HeadMode::Unified, Some(p)) => Some(TypeMap::load(p)?),
            (HeadMode::Unified, None) => {
                return Err(Error::Spec("--head unified needs --type-map FILE".into()))
            }
            (HeadMode::PerTask, Some(_)) => {
                return Err(Error::Spec("--type-map needs --head unified".into()))
            }
            (HeadMode::PerTask, None) => None,
        };
        let r = Recipe {
            tasks,
            init,
            epochs: self.epochs,
            batch_size: self.batch_size.max(1),
            max_tokens: self.max_tokens.max(1),
            max_len: self.max_len.max(3),
            lr: self.lr,
            warmup: self.warmup,
            adamw: AdamWConfig {
                weight_decay: self.weight_decay,
                max_grad_norm: self.max_grad_norm,
                ..AdamWConfig::default()
            },
            dropout: self.dropout,
            seed: self.seed,
            schedule: self.schedule,
            aux: parse_aux(&self.aux)?,
            aux_weight: self.aux_weight,
            freeze_word_embeddings: !self.train_word_embeddings,
            unified,
            finetune_heads: self.finetune_heads,
        };
        let c = RunControl {
            out: self.out.clone(),
            resume: self.resume,
            save_every: self.save_every,
            max_steps: self.max_steps,
            log_every: self.log_every.max(1),
            dev_limit: self.dev_limit,
        };
        Ok((r, c))
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Train(a) => {
            let (r, c) = a.recipe()?;
            let s = crate::train::train(&r, &c)?;
            eprintln!(
                "done: step {}, best mean dev F1 {:?} (epoch {:?})",
                s.step, s.best_f1, s.best_epoch
            );
            Ok(())
        }
        Cmd::Eval(a) => {
            let mut data = crate::data::load_split(&a.data)?;
            if a.asr {
                data = data.iter().map(crate::data::asr::asr_form).collect();
            }
            // A unified model scores a dataset on the types it annotates.
            let rep = match (&a.checkpoint, &a.model) {
                (Some(dir), _) => {
                    let view = crate::eval::unified_view(&crate::model::read_meta(dir)?, &a.task)?;
                    crate::eval::eval_checkpoint_in(dir, &a.task, data, a.max_len, view.as_ref())?
                }
                (None, Some(m)) => {
                    let file = picotag::format::ModelFile::open(m, Default::default())?;
                    let view = crate::eval::unified_view(file.meta(), &a.task)?;
                    crate::eval::ptag::eval_model_in(m, &a.task, data, view.as_ref())?
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
        Cmd::Bench(a) => crate::bench::run(&a),
        Cmd::Distill(a) => crate::distill::args::run(&a),
        Cmd::Compress(a) => run_compress(&a),
        Cmd::Inspect(a) => {
            let f = picotag::format::ModelFile::open(&a.model, Default::default())?;
            print!("{}", crate::inspect::describe(&f));
            Ok(())
        }
        Cmd::ExportOnnx(a) => export_onnx(&a),
        Cmd::Reencode(a) => crate::reencode::run(&a),
        Cmd::Ood(a) => run_ood(&a),
        Cmd::Conflicts(a) => run_conflicts(&a),
        Cmd::Entities(a) => crate::entities::run(&a),
    }
}

/// Runs `conflicts`.
fn run_conflicts(a: &ConflictsArgs) -> Result<()> {
    let map = a.type_map.as_deref().map(TypeMap::load).transpose()?;
    let c =
        crate::eval::conflicts::count(&a.checkpoint, map.as_ref(), &a.tasks, a.input.sentences()?)?;
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
fn run_ood(a: &OodArgs) -> Result<()> {
    let r = crate::eval::ood::false_slots(&a.model, &a.tasks, &a.types, &a.input.sentences()?)?;
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

/// Runs `compress`.
fn run_compress(a: &CompressArgs) -> Result<()> {
    let dev = a
        .dev
        .iter()
        .map(|d| {
            d.split_once('=')
                .map(|(t, p)| (t.to_string(), PathBuf::from(p)))
                .ok_or_else(|| Error::Spec(format!("--dev {d:?}: expected NAME=PATH")))
        })
        .collect::<Result<Vec<_>>>()?;
    let opts = CompressOptions {
        fp32: a.fp32,
        embeddings: a.embeddings,
        eval: !a.no_eval,
        dev,
    };
    let c = crate::compress::compress(&a.checkpoint, &a.out, &opts)?;
    eprintln!(
        "wrote {} ({} bytes, {:.2} MiB){}",
        a.out.display(),
        c.bytes,
        c.bytes as f64 / (1024.0 * 1024.0),
        c.scores
            .get("mean_f1")
            .and_then(|v| v.as_f64())
            .map(|x| format!(", mean dev F1 {:.2}", 100.0 * x))
            .unwrap_or_default()
    );
    Ok(())
}

/// Runs `export-onnx`.
#[cfg(feature = "onnx")]
fn export_onnx(a: &ExportOnnxArgs) -> Result<()> {
    let f = picotag::format::ModelFile::open(&a.model, Default::default())?;
    picotag_onnx::write(&f, &a.out)?;
    eprintln!("wrote {}", a.out.display());
    if let Some(tol) = a.check {
        use picotag_onnx::check::{encode_texts, max_abs_diff, CHECK_SENTENCES};
        let diff = max_abs_diff(&f, &encode_texts(&f, CHECK_SENTENCES)?)?;
        println!(
            "max |tract - reference| over {} sentences, every head: {diff:e}",
            CHECK_SENTENCES.len()
        );
        // A NaN difference fails too.
        if diff.is_nan() || diff > tol {
            return Err(Error::Spec(format!(
                "export-onnx --check: logits differ by {diff:e} (> {tol:e})"
            )));
        }
    }
    Ok(())
}

/// `export-onnx` without the `onnx` feature.
#[cfg(not(feature = "onnx"))]
fn export_onnx(_: &ExportOnnxArgs) -> Result<()> {
    Err(Error::Spec(
        "export-onnx: this build has no ONNX support (build with the `onnx` feature)".into(),
    ))
}
