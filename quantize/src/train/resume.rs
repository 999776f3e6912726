//! A run's start or resumption, shared by `train` and `distill`: the run
//! folder's `last/` checkpoint, checked against the recipe and the heads the
//! data gives, or a fresh model at step 0.

use std::time::Instant;

use candle_core::Device;
use picotag::format::HeadMeta;

use crate::data::labels::Vocab;
use crate::error::{Error, Result};
use crate::model::params::Freeze;
use crate::model::Model;
use crate::train::checkpoint::{last_dir, load_last, TrainRun, TrainState};
use crate::train::epochs::RunControl;
use crate::train::optim::{AdamW, AdamWConfig};
use crate::train::tasks::TaskData;

/// What a run continues from: `out/last` with `--resume` (`None` when there
/// is none yet); an error when `out` already holds a run and `--resume` is
/// not given.
pub fn resumable(
    ctl: &RunControl,
    freeze: Freeze,
    adamw: AdamWConfig,
    dev: &Device,
) -> Result<Option<TrainRun>> {
    if ctl.resume {
        load_last(&ctl.out, freeze, adamw, dev)
    } else if last_dir(&ctl.out).exists() {
        Err(Error::Spec(format!(
            "{} already holds a run: pass --resume to continue it, or use another --out",
            ctl.out.display()
        )))
    } else {
        Ok(None)
    }
}

/// Prints each task's data sizes and the time since `t0`.
pub fn report_tasks(tasks: &[TaskData], t0: Instant) {
    for t in tasks {
        eprintln!(
            "task {}: {} train windows, {} dev sentences, {} slot labels, intents: {}",
            t.spec.name,
            t.train.len(),
            t.dev.len(),
            t.slots.len(),
            t.intents.as_ref().map_or(0, Vocab::len)
        );
    }
    eprintln!("data ready in {:.1}s", t0.elapsed().as_secs_f64());
}

/// The model, optimiser and state a run trains from: the `resumed` ones,
/// which must have been made with `recipe_json` and have `heads`, or else
/// `fresh(heads)` with a new optimiser at step 0.
pub fn resume_or_start(
    resumed: Option<TrainRun>,
    recipe_json: &serde_json::Value,
    heads: Vec<HeadMeta>,
    seed: u64,
    adamw: AdamWConfig,
    fresh: impl FnOnce(Vec<HeadMeta>) -> Result<Model>,
) -> Result<TrainRun> {
    match resumed {
        Some(run) => {
            if run.state.recipe != *recipe_json {
                return Err(Error::Spec(
                    "--resume with a different recipe than the checkpoint's".into(),
                ));
            }
            if run.model.meta.heads != heads {
                return Err(Error::Spec(
                    "--resume: the data gives other heads than the checkpoint".into(),
                ));
            }
            let s = &run.state;
            eprintln!(
                "resuming at step {} (epoch {}, batch {})",
                s.step,
                s.epoch + 1,
                s.batch_in_epoch
            );
            Ok(run)
        }
        None => {
            let state = TrainState {
                step: 0,
                epoch: 0,
                batch_in_epoch: 0,
                seed,
                best_f1: None,
                best_epoch: None,
                recipe: recipe_json.clone(),
            };
            Ok(TrainRun {
                model: fresh(heads)?,
                opt: AdamW::new(adamw),
                state,
            })
        }
    }
}
