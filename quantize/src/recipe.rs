//! The recipes: everything that decides the result of a `train` or `distill`
//! run, as saved in a checkpoint's provenance (the JSON form is the checkpoint
//! format: a run resumes only with an equal recipe). Plain data, below every
//! module that runs a recipe.

use std::collections::BTreeMap;
use std::path::PathBuf;

use picotag::decode::Scheme;
use picotag::format::{Architecture, ModelMeta};
use serde::{Deserialize, Serialize};

use crate::data::labels::{detect_scheme, Vocab};
use crate::data::unified::{unify_with_domains, TaskView, TypeMap};
use crate::data::{load_split, TaskSpec};
use crate::error::{Error, Result};
use crate::model::params::Freeze;
use crate::train::optim::AdamWConfig;
use crate::train::schedule::Schedule;

/// Which auxiliary heads to train (each task's `TASK.SUFFIX`, suffixes in
/// [`crate::model::heads`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuxHeads {
    /// The has-slot head: does the sentence have a slot (the runtime's gate,
    /// role `HasSlot`). Saved under its former name `bcls`, as in the
    /// recipes of existing checkpoints.
    #[serde(rename = "bcls")]
    pub has_slot: bool,
    /// 0 / 1 / 2 / 3+ entities (max-pooled).
    pub mcls: bool,
    /// Word in a multi-word / single-word entity / outside.
    pub mtcls: bool,
}

impl AuxHeads {
    /// No auxiliary head.
    pub const NONE: AuxHeads = AuxHeads {
        has_slot: false,
        mcls: false,
        mtcls: false,
    };

    /// Parses `--aux`: a comma list of `has_slot`, `mcls`, `mtcls`, or `none`
    /// (`bcls`, the has-slot head's former name, is read as `has_slot`).
    pub fn parse(s: &str) -> Result<AuxHeads> {
        let mut a = AuxHeads::NONE;
        for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match p {
                "none" => {}
                "has_slot" | "bcls" => a.has_slot = true,
                "mcls" => a.mcls = true,
                "mtcls" => a.mtcls = true,
                _ => return Err(Error::Spec(format!("--aux: unknown head {p:?}"))),
            }
        }
        Ok(a)
    }
}

/// Where the encoder starts from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InitFrom {
    /// A folder with `model.safetensors`, `config.json`, `tokenizer.json`.
    Pretrained(PathBuf),
    /// Random weights of this shape, with the tokenizer at this path.
    Random(Architecture, PathBuf),
    /// A trained checkpoint folder (`model.safetensors` + `meta.json`) whose
    /// heads the data must reproduce: refinement of a finished run.
    Checkpoint(PathBuf),
}

/// Everything that decides the result of a run (saved in the checkpoint's provenance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    /// Tasks (name, splits, λ).
    pub tasks: Vec<TaskRecipe>,
    /// Initialisation.
    pub init: InitFrom,
    /// Epochs.
    pub epochs: usize,
    /// Sentences per batch (at most).
    pub batch_size: usize,
    /// Padded tokens per batch (at most).
    pub max_tokens: usize,
    /// Maximum sub-tokens per window, `[CLS]`/`[SEP]` included.
    pub max_len: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Warm-up, as a fraction of all steps.
    pub warmup: f64,
    /// AdamW settings.
    pub adamw: AdamWConfig,
    /// Dropout probability.
    pub dropout: f32,
    /// Seed of data order, dropout and head initialisation.
    pub seed: u64,
    /// Batch order.
    pub schedule: Schedule,
    /// Auxiliary heads.
    pub aux: AuxHeads,
    /// Weight of the auxiliary losses.
    pub aux_weight: f64,
    /// Keep the word-embedding matrix fixed.
    pub freeze_word_embeddings: bool,
    /// One slot head over the union of the datasets' types (partial-label
    /// loss), with this type map; `None`: one slot head per dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unified: Option<TypeMap>,
    /// Train the heads only: the encoder stays as initialised (per-task
    /// fine-tuning of a refined model, still one shared forward pass).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub finetune_heads: bool,
}

