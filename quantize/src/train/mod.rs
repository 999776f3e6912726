//! Multi-task training of the teacher.

pub mod batch;
pub mod checkpoint;
pub mod optim;
pub mod progress;
pub mod schedule;
pub mod step;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use picotag::decode::Scheme;
use picotag::format::{Architecture, HeadKind, HeadMeta, HeadRole, ModelMeta, Pooling};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::asr::{asr_copies, asr_form, with_asr_copies};
use crate::data::encode::Tok;
use crate::data::labels::{detect_scheme, Vocab, BCLS_LABELS, MCLS_LABELS, MTCLS_LABELS};
use crate::data::unified::{unify_recipe, TaskView, TypeMap};
use crate::data::{load_split, TaskSpec};
use crate::error::{Error, Result};
use crate::eval::{predict, prepare, score_in, EvalSentence};
use crate::model::heads::{heads_of_task, TaskHeads};
use crate::model::ops::Dropout;
use crate::model::params::Freeze;
use crate::model::{params, Model};
use batch::{examples, Batch, Example};
use checkpoint::{load_last, save_best, save_last, TrainState};
use optim::{AdamW, AdamWConfig};
use progress::Progress;
use schedule::{epoch_batches, learning_rate, Schedule};

/// Which auxiliary heads to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuxHeads {
    /// Sentence has an entity.
    pub bcls: bool,
    /// 0 / 1 / 2 / 3+ entities (max-pooled).
    pub mcls: bool,
    /// Word in a multi-word / single-word entity / outside.
    pub mtcls: bool,
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
    /// The task's domain: its sentences train the has-slot (`bcls`) heads of
    /// tasks of other domains as "no" (see [`step::gate_negatives`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
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
        }
    }
}

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

/// A task's data, ready to train on.
pub struct TaskData {
    /// The recipe entry.
    pub spec: TaskRecipe,
    /// Slot labels (piece level).
    pub slots: Vocab,
    /// Intent labels, when every training sentence has one.
    pub intents: Option<Vocab>,
    /// Tagging scheme.
    pub scheme: Scheme,
    /// Training windows.
    pub train: Vec<Example>,
    /// With `asr_augment`: per training window, its sentence and whether it
    /// is that sentence's ASR form (see [`epoch_selection`]); else empty.
    pub train_forms: Vec<(u32, bool)>,
    /// Dev sentences.
    pub dev: Vec<EvalSentence>,
    /// Dev sentences in ASR form (empty unless the task has `asr`).
    pub dev_asr: Vec<EvalSentence>,
    /// With a unified head: the task's place in its labels (the training
    /// windows' slot indices are then unified ones).
    pub unified: Option<TaskView>,
}

impl TaskData {
    /// The heads this task trains and is scored with: its own, with the
    /// unified slot head in place of its own when there is one.
    pub fn heads(&self, model: &Model) -> Result<TaskHeads> {
        match &self.unified {
            None => Ok(model.task(&self.spec.name)?.clone()),
            Some(v) => {
                let slots = model.task(&v.head.task)?.slots;
                Ok(heads_of_task(&model.meta, &self.spec.name, slots))
            }
        }
    }
}

