//! Dev scores measured on a written model file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use picotag::format::ModelMeta;
use serde_json::{json, Value};

use crate::data::load_split;
use crate::data::unified::TaskView;
use crate::error::{Error, Result};
use crate::eval::ptag::eval_model_in;
use crate::recipe::training_recipe;

/// The dev set of each task: `overrides` first, then the checkpoint
/// recipe's `tasks[].dev`. Tasks of the model with neither are skipped
/// (with a message on stderr).
pub fn dev_sets(
    meta: &ModelMeta,
    overrides: &[(String, PathBuf)],
) -> Result<Vec<(String, PathBuf)>> {
    // The recipe of a training or a distillation run.
    let trained = training_recipe(meta);
    let recipe: Vec<(String, PathBuf)> = trained
        .iter()
        .flat_map(|r| &r.tasks)
        .map(|t| (t.name.clone(), t.dev.clone()))
        .collect();
    // A unified slot head is scored through its datasets' tasks.
    let unified = trained
        .as_ref()
        .and_then(|r| r.unified.as_ref())
        .map(|u| u.task.as_str());
    let mut tasks: Vec<&str> = Vec::new();
    for h in meta
        .heads
        .iter()
        .filter(|h| Some(h.task.as_str()) != unified)
    {
        if !tasks.contains(&h.task.as_str()) {
            tasks.push(&h.task);
        }
    }
    if let Some((t, _)) = overrides.iter().find(|(t, _)| !tasks.contains(&t.as_str())) {
        return Err(Error::Spec(format!(
            "--dev {t}=...: the model has no task {t:?} (has {tasks:?})"
        )));
    }
    let mut out = Vec::new();
    for task in tasks {
        let found = overrides
            .iter()
            .chain(&recipe)
            .find(|(t, _)| t == task)
            .map(|(_, p)| p.clone());
        match found {
            Some(p) => out.push((task.to_string(), p)),
            None => eprintln!("no dev set for task {task}: not scored (give --dev {task}=PATH)"),
        }
    }
    Ok(out)
}

/// Evaluates every `(task, dev set)` on the model file `model` and returns
/// the scores map stored in the file: split, mean F1 and one report per task
/// (without its per-type table).
/// With `views` (a unified slot head, by dataset task), each dataset is
/// scored on the unified head's slots of the types it annotates.
pub fn dev_scores(
    model: &Path,
    sets: &[(String, PathBuf)],
    views: Option<&BTreeMap<String, TaskView>>,
) -> Result<BTreeMap<String, Value>> {
    let mut tasks = serde_json::Map::new();
    let mut f1s = Vec::new();
    for (task, data) in sets {
        let view = views.and_then(|v| v.get(task));
        let rep = eval_model_in(model, task, load_split(data)?, view)?;
        eprintln!(
            "{task}: dev F1 {:.2}{} ({} sentences, {})",
            100.0 * rep.f1,
            rep.intent_accuracy
                .map(|x| format!(", intent acc {:.2}", 100.0 * x))
                .unwrap_or_default(),
            rep.sentences,
            data.display()
        );
        f1s.push(rep.f1);
        let mut v = serde_json::to_value(&rep).map_err(|e| Error::json(data, e))?;
        // In short (no per-type table): the file keeps its size budget.
        if let Some(o) = v.as_object_mut() {
            o.remove("per_type");
        }
        tasks.insert(task.clone(), v);
    }
    let mut s = BTreeMap::new();
    if f1s.is_empty() {
        return Ok(s);
    }
    s.insert("split".into(), json!("dev"));
    s.insert(
        "measured_on".into(),
        json!("this file, through the picotag runtime (has-slot gate off)"),
    );
    s.insert(
        "mean_f1".into(),
        json!(f1s.iter().sum::<f64>() / f1s.len() as f64),
    );
    s.insert("tasks".into(), Value::Object(tasks));
    Ok(s)
}
