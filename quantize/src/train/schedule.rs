//! The order of mini-batches: length buckets, task mixing, seeded shuffles.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// How the tasks' mini-batches are ordered within an epoch.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// All tasks' batches shuffled together (MT-DNN / MT-BioNER).
    Mixed,
    /// Task after task within each epoch, each task's batches shuffled.
    Sequential,
}

/// One mini-batch: a task and indices into that task's examples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPlan {
    /// Task index.
    pub task: usize,
    /// Example indices.
    pub items: Vec<usize>,
}

/// The batches of one epoch, a pure function of (lengths, batch size, seed, epoch).
///
/// Each task's examples are shuffled, then sorted by length (stable, so equal
/// lengths stay shuffled) and cut into batches of at most `batch_size`
/// examples and `max_tokens` padded tokens: batches hold similar lengths and
/// carry little padding. The batches are then shuffled.
pub fn epoch_batches(
    lens: &[Vec<usize>],
    batch_size: usize,
    max_tokens: usize,
    seed: u64,
    epoch: usize,
    schedule: Schedule,
) -> Vec<BatchPlan> {
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ epoch as u64);
    let mut per_task: Vec<Vec<BatchPlan>> = Vec::new();
    for (task, l) in lens.iter().enumerate() {
        let mut idx: Vec<usize> = (0..l.len()).collect();
        idx.shuffle(&mut rng);
        idx.sort_by_key(|&i| l[i]);
        let mut batches = Vec::new();
        let mut cur: Vec<usize> = Vec::new();
        for i in idx {
            let longest = cur.iter().map(|&j| l[j]).max().unwrap_or(0).max(l[i]);
            if !cur.is_empty()
                && (cur.len() >= batch_size || longest * (cur.len() + 1) > max_tokens)
            {
                batches.push(BatchPlan {
                    task,
                    items: std::mem::take(&mut cur),
                });
            }
            cur.push(i);
        }
        if !cur.is_empty() {
            batches.push(BatchPlan { task, items: cur });
        }
        batches.shuffle(&mut rng);
        per_task.push(batches);
    }
    let mut all: Vec<BatchPlan> = per_task.into_iter().flatten().collect();
    if schedule == Schedule::Mixed {
        all.shuffle(&mut rng);
    }
    all
}

/// Learning rate at `step` (0-based): linear warm-up over `warmup` steps, then linear decay to 0 at `total`.
pub fn learning_rate(peak: f64, step: u64, warmup: u64, total: u64) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let rest = total.saturating_sub(warmup).max(1);
    peak * (total.saturating_sub(step) as f64 / rest as f64).max(0.0)
}
