//! The `compress` command: its arguments.

use std::path::PathBuf;

use clap::Args;

use crate::compress::{compress, CompressOptions, EmbeddingPrecision};
use crate::error::{Error, Result};

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
    /// Keep the first N rows of the position table (the longest window the
    /// runtime encodes is N tokens; the trainer's --max-len is the natural
    /// value). Default: all of them.
    #[arg(long)]
    pub max_positions: Option<usize>,
    /// Store the heads' weights int8 per row (a quarter of their f32 bytes).
    #[arg(long)]
    pub int8_heads: bool,
    /// Do not measure and store dev scores.
    #[arg(long)]
    pub no_eval: bool,
    /// Dev set of a task, `NAME=PATH` (default: the checkpoint recipe's). Repeatable.
    #[arg(long = "dev")]
    pub dev: Vec<String>,
    /// Calibrate each intent head's out-of-scope ("none of these")
    /// threshold on dev to keep this share of the in-scope utterances (0: none).
    #[arg(long, default_value_t = 0.95)]
    pub reject_tpr: f64,
}

/// Parses `--dev NAME=PATH` arguments.
pub fn parse_dev_sets(args: &[String]) -> Result<Vec<(String, PathBuf)>> {
    args.iter()
        .map(|d| {
            d.split_once('=')
                .map(|(t, p)| (t.to_string(), PathBuf::from(p)))
                .ok_or_else(|| Error::Spec(format!("--dev {d:?}: expected NAME=PATH")))
        })
        .collect()
}

/// Runs `compress`.
pub fn run(a: &CompressArgs) -> Result<()> {
    let dev = parse_dev_sets(&a.dev)?;
    let opts = CompressOptions {
        fp32: a.fp32,
        embeddings: a.embeddings,
        max_positions: a.max_positions,
        int8_heads: a.int8_heads,
        eval: !a.no_eval,
        dev,
        reject_tpr: (a.reject_tpr > 0.0).then_some(a.reject_tpr),
    };
    if !(0.0..=1.0).contains(&a.reject_tpr) {
        return Err(Error::Spec("--reject-tpr must be in [0, 1]".into()));
    }
    let c = compress(&a.checkpoint, &a.out, &opts)?;
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
