//! Binding the encoder's tensors by name and shape, and typed views of them.

use half::f16;

use super::packed::LazyPacked;
use crate::error::{Error, Result};
use crate::format::{Architecture, DType, Layout, ModelFile, TensorInfo};
use crate::kernels;

/// Per-row (per-output-channel) scales of an int8 matrix.
#[derive(Debug, Clone, Copy)]
pub enum Scales<'a> {
    /// f32 scales.
    F32(&'a [f32]),
    /// f16 scales.
    F16(&'a [f16]),
}

impl Scales<'_> {
    /// The scale of row `r`.
    #[inline]
    pub fn get(&self, r: usize) -> f32 {
        match self {
            Scales::F32(s) => s[r],
            Scales::F16(s) => s[r].to_f32(),
        }
    }
}

/// The storage of an `[n, k]` matrix (Linear weights are `[out, in]`).
#[derive(Debug, Clone, Copy)]
pub enum MatData<'a> {
    /// Row-major f32.
    F32(&'a [f32]),
    /// Row-major f16.
    F16(&'a [f16]),
    /// Row-major int8 with a scale per row.
    I8Rows(&'a [i8], Scales<'a>),
    /// int8 packed in the kernels' `k4n16` layout, a scale per row.
    I8Packed(&'a [i8], Scales<'a>),
    /// Row-major int4, two values a byte, a scale per row.
    I4Rows(&'a [u8], Scales<'a>),
}

/// An `[n, k]` matrix viewed in place.
#[derive(Debug, Clone, Copy)]
pub struct Mat<'a> {
    /// The elements.
    pub data: MatData<'a>,
    /// Rows.
    pub n: usize,
    /// Columns.
    pub k: usize,
}

impl Mat<'_> {
    /// Writes row `r` as f32 into `out` (length `k`), dequantizing as needed.
    #[inline(always)]
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        let k = self.k;
        match self.data {
            MatData::F32(w) => out.copy_from_slice(&w[r * k..(r + 1) * k]),
            MatData::F16(w) => {
                for (o, v) in out.iter_mut().zip(&w[r * k..(r + 1) * k]) {
                    *o = v.to_f32();
                }
            }
            MatData::I8Rows(w, s) => {
                let sc = s.get(r);
                for (o, &v) in out.iter_mut().zip(&w[r * k..(r + 1) * k]) {
                    *o = v as f32 * sc;
                }
            }
            MatData::I4Rows(w, s) => {
                let rb = kernels::i4_row_bytes(k);
                kernels::dequantize_row_i4(&w[r * rb..(r + 1) * rb], s.get(r), out);
            }
            MatData::I8Packed(w, s) => {
                // Row r's values stand in groups of KR, one group every
                // NR * KR values (see `kernels::packed_index`).
                let sc = s.get(r);
                let kp = kernels::padded_k(k);
                let base = kernels::packed_index(r, 0, kp);
                let stride = kernels::NR * kernels::KR;
                for (g, o) in out.chunks_mut(kernels::KR).enumerate() {
                    let src = &w[base + g * stride..base + g * stride + o.len()];
                    o.iter_mut().zip(src).for_each(|(o, &v)| *o = v as f32 * sc);
                }
            }
        }
    }
}

/// Where a matrix lives in the file, checked against its expected shape.
#[derive(Debug, Clone)]
pub struct MatRef {
    weight: TensorInfo,
    scale: Option<TensorInfo>,
    n: usize,
    k: usize,
}

impl MatRef {
    /// Finds `name` (and `name.scale` for int8 and int4) and checks it is `[n, k]`.
    pub fn bind(file: &ModelFile, name: &str, n: usize, k: usize) -> Result<MatRef> {
        let weight = file.tensor(name)?.clone();
        if weight.shape != [n, k] {
            return Err(Error::format(format!(
                "tensor {name} has shape {:?}, the architecture needs [{n}, {k}]",
                weight.shape
            )));
        }
        let scale = match weight.dtype {
            DType::I8 | DType::I4 => {
                let s = file.tensor(&format!("{name}.scale"))?.clone();
                if s.shape != [n] || s.layout != Layout::RowMajor || s.dtype.is_quantized() {
                    return Err(Error::format(format!(
                        "tensor {name}.scale must be f32/f16 of shape [{n}]"
                    )));
                }
                Some(s)
            }
            _ if weight.layout != Layout::RowMajor => {
                return Err(Error::format(format!(
                    "tensor {name}: float in a packed layout"
                )))
            }
            _ => None,
        };
        Ok(MatRef {
            weight,
            scale,
            n,
            k,
        })
    }

