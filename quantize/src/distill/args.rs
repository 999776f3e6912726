//! The `distill` subcommand's arguments and their recipe.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use picotag::format::Architecture;

use crate::distill::distill;
use crate::error::{Error, Result};
use crate::model::read_meta;
use crate::recipe::{training_recipe, AuxHeads, DistillRecipe, InitFrom, KdWeights, StudentInit};
use crate::train::args::RunArgs;
use crate::train::epochs::RunControl;

/// `distill` arguments.
#[derive(Debug, Clone, Args)]
pub struct DistillArgs {
    /// Teacher checkpoint folder (e.g. runs/teacher/best): the student's
    /// layers and embeddings, and the teacher of every task without its own.
    #[arg(long)]
    pub teacher: PathBuf,
    /// A task's own teacher, `TASK=CHECKPOINT` (e.g. a single-task run of
    /// it): that task's batches learn from it. Repeatable.
    #[arg(long = "task-teacher")]
    pub task_teachers: Vec<String>,
    /// Student encoder layers.
    #[arg(long, default_value_t = 3)]
    pub layers: usize,
    /// Student hidden size.
    #[arg(long, default_value_t = 384)]
    pub hidden: usize,
    /// Student attention heads.
    #[arg(long, default_value_t = 12)]
    pub heads: usize,
    /// Student feed-forward size.
    #[arg(long, default_value_t = 1536)]
    pub intermediate: usize,
    /// Student maximum positions.
    #[arg(long, default_value_t = 512)]
    pub max_positions: usize,
    /// Teacher layers (0-based, comma list) the student's layers start from
    /// (same hidden and FFN sizes); random layers when absent.
    #[arg(long)]
    pub init_layers: Option<String>,
    /// With a smaller hidden size: start the embeddings from the teacher's, PCA-projected.
    #[arg(long)]
    pub project_embeddings: bool,
    /// Factorize the word embeddings at this rank (PCA of the teacher's).
    #[arg(long)]
    pub embedding_rank: Option<usize>,
    /// Softmax temperature of the KL term.
    #[arg(long, default_value_t = 2.0)]
    pub temperature: f64,
    /// Weight of KL(teacher ‖ student) · T².
    #[arg(long, default_value_t = 0.5)]
    pub alpha_kd: f64,
    /// Weight of the gold-label cross-entropy.
    #[arg(long, default_value_t = 0.5)]
    pub alpha_gold: f64,
    /// Weight of the MSE between mapped hidden states (0 = off).
    #[arg(long, default_value_t = 0.0)]
    pub hidden_mse: f64,
    /// Keep the teachers' logits for every training window in this folder
    /// (computed once, read back by later epochs, restarts and resumed runs;
    /// default: `OUT/teacher-cache`).
    #[arg(long)]
    pub teacher_cache: Option<PathBuf>,
    /// Run the teacher on every batch instead of caching its logits.
    #[arg(long, conflicts_with = "teacher_cache")]
    pub no_teacher_cache: bool,
    /// Tasks, optimisation and the run folder (of the student).
    #[command(flatten)]
    pub run: RunArgs,
}

/// Parses `TASK=CHECKPOINT` pairs (each task at most once).
pub fn parse_task_teachers(v: &[String]) -> Result<BTreeMap<String, PathBuf>> {
    let mut m = BTreeMap::new();
    for s in v {
        let (task, dir) = s
            .split_once('=')
            .filter(|(t, d)| !t.is_empty() && !d.is_empty())
            .ok_or_else(|| {
                Error::Spec(format!("--task-teacher {s:?}: expected TASK=CHECKPOINT"))
            })?;
        if m.insert(task.to_string(), PathBuf::from(dir)).is_some() {
            return Err(Error::Spec(format!(
                "--task-teacher: task {task:?} given twice"
            )));
        }
    }
    Ok(m)
}

/// Parses a comma list of layer indices.
pub fn parse_layers(s: &str) -> Result<Vec<usize>> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse()
                .map_err(|_| Error::Spec(format!("--init-layers: {p:?} is not a layer index")))
        })
        .collect()
}

impl DistillArgs {
    /// The recipe and run control of these arguments.
    pub fn recipe(&self) -> Result<(DistillRecipe, RunControl)> {
        let tasks = self.run.tasks()?;
        let teacher = read_meta(&self.teacher)?;
        if self.heads == 0 || !self.hidden.is_multiple_of(self.heads) {
            return Err(Error::Spec(format!(
                "--hidden {} is not a multiple of --heads {}",
                self.hidden, self.heads
            )));
        }
        let student = Architecture {
            vocab_size: teacher.architecture.vocab_size,
            hidden: self.hidden,
            layers: self.layers,
            heads: self.heads,
            intermediate: self.intermediate,
            max_positions: self.max_positions,
            type_vocab_size: teacher.architecture.type_vocab_size,
            layer_norm_eps: teacher.architecture.layer_norm_eps,
            embedding_rank: self.embedding_rank,
        };
        let init = InitFrom::Random(student.clone(), self.teacher.join("meta.json"));
        // A unified teacher is distilled into a unified student: same map.
        let unified = training_recipe(&teacher).and_then(|r| r.unified);
        let base = self.run.recipe(tasks, init, AuxHeads::NONE, unified, false);
        let dr = DistillRecipe {
            teacher: self.teacher.clone(),
            student,
            init: StudentInit {
                layers: self.init_layers.as_deref().map(parse_layers).transpose()?,
                project_embeddings: self.project_embeddings,
                seed: self.run.seed,
            },
            weights: KdWeights {
                temperature: self.temperature,
                alpha_kd: self.alpha_kd,
                alpha_gold: self.alpha_gold,
                hidden_mse: self.hidden_mse,
            },
            base,
            task_teachers: parse_task_teachers(&self.task_teachers)?,
        };
        Ok((dr, self.run.control()))
    }
}

/// Runs `distill`.
pub fn run(a: &DistillArgs) -> Result<()> {
    let (dr, c) = a.recipe()?;
    if dr.weights.temperature <= 0.0 {
        return Err(Error::Spec("--temperature must be positive".into()));
    }
    let cache = if a.no_teacher_cache {
        None
    } else {
        Some(
            a.teacher_cache
                .clone()
                .unwrap_or_else(|| c.out.join("teacher-cache")),
        )
    };
    let s = distill(&dr, &c, cache.as_deref())?;
    eprintln!(
        "done: step {}, best mean dev F1 {:?} (epoch {:?})",
        s.step, s.best_f1, s.best_epoch
    );
    Ok(())
}
