//! The `train` command: its arguments and the recipe they give.

use std::path::PathBuf;

use clap::Args;
use picotag::format::Architecture;

use crate::data::encode::Tok;
use crate::data::unified::TypeMap;
use crate::data::TaskSpec;
use crate::error::{Error, Result};
use crate::recipe::{AuxHeads, InitFrom, Recipe, TaskRecipe};
use crate::train::epochs::RunControl;
use crate::train::optim::AdamWConfig;
use crate::train::schedule::Schedule;
use crate::train::start::train;

/// `train` arguments.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
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
    /// Auxiliary heads to train: comma list of has_slot,mcls,mtcls, or `none`
    /// (`bcls` is has_slot's former name).
    #[arg(long, default_value = "has_slot,mcls,mtcls")]
    pub aux: String,
    /// Tasks, optimisation and the run folder.
    #[command(flatten)]
    pub run: RunArgs,
    /// Architecture for --init random.
    #[command(flatten)]
    pub arch: ArchArgs,
}

/// The arguments `train` and `distill` share: tasks, optimisation, and how
/// the run is driven.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// A task: `NAME=DATASET_DIR[,weight=λ]` or `NAME=train=PATH,dev=PATH[,weight=λ]`
    /// (`distill`: a task of the teacher). Repeatable.
    #[arg(long = "task", required = true)]
    pub tasks: Vec<String>,
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
    /// Dropout (of the model being trained).
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
    /// Also train the word-embedding matrix (frozen by default: ~15% faster;
    /// the rank-r coefficients when factorized).
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

impl RunArgs {
    /// The tasks of `--task`.
    pub fn tasks(&self) -> Result<Vec<TaskRecipe>> {
        self.tasks
            .iter()
            .map(|t| TaskSpec::parse(t).map(|s| TaskRecipe::from(&s)))
            .collect()
    }

    /// The recipe of these arguments with the parts they do not give.
    pub fn recipe(
        &self,
        tasks: Vec<TaskRecipe>,
        init: InitFrom,
        aux: AuxHeads,
        unified: Option<TypeMap>,
        finetune_heads: bool,
    ) -> Recipe {
        Recipe {
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
            aux,
            aux_weight: self.aux_weight,
            freeze_word_embeddings: !self.train_word_embeddings,
            unified,
            finetune_heads,
        }
    }

    /// How the run is driven.
    pub fn control(&self) -> RunControl {
        RunControl {
            out: self.out.clone(),
            resume: self.resume,
            save_every: self.save_every,
            max_steps: self.max_steps,
            log_every: self.log_every.max(1),
            dev_limit: self.dev_limit,
        }
    }
}

/// How slot heads are laid out over the datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HeadMode {
    /// One slot head per dataset task.
    PerTask,
    /// One slot head over the union of the datasets' types.
    Unified,
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
            let vocab = Tok::from_file(&tok)?.vocab_size();
            Ok(InitFrom::Random(self.architecture(vocab), tok))
        } else {
            Ok(InitFrom::Pretrained(PathBuf::from(init)))
        }
    }
}

impl TrainArgs {
    /// The recipe and run control of these arguments.
    pub fn recipe(&self) -> Result<(Recipe, RunControl)> {
        let tasks = self.run.tasks()?;
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
        let aux = AuxHeads::parse(&self.aux)?;
        let r = self
            .run
            .recipe(tasks, init, aux, unified, self.finetune_heads);
        Ok((r, self.run.control()))
    }
}

/// Runs `train`.
pub fn run(a: &TrainArgs) -> Result<()> {
    let (r, c) = a.recipe()?;
    let s = train(&r, &c)?;
    eprintln!(
        "done: step {}, best mean dev F1 {:?} (epoch {:?})",
        s.step, s.best_f1, s.best_epoch
    );
    Ok(())
}
