//! Classification heads over the encoder's output.

use crate::decode::Tag;
use crate::encoder::ops::{dot, dot_rows, softmax, DOT_ROWS};
use crate::encoder::weights::{Mat, MatRef, VecRef};
use crate::error::{Error, Result};
use crate::format::{HeadKind, HeadMeta, HeadRole, ModelFile, Pooling};
use crate::kernels;

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
        let mut out = vec![0.0f32; rows.len() * self.meta.labels.len()];
        let mut wr = Vec::new();
        self.probs_into(file, rows.len(), |i| rows[i], &mut out, &mut wr)?;
        Ok(out)
    }

    /// [`HeadRef::probs`] of `m` rows given by `row(i)` into `out`
    /// (`[m, labels]`), with `wr` as reusable scratch: allocates nothing once
    /// `wr` holds `hidden` values (and the head's bias is stored as f32).
    pub fn probs_into<'r>(
        &self,
        file: &ModelFile,
        m: usize,
        row: impl Fn(usize) -> &'r [f32],
        out: &mut [f32],
        wr: &mut Vec<f32>,
    ) -> Result<()> {
        let w = self.weight.view(file)?;
        let b = self.bias.view(file)?;
        if wr.len() < DOT_ROWS * w.k {
            wr.resize(DOT_ROWS * w.k, 0.0);
        }
        let body = Probs {
            w,
            b: &b,
            m,
            row,
            out,
            wr,
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
    w: Mat<'a>,
    b: &'a [f32],
    m: usize,
    row: F,
    out: &'a mut [f32],
    wr: &'a mut [f32],
}

impl<'r, F: Fn(usize) -> &'r [f32]> kernels::VectorBody for Probs<'_, 'r, F> {
    type Out = ();
    #[inline(always)]
    fn run(self) {
        let (n, k, m) = (self.w.n, self.w.k, self.m);
        let out = &mut self.out[..m * n];
        // Blocks of DOT_ROWS labels (each token row read once per block),
        // then the labels left one at a time; the same sums as `dot`.
        let blocked = n / DOT_ROWS * DOT_ROWS;
        let wr = &mut self.wr[..DOT_ROWS * k];
        for j0 in (0..blocked).step_by(DOT_ROWS) {
            for (r, w) in wr.chunks_exact_mut(k).enumerate() {
                self.w.row_into(j0 + r, w);
            }
            for i in 0..m {
                let d = dot_rows((self.row)(i), wr);
                for (r, v) in d.iter().enumerate() {
                    out[i * n + j0 + r] = v + self.b[j0 + r];
                }
            }
        }
        let wr = &mut wr[..k];
        for j in blocked..n {
            self.w.row_into(j, wr);
            for i in 0..m {
                out[i * n + j] = dot((self.row)(i), wr) + self.b[j];
            }
        }
        out.chunks_exact_mut(n).for_each(softmax);
    }
}
