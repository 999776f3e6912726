//! The model: a BERT encoder and its heads, saved as a checkpoint folder.

pub mod bert;
pub mod fused;
pub mod heads;
pub mod ops;
pub mod params;

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use picotag::format::ModelMeta;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{read_text, Error, Result};
use bert::Bert;
use heads::{task_heads, Head, TaskHeads};
use params::{init_tensor, Freeze, Init, Params};

/// Encoder + heads + metadata.
pub struct Model {
    /// Metadata (architecture, heads, tokenizer, provenance, scores).
    pub meta: ModelMeta,
    /// Every tensor.
    pub params: Params,
    /// The encoder.
    pub bert: Bert,
    /// Heads, in `meta.heads` order.
    pub heads: Vec<Head>,
    /// Heads grouped by task.
    pub tasks: Vec<TaskHeads>,
}

impl Model {
    /// Builds a model from encoder tensors, adding freshly initialised heads
    /// (seeded) for any head of `meta` that `tensors` lacks.
    pub fn build(
        meta: ModelMeta,
        mut tensors: BTreeMap<String, Tensor>,
        freeze: impl Into<Freeze>,
        seed: u64,
        dev: &Device,
    ) -> Result<Model> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6865_6164);
        let hidden = meta.architecture.hidden;
        for h in &meta.heads {
            let (w, b) = (Head::weight_name(&h.name), Head::bias_name(&h.name));
            if !tensors.contains_key(&w) {
                let n = h.labels.len();
                tensors.insert(w, init_tensor(&[n, hidden], Init::Normal, &mut rng, dev)?);
                tensors.insert(b, init_tensor(&[n], Init::Zeros, &mut rng, dev)?);
            }
        }
        let freeze = freeze.into();
        let params = Params::new(tensors, |n| freeze.is_frozen(n))?;
        Model::bind(meta, params)
    }

    fn bind(meta: ModelMeta, params: Params) -> Result<Model> {
        let bert = Bert::new(&params, &meta.architecture)?;
        let heads = meta
            .heads
            .iter()
            .map(|h| Head::new(h, &params, meta.architecture.hidden))
            .collect::<Result<Vec<_>>>()?;
        let tasks = task_heads(&meta);
        Ok(Model {
            meta,
            params,
            bert,
            heads,
            tasks,
        })
    }

    /// Loads a checkpoint folder (`meta.json` + `model.safetensors`).
    pub fn load(dir: &Path, freeze: impl Into<Freeze>, dev: &Device) -> Result<Model> {
        let meta = read_meta(dir)?;
        let tensors = params::load_safetensors(&dir.join("model.safetensors"), dev)?;
        let freeze = freeze.into();
        let params = Params::new(tensors, |n| freeze.is_frozen(n))?;
        Model::bind(meta, params)
    }

    /// Loads a checkpoint folder with every tensor frozen (a distillation teacher:
    /// its forward records no gradient graph).
    pub fn load_frozen(dir: &Path, dev: &Device) -> Result<Model> {
        let meta = read_meta(dir)?;
        let tensors = params::load_safetensors(&dir.join("model.safetensors"), dev)?;
        Model::bind(meta, Params::new(tensors, |_| true)?)
    }

    /// Writes `model.safetensors` and `meta.json` into `dir` (created if needed).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        self.params.save(&dir.join("model.safetensors"))?;
        write_json(&dir.join("meta.json"), &self.meta)
    }

    /// The heads of a task by name.
    pub fn task(&self, name: &str) -> Result<&TaskHeads> {
        self.tasks.iter().find(|t| t.task == name).ok_or_else(|| {
            let known: Vec<&str> = self.tasks.iter().map(|t| t.task.as_str()).collect();
            Error::Model(format!("no task {name:?} in the model (has {known:?})"))
        })
    }
}

/// Reads `meta.json` of a checkpoint folder.
pub fn read_meta(dir: &Path) -> Result<ModelMeta> {
    let path = dir.join("meta.json");
    let text = read_text(&path)?;
    serde_json::from_str(&text).map_err(|e| Error::json(&path, e))
}

/// Writes a value as pretty JSON.
pub fn write_json<T: serde::Serialize>(path: &Path, v: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(|e| Error::json(path, e))?;
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
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
