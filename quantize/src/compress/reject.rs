//! The out-of-scope ("none of these") threshold of each intent head,
//! calibrated on dev: the intent probability that keeps a share `tpr` of the
//! task's in-scope dev utterances (see `picotag::IntentThreshold`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use picotag::format::{HeadRole, ModelWriter};

use crate::data::{has_intent_in, load_split};
use crate::error::Result;
use crate::eval::reject::{model_scores, threshold_at_tpr};
use crate::recipe::training_recipe;

/// Measures the threshold of every task of `sets` that has an intent head on
/// the model file at `path` (dev utterances of intents its recipe held out
/// are left out) and stores it in `w`'s intent heads. Returns task → threshold.
pub fn calibrate(
    w: &mut ModelWriter,
    path: &Path,
    sets: &[(String, PathBuf)],
    tpr: f64,
) -> Result<BTreeMap<String, f32>> {
    let recipe = training_recipe(w.meta_mut());
    let mut out = BTreeMap::new();
    for (task, data) in sets {
        let has_intent = w
            .meta_mut()
            .heads
            .iter()
            .any(|h| h.task == *task && h.role == HeadRole::Intent);
        if !has_intent {
            continue;
        }
        let held_out: Vec<String> = recipe
            .iter()
            .flat_map(|r| &r.tasks)
            .filter(|t| t.name == *task)
            .flat_map(|t| t.hold_out.clone())
            .collect();
        let mut dev = load_split(data)?;
        dev.retain(|s| !has_intent_in(s, &held_out));
        let msp: Vec<f32> = model_scores(path, task, &dev)?
            .iter()
            .map(|s| s.msp)
            .collect();
        let th = threshold_at_tpr(&msp, tpr);
        eprintln!(
            "{task}: out-of-scope threshold {th:.4} (keeps {:.0}% of {} dev utterances)",
            100.0 * tpr,
            msp.len()
        );
        for h in &mut w.meta_mut().heads {
            if h.task == *task && h.role == HeadRole::Intent {
                h.reject_below = Some(th);
            }
        }
        out.insert(task.clone(), th);
    }
    Ok(out)
}
