//! Knowledge distillation: trains a small student from a teacher checkpoint on
//! the teacher's tasks, with the training loop of [`crate::train`].

pub mod args;
pub mod eigen;
pub mod init;
pub mod loss;

use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use picotag::format::{Architecture, HeadMeta, ModelMeta};
use serde::{Deserialize, Serialize};

use crate::data::encode::Tok;
use crate::data::labels::Vocab;
use crate::error::{Error, Result};
use crate::model::heads::TaskHeads;
use crate::model::ops::Dropout;
use crate::model::Model;
use crate::train::batch::Batch;
use crate::train::checkpoint::{last_dir, load_last, TrainState};
use crate::train::optim::AdamW;
use crate::train::{
    device, head_metas, load_tasks, run_epochs, AuxHeads, Recipe, RunControl, TaskData,
};
use eigen::principal_directions;
use init::{full_word_embeddings, layer_pairs, student_tensors, StudentInit};
use loss::{Distiller, HiddenMap, KdWeights};

/// Everything that decides the result of a distillation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistillRecipe {
    /// Teacher checkpoint folder (`model.safetensors` + `meta.json`).
    pub teacher: PathBuf,
    /// The student's shape (`embedding_rank` set for factorized word embeddings).
    pub student: Architecture,
    /// How the student starts.
    pub init: StudentInit,
    /// Loss weights and temperature.
    pub weights: KdWeights,
    /// Tasks and optimisation (`base.init` and `base.aux` are ignored: the
    /// student's tokenizer and heads are the teacher's).
    pub base: Recipe,
}

/// The training recipe a checkpoint or model was made with: a `train`
/// recipe, or the base recipe of a distillation (whose tasks and type map
/// are the student's). `None` when the provenance holds neither.
pub fn training_recipe(meta: &ModelMeta) -> Option<Recipe> {
    let r = meta.provenance.get("recipe")?;
    serde_json::from_value::<Recipe>(r.clone())
        .ok()
        .or_else(|| {
            Some(
                serde_json::from_value::<DistillRecipe>(r.clone())
                    .ok()?
                    .base,
            )
        })
}

/// The teacher's auxiliary heads (those of the first task), found by name
/// (a unified teacher has no per-task slot heads to start from).
fn teacher_aux(teacher: &Model, task: &str) -> AuxHeads {
    let has = |suffix: &str| {
        let name = format!("{task}.{suffix}");
        teacher.meta.heads.iter().any(|h| h.name == name)
    };
    AuxHeads {
        bcls: has("bcls"),
        mcls: has("mcls"),
        mtcls: has("mtcls"),
    }
}

/// The student's heads: the teacher's heads of the distilled tasks, checked
/// against the labels the data gives.
pub fn student_heads(teacher: &Model, tasks: &[TaskData]) -> Result<Vec<HeadMeta>> {
    let first = tasks
        .first()
        .ok_or_else(|| Error::Spec("distill needs at least one --task".into()))?;
    let aux = teacher_aux(teacher, &first.spec.name);
    let from_data = head_metas(tasks, aux);
    for h in &from_data {
        let t = teacher
            .meta
            .heads
            .iter()
            .find(|t| t.name == h.name)
            .ok_or_else(|| Error::Spec(format!("the teacher has no head {:?}", h.name)))?;
        if t != h {
            return Err(Error::Spec(format!(
                "head {:?}: the data's labels differ from the teacher's",
                h.name
            )));
        }
    }
    Ok(from_data)
}

/// The student model freshly initialised from `teacher` (heads included).
pub fn init_student(
    dr: &DistillRecipe,
    teacher: &Model,
    heads: Vec<HeadMeta>,
    name: &str,
    dev: &Device,
) -> Result<Model> {
    let names: Vec<String> = heads.iter().map(|h| h.name.clone()).collect();
    let init = student_tensors(teacher, &dr.student, &dr.init, &names)?;
    let mut provenance = std::collections::BTreeMap::new();
    provenance.insert(
        "recipe".to_string(),
        serde_json::to_value(dr).map_err(|e| Error::json(&dr.teacher, e))?,
    );
    provenance.insert(
        "tool".to_string(),
        serde_json::json!(format!("picotag-quantize {}", env!("CARGO_PKG_VERSION"))),
    );
    provenance.insert(
        "teacher".to_string(),
        serde_json::json!({"path": dr.teacher, "name": teacher.meta.name, "scores": teacher.meta.scores}),
    );
    if let Some(e) = init.embedding_energy {
        eprintln!(
            "word embeddings factorized at rank {}: {:.2}% of the energy kept",
            dr.student.embedding_rank.unwrap_or(0),
            100.0 * e
        );
        provenance.insert("embedding_energy_kept".to_string(), serde_json::json!(e));
    }
    let meta = ModelMeta {
        name: name.to_string(),
        architecture: dr.student.clone(),
        heads,
        tokenizer: teacher.meta.tokenizer.clone(),
        provenance,
        scores: Default::default(),
    };
    Model::build(
        meta,
        init.tensors,
        dr.base.freeze_word_embeddings,
        dr.base.seed,
        dev,
    )
}

