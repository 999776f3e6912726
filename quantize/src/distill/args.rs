//! The `distill` subcommand's arguments and their recipe.

use std::path::PathBuf;

use clap::Args;
use picotag::format::Architecture;

use super::init::StudentInit;
use super::loss::KdWeights;
use super::{distill, training_recipe, DistillRecipe};
use crate::cli::parse_aux;
use crate::data::TaskSpec;
use crate::error::{Error, Result};
use crate::model::read_meta;
use crate::train::optim::AdamWConfig;
use crate::train::schedule::Schedule;
use crate::train::{InitFrom, Recipe, RunControl, TaskRecipe};

/// `distill` arguments.
#[derive(Debug, Clone, Args)]
pub struct DistillArgs {
    /// Teacher checkpoint folder (e.g. runs/teacher/best).
    #[arg(long)]
    pub teacher: PathBuf,
    /// Run folder of the student (checkpoints, dev.jsonl).
    #[arg(long)]
    pub out: PathBuf,
    /// A task of the teacher: `NAME=DATASET_DIR[,weight=λ]` or `NAME=train=PATH,dev=PATH[,weight=λ]`. Repeatable.
    #[arg(long = "task", required = true)]
    pub tasks: Vec<String>,
    /// Continue the run in --out from its last checkpoint (starts fresh when there is none).
    #[arg(long)]
    pub resume: bool,
    /// Student encoder layers.
    #[arg(long, default_value_t = 3)]
    pub layers: usize,
    /// Student hidden size.
    #[arg(long, default_value_t = 384)]
    pub hidden: usize,
    /// Student attention heads.
    #[arg(long, default_value_t = 12)]
    pub heads: usize,
    /// Student feed-forward size.
    #[arg(long, default_value_t = 1536)]
    pub intermediate: usize,
    /// Student maximum positions.
    #[arg(long, default_value_t = 512)]
    pub max_positions: usize,
    /// Teacher layers (0-based, comma list) the student's layers start from
    /// (same hidden and FFN sizes); random layers when absent.
    #[arg(long)]
    pub init_layers: Option<String>,
    /// With a smaller hidden size: start the embeddings from the teacher's, PCA-projected.
    #[arg(long)]
    pub project_embeddings: bool,
    /// Factorize the word embeddings at this rank (PCA of the teacher's).
    #[arg(long)]
    pub embedding_rank: Option<usize>,
    /// Softmax temperature of the KL term.
    #[arg(long, default_value_t = 2.0)]
    pub temperature: f64,
    /// Weight of KL(teacher ‖ student) · T².
    #[arg(long, default_value_t = 0.5)]
    pub alpha_kd: f64,
    /// Weight of the gold-label cross-entropy.
    #[arg(long, default_value_t = 0.5)]
    pub alpha_gold: f64,
    /// Weight of the MSE between mapped hidden states (0 = off).
    #[arg(long, default_value_t = 0.0)]
    pub hidden_mse: f64,
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
    /// Student dropout.
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f32,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Batch order across tasks.
    #[arg(long, value_enum, default_value_t = Schedule::Mixed)]
    pub schedule: Schedule,
    /// Weight of the auxiliary heads' losses.
    #[arg(long, default_value_t = 1.0)]
    pub aux_weight: f64,
    /// Also train the word-embedding matrix (the rank-r coefficients when factorized).
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
}

/// Parses a comma list of layer indices.
pub fn parse_layers(s: &str) -> Result<Vec<usize>> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse()
                .map_err(|_| Error::Spec(format!("--init-layers: {p:?} is not a layer index")))
        })
        .collect()
}

impl DistillArgs {
    /// The recipe and run control of these arguments.
    pub fn recipe(&self) -> Result<(DistillRecipe, RunControl)> {
        let tasks = self
            .tasks
            .iter()
            .map(|t| TaskSpec::parse(t).map(|s| TaskRecipe::from(&s)))
            .collect::<Result<Vec<_>>>()?;
        let teacher = read_meta(&self.teacher)?;
        if self.heads == 0 || !self.hidden.is_multiple_of(self.heads) {
            return Err(Error::Spec(format!(
                "--hidden {} is not a multiple of --heads {}",
                self.hidden, self.heads
            )));
        }
        let student = Architecture {
            vocab_size: teacher.architecture.vocab_size,
            hidden: self.hidden,
            layers: self.layers,
            heads: self.heads,
            intermediate: self.intermediate,
            max_positions: self.max_positions,
            type_vocab_size: teacher.architecture.type_vocab_size,
            layer_norm_eps: teacher.architecture.layer_norm_eps,
            embedding_rank: self.embedding_rank,
        };
        let base = Recipe {
            tasks,
            init: InitFrom::Random(student.clone(), self.teacher.join("meta.json")),
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
            aux: parse_aux("none")?,
            aux_weight: self.aux_weight,
            freeze_word_embeddings: !self.train_word_embeddings,
            // A unified teacher is distilled into a unified student: same map.
            unified: training_recipe(&teacher).and_then(|r| r.unified),
            finetune_heads: false,
        };
        let dr = DistillRecipe {
            teacher: self.teacher.clone(),
            student,
            init: StudentInit {
                layers: self.init_layers.as_deref().map(parse_layers).transpose()?,
                project_embeddings: self.project_embeddings,
                seed: self.seed,
            },
            weights: KdWeights {
                temperature: self.temperature,
                alpha_kd: self.alpha_kd,
                alpha_gold: self.alpha_gold,
                hidden_mse: self.hidden_mse,
            },
            base,
        };
        let c = RunControl {
            out: self.out.clone(),
            resume: self.resume,
            save_every: self.save_every,
            max_steps: self.max_steps,
            log_every: self.log_every.max(1),
            dev_limit: self.dev_limit,
        };
        Ok((dr, c))
    }
}

/// Runs `distill`.
pub fn run(a: &DistillArgs) -> Result<()> {
    let (dr, c) = a.recipe()?;
    if dr.weights.temperature <= 0.0 {
        return Err(Error::Spec("--temperature must be positive".into()));
    }
    let s = distill(&dr, &c)?;
    eprintln!(
        "done: step {}, best mean dev F1 {:?} (epoch {:?})",
        s.step, s.best_f1, s.best_epoch
    );
    Ok(())
}
