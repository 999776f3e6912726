//! The batches of each epoch: which training windows take part (one form of
//! each sentence with `asr_augment`) and in which order.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::recipe::Recipe;
use crate::train::schedule::{epoch_batches, BatchPlan};
use crate::train::tasks::TaskData;

/// The training windows of each task that epoch `epoch` uses: all of them,
/// except for `asr_augment` tasks, where each sentence takes part in one form
/// (the written or the ASR one, drawn with p = 1/2 from the seed and the epoch).
pub fn epoch_selection(r: &Recipe, tasks: &[TaskData], epoch: usize) -> Vec<Vec<usize>> {
    tasks
        .iter()
        .enumerate()
        .map(|(ti, t)| {
            if t.train_forms.is_empty() {
                return (0..t.train.len()).collect();
            }
            let mut rng = ChaCha8Rng::seed_from_u64(
                r.seed.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ ((epoch as u64) << 16) ^ ti as u64,
            );
            let n = t
                .train_forms
                .iter()
                .map(|f| f.0 as usize + 1)
                .max()
                .unwrap_or(0);
            let asr: Vec<bool> = (0..n).map(|_| rng.random_bool(0.5)).collect();
            let has_copy = {
                let mut h = vec![false; n];
                for &(s, a) in &t.train_forms {
                    h[s as usize] |= a;
                }
                h
            };
            t.train_forms
                .iter()
                .enumerate()
                .filter(|(_, &(s, a))| a == (asr[s as usize] && has_copy[s as usize]))
                .map(|(i, _)| i)
                .collect()
        })
        .collect()
}

/// The batches of epoch `epoch` (indices into the tasks' training windows).
pub fn epoch_plan(r: &Recipe, tasks: &[TaskData], epoch: usize) -> Vec<BatchPlan> {
    let sel = epoch_selection(r, tasks, epoch);
    let lens: Vec<Vec<usize>> = sel
        .iter()
        .zip(tasks)
        .map(|(s, t)| s.iter().map(|&i| t.train[i].ids.len()).collect())
        .collect();
    let mut plan = epoch_batches(&lens, r.batch_size, r.max_tokens, r.seed, epoch, r.schedule);
    for b in &mut plan {
        for i in &mut b.items {
            *i = sel[b.task][*i];
        }
    }
    plan
}
