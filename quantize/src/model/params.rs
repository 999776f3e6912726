//! The parameter store: HF BERT tensor names, trainable `Var`s and frozen tensors.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{Device, Tensor, Var};
use picotag::format::Architecture;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

/// The name of the word-embedding matrix.
pub const WORD_EMBEDDINGS: &str = "embeddings.word_embeddings.weight";

/// Which tensors a run keeps fixed (the others are trained).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Freeze {
    /// The word-embedding matrix.
    pub word_embeddings: bool,
    /// Everything but the heads (`heads.*`).
    pub all_but_heads: bool,
}

impl Freeze {
    /// Is the tensor `name` kept fixed.
    pub fn is_frozen(&self, name: &str) -> bool {
        (self.all_but_heads && !name.starts_with("heads."))
            || (self.word_embeddings && name == WORD_EMBEDDINGS)
    }
}

impl From<bool> for Freeze {
    /// `true`: the word embeddings only.
    fn from(word_embeddings: bool) -> Freeze {
        Freeze {
            word_embeddings,
            all_but_heads: false,
        }
    }
}

/// How a parameter is initialised when there is no checkpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// Normal(0, 0.02).
    Normal,
    /// All ones (LayerNorm weights).
    Ones,
    /// All zeros (biases).
    Zeros,
}

/// Names, shapes and initialisers of a BERT encoder's tensors.
pub fn bert_shapes(a: &Architecture) -> Vec<(String, Vec<usize>, Init)> {
    let (h, f) = (a.hidden, a.intermediate);
    let mut v = vec![
        (
            WORD_EMBEDDINGS.to_string(),
            vec![a.vocab_size, h],
            Init::Normal,
        ),
        (
            "embeddings.position_embeddings.weight".into(),
            vec![a.max_positions, h],
            Init::Normal,
        ),
        (
            "embeddings.token_type_embeddings.weight".into(),
            vec![a.type_vocab_size, h],
            Init::Normal,
        ),
        ("embeddings.LayerNorm.weight".into(), vec![h], Init::Ones),
        ("embeddings.LayerNorm.bias".into(), vec![h], Init::Zeros),
    ];
    for i in 0..a.layers {
        let p = format!("encoder.layer.{i}");
        for (n, out, inp) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", f, h),
            ("output.dense", h, f),
        ] {
            v.push((format!("{p}.{n}.weight"), vec![out, inp], Init::Normal));
            v.push((format!("{p}.{n}.bias"), vec![out], Init::Zeros));
        }
        for n in ["attention.output.LayerNorm", "output.LayerNorm"] {
            v.push((format!("{p}.{n}.weight"), vec![h], Init::Ones));
            v.push((format!("{p}.{n}.bias"), vec![h], Init::Zeros));
        }
    }
    v
}

/// Makes a tensor with the given initialiser, drawing from `rng`.
pub fn init_tensor(
    shape: &[usize],
    init: Init,
    rng: &mut ChaCha8Rng,
    dev: &Device,
) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = match init {
        Init::Ones => vec![1.0; n],
        Init::Zeros => vec![0.0; n],
        Init::Normal => (0..n)
            .map(|_| {
                // Box-Muller.
                let u1: f32 = rng.random::<f32>().max(1e-7);
                let u2: f32 = rng.random();
                0.02 * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
            })
            .collect(),
    };
    Ok(Tensor::from_vec(data, shape, dev)?)
}

/// All parameters of a model, by name.
pub struct Params {
    /// Parameters the optimizer updates.
    pub trainable: BTreeMap<String, Var>,
    /// Parameters kept fixed (e.g. the word embeddings).
    pub frozen: BTreeMap<String, Tensor>,
}