/// The hidden-state pairs (and projection) of the MSE term.
pub fn hidden_map(dr: &DistillRecipe, teacher: &Model) -> Result<HiddenMap> {
    if dr.weights.hidden_mse <= 0.0 {
        return Ok(HiddenMap {
            pairs: Vec::new(),
            projection: None,
        });
    }
    let ta = &teacher.meta.architecture;
    let projection = if ta.hidden == dr.student.hidden {
        None
    } else {
        Some(principal_directions(&full_word_embeddings(teacher)?, dr.student.hidden)?.0)
    };
    Ok(HiddenMap {
        pairs: layer_pairs(dr.student.layers, ta.layers, &dr.init),
        projection,
    })
}

/// Distils (or resumes distilling) a student. Returns the final state.
pub fn distill(dr: &DistillRecipe, ctl: &RunControl) -> Result<TrainState> {
    let dev = device()?;
    std::fs::create_dir_all(&ctl.out).map_err(|e| Error::io(&ctl.out, e))?;
    let recipe_json = serde_json::to_value(dr).map_err(|e| Error::json(&ctl.out, e))?;
    let r = &dr.base;
    let resumed = if ctl.resume {
        load_last(&ctl.out, r.freeze_word_embeddings, r.adamw, &dev)?
    } else if last_dir(&ctl.out).exists() {
        return Err(Error::Spec(format!(
            "{} already holds a run: pass --resume to continue it, or use another --out",
            ctl.out.display()
        )));
    } else {
        None
    };
    let teacher = Model::load_frozen(&dr.teacher, &dev)?;
    let tok = Tok::from_json(&teacher.meta.tokenizer)?;
    let t0 = Instant::now();
    let tasks = load_tasks(r, &tok, ctl.dev_limit)?;
    for t in &tasks {
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
    let heads = student_heads(&teacher, &tasks)?;
    let (mut model, mut opt, mut state) = match resumed {
        Some((m, o, s)) => {
            if s.recipe != recipe_json {
                return Err(Error::Spec(
                    "--resume with a different recipe than the checkpoint's".into(),
                ));
            }
            if m.meta.heads != heads {
                return Err(Error::Spec(
                    "--resume: the data gives other heads than the checkpoint".into(),
                ));
            }
            eprintln!(
                "resuming at step {} (epoch {}, batch {})",
                s.step,
                s.epoch + 1,
                s.batch_in_epoch
            );
            (m, o, s)
        }
        None => {
            let name = ctl
                .out
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let model = init_student(dr, &teacher, heads, &name, &dev)?;
            let state = TrainState {
                step: 0,
                epoch: 0,
                batch_in_epoch: 0,
                seed: r.seed,
                best_f1: None,
                best_epoch: None,
                recipe: recipe_json.clone(),
            };
            (model, AdamW::new(r.adamw), state)
        }
    };
    let distiller = Distiller {
        teacher: &teacher,
        weights: dr.weights,
        aux_weight: r.aux_weight,
        hidden: hidden_map(dr, &teacher)?,
    };
    let negatives = crate::train::step::gate_negatives(&r.tasks, &model);
    let mut loss_fn =
        |m: &Model, th: &TaskHeads, b: &Batch, td: &TaskData, drop: &mut Option<Dropout>| {
            let neg = negatives.get(&td.spec.name).map_or(&[][..], Vec::as_slice);
            let tth = td.heads(&teacher)?;
            let o_set = td.unified.as_ref().map(|v| v.o_set.as_slice());
            let w = td.spec.weight as f64;
            distiller.batch_loss(m, th, &tth, neg, o_set, b, w, drop)
        };
    run_epochs(
        r,
        ctl,
        &tasks,
        &mut model,
        &mut opt,
        &mut state,
        &dev,
        &mut loss_fn,
    )?;
    Ok(state)
}