/// Loads and encodes every task of the recipe.
pub fn load_tasks(r: &Recipe, tok: &Tok, dev_limit: Option<usize>) -> Result<Vec<TaskData>> {
    let mut out = Vec::new();
    for spec in &r.tasks {
        let mut train = load_split(&spec.train)?;
        // Sentence and form of each training sentence (asr=aug only).
        let mut forms: Vec<(u32, bool)> = Vec::new();
        if spec.asr && spec.asr_augment {
            let copies = asr_copies(&train);
            forms = (0..train.len() as u32).map(|i| (i, false)).collect();
            for (i, c) in copies {
                forms.push((i as u32, true));
                train.push(c);
            }
        } else if spec.asr {
            train = with_asr_copies(train);
        }
        if train.is_empty() {
            return Err(Error::Spec(format!(
                "{}: no sentences",
                spec.train.display()
            )));
        }
        let encoded = train
            .iter()
            .map(|s| tok.encode(&s.words, r.max_len))
            .collect::<Result<Vec<_>>>()?;
        let piece_labels: Vec<Vec<String>> = train
            .iter()
            .zip(&encoded)
            .map(|(s, e)| e.piece_labels(&s.labels))
            .collect();
        let slots = Vocab::build(piece_labels.iter().flatten().map(String::as_str), Some("O"));
        let scheme = detect_scheme(slots.labels.iter().map(String::as_str));
        let intents = train
            .iter()
            .all(|s| s.intent.is_some())
            .then(|| Vocab::build(train.iter().filter_map(|s| s.intent.as_deref()), None));
        let mut ex = Vec::new();
        let mut train_forms = Vec::new();
        for (k, (s, e)) in train.iter().zip(&encoded).enumerate() {
            let before = ex.len();
            ex.extend(
                examples(s, e, &slots, intents.as_ref(), &spec.train)?
                    .into_iter()
                    .filter(|x| !x.pos.is_empty()),
            );
            if let Some(&f) = forms.get(k) {
                train_forms.extend(std::iter::repeat_n(f, ex.len() - before));
            }
        }
        let mut dev_s = load_split(&spec.dev)?;
        if let Some(n) = dev_limit {
            dev_s.truncate(n);
        }
        let dev_asr = if spec.asr {
            prepare(tok, dev_s.iter().map(asr_form).collect(), r.max_len)?
        } else {
            Vec::new()
        };
        let dev = prepare(tok, dev_s, r.max_len)?;
        out.push(TaskData {
            spec: spec.clone(),
            slots,
            intents,
            scheme,
            train: ex,
            train_forms,
            dev,
            dev_asr,
            unified: None,
        });
    }
    if let Some(map) = &r.unified {
        let own: Vec<(&str, &Vocab, Scheme)> = out
            .iter()
            .map(|t| (t.spec.name.as_str(), &t.slots, t.scheme))
            .collect();
        let views = unify_recipe(map, r, &own)?;
        for (t, v) in out.iter_mut().zip(views) {
            for e in &mut t.train {
                for s in &mut e.slot {
                    *s = v.to_unified[*s as usize];
                }
            }
            t.unified = Some(v);
        }
    }
    Ok(out)
}

/// The heads of the tasks, following the naming convention: per task its
/// slot head `NAME`, `NAME.intent` and the auxiliary heads; with a unified
/// head, that head (named for its task) first and no per-task slot heads.
pub fn head_metas(tasks: &[TaskData], aux: AuxHeads) -> Vec<HeadMeta> {
    let mut v = Vec::new();
    let strs = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let unified = tasks
        .first()
        .and_then(|t| t.unified.as_ref())
        .map(|v| &v.head);
    if let Some(u) = unified {
        v.push(HeadMeta {
            name: u.task.clone(),
            task: u.task.clone(),
            kind: HeadKind::Token,
            role: HeadRole::Slots,
            labels: u.labels.labels.clone(),
            scheme: Some(u.scheme),
            pooling: Pooling::Cls,
        });
    }
    for t in tasks {
        let n = &t.spec.name;
        let head = |suffix: &str, kind, role, labels, pooling| HeadMeta {
            name: if suffix.is_empty() {
                n.clone()
            } else {
                format!("{n}.{suffix}")
            },
            task: n.clone(),
            kind,
            role,
            labels,
            scheme: (kind == HeadKind::Token && role == HeadRole::Slots).then_some(t.scheme),
            pooling,
        };
        if unified.is_none() {
            v.push(head(
                "",
                HeadKind::Token,
                HeadRole::Slots,
                t.slots.labels.clone(),
                Pooling::Cls,
            ));
        }
        if let Some(i) = &t.intents {
            v.push(head(
                "intent",
                HeadKind::Sentence,
                HeadRole::Intent,
                i.labels.clone(),
                Pooling::Cls,
            ));
        }
        if aux.bcls {
            v.push(head(
                "bcls",
                HeadKind::Sentence,
                HeadRole::HasSlot,
                strs(&BCLS_LABELS),
                Pooling::Cls,
            ));
        }
        if aux.mcls {
            v.push(head(
                "mcls",
                HeadKind::Sentence,
                HeadRole::Aux,
                strs(&MCLS_LABELS),
                Pooling::Max,
            ));
        }
        if aux.mtcls {
            v.push(head(
                "mtcls",
                HeadKind::Token,
                HeadRole::Aux,
                strs(&MTCLS_LABELS),
                Pooling::Cls,
            ));
        }
    }
    v
}

