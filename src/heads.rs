//! Classification heads over the encoder's output.

use crate::decode::Tag;
use crate::encoder::ops::{dot, softmax};
use crate::encoder::weights::{MatRef, VecRef};
use crate::error::{Error, Result};
use crate::format::{HeadKind, HeadMeta, HeadRole, ModelFile, Pooling};

/// A head bound to its tensors.
#[derive(Debug, Clone)]
pub struct HeadRef {
    /// Its metadata.
    pub meta: HeadMeta,
    weight: MatRef,
    bias: VecRef,
}

impl HeadRef {
    /// Binds `heads.<name>.weight` / `.bias` and checks the labels.
    pub fn bind(file: &ModelFile, meta: &HeadMeta, hidden: usize) -> Result<HeadRef> {
        let n = meta.labels.len();
        if n == 0 {
            return Err(Error::format(format!("head {} has no labels", meta.name)));
        }
        if meta.kind == HeadKind::Token && meta.role == HeadRole::Slots {
            if let Some(bad) = meta.labels.iter().find(|l| Tag::parse(l).is_none()) {
                return Err(Error::format(format!(
                    "head {}: label {bad:?} is not a BIO/BIOES tag",
                    meta.name
                )));
            }
        }
        if meta.role == HeadRole::HasSlot && (meta.kind != HeadKind::Sentence || n != 2) {
            return Err(Error::format(format!(
                "head {}: a has_slot head is a sentence head with labels [no, yes]",
                meta.name
            )));
        }
        Ok(HeadRef {
            weight: MatRef::bind(file, &format!("heads.{}.weight", meta.name), n, hidden)?,
            bias: VecRef::bind(file, &format!("heads.{}.bias", meta.name), n)?,
            meta: meta.clone(),
        })
    }

    /// Label probabilities for each of `rows` (each `hidden` wide), `[rows, labels]`.
    pub fn probs(&self, file: &ModelFile, rows: &[&[f32]]) -> Result<Vec<f32>> {
        let w = self.weight.view(file)?;
        let b = self.bias.view(file)?;
        let (n, k) = (w.n, w.k);
        let mut out = vec![0.0f32; rows.len() * n];
        let mut wr = vec![0.0f32; k];
        for j in 0..n {
            w.row_into(j, &mut wr);
            for (i, x) in rows.iter().enumerate() {
                out[i * n + j] = dot(x, &wr) + b[j];
            }
        }
        out.chunks_exact_mut(n).for_each(softmax);
        Ok(out)
    }

    /// Pools the real positions of `hidden` (`[t, h]`, the first `real` rows
    /// real) the way this sentence head was trained.
    pub fn pool(&self, hidden: &[f32], h: usize, real: usize) -> Vec<f32> {
        let rows = hidden[..real * h].chunks_exact(h);
        match self.meta.pooling {
            Pooling::Cls => hidden[..h].to_vec(),
            Pooling::Mean => {
                let mut acc = vec![0.0f32; h];
                for r in rows {
                    acc.iter_mut().zip(r).for_each(|(a, v)| *a += v);
                }
                acc.iter_mut().for_each(|a| *a /= real as f32);
                acc
            }
            Pooling::Max => {
                let mut acc = vec![f32::NEG_INFINITY; h];
                for r in rows {
                    acc.iter_mut().zip(r).for_each(|(a, v)| *a = a.max(*v));
                }
                acc
            }
        }
    }
}
