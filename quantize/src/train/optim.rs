//! AdamW with decoupled weight decay and global gradient-norm clipping.
//!
//! Updates run on host slices (no tensor temporaries); a parameter that got
//! no gradient this step (another task's head) is left untouched, moments included.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::backprop::GradStore;
use candle_core::{Device, Storage, Tensor, Var};

use crate::error::{Error, Result};

/// AdamW hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamWConfig {
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Decoupled weight decay (not applied to biases and LayerNorm).
    pub weight_decay: f64,
    /// Clip the global gradient norm to this (0 = off).
    pub max_grad_norm: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            max_grad_norm: 1.0,
        }
    }
}

struct Moments {
    m: Vec<f32>,
    v: Vec<f32>,
    t: u64,
}

/// The optimizer state.
pub struct AdamW {
    /// Hyper-parameters.
    pub cfg: AdamWConfig,
    moments: BTreeMap<String, Moments>,
}

/// A tensor's data on the host, borrowed when it already is contiguous f32 on the CPU.
fn host<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let t = t.contiguous()?;
    let (st, layout) = t.storage_and_layout();
    let data: Cow<[f32]> = match &*st {
        Storage::Cpu(c) => {
            let s = c.as_slice::<f32>()?;
            Cow::Borrowed(&s[layout.start_offset()..layout.start_offset() + t.elem_count()])
        }
        _ => Cow::Owned(t.flatten_all()?.to_vec1::<f32>()?),
    };
    Ok(f(&data))
}

fn decays(name: &str) -> bool {
    !(name.ends_with(".bias") || name.contains("LayerNorm"))
}

impl AdamW {
    /// A fresh optimizer.
    pub fn new(cfg: AdamWConfig) -> AdamW {
        AdamW {
            cfg,
            moments: BTreeMap::new(),
        }
    }

    /// Global L2 norm of the gradients of `vars`.
    pub fn grad_norm(vars: &BTreeMap<String, Var>, grads: &GradStore) -> Result<f64> {
        let mut sq = 0f64;
        for v in vars.values() {
            if let Some(g) = grads.get(v.as_tensor()) {
                sq += host(g, |s| {
                    s.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>()
                })?;
            }
        }
        Ok(sq.sqrt())
    }

    /// One update with learning rate `lr`. Returns the gradient norm before clipping.
    pub fn step(
        &mut self,
        vars: &BTreeMap<String, Var>,
        grads: &GradStore,
        lr: f64,
    ) -> Result<f64> {
        let norm = Self::grad_norm(vars, grads)?;
        let c = self.cfg;
        let clip = if c.max_grad_norm > 0.0 && norm > c.max_grad_norm {
            c.max_grad_norm / (norm + 1e-6)
        } else {
            1.0
        };
        for (name, var) in vars {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let n = var.elem_count();
            let mo = self.moments.entry(name.clone()).or_insert_with(|| Moments {
                m: vec![0.0; n],
                v: vec![0.0; n],
                t: 0,
            });
            mo.t += 1;
            let bc1 = 1.0 - c.beta1.powi(mo.t as i32);
            let bc2 = 1.0 - c.beta2.powi(mo.t as i32);
            let step = (lr / bc1) as f32;
            let (b1, b2, eps) = (c.beta1 as f32, c.beta2 as f32, c.eps as f32);
            let inv_bc2 = (1.0 / bc2) as f32;
            let wd = if decays(name) {
                (1.0 - lr * c.weight_decay) as f32
            } else {
                1.0
            };
            let clip = clip as f32;
            let new = host(var.as_tensor(), |p| {
                host(g, |g| {
                    let mut out = Vec::with_capacity(n);
                    for i in 0..n {
                        let gi = g[i] * clip;
                        let m = b1 * mo.m[i] + (1.0 - b1) * gi;
                        let v = b2 * mo.v[i] + (1.0 - b2) * gi * gi;
                        mo.m[i] = m;
                        mo.v[i] = v;
                        out.push(p[i] * wd - step * m / ((v * inv_bc2).sqrt() + eps));
                    }
                    out
                })
            })??;
            var.set(&Tensor::from_vec(new, var.shape(), var.device())?)?;
        }
        Ok(norm)
    }

    /// Saves the moments (`m.<name>`, `v.<name>`, `t.<name>`) as safetensors.
    pub fn save(&self, path: &Path, dev: &Device) -> Result<()> {
        let mut map: HashMap<String, Tensor> = HashMap::new();
        for (name, mo) in &self.moments {
            map.insert(
                format!("m.{name}"),
                Tensor::from_slice(&mo.m, mo.m.len(), dev)?,
            );
            map.insert(
                format!("v.{name}"),
                Tensor::from_slice(&mo.v, mo.v.len(), dev)?,
            );
            map.insert(
                format!("t.{name}"),
                Tensor::from_slice(&[mo.t as i64], 1, dev)?,
            );
        }
        candle_core::safetensors::save(&map, path)?;
        Ok(())
    }

    /// Loads moments saved by [`AdamW::save`].
    pub fn load(cfg: AdamWConfig, path: &Path, dev: &Device) -> Result<AdamW> {
        let map = candle_core::safetensors::load(path, dev)?;
        let mut moments = BTreeMap::new();
        for (k, m) in &map {
            let Some(name) = k.strip_prefix("m.") else {
                continue;
            };
            let get = |p: &str| {
                map.get(&format!("{p}.{name}"))
                    .ok_or_else(|| Error::Model(format!("{}: lacks {p}.{name}", path.display())))
            };
            let t = get("t")?.to_vec1::<i64>()?.first().copied().unwrap_or(0) as u64;
            moments.insert(
                name.to_string(),
                Moments {
                    m: m.to_vec1::<f32>()?,
                    v: get("v")?.to_vec1::<f32>()?,
                    t,
                },
            );
        }
        Ok(AdamW { cfg, moments })
    }
}
