//! Classification heads over the encoder's output.

use crate::decode::Tag;
use crate::encoder::ops::softmax;
use crate::encoder::packed::{LazyPacked, PackedRows};
use crate::encoder::weights::{MatRef, VecRef};
use crate::error::{Error, Result};
use crate::format::{HeadKind, HeadMeta, HeadRole, ModelFile, Pooling};
use crate::kernels;

/// A head bound to its tensors.
#[derive(Debug, Clone)]
pub struct HeadRef {
    /// Its metadata.
    pub meta: HeadMeta,
    bias: VecRef,
    /// The weights `heads.<name>.weight`, repacked on first use.
    weight: LazyPacked,
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
        let weight = MatRef::bind(file, &format!("heads.{}.weight", meta.name), n, hidden)?;
        Ok(HeadRef {
            weight: LazyPacked::new(weight),
            bias: VecRef::bind(file, &format!("heads.{}.bias", meta.name), n)?,
            meta: meta.clone(),
        })
    }

    /// Label probabilities for each of `rows` (each `hidden` wide), `[rows, labels]`.
    pub fn probs(&self, file: &ModelFile, rows: &[&[f32]]) -> Result<Vec<f32>> {
        let mut out = vec![0.0f32; rows.len() * self.meta.labels.len()];
        self.probs_into(file, rows.len(), |i| rows[i], &mut out)?;
        Ok(out)
    }

    /// [`HeadRef::probs`] of `m` rows given by `row(i)` (each at least
    /// `hidden` wide) into `out` (`[m, labels]`); allocates nothing when the
    /// head's bias is stored as f32.
    pub fn probs_into<'r>(
        &self,
        file: &ModelFile,
        m: usize,
        row: impl Fn(usize) -> &'r [f32],
        out: &mut [f32],
    ) -> Result<()> {
        let b = self.bias.view(file)?;
        let body = Probs {
            w: self.weight.get(file)?,
            b: &b,
            m,
            row,
            out,
        };
        kernels::with_vector_isa(kernels::detect(), body);
        Ok(())
    }

    /// Pools the real positions of `hidden` (`[t, h]`, the first `real` rows
    /// real) the way this sentence head was trained.
    pub fn pool(&self, hidden: &[f32], h: usize, real: usize) -> Vec<f32> {
        let mut acc = vec![0.0f32; h];
        self.pool_into(hidden, h, real, &mut acc);
        acc
    }

    /// [`HeadRef::pool`] into `acc` (`h` values).
    pub fn pool_into(&self, hidden: &[f32], h: usize, real: usize, acc: &mut [f32]) {
        let rows = hidden[..real * h].chunks_exact(h);
        let acc = &mut acc[..h];
        match self.meta.pooling {
            Pooling::Cls => acc.copy_from_slice(&hidden[..h]),
            Pooling::Mean => {
                acc.fill(0.0);
                for r in rows {
                    acc.iter_mut().zip(r).for_each(|(a, v)| *a += v);
                }
                acc.iter_mut().for_each(|a| *a /= real as f32);
            }
            Pooling::Max => {
                acc.fill(f32::NEG_INFINITY);
                for r in rows {
                    acc.iter_mut().zip(r).for_each(|(a, v)| *a = a.max(*v));
                }
            }
        }
    }
}

/// The work of [`HeadRef::probs_into`], compiled for the vector unit (see
/// [`kernels::with_vector_isa`]).
struct Probs<'a, 'r, F: Fn(usize) -> &'r [f32]> {
    w: &'a PackedRows,
    b: &'a [f32],
    m: usize,
    row: F,
    out: &'a mut [f32],
}

impl<'r, F: Fn(usize) -> &'r [f32]> kernels::VectorBody for Probs<'_, 'r, F> {
    type Out = ();
    #[inline(always)]
    fn run(self) {
        let out = &mut self.out[..self.m * self.w.n()];
        self.w.product(self.m, self.row, Some(self.b), out);
        for row in out.chunks_exact_mut(self.w.n()) {
            softmax(row);
        }
    }
}