    /// The matrix viewed in `file` (the file it was bound against).
    pub fn view<'a>(&self, file: &'a ModelFile) -> Result<Mat<'a>> {
        let scales = |s: &TensorInfo| -> Result<Scales<'a>> {
            Ok(match s.dtype {
                DType::F16 => Scales::F16(file.f16s(s)?),
                _ => Scales::F32(file.f32s(s)?),
            })
        };
        let w = &self.weight;
        let data = match (w.dtype, w.layout, &self.scale) {
            (DType::F32, _, _) => MatData::F32(file.f32s(w)?),
            (DType::F16, _, _) => MatData::F16(file.f16s(w)?),
            (DType::I8, Layout::RowMajor, Some(s)) => MatData::I8Rows(file.i8s(w)?, scales(s)?),
            (DType::I8, Layout::K4n16, Some(s)) => MatData::I8Packed(file.i8s(w)?, scales(s)?),
            (DType::I4, Layout::RowMajor, Some(s)) => MatData::I4Rows(file.i4s(w)?, scales(s)?),
            (DType::I4, Layout::K4n16, _) => {
                return Err(Error::format(format!(
                    "tensor {}: the k4n16 layout takes i8",
                    w.name
                )))
            }
            (DType::I8 | DType::I4, _, None) => {
                return Err(Error::format(format!("tensor {} has no scales", w.name)))
            }
        };
        Ok(Mat {
            data,
            n: self.n,
            k: self.k,
        })
    }
}

/// A vector tensor (bias, LayerNorm gain or shift) of f32 or f16.
#[derive(Debug, Clone)]
pub struct VecRef(TensorInfo);

impl VecRef {
    /// Finds `name` and checks it is a vector of `n` floats.
    pub fn bind(file: &ModelFile, name: &str, n: usize) -> Result<VecRef> {
        let t = file.tensor(name)?.clone();
        if t.shape != [n] || t.dtype.is_quantized() {
            return Err(Error::format(format!(
                "tensor {name} must be an f32/f16 vector of {n}, found {:?} {:?}",
                t.dtype, t.shape
            )));
        }
        Ok(VecRef(t))
    }

    /// The vector as f32 (borrowed when stored as f32).
    pub fn view<'a>(&self, file: &'a ModelFile) -> Result<std::borrow::Cow<'a, [f32]>> {
        Ok(match self.0.dtype {
            DType::F16 => file.f16s(&self.0)?.iter().map(|v| v.to_f32()).collect(),
            _ => std::borrow::Cow::Borrowed(file.f32s(&self.0)?),
        })
    }
}

/// A dense layer `y = x W^T + b`.
#[derive(Debug, Clone)]
pub struct LinearRef {
    /// `[out, in]`.
    pub weight: MatRef,
    /// `[out]`.
    pub bias: VecRef,
}

impl LinearRef {
    fn bind(file: &ModelFile, prefix: &str, out: usize, inp: usize) -> Result<LinearRef> {
        Ok(LinearRef {
            weight: MatRef::bind(file, &format!("{prefix}.weight"), out, inp)?,
            bias: VecRef::bind(file, &format!("{prefix}.bias"), out)?,
        })
    }
}

/// LayerNorm gain and shift.
#[derive(Debug, Clone)]
pub struct NormRef {
    /// Gain.
    pub gamma: VecRef,
    /// Shift.
    pub beta: VecRef,
}

impl NormRef {
    fn bind(file: &ModelFile, prefix: &str, n: usize) -> Result<NormRef> {
        Ok(NormRef {
            gamma: VecRef::bind(file, &format!("{prefix}.weight"), n)?,
            beta: VecRef::bind(file, &format!("{prefix}.bias"), n)?,
        })
    }
}

/// One encoder layer.
#[derive(Debug, Clone)]
pub struct LayerRef {
    /// Query, key and value projections.
    pub query: LinearRef,
    /// Key projection.
    pub key: LinearRef,
    /// Value projection.
    pub value: LinearRef,
    /// Attention output projection.
    pub attn_out: LinearRef,
    /// LayerNorm after attention.
    pub attn_norm: NormRef,
    /// FFN up-projection.
    pub ffn_in: LinearRef,
    /// FFN down-projection.
    pub ffn_out: LinearRef,
    /// LayerNorm after the FFN.
    pub ffn_norm: NormRef,
}

/// All encoder tensors, bound and shape-checked against the architecture.
#[derive(Debug, Clone)]
pub struct EncoderRef {
    /// The architecture the tensors were checked against.
    pub arch: Architecture,
    /// `[vocab, hidden]`, or `[vocab, r]` when the embeddings are factorized.
    pub word: MatRef,
    /// `[hidden, r]` f32 projection of factorized word embeddings.
    pub word_projection: Option<MatRef>,
    /// [`EncoderRef::word_projection`], repacked on first use for the
    /// embedding's product.
    projection: Option<LazyPacked>,
    /// `[max_positions, hidden]`.
    pub position: MatRef,
    /// `[type_vocab, hidden]`.
    pub token_type: MatRef,
    /// Embedding LayerNorm.
    pub emb_norm: NormRef,
    /// The layers.
    pub layers: Vec<LayerRef>,
}