impl Params {
    /// Splits named tensors into trainable and frozen ones.
    pub fn new(tensors: BTreeMap<String, Tensor>, frozen: impl Fn(&str) -> bool) -> Result<Params> {
        let mut p = Params {
            trainable: BTreeMap::new(),
            frozen: BTreeMap::new(),
        };
        for (name, t) in tensors {
            if frozen(&name) {
                p.frozen.insert(name, t);
            } else {
                p.trainable
                    .insert(name, Var::from_tensor(&t.contiguous()?)?);
            }
        }
        Ok(p)
    }

    /// A parameter by name.
    pub fn get(&self, name: &str) -> Result<Tensor> {
        if let Some(v) = self.trainable.get(name) {
            return Ok(v.as_tensor().clone());
        }
        self.frozen
            .get(name)
            .cloned()
            .ok_or_else(|| Error::Model(format!("missing tensor {name}")))
    }

    /// Every tensor, trainable or not, by name.
    pub fn all(&self) -> BTreeMap<String, Tensor> {
        let mut m: BTreeMap<String, Tensor> = self.frozen.clone();
        for (n, v) in &self.trainable {
            m.insert(n.clone(), v.as_tensor().clone());
        }
        m
    }

    /// Saves every tensor as safetensors.
    pub fn save(&self, path: &Path) -> Result<()> {
        let m: HashMap<String, Tensor> = self.all().into_iter().collect();
        candle_core::safetensors::save(&m, path)?;
        Ok(())
    }
}

/// Loads a safetensors file, stripping a leading `bert.` from names.
pub fn load_safetensors(path: &Path, dev: &Device) -> Result<BTreeMap<String, Tensor>> {
    if !path.is_file() {
        return Err(Error::Model(format!("{}: no such file", path.display())));
    }
    let m = candle_core::safetensors::load(path, dev)?;
    let mut out = BTreeMap::new();
    for (k, v) in m {
        let k = k.strip_prefix("bert.").map(str::to_string).unwrap_or(k);
        out.insert(k, v.to_dtype(candle_core::DType::F32)?);
    }
    Ok(out)
}

/// Reads a HF `config.json` into an [`Architecture`].
pub fn read_hf_config(path: &Path) -> Result<Architecture> {
    let text = crate::error::read_text(path)?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::json(path, e))?;
    let get = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_u64())
            .map(|x| x as usize)
            .ok_or_else(|| Error::Model(format!("{}: missing {k}", path.display())))
    };
    Ok(Architecture {
        vocab_size: get("vocab_size")?,
        hidden: get("hidden_size")?,
        layers: get("num_hidden_layers")?,
        heads: get("num_attention_heads")?,
        intermediate: get("intermediate_size")?,
        max_positions: get("max_position_embeddings")?,
        type_vocab_size: get("type_vocab_size").unwrap_or(2),
        layer_norm_eps: v
            .get("layer_norm_eps")
            .and_then(|x| x.as_f64())
            .unwrap_or(1e-12) as f32,
        embedding_rank: None,
    })
}

/// Random encoder tensors for `arch`, seeded.
pub fn random_bert(
    arch: &Architecture,
    seed: u64,
    dev: &Device,
) -> Result<BTreeMap<String, Tensor>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut m = BTreeMap::new();
    for (name, shape, init) in bert_shapes(arch) {
        m.insert(name, init_tensor(&shape, init, &mut rng, dev)?);
    }
    Ok(m)
}

/// Keeps exactly the encoder tensors of `arch`, checking their shapes.
pub fn select_bert(
    arch: &Architecture,
    all: &BTreeMap<String, Tensor>,
) -> Result<BTreeMap<String, Tensor>> {
    let mut m = BTreeMap::new();
    for (name, shape, _) in bert_shapes(arch) {
        let t = all
            .get(&name)
            .ok_or_else(|| Error::Model(format!("checkpoint lacks {name}")))?;
        if t.dims() != shape.as_slice() {
            return Err(Error::Model(format!(
                "{name}: shape {:?}, expected {shape:?}",
                t.dims()
            )));
        }
        m.insert(name, t.clone());
    }
    Ok(m)
}
