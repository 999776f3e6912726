//! The trainable BERT encoder, built from differentiable candle ops.

use candle_core::{DType, Tensor};
use picotag::format::Architecture;

use super::fused::{gelu, layer_norm, softmax};
use super::ops::{dropout, linear, Dropout};
use super::params::Params;
use crate::error::Result;

/// The projection of factorized word embeddings, `[hidden, r]` (see `embedding_rank`).
pub const WORD_PROJECTION: &str = "embeddings.word_embeddings.projection";

struct Lin {
    w: Tensor,
    b: Tensor,
}

impl Lin {
    fn load(p: &Params, name: &str) -> Result<Lin> {
        Ok(Lin {
            w: p.get(&format!("{name}.weight"))?,
            b: p.get(&format!("{name}.bias"))?,
        })
    }
    fn fwd(&self, x: &Tensor) -> Result<Tensor> {
        linear(x, &self.w, &self.b)
    }
}

struct Norm {
    w: Tensor,
    b: Tensor,
}

impl Norm {
    fn load(p: &Params, name: &str) -> Result<Norm> {
        Ok(Norm {
            w: p.get(&format!("{name}.weight"))?,
            b: p.get(&format!("{name}.bias"))?,
        })
    }
}

struct Layer {
    q: Lin,
    k: Lin,
    v: Lin,
    o: Lin,
    ln1: Norm,
    up: Lin,
    down: Lin,
    ln2: Norm,
}

/// A BERT encoder whose tensors share storage with a [`Params`] store, so
/// optimizer updates are seen without rebuilding it.
pub struct Bert {
    /// The shape.
    pub arch: Architecture,
    word: Tensor,
    /// `[hidden, r]` projection of factorized word embeddings (`embedding_rank`).
    word_projection: Option<Tensor>,
    pos: Tensor,
    typ: Tensor,
    ln: Norm,
    layers: Vec<Layer>,
}

impl Bert {
    /// Binds the encoder to the tensors of `p`.
    pub fn new(p: &Params, arch: &Architecture) -> Result<Bert> {
        let mut layers = Vec::with_capacity(arch.layers);
        for i in 0..arch.layers {
            let n = |s: &str| format!("encoder.layer.{i}.{s}");
            layers.push(Layer {
                q: Lin::load(p, &n("attention.self.query"))?,
                k: Lin::load(p, &n("attention.self.key"))?,
                v: Lin::load(p, &n("attention.self.value"))?,
                o: Lin::load(p, &n("attention.output.dense"))?,
                ln1: Norm::load(p, &n("attention.output.LayerNorm"))?,
                up: Lin::load(p, &n("intermediate.dense"))?,
                down: Lin::load(p, &n("output.dense"))?,
                ln2: Norm::load(p, &n("output.LayerNorm"))?,
            });
        }
        Ok(Bert {
            arch: arch.clone(),
            word: p.get(super::params::WORD_EMBEDDINGS)?,
            word_projection: match arch.embedding_rank {
                Some(_) => Some(p.get(WORD_PROJECTION)?),
                None => None,
            },
            pos: p.get("embeddings.position_embeddings.weight")?,
            typ: p.get("embeddings.token_type_embeddings.weight")?,
            ln: Norm::load(p, "embeddings.LayerNorm")?,
            layers,
        })
    }

    fn norm(&self, x: &Tensor, n: &Norm) -> Result<Tensor> {
        layer_norm(x, &n.w, &n.b, self.arch.layer_norm_eps as f64)
    }

    /// Runs the encoder on `ids` `[b, t]` (u32) with `mask` `[b, t]` (f32, 1 = real token).
    /// Returns the last hidden states as `[b * t, hidden]`.
    pub fn forward(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        drop: &mut Option<Dropout>,
    ) -> Result<Tensor> {
        let mut all = self.forward_layers(ids, mask, drop)?;
        all.pop()
            .ok_or_else(|| crate::error::Error::Model("encoder without outputs".into()))
    }

    /// Like [`Bert::forward`], but returns the hidden states `[b * t, hidden]`
    /// after the embeddings and after every layer (`layers + 1` tensors).
    pub fn forward_layers(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        drop: &mut Option<Dropout>,
    ) -> Result<Vec<Tensor>> {
        let (b, t) = ids.dims2()?;
        let h = self.arch.hidden;
        let (nh, dh) = (self.arch.heads, h / self.arch.heads);
        let mut words = self.word.index_select(&ids.flatten_all()?, 0)?;
        if let Some(p) = &self.word_projection {
            words = words.matmul(&p.t()?)?;
        }
        let pos = self.pos.narrow(0, 0, t)?;
        let typ = self.typ.narrow(0, 0, 1)?;
        let emb = words
            .reshape((b, t, h))?
            .broadcast_add(&pos.broadcast_add(&typ)?)?
            .reshape((b * t, h))?;
        let mut x = dropout(&self.norm(&emb, &self.ln)?, drop)?;
        let mut out = Vec::with_capacity(self.layers.len() + 1);
        out.push(x.clone());
        // Additive attention bias: 0 on real keys, -10000 on padding.
        let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * 10000.0)?.reshape((b, 1, 1, t))?;
        let scale = 1.0 / (dh as f64).sqrt();
        for l in &self.layers {
            let heads = |y: Tensor| -> Result<Tensor> {
                Ok(y.reshape((b, t, nh, dh))?.transpose(1, 2)?.contiguous()?)
            };
            let q = heads((l.q.fwd(&x)? * scale)?)?;
            let k = heads(l.k.fwd(&x)?)?;
            let v = heads(l.v.fwd(&x)?)?;
            let scores = q.matmul(&k.t()?)?.broadcast_add(&bias)?;
            let probs = dropout(&softmax(&scores)?, drop)?;
            let ctx = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b * t, h))?;
            let a = dropout(&l.o.fwd(&ctx)?, drop)?;
            x = self.norm(&(a + &x)?, &l.ln1)?;
            let f = l.down.fwd(&gelu(&l.up.fwd(&x)?)?)?;
            let f = dropout(&f, drop)?;
            x = self.norm(&(f + &x)?, &l.ln2)?;
            out.push(x.clone());
        }
        Ok(out)
    }
}
