//! `train`: a run from a recipe, started fresh (pretrained or random
//! encoder), refined from a checkpoint, or resumed.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use candle_core::{Device, Tensor};
use picotag::format::{Architecture, HeadMeta, ModelMeta};

use crate::data::encode::Tok;
use crate::error::{Error, Result};
use crate::model::heads::TaskHeads;
use crate::model::ops::Dropout;
use crate::model::{device, params, read_meta, Model};
use crate::recipe::{InitFrom, Recipe};
use crate::train::batch::Batch;
use crate::train::checkpoint::TrainState;
use crate::train::epochs::{run_epochs, RunControl};
use crate::train::heads::head_metas;
use crate::train::resume::{report_tasks, resumable, resume_or_start};
use crate::train::step::{self, BatchInput};
use crate::train::tasks::{load_tasks, TaskData};

/// Trains (or resumes) a run. Returns the final state.
pub fn train(r: &Recipe, ctl: &RunControl) -> Result<TrainState> {
    let dev = device()?;
    std::fs::create_dir_all(&ctl.out).map_err(|e| Error::io(&ctl.out, e))?;
    let recipe_json = serde_json::to_value(r).map_err(|e| Error::json(&ctl.out, e))?;
    let resumed = resumable(ctl, r.freeze(), r.adamw, &dev)?;
    let tok = match (&resumed, &r.init) {
        (Some(run), _) => Tok::from_json(&run.model.meta.tokenizer)?,
        (None, InitFrom::Pretrained(d)) => Tok::from_file(&d.join("tokenizer.json"))?,
        (None, InitFrom::Random(_, t)) => Tok::from_file(t)?,
        (None, InitFrom::Checkpoint(d)) => Tok::from_json(&read_meta(d)?.tokenizer)?,
    };
    let t0 = Instant::now();
    let tasks = load_tasks(r, &tok, ctl.dev_limit)?;
    report_tasks(&tasks, t0);
    let heads = head_metas(&tasks, r.aux);
    let mut run = resume_or_start(
        resumed,
        &recipe_json,
        heads,
        r.seed,
        r.adamw,
        |heads| match &r.init {
            InitFrom::Checkpoint(d) => refine_start(d, ctl, heads, &recipe_json, r, &dev),
            _ => fresh_start(ctl, heads, &tok, &recipe_json, r, &dev),
        },
    )?;
    let negatives = step::gate_negatives(&r.tasks, &run.model);
    let mut loss_fn = |model: &Model,
                       th: &TaskHeads,
                       batch: &Batch,
                       td: &TaskData,
                       _items: &[usize],
                       drop: &mut Option<Dropout>| {
        let x = BatchInput::of_task(batch, th, td, &negatives);
        step::batch_loss(model, &x, r.aux_weight, drop)
    };
    run_epochs(r, ctl, &tasks, &mut run, &dev, &mut loss_fn)?;
    Ok(run.state)
}

/// The provenance of a run of `recipe_json`.
pub fn provenance(recipe_json: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    let mut p = BTreeMap::new();
    p.insert("recipe".to_string(), recipe_json.clone());
    p.insert(
        "tool".to_string(),
        serde_json::json!(format!("picotag-quantize {}", env!("CARGO_PKG_VERSION"))),
    );
    p
}

/// The model name of a run: its folder's.
pub fn run_name(ctl: &RunControl) -> String {
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
) -> Result<(Architecture, BTreeMap<String, Tensor>)> {
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
    let mut meta = read_meta(dir)?;
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
