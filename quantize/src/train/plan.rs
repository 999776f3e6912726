//! The batches of each epoch: which training windows take part (one form of
//! each sentence with `asr_augment`) and in which order.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::recipe::Recipe;
use crate::train::schedule::{epoch_batches, BatchPlan};
use crate::train::tasks::{Form, TaskData};

/// The training windows of each task that epoch `epoch` uses: all of them,
/// except for tasks with several forms of a sentence (`asr=aug`, `symbols`),
/// where each sentence takes part in one form, drawn uniformly from the seed
/// and the epoch.
pub fn epoch_selection(r: &Recipe, tasks: &[TaskData], epoch: usize) -> Vec<Vec<usize>> {
    tasks
        .iter()
        .enumerate()
        .map(|(ti, t)| {
            if t.train_forms.is_empty() {
                return (0..t.train.len()).collect();
            }
            let seed =
                r.seed.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ ((epoch as u64) << 16) ^ ti as u64;
            let n = t
                .train_forms
                .iter()
                .map(|f| f.0 as usize + 1)
                .max()
                .unwrap_or(0);
            let (mut has_asr, mut has_symbols) = (vec![false; n], vec![false; n]);
            for &(s, f) in &t.train_forms {
                has_asr[s as usize] |= f == Form::Asr;
                has_symbols[s as usize] |= f == Form::Symbols;
            }
            // The ASR draw comes first and alone from its stream, so runs
            // without symbol noise keep the selection they always had.
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let asr: Vec<bool> = (0..n).map(|_| rng.random_bool(0.5)).collect();
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9E37_79B9_7F4A_7C15);
            let chosen: Vec<Form> = (0..n)
                .map(|s| {
                    let forms = 1 + usize::from(has_asr[s]) + usize::from(has_symbols[s]);
                    if has_symbols[s] && rng.random_range(0..forms) == 0 {
                        Form::Symbols
                    } else if has_asr[s] && asr[s] {
                        Form::Asr
                    } else {
                        Form::Given
                    }
                })
                .collect();
            t.train_forms
                .iter()
                .enumerate()
                .filter(|(_, &(s, f))| f == chosen[s as usize])
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