/// The device: CUDA when built with it and present, else the CPU.
pub fn device() -> Result<Device> {
    #[cfg(feature = "cuda")]
    {
        Ok(Device::cuda_if_available(0)?)
    }
    #[cfg(not(feature = "cuda"))]
    {
        Ok(Device::Cpu)
    }
}

fn log_line(run: &Path, name: &str, v: &serde_json::Value) -> Result<()> {
    let path = run.join(name);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    writeln!(f, "{v}").map_err(|e| Error::io(&path, e))
}

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

/// Trains (or resumes) a run. Returns the final state.
pub fn train(r: &Recipe, ctl: &RunControl) -> Result<TrainState> {
    let dev = device()?;
    std::fs::create_dir_all(&ctl.out).map_err(|e| Error::io(&ctl.out, e))?;
    let recipe_json = serde_json::to_value(r).map_err(|e| Error::json(&ctl.out, e))?;
    let resumed = if ctl.resume {
        load_last(&ctl.out, r.freeze(), r.adamw, &dev)?
    } else if checkpoint::last_dir(&ctl.out).exists() {
        return Err(Error::Spec(format!(
            "{} already holds a run: pass --resume to continue it, or use another --out",
            ctl.out.display()
        )));
    } else {
        None
    };
    let tok = match (&resumed, &r.init) {
        (Some((m, _, _)), _) => Tok::from_json(&m.meta.tokenizer)?,
        (None, InitFrom::Pretrained(d)) => Tok::from_file(&d.join("tokenizer.json"))?,
        (None, InitFrom::Random(_, t)) => Tok::from_file(t)?,
        (None, InitFrom::Checkpoint(d)) => Tok::from_json(&crate::model::read_meta(d)?.tokenizer)?,
    };
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
    let heads = head_metas(&tasks, r.aux);
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
            let model = match &r.init {
                InitFrom::Checkpoint(d) => refine_start(d, ctl, heads, &recipe_json, r, &dev)?,
                _ => fresh_start(ctl, heads, &tok, &recipe_json, r, &dev)?,
            };
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
    let negatives = step::gate_negatives(&r.tasks, &model);
    let mut loss_fn = |model: &Model,
                       th: &TaskHeads,
                       batch: &Batch,
                       td: &TaskData,
                       drop: &mut Option<Dropout>| {
        let neg = negatives.get(&td.spec.name).map_or(&[][..], Vec::as_slice);
        let w = td.spec.weight as f64;
        let o_set = td.unified.as_ref().map(|v| v.o_set.as_slice());
        step::batch_loss(model, th, neg, o_set, batch, w, r.aux_weight, drop)
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

/// The provenance of a run of `recipe_json`.
fn provenance(
    recipe_json: &serde_json::Value,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    let mut p = std::collections::BTreeMap::new();
    p.insert("recipe".to_string(), recipe_json.clone());
    p.insert(
        "tool".to_string(),
        serde_json::json!(format!("picotag-quantize {}", env!("CARGO_PKG_VERSION"))),
    );
    p
}

/// The model name of a run: its folder's.
fn run_name(ctl: &RunControl) -> String {
    ctl.out
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The encoder of a pretrained or random start: its shape and tensors.
pub fn encoder_tensors(
    init: &InitFrom,
    seed: u64,
    dev: &Device,
) -> Result<(Architecture, std::collections::BTreeMap<String, Tensor>)> {
    match init {
        InitFrom::Pretrained(d) => {
            let arch = params::read_hf_config(&d.join("config.json"))?;
            let all = params::load_safetensors(&d.join("model.safetensors"), dev)?;
            let t = params::select_bert(&arch, &all)?;
            Ok((arch, t))
        }
        InitFrom::Random(a, _) => Ok((a.clone(), params::random_bert(a, seed, dev)?)),
        InitFrom::Checkpoint(d) => Err(Error::Spec(format!(
            "{}: a checkpoint is refined, not started from",
            d.display()
        ))),
    }
}

/// A new model: the pretrained or random encoder and fresh heads.
fn fresh_start(
    ctl: &RunControl,
    heads: Vec<HeadMeta>,
    tok: &Tok,
    recipe_json: &serde_json::Value,
    r: &Recipe,
    dev: &Device,
) -> Result<Model> {
    let (arch, tensors) = encoder_tensors(&r.init, r.seed, dev)?;
    let meta = ModelMeta {
        name: run_name(ctl),
        architecture: arch,
        heads,
        tokenizer: tok.to_json()?,
        provenance: provenance(recipe_json),
        scores: Default::default(),
    };
    Model::build(meta, tensors, r.freeze(), r.seed, dev)
}

/// The checkpoint in `dir`, to be refined by `r`: its heads must be the
/// ones the data gives. Its own recipe is kept under `refined_from`.
fn refine_start(
    dir: &Path,
    ctl: &RunControl,
    heads: Vec<HeadMeta>,
    recipe_json: &serde_json::Value,
    r: &Recipe,
    dev: &Device,
) -> Result<Model> {
    let mut meta = crate::model::read_meta(dir)?;
    if meta.heads != heads {
        let names = |h: &[HeadMeta]| h.iter().map(|h| h.name.clone()).collect::<Vec<_>>();
        return Err(Error::Spec(format!(
            "--refine-from {}: its heads {:?} are not the ones these tasks give {:?} \
             (same tasks, data and --aux needed)",
            dir.display(),
            names(&meta.heads),
            names(&heads)
        )));
    }
    let before = meta.provenance.get("recipe").cloned();
    meta.provenance = provenance(recipe_json);
    if let Some(b) = before {
        meta.provenance.insert("refined_from".into(), b);
    }
    meta.scores = Default::default();
    meta.name = run_name(ctl);
    let tensors = params::load_safetensors(&dir.join("model.safetensors"), dev)?;
    Model::build(meta, tensors, r.freeze(), r.seed, dev)
}

/// The training windows of each task that epoch `epoch` uses: all of them,
/// except for `asr_augment` tasks, where each sentence takes part in one form
/// (the written or the ASR one, drawn with p = 1/2 from the seed and the epoch).
pub fn epoch_selection(r: &Recipe, tasks: &[TaskData], epoch: usize) -> Vec<Vec<usize>> {
    tasks
        .iter()
        .enumerate()
        .map(|(ti, t)| {
            if t.train_forms.is_empty() {
                return (0..t.train.len()).collect();
            }
            let mut rng = ChaCha8Rng::seed_from_u64(
                r.seed.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ ((epoch as u64) << 16) ^ ti as u64,
            );
            let n = t
                .train_forms
                .iter()
                .map(|f| f.0 as usize + 1)
                .max()
                .unwrap_or(0);
            let asr: Vec<bool> = (0..n).map(|_| rng.random_bool(0.5)).collect();
            let has_copy = {
                let mut h = vec![false; n];
                for &(s, a) in &t.train_forms {
                    h[s as usize] |= a;
                }
                h
            };
            t.train_forms
                .iter()
                .enumerate()
                .filter(|(_, &(s, a))| a == (asr[s as usize] && has_copy[s as usize]))
                .map(|(i, _)| i)
                .collect()
        })
        .collect()
}

/// The batches of epoch `epoch` (indices into the tasks' training windows).
pub fn epoch_plan(r: &Recipe, tasks: &[TaskData], epoch: usize) -> Vec<schedule::BatchPlan> {
    let sel = epoch_selection(r, tasks, epoch);
    let lens: Vec<Vec<usize>> = sel
        .iter()
        .zip(tasks)
        .map(|(s, t)| s.iter().map(|&i| t.train[i].ids.len()).collect())
        .collect();
    let mut plan = epoch_batches(&lens, r.batch_size, r.max_tokens, r.seed, epoch, r.schedule);
    for b in &mut plan {
        for i in &mut b.items {
            *i = sel[b.task][*i];
        }
    }
    plan
}

/// The loss of one mini-batch: (model, the batch's task heads, batch, its task, dropout).
pub type BatchLossFn<'a> =
    dyn FnMut(&Model, &TaskHeads, &Batch, &TaskData, &mut Option<Dropout>) -> Result<Tensor> + 'a;

/// The optimisation loop shared by `train` and `distill`: the epochs of `r`
/// from `state` on, with progress, `last/` checkpoints, per-epoch dev
/// evaluation (`dev.jsonl`) and the `best/` checkpoint. Stops early (saving)
/// at `ctl.max_steps`.
#[allow(clippy::too_many_arguments)]
pub fn run_epochs(
    r: &Recipe,
    ctl: &RunControl,
    tasks: &[TaskData],
    model: &mut Model,
    opt: &mut AdamW,
    state: &mut TrainState,
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
        model.params.trainable.len(),
        model
            .params
            .trainable
            .values()
            .map(|v| v.elem_count())
            .sum::<usize>(),
        total,
        r.epochs,
        warmup
    );
    let mut prog = Progress::new(total, state.step, Duration::from_secs(ctl.log_every));
    while state.epoch < r.epochs {
        let plan = epoch_plan(r, tasks, state.epoch);
        while state.batch_in_epoch < plan.len() {
            if ctl.max_steps.is_some_and(|m| state.step >= m) {
                prog.newline();
                save_last(&ctl.out, model, opt, state, &dev)?;
                eprintln!(
                    "stopped at step {} (--max-steps); checkpoint in {}",
                    state.step,
                    checkpoint::last_dir(&ctl.out).display()
                );
                return Ok(());
            }
            let bp = &plan[state.batch_in_epoch];
            let td = &tasks[bp.task];
            let ex: Vec<&Example> = bp.items.iter().map(|&i| &td.train[i]).collect();
            let batch = Batch::new(&ex, &dev)?;
            let th = td.heads(model)?;
            let rng =
                ChaCha8Rng::seed_from_u64(r.seed ^ state.step.wrapping_mul(0xA24B_AED4_963E_E407));
            let mut drop = (r.dropout > 0.0).then(|| Dropout::new(r.dropout, rng));
            let loss = loss_fn(model, &th, &batch, td, &mut drop)?;
            let loss_v = loss.to_scalar::<f32>()? as f64;
            if !loss_v.is_finite() {
                return Err(Error::Model(format!(
                    "loss is {loss_v} at step {}",
                    state.step
                )));
            }
            let grads = loss.backward()?;
            let lr = learning_rate(r.lr, state.step, warmup, total);
            opt.step(&model.params.trainable, &grads, lr)?;
            state.step += 1;
            state.batch_in_epoch += 1;
            prog.step(state.step, state.epoch, loss_v, batch.tokens, lr);
            if ctl.save_every > 0 && state.step.is_multiple_of(ctl.save_every) {
                save_last(&ctl.out, model, opt, state, &dev)?;
            }
        }
        prog.newline();
        let te = Instant::now();
        let (mean_f1, per) = evaluate_dev(model, tasks, &dev)?;
        let line = serde_json::json!({
            "epoch": state.epoch + 1,
            "step": state.step,
            "mean_f1": mean_f1,
            "train_tokens_per_s": prog.tokens_per_s(),
            "eval_seconds": te.elapsed().as_secs_f64(),
            "tasks": per,
        });
        eprintln!("dev after epoch {}: {line}", state.epoch + 1);
        log_line(&ctl.out, "dev.jsonl", &line)?;
        state.epoch += 1;
        state.batch_in_epoch = 0;
        if state.best_f1.is_none_or(|b| mean_f1 > b) {
            state.best_f1 = Some(mean_f1);
            state.best_epoch = Some(state.epoch);
            model.meta.scores = serde_json::from_value(serde_json::json!({
                "split": "dev", "epoch": state.epoch, "mean_f1": mean_f1, "tasks": per,
            }))
            .unwrap_or_default();
            save_best(&ctl.out, model)?;
            eprintln!(
                "new best (mean dev F1 {mean_f1:.4}) saved in {}",
                checkpoint::best_dir(&ctl.out).display()
            );
        }
        save_last(&ctl.out, model, opt, state, &dev)?;
    }
    Ok(())
}