impl Recipe {
    /// The domain of each task, in task order.
    pub fn domains(&self) -> Vec<Option<&str>> {
        self.tasks.iter().map(|t| t.domain.as_deref()).collect()
    }

    /// The tensors this recipe keeps fixed.
    pub fn freeze(&self) -> Freeze {
        Freeze {
            word_embeddings: self.freeze_word_embeddings,
            all_but_heads: self.finetune_heads,
        }
    }
}

/// A task in the recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecipe {
    /// Name.
    pub name: String,
    /// Train split.
    pub train: PathBuf,
    /// Dev split.
    pub dev: PathBuf,
    /// λ.
    pub weight: f32,
    /// Also train on the ASR form of the sentences and score dev in that form too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub asr: bool,
    /// With `asr`: one form of each sentence per epoch, drawn at random,
    /// instead of both forms every epoch.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub asr_augment: bool,
    /// The task's domain: its sentences train the has-slot heads of tasks of
    /// other domains as "no" (see [`crate::train::step::gate_negatives`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Intents left out of training and of the dev scores.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hold_out: Vec<String>,
    /// Train on the first N sentences only (0: all).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub limit: usize,
    /// Also train on a copy of each sentence with symbols inserted between
    /// its words at this rate per gap (0: none); each epoch trains on one
    /// form of each sentence (see [`crate::data::symbols`]).
    #[serde(default, skip_serializing_if = "is_zero_rate")]
    pub symbols: f64,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_zero_rate(r: &f64) -> bool {
    *r == 0.0
}

impl From<&TaskSpec> for TaskRecipe {
    fn from(t: &TaskSpec) -> Self {
        TaskRecipe {
            name: t.name.clone(),
            train: t.train.clone(),
            dev: t.dev.clone(),
            weight: t.weight,
            asr: t.asr,
            asr_augment: t.asr_augment,
            domain: t.domain.clone(),
            hold_out: t.hold_out.clone(),
            limit: t.limit,
            symbols: t.symbols,
        }
    }
}

/// How the student starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudentInit {
    /// Teacher layers (0-based) that become the student's layers, in order
    /// (needs the same hidden and FFN sizes).
    pub layers: Option<Vec<usize>>,
    /// With a smaller hidden size: start the embeddings from the teacher's,
    /// projected on their top principal directions.
    pub project_embeddings: bool,
    /// Seed of the randomly initialised tensors.
    pub seed: u64,
}

/// Loss weights and temperature.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KdWeights {
    /// Softmax temperature `T` of the KL term.
    pub temperature: f64,
    /// Weight of `KL · T²`.
    pub alpha_kd: f64,
    /// Weight of the gold cross-entropy.
    pub alpha_gold: f64,
    /// Weight of the hidden-state MSE (0 = off).
    pub hidden_mse: f64,
}

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
    /// Per-task teachers (task name → checkpoint folder): that task's
    /// batches learn from this teacher instead of `teacher`, which still
    /// gives the student's layers and embeddings (e.g. single-task
    /// specialists distilled into one multi-task student).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub task_teachers: BTreeMap<String, PathBuf>,
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

/// The views of a unified recipe's datasets built from their training
/// labels at word level (enough for scoring: the types and their renames),
/// domains applied; by task name. `None` for a per-dataset recipe.
pub fn recipe_views(recipe: &Recipe) -> Result<Option<BTreeMap<String, TaskView>>> {
    let Some(map) = &recipe.unified else {
        return Ok(None);
    };
    let mut vocabs = Vec::new();
    for t in &recipe.tasks {
        let train = load_split(&t.train)?;
        let v = Vocab::build(
            train
                .iter()
                .flat_map(|s| s.labels.iter().map(String::as_str)),
            Some("O"),
        );
        let scheme = detect_scheme(v.labels.iter().map(String::as_str));
        vocabs.push((t.name.as_str(), v, scheme));
    }
    let own: Vec<(&str, &Vocab, Scheme)> = vocabs.iter().map(|(n, v, s)| (*n, v, *s)).collect();
    let views = unify_with_domains(map, &own, &recipe.domains())?;
    Ok(Some(
        recipe
            .tasks
            .iter()
            .map(|t| t.name.clone())
            .zip(views)
            .collect(),
    ))
}