impl EncoderRef {
    /// Writes the embeddings of `ids` (word + position + token type 0, then
    /// LayerNorm) into `x` (`[ids.len(), hidden]`); `tmp` is scratch, grown
    /// as needed (the low-rank rows of every token, then one row).
    #[inline(always)]
    pub fn embed(
        &self,
        file: &ModelFile,
        ids: &[u32],
        x: &mut [f32],
        tmp: &mut Vec<f32>,
    ) -> Result<()> {
        let a = &self.arch;
        let (h, t) = (a.hidden, ids.len());
        if x.len() < t * h {
            return Err(Error::InvalidArgument(
                "embedding buffer shorter than the hidden size".into(),
            ));
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= a.vocab_size) {
            return Err(Error::InvalidArgument(format!(
                "token id {id} outside the vocabulary of {}",
                a.vocab_size
            )));
        }
        let word = self.word.view(file)?;
        let x = &mut x[..t * h];
        match &self.projection {
            None => {
                for (&id, xi) in ids.iter().zip(x.chunks_exact_mut(h)) {
                    word.row_into(id as usize, xi);
                }
            }
            Some(p) => {
                // Every token's low-rank row first, then one product over
                // all of them (tiles of rows share each load of the projection).
                let p = p.get(file)?;
                let r = p.k();
                if tmp.len() < t * r {
                    tmp.resize(t * r, 0.0);
                }
                let low = &mut tmp[..t * r];
                for (&id, li) in ids.iter().zip(low.chunks_exact_mut(r)) {
                    word.row_into(id as usize, li);
                }
                let low = &tmp[..t * r];
                p.product(t, |i| &low[i * r..(i + 1) * r], None, x);
            }
        }
        if tmp.len() < h {
            tmp.resize(h, 0.0);
        }
        let tmp = &mut tmp[..h];
        let pos = self.position.view(file)?;
        let typ = self.token_type.view(file)?;
        for (i, xi) in x.chunks_exact_mut(h).enumerate() {
            pos.row_into(i, tmp);
            xi.iter_mut().zip(tmp.iter()).for_each(|(v, p)| *v += p);
            typ.row_into(0, tmp);
            xi.iter_mut().zip(tmp.iter()).for_each(|(v, p)| *v += p);
        }
        let n = &self.emb_norm;
        super::ops::layer_norm(
            &mut x[..ids.len() * h],
            h,
            &n.gamma.view(file)?,
            &n.beta.view(file)?,
            a.layer_norm_eps,
        );
        Ok(())
    }

    /// Binds the encoder tensors of `file` (HF BERT names).
    pub fn bind(file: &ModelFile) -> Result<EncoderRef> {
        let a = file.meta().architecture.clone();
        let h = a.hidden;
        if h == 0 || a.heads == 0 || !h.is_multiple_of(a.heads) {
            return Err(Error::format(format!(
                "hidden size {h} is not a positive multiple of {} heads",
                a.heads
            )));
        }
        if a.max_positions < 3 || a.vocab_size == 0 || a.intermediate == 0 || a.type_vocab_size == 0
        {
            return Err(Error::format(
                "architecture has a zero or too small dimension",
            ));
        }
        if !(a.layer_norm_eps.is_finite() && a.layer_norm_eps > 0.0) {
            return Err(Error::format("layer_norm_eps must be a positive number"));
        }
        let layers = (0..a.layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                Ok(LayerRef {
                    query: LinearRef::bind(file, &format!("{p}.attention.self.query"), h, h)?,
                    key: LinearRef::bind(file, &format!("{p}.attention.self.key"), h, h)?,
                    value: LinearRef::bind(file, &format!("{p}.attention.self.value"), h, h)?,
                    attn_out: LinearRef::bind(file, &format!("{p}.attention.output.dense"), h, h)?,
                    attn_norm: NormRef::bind(file, &format!("{p}.attention.output.LayerNorm"), h)?,
                    ffn_in: LinearRef::bind(
                        file,
                        &format!("{p}.intermediate.dense"),
                        a.intermediate,
                        h,
                    )?,
                    ffn_out: LinearRef::bind(
                        file,
                        &format!("{p}.output.dense"),
                        h,
                        a.intermediate,
                    )?,
                    ffn_norm: NormRef::bind(file, &format!("{p}.output.LayerNorm"), h)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let (word_cols, word_projection) = match a.embedding_rank {
            None => (h, None),
            Some(r) if r == 0 || r > h => {
                return Err(Error::format(format!(
                    "embedding_rank {r} must be between 1 and the hidden size {h}"
                )))
            }
            Some(r) => {
                let p = MatRef::bind(file, "embeddings.word_embeddings.projection", h, r)?;
                if p.weight.dtype != DType::F32 {
                    return Err(Error::format(
                        "tensor embeddings.word_embeddings.projection must be f32",
                    ));
                }
                (r, Some(p))
            }
        };
        Ok(EncoderRef {
            word: MatRef::bind(
                file,
                "embeddings.word_embeddings.weight",
                a.vocab_size,
                word_cols,
            )?,
            projection: word_projection.clone().map(LazyPacked::new),
            word_projection,
            position: MatRef::bind(
                file,
                "embeddings.position_embeddings.weight",
                a.max_positions,
                h,
            )?,
            token_type: MatRef::bind(
                file,
                "embeddings.token_type_embeddings.weight",
                a.type_vocab_size,
                h,
            )?,
            emb_norm: NormRef::bind(file, "embeddings.LayerNorm", h)?,
            layers,
            arch: a,
        })
    }
}
