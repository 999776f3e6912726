//! `adapt`: task-adaptive pre-training. Continues the encoder's masked
//! language modelling on the tasks' own text (whole-word masking, dynamic
//! masks each epoch) before `train` fine-tunes it (Gururangan et al.,
//! "Don't Stop Pretraining", 2020). The result is a pretrained folder that
//! `train --init` (and a recipe's `init`) take like the original encoder.
//!
//! One job per file: the text ([`corpus`]), the masks ([`mask`]), the head
//! and loss ([`mlm`]), the loop with its checkpoints ([`run`]).

pub mod corpus;
pub mod mask;
pub mod mlm;
pub mod run;

use std::path::PathBuf;

use clap::Args;

/// `adapt` arguments.
#[derive(Debug, Clone, Args)]
pub struct AdaptArgs {
    /// Pretrained folder (model.safetensors + config.json + tokenizer.json).
    #[arg(long)]
    pub init: PathBuf,
    /// Text to train on: a dataset folder (its train split; its dev split is
    /// held out to report the masked-token loss) or a split file/folder
    /// (`.tsv`, `.jsonl`, `seq.in` folder). Repeat for several.
    #[arg(long = "text", required = true)]
    pub text: Vec<PathBuf>,
    /// Output folder: `last/` (resumable state), `epoch-N/` (a pretrained
    /// folder after each epoch), `adapt.jsonl` (held-out loss per epoch).
    #[arg(long)]
    pub out: PathBuf,
    /// Passes over the text.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Peak learning rate (linear warm-up, then linear decay to 0).
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// Fraction of the steps spent warming up.
    #[arg(long, default_value_t = 0.06)]
    pub warmup: f64,
    /// Windows per batch.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Padded tokens per batch (at most).
    #[arg(long, default_value_t = 4096)]
    pub max_tokens: usize,
    /// Maximum sub-tokens per window (longer sentences are split).
    #[arg(long, default_value_t = 128)]
    pub max_len: usize,
    /// Fraction of words masked.
    #[arg(long, default_value_t = 0.15)]
    pub mask_rate: f64,
    /// Train the word embeddings too. Off by default: the table stays as
    /// pretrained (as `train` keeps it) and the head's output layer, tied
    /// to it, reads it; each step then costs far less.
    #[arg(long)]
    pub train_word_embeddings: bool,
    /// Dropout.
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f32,
    /// Seed of shuffles, masks and dropout.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Held-out sentences read from each dataset's dev split (0 = all).
    #[arg(long, default_value_t = 500)]
    pub dev_limit: usize,
    /// Save `last/` every this many steps (and at each epoch's end).
    #[arg(long, default_value_t = 200)]
    pub save_every: u64,
    /// Stop after this many steps in total (saving first).
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Continue from `OUT/last` when it exists.
    #[arg(long)]
    pub resume: bool,
    /// Seconds between plain log lines.
    #[arg(long, default_value_t = 60)]
    pub log_every: u64,
}

/// Runs `adapt`.
pub fn run(a: &AdaptArgs) -> crate::error::Result<()> {
    run::adapt(a)
}
