//! The optimisation loop shared by `train` and `distill`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::model::heads::TaskHeads;
use crate::model::ops::Dropout;
use crate::model::Model;
use crate::recipe::Recipe;
use crate::train::batch::{Batch, Example};
use crate::train::checkpoint::{self, save_best, save_last, TrainRun};
use crate::train::dev::evaluate_dev;
use crate::train::plan::epoch_plan;
use crate::train::progress::Progress;
use crate::train::schedule::learning_rate;
use crate::train::tasks::TaskData;

/// How the run is driven (does not change its result).
#[derive(Debug, Clone)]
pub struct RunControl {
    /// Run folder.
    pub out: PathBuf,
    /// Continue from `out/last` when it exists.
    pub resume: bool,
    /// Save `last/` every this many steps (0 = only at epoch ends).
    pub save_every: u64,
    /// Stop after this many steps in total (saving first).
    pub max_steps: Option<u64>,
    /// Seconds between plain log lines.
    pub log_every: u64,
    /// Evaluate at most this many dev sentences per task (None = all).
    pub dev_limit: Option<usize>,
}

/// Appends `v` as one JSON line to the file `name` of the run folder `run`.
pub fn log_line(run: &Path, name: &str, v: &serde_json::Value) -> Result<()> {
    let path = run.join(name);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    writeln!(f, "{v}").map_err(|e| Error::io(&path, e))
}

/// The loss of one mini-batch: (model, the batch's task heads, batch, its
/// task, the batch's windows as indices into the task's training windows,
/// dropout).
pub type BatchLossFn<'a> = dyn FnMut(&Model, &TaskHeads, &Batch, &TaskData, &[usize], &mut Option<Dropout>) -> Result<Tensor>
    + 'a;

/// The optimisation loop shared by `train` and `distill`: the epochs of `r`
/// from `run.state` on, with progress, `last/` checkpoints, per-epoch dev
/// evaluation (`dev.jsonl`) and the `best/` checkpoint. Stops early (saving)
/// at `ctl.max_steps`. With 0 epochs the starting model is saved as `best/`
/// and `last/`.
pub fn run_epochs(
    r: &Recipe,
    ctl: &RunControl,
    tasks: &[TaskData],
    run: &mut TrainRun,
    dev: &Device,
    loss_fn: &mut BatchLossFn<'_>,
) -> Result<()> {
    let dev = dev.clone();
    let plans: Vec<usize> = (0..r.epochs)
        .map(|e| epoch_plan(r, tasks, e).len())
        .collect();
    let total: u64 = plans.iter().sum::<usize>() as u64;
    let warmup = ((total as f64) * r.warmup).round() as u64;
    eprintln!(
        "{} trainable tensors ({} values), {} steps in {} epochs, warm-up {}",
        run.model.params.trainable.len(),
        run.model
            .params
            .trainable
            .values()
            .map(|v| v.elem_count())
            .sum::<usize>(),
        total,
        r.epochs,
        warmup
    );
    if r.epochs == 0 {
        // Nothing to train: the starting model is the run's result (the
        // layer source of a student that learns from gold labels only).
        save_best(&ctl.out, &run.model)?;
        save_last(&ctl.out, run, &dev)?;
        return Ok(());
    }
    let mut prog = Progress::new(total, run.state.step, Duration::from_secs(ctl.log_every));
    while run.state.epoch < r.epochs {
        let plan = epoch_plan(r, tasks, run.state.epoch);
        while run.state.batch_in_epoch < plan.len() {
            if ctl.max_steps.is_some_and(|m| run.state.step >= m) {
                prog.newline();
                save_last(&ctl.out, run, &dev)?;
                eprintln!(
                    "stopped at step {} (--max-steps); checkpoint in {}",
                    run.state.step,
                    checkpoint::last_dir(&ctl.out).display()
                );
                return Ok(());
            }
            let bp = &plan[run.state.batch_in_epoch];
            let td = &tasks[bp.task];
            let ex: Vec<&Example> = bp.items.iter().map(|&i| &td.train[i]).collect();
            let batch = Batch::new(&ex, &dev)?;
            let th = td.heads(&run.model)?;
            let rng = ChaCha8Rng::seed_from_u64(
                r.seed ^ run.state.step.wrapping_mul(0xA24B_AED4_963E_E407),
            );
            let mut drop = (r.dropout > 0.0).then(|| Dropout::new(r.dropout, rng));
            let loss = loss_fn(&run.model, &th, &batch, td, &bp.items, &mut drop)?;
            let loss_v = loss.to_scalar::<f32>()? as f64;
            if !loss_v.is_finite() {
                return Err(Error::Model(format!(
                    "loss is {loss_v} at step {}",
                    run.state.step
                )));
            }
            let grads = loss.backward()?;
            let lr = learning_rate(r.lr, run.state.step, warmup, total);
            run.opt.step(&run.model.params.trainable, &grads, lr)?;
            run.state.step += 1;
            run.state.batch_in_epoch += 1;
            prog.step(run.state.step, run.state.epoch, loss_v, batch.tokens, lr);
            if ctl.save_every > 0 && run.state.step.is_multiple_of(ctl.save_every) {
                save_last(&ctl.out, run, &dev)?;
            }
        }
        prog.newline();
        let te = Instant::now();
        let (mean_f1, per) = evaluate_dev(&run.model, tasks, &dev)?;
        let line = serde_json::json!({
            "epoch": run.state.epoch + 1,
            "step": run.state.step,
            "mean_f1": mean_f1,
            "train_tokens_per_s": prog.tokens_per_s(),
            "eval_seconds": te.elapsed().as_secs_f64(),
            "tasks": per,
        });
        eprintln!("dev after epoch {}: {line}", run.state.epoch + 1);
        log_line(&ctl.out, "dev.jsonl", &line)?;
        run.state.epoch += 1;
        run.state.batch_in_epoch = 0;
        if run.state.best_f1.is_none_or(|b| mean_f1 > b) {
            run.state.best_f1 = Some(mean_f1);
            run.state.best_epoch = Some(run.state.epoch);
            run.model.meta.scores = serde_json::from_value(serde_json::json!({
                "split": "dev", "epoch": run.state.epoch, "mean_f1": mean_f1, "tasks": per,
            }))
            .unwrap_or_default();
            save_best(&ctl.out, &run.model)?;
            eprintln!(
                "new best (mean dev F1 {mean_f1:.4}) saved in {}",
                checkpoint::best_dir(&ctl.out).display()
            );
        }
        save_last(&ctl.out, run, &dev)?;
    }
    Ok(())
}
