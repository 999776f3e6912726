//! The dev evaluation after each epoch.

use candle_core::Device;

use crate::error::Result;
use crate::eval::{predict, score_in};
use crate::model::Model;
use crate::train::tasks::TaskData;

/// Evaluates every task on its dev split: (mean F1, per-task reports as JSON).
/// A task with `asr` also reports its dev split in ASR form, under `asr` in its
/// report (not counted in the mean). With a unified head, a task is scored on
/// the types it annotates only; `foreign_spans` counts the predicted spans of
/// other types (not scored).
pub fn evaluate_dev(
    model: &Model,
    tasks: &[TaskData],
    dev: &Device,
) -> Result<(f64, serde_json::Value)> {
    let mut per = serde_json::Map::new();
    let mut sum = 0.0;
    for t in tasks {
        let th = t.heads(model)?;
        let view = t.unified.as_ref();
        let preds = predict(model, &th, &t.dev, dev)?;
        let (rep, foreign) = score_in(&t.spec.name, &t.dev, &preds, view);
        sum += rep.f1;
        let mut v = serde_json::to_value(&rep).unwrap_or(serde_json::Value::Null);
        if let (Some(o), Some(_)) = (v.as_object_mut(), view) {
            o.insert("foreign_spans".into(), serde_json::json!(foreign));
        }
        if !t.dev_asr.is_empty() {
            let preds = predict(model, &th, &t.dev_asr, dev)?;
            let (rep, _) = score_in(&t.spec.name, &t.dev_asr, &preds, view);
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "asr".into(),
                    serde_json::to_value(&rep).unwrap_or(serde_json::Value::Null),
                );
            }
        }
        per.insert(t.spec.name.clone(), v);
    }
    Ok((
        sum / tasks.len().max(1) as f64,
        serde_json::Value::Object(per),
    ))
}
