//! Knowledge distillation: trains a small student from a teacher checkpoint on
//! the teacher's tasks, with the training loop of [`crate::train`].

pub mod args;
pub mod cache;
pub mod eigen;
pub mod init;
pub mod loss;
pub mod prune;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use candle_core::Device;
use picotag::format::{HeadMeta, ModelMeta};

use crate::data::encode::Tok;
use crate::error::{Error, Result};
use crate::model::heads::{TaskHeads, HAS_SLOT_SUFFIX, MCLS_SUFFIX, MTCLS_SUFFIX};
use crate::model::ops::Dropout;
use crate::model::{device, Model};
use crate::recipe::{AuxHeads, DistillRecipe};
use crate::train::batch::Batch;
use crate::train::checkpoint::TrainState;
use crate::train::epochs::{run_epochs, RunControl};
use crate::train::heads::head_metas;
use crate::train::resume::{report_tasks, resumable, resume_or_start};
use crate::train::start::{provenance, run_name};
use crate::train::step::{gate_negatives, BatchInput};
use crate::train::tasks::{load_tasks, TaskData};
use cache::{cache_path, TaskCache};
use eigen::principal_directions;
use init::{full_word_embeddings, layer_pairs, student_tensors};
use loss::{Distiller, HiddenMap};

/// The teacher's auxiliary heads (those of the first task), found by name
/// (a unified teacher has no per-task slot heads to start from).
fn teacher_aux(teacher: &Model, task: &str) -> AuxHeads {
    let has = |suffix: &str| {
        let name = format!("{task}.{suffix}");
        teacher.meta.heads.iter().any(|h| h.name == name)
    };
    AuxHeads {
        has_slot: has(HAS_SLOT_SUFFIX),
        mcls: has(MCLS_SUFFIX),
        mtcls: has(MTCLS_SUFFIX),
    }
}

/// The teachers of a distillation: the main one (the student's layers and
/// embeddings, and the teacher of every task without its own) and per-task
/// ones.
pub struct Teachers {
    /// `DistillRecipe::teacher`.
    pub main: Model,
    /// `DistillRecipe::task_teachers`, loaded.
    pub by_task: BTreeMap<String, Model>,
}

impl Teachers {
    /// Loads the recipe's teachers, frozen. Per-task teachers must share the
    /// main teacher's tokenizer, and exclude a hidden-state term and a
    /// unified slot head.
    pub fn load(dr: &DistillRecipe, dev: &Device) -> Result<Teachers> {
        let main = Model::load_frozen(&dr.teacher, dev)?;
        let mut by_task = BTreeMap::new();
        for (task, dir) in &dr.task_teachers {
            if !dr.base.tasks.iter().any(|t| &t.name == task) {
                return Err(Error::Spec(format!(
                    "--task-teacher {task}=…: there is no task {task:?}"
                )));
            }
            let t = Model::load_frozen(dir, dev)?;
            if t.meta.tokenizer != main.meta.tokenizer {
                return Err(Error::Spec(format!(
                    "--task-teacher {task}={}: its tokenizer differs from the teacher's",
                    dir.display()
                )));
            }
            by_task.insert(task.clone(), t);
        }
        if !by_task.is_empty() && (dr.weights.hidden_mse > 0.0 || dr.base.unified.is_some()) {
            return Err(Error::Spec(
                "per-task teachers go without --hidden-mse and without a unified slot head".into(),
            ));
        }
        Ok(Teachers { main, by_task })
    }

    /// The teacher of `task`'s batches.
    pub fn of(&self, task: &str) -> &Model {
        self.by_task.get(task).unwrap_or(&self.main)
    }
}

/// The checkpoint folder of `task`'s teacher in `dr`.
fn teacher_dir<'a>(dr: &'a DistillRecipe, task: &str) -> &'a Path {
    dr.task_teachers.get(task).unwrap_or(&dr.teacher)
}

