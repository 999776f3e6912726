//! `bench`: training throughput on random batches of a fixed shape.

use std::time::Instant;

use clap::Args;

use candle_core::Tensor;
use picotag::format::{HeadKind, HeadMeta, HeadRole, ModelMeta, Pooling};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::model::device;
use crate::model::ops::Dropout;
use crate::model::Model;
use crate::train::args::ArchArgs;
use crate::train::batch::{Batch, Example};
use crate::train::optim::{AdamW, AdamWConfig};
use crate::train::start::encoder_tensors;
use crate::train::step::{self, BatchInput};

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

/// Runs forward + backward + AdamW on random batches and prints tokens/s.
pub fn run(a: &BenchArgs) -> Result<()> {
    let dev = device()?;
    let (arch, tensors) = encoder_tensors(&a.arch.init(&a.init)?, 1, &dev)?;
    let labels: Vec<String> = (0..9).map(|i| format!("B-t{i}")).collect();
    let meta = ModelMeta {
        name: "bench".into(),
        architecture: arch.clone(),
        heads: vec![HeadMeta {
            name: "bench".into(),
            task: "bench".into(),
            kind: HeadKind::Token,
            role: HeadRole::Slots,
            labels,
            scheme: None,
            pooling: Pooling::Cls,
            reject_below: None,
            span_symbols: None,
            punctuation_share: None,
        }],
        tokenizer: String::new(),
        provenance: Default::default(),
        scores: Default::default(),
    };
    let model = Model::build(meta, tensors, !a.train_word_embeddings, 1, &dev)?;
    let th = model.task("bench")?.clone();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let ex: Vec<Example> = (0..a.batch_size)
        .map(|_| {
            let ids: Vec<u32> = (0..a.len)
                .map(|_| rng.random_range(1000..arch.vocab_size as u32))
                .collect();
            let pos: Vec<u32> = (1..a.len as u32 - 1).collect();
            let slot = pos.iter().map(|_| rng.random_range(0..9)).collect();
            Example {
                mtcls: vec![0; pos.len()],
                ids,
                pos,
                slot,
                intent: None,
                has_slot: 0,
                mcls: 0,
            }
        })
        .collect();
    let refs: Vec<&Example> = ex.iter().collect();
    let batch = Batch::new(&refs, &dev)?;
    let mut opt = AdamW::new(AdamWConfig::default());
    let mut times = Vec::new();
    for i in 0..=a.steps {
        let t0 = Instant::now();
        let mut drop = Some(Dropout::new(a.dropout, ChaCha8Rng::seed_from_u64(i as u64)));
        let loss = step::batch_loss(&model, &BatchInput::new(&batch, &th), 1.0, &mut drop)?;
        let t1 = Instant::now();
        let grads = loss.backward()?;
        let t2 = Instant::now();
        opt.step(&model.params.trainable, &grads, 1e-5)?;
        let t3 = Instant::now();
        if i > 0 {
            times.push((
                (t1 - t0).as_secs_f64(),
                (t2 - t1).as_secs_f64(),
                (t3 - t2).as_secs_f64(),
            ));
        }
    }
    let n = times.len().max(1) as f64;
    let (f, b, o) = times
        .iter()
        .fold((0.0, 0.0, 0.0), |s, t| (s.0 + t.0, s.1 + t.1, s.2 + t.2));
    let step = (f + b + o) / n;
    let tokens = (a.batch_size * a.len) as f64;
    println!(
        "batch {}x{}: {:.0} tokens/s  (step {:.0} ms = forward {:.0} + backward {:.0} + adamw {:.0}; threads {})",
        a.batch_size,
        a.len,
        tokens / step,
        1e3 * step,
        1e3 * f / n,
        1e3 * b / n,
        1e3 * o / n,
        candle_core::utils::get_num_threads()
    );
    let _ = Tensor::zeros(1, candle_core::DType::F32, &dev)?;
    Ok(())
}
