//! Run folders: the resumable `last/` checkpoint, the `best/` one, and the state file.
//!
//! `last/` holds `model.safetensors`, `meta.json`, `optimizer.safetensors` and
//! `state.json`; it is written to `last.tmp/` and renamed, so a run killed while
//! saving still has its previous checkpoint.

use std::path::{Path, PathBuf};

use candle_core::Device;

use super::optim::{AdamW, AdamWConfig};
use crate::error::{read_text, Error, Result};
use crate::model::{write_json, Model};

/// What a run trains and its `last/` checkpoint holds: the model, the
/// optimiser and where the run is.
pub struct TrainRun {
    /// The model being trained.
    pub model: Model,
    /// The optimiser and its moments.
    pub opt: AdamW,
    /// Where the run is.
    pub state: TrainState,
}

/// Where the run is, enough to continue it exactly.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainState {
    /// Optimizer steps done.
    pub step: u64,
    /// Current epoch (0-based).
    pub epoch: usize,
    /// Batches of the current epoch already done.
    pub batch_in_epoch: usize,
    /// The run's seed (data order and dropout derive from seed, epoch and step).
    pub seed: u64,
    /// Best mean dev F1 so far.
    pub best_f1: Option<f64>,
    /// Epoch of the best checkpoint.
    pub best_epoch: Option<usize>,
    /// Recipe fingerprint: a resumed run must use the same one.
    pub recipe: serde_json::Value,
}

/// The `last/` folder of a run.
pub fn last_dir(run: &Path) -> PathBuf {
    run.join("last")
}

/// The `best/` folder of a run.
pub fn best_dir(run: &Path) -> PathBuf {
    run.join("best")
}

fn replace_dir(tmp: &Path, dest: &Path) -> Result<()> {
    let old = dest.with_extension("old");
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    if dest.exists() {
        std::fs::rename(dest, &old).map_err(|e| Error::io(dest, e))?;
    }
    std::fs::rename(tmp, dest).map_err(|e| Error::io(tmp, e))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    Ok(())
}

/// Saves the resumable checkpoint.
pub fn save_last(run: &Path, t: &TrainRun, dev: &Device) -> Result<()> {
    let tmp = run.join("last.tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    t.model.save(&tmp)?;
    t.opt.save(&tmp.join("optimizer.safetensors"), dev)?;
    write_json(&tmp.join("state.json"), &t.state)?;
    replace_dir(&tmp, &last_dir(run))
}

/// Saves the model as the run's best checkpoint.
pub fn save_best(run: &Path, model: &Model) -> Result<()> {
    let tmp = run.join("best.tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    model.save(&tmp)?;
    replace_dir(&tmp, &best_dir(run))
}

/// Loads `last/` if the run has one: model, optimizer, state.
pub fn load_last(
    run: &Path,
    freeze: impl Into<crate::model::params::Freeze>,
    cfg: AdamWConfig,
    dev: &Device,
) -> Result<Option<TrainRun>> {
    let dir = last_dir(run);
    let state_path = dir.join("state.json");
    if !state_path.is_file() {
        return Ok(None);
    }
    let state: TrainState =
        serde_json::from_str(&read_text(&state_path)?).map_err(|e| Error::json(&state_path, e))?;
    let model = Model::load(&dir, freeze, dev)?;
    let opt = AdamW::load(cfg, &dir.join("optimizer.safetensors"), dev)?;
    Ok(Some(TrainRun { model, opt, state }))
}