/// Every task's cached teacher outputs in `dir` (read, or computed and
/// written), in task order; `None` when the loss needs no teacher logits or
/// needs its hidden states (a hidden-state term).
pub fn teacher_caches(
    dr: &DistillRecipe,
    teachers: &Teachers,
    tasks: &[TaskData],
    dir: &Path,
    dev: &Device,
) -> Result<Option<Vec<TaskCache>>> {
    if dr.weights.alpha_kd == 0.0 || dr.weights.hidden_mse > 0.0 {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(tasks.len());
    for td in tasks {
        let t = teachers.of(&td.spec.name);
        let th = td.heads(t)?;
        let path = cache_path(
            dir,
            &td.spec.name,
            teacher_dir(dr, &td.spec.name),
            t,
            &th,
            &td.train,
        )?;
        out.push(TaskCache::load_or_compute(&path, t, &th, &td.train, dev)?);
    }
    Ok(Some(out))
}

/// The student's heads: the heads of the distilled tasks in each task's
/// teacher (`by_task`, else `main`), checked against the labels the data gives.
pub fn student_heads(
    main: &Model,
    by_task: &BTreeMap<String, Model>,
    tasks: &[TaskData],
) -> Result<Vec<HeadMeta>> {
    let first = tasks
        .first()
        .ok_or_else(|| Error::Spec("distill needs at least one --task".into()))?;
    let of = |task: &str| by_task.get(task).unwrap_or(main);
    let aux = teacher_aux(of(&first.spec.name), &first.spec.name);
    let from_data = head_metas(tasks, aux);
    for h in &from_data {
        let t = of(&h.task)
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

/// The student model freshly initialised from `teacher`, with the heads it
/// has (the others, those of tasks with their own teacher only, start fresh).
pub fn init_student(
    dr: &DistillRecipe,
    teacher: &Model,
    heads: Vec<HeadMeta>,
    name: &str,
    dev: &Device,
) -> Result<Model> {
    let names: Vec<String> = heads
        .iter()
        .filter(|h| teacher.meta.heads.iter().any(|t| t.name == h.name))
        .map(|h| h.name.clone())
        .collect();
    let init = student_tensors(teacher, &dr.student, &dr.init, &names)?;
    let mut provenance =
        provenance(&serde_json::to_value(dr).map_err(|e| Error::json(&dr.teacher, e))?);
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

/// Distils (or resumes distilling) a student. Returns the final state. With
/// `cache_dir`, the teachers' logits are computed once into that folder (or
/// read from it) and no batch runs a teacher ([`teacher_caches`]; not with a
/// hidden-state term, which needs the teacher's hidden states).
pub fn distill(
    dr: &DistillRecipe,
    ctl: &RunControl,
    cache_dir: Option<&Path>,
) -> Result<TrainState> {
    let dev = device()?;
    std::fs::create_dir_all(&ctl.out).map_err(|e| Error::io(&ctl.out, e))?;
    let recipe_json = serde_json::to_value(dr).map_err(|e| Error::json(&ctl.out, e))?;
    let r = &dr.base;
    let resumed = resumable(ctl, r.freeze_word_embeddings.into(), r.adamw, &dev)?;
    let teachers = Teachers::load(dr, &dev)?;
    let teacher = &teachers.main;
    let tok = Tok::from_json(&teacher.meta.tokenizer)?;
    let t0 = Instant::now();
    let tasks = load_tasks(r, &tok, ctl.dev_limit)?;
    report_tasks(&tasks, t0);
    let heads = student_heads(teacher, &teachers.by_task, &tasks)?;
    let mut run = resume_or_start(resumed, &recipe_json, heads, r.seed, r.adamw, |heads| {
        init_student(dr, teacher, heads, &run_name(ctl), &dev)
    })?;
    let hidden = hidden_map(dr, teacher)?;
    let negatives = gate_negatives(&r.tasks, &run.model);
    let caches = match cache_dir {
        Some(d) => teacher_caches(dr, &teachers, &tasks, d, &dev)?,
        None => None,
    };
    let mut loss_fn = |m: &Model,
                       th: &TaskHeads,
                       b: &Batch,
                       td: &TaskData,
                       items: &[usize],
                       drop: &mut Option<Dropout>| {
        let t = teachers.of(&td.spec.name);
        let distiller = Distiller {
            teacher: t,
            weights: dr.weights,
            aux_weight: r.aux_weight,
            hidden: hidden.clone(),
        };
        let tth = td.heads(t)?;
        let x = BatchInput::of_task(b, th, td, &negatives);
        let cache = caches.as_ref().and_then(|c| {
            let i = tasks.iter().position(|x| x.spec.name == td.spec.name)?;
            c.get(i)
        });
        match cache {
            Some(c) => distiller.batch_loss_cached(m, &x, &tth, c, items, drop),
            None => distiller.batch_loss(m, &x, &tth, drop),
        }
    };
    run_epochs(r, ctl, &tasks, &mut run, &dev, &mut loss_fn)?;
    Ok(run.state)
}
