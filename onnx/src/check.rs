//! Running an exported graph with tract and comparing it with the runtime's
//! reference path (used by the tests and available to benches).

use picotag::encoder::reference::forward;
use picotag::encoder::weights::{MatRef, VecRef};
use picotag::encoder::EncoderRef;
use picotag::format::{HeadKind, ModelFile};
use picotag::heads::HeadRef;
use tract_onnx::prelude::*;

use crate::error::{Error, Result};

/// A model loaded and optimized by tract.
pub type TractPlan = Arc<TypedRunnableModel>;

fn tract_err(e: impl std::fmt::Display) -> Error {
    Error::Tract(e.to_string())
}

/// Loads ONNX bytes into a runnable tract plan.
pub fn load_tract(onnx: &[u8]) -> Result<TractPlan> {
    tract_onnx::onnx()
        .model_for_read(&mut &onnx[..])
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(tract_err)
}

/// One output of a run: its shape and values (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Shape.
    pub shape: Vec<usize>,
    /// Values.
    pub values: Vec<f32>,
}

/// Runs `plan` on a batch of token-id sequences (`[CLS] … [SEP]` each),
/// padded with id 0 and masked; token types are 0. One output per head.
pub fn run_tract(plan: &TractPlan, batch: &[Vec<u32>]) -> Result<Vec<Output>> {
    let b = batch.len();
    let s = batch.iter().map(Vec::len).max().unwrap_or(0);
    if b == 0 || s == 0 {
        return Err(Error::Shape("empty batch".into()));
    }
    let mut ids = vec![0i64; b * s];
    let mut mask = vec![0i64; b * s];
    for (r, seq) in batch.iter().enumerate() {
        for (c, &id) in seq.iter().enumerate() {
            ids[r * s + c] = id as i64;
            mask[r * s + c] = 1;
        }
    }
    let t = |v: Vec<i64>| -> Result<TValue> {
        Ok(tract_ndarray::Array2::from_shape_vec((b, s), v)
            .map_err(tract_err)?
            .into_tensor()
            .into())
    };
    let out = plan
        .run(tvec![t(ids)?, t(mask)?, t(vec![0i64; b * s])?])
        .map_err(tract_err)?;
    out.iter()
        .map(|v| {
            let a = v.to_plain_array_view::<f32>().map_err(tract_err)?;
            Ok(Output {
                shape: a.shape().to_vec(),
                values: a.iter().copied().collect(),
            })
        })
        .collect()
}

/// Logits of every head of `file` for one sequence through the runtime's
/// reference path: `[t, labels]` for token heads, `[labels]` for sentence heads.
pub fn reference_logits(file: &ModelFile, ids: &[u32]) -> Result<Vec<Vec<f32>>> {
    let enc = EncoderRef::bind(file)?;
    let h = enc.arch.hidden;
    let hidden = forward(file, &enc, ids, &vec![true; ids.len()])?;
    let mut out = Vec::new();
    for meta in &file.meta().heads {
        let n = meta.labels.len();
        let w = MatRef::bind(file, &format!("heads.{}.weight", meta.name), n, h)?;
        let w = w.view(file)?;
        let b = VecRef::bind(file, &format!("heads.{}.bias", meta.name), n)?.view(file)?;
        let rows: Vec<Vec<f32>> = match meta.kind {
            HeadKind::Token => hidden.chunks_exact(h).map(<[f32]>::to_vec).collect(),
            HeadKind::Sentence => {
                let head = HeadRef::bind(file, meta, h)?;
                vec![head.pool(&hidden, h, ids.len())]
            }
        };
        let mut wr = vec![0.0f32; h];
        let mut logits = vec![0.0f32; rows.len() * n];
        for j in 0..n {
            w.row_into(j, &mut wr);
            for (i, x) in rows.iter().enumerate() {
                logits[i * n + j] = x.iter().zip(&wr).map(|(a, b)| a * b).sum::<f32>() + b[j];
            }
        }
        out.push(logits);
    }
    Ok(out)
}

/// The largest absolute difference between the logits of the ONNX export of
/// `file` run by tract on `batch` (padded together) and the reference path
/// run on each sequence alone, over every head and real position.
pub fn max_abs_diff(file: &ModelFile, batch: &[Vec<u32>]) -> Result<f32> {
    let plan = load_tract(&crate::export_bytes(file)?)?;
    let outs = run_tract(&plan, batch)?;
    let heads = &file.meta().heads;
    if outs.len() != heads.len() {
        return Err(Error::Shape(format!(
            "{} outputs for {} heads",
            outs.len(),
            heads.len()
        )));
    }
    let mut worst = 0.0f32;
    for (r, ids) in batch.iter().enumerate() {
        let reference = reference_logits(file, ids)?;
        for ((o, want), meta) in outs.iter().zip(&reference).zip(heads) {
            let n = meta.labels.len();
            let got: &[f32] = match meta.kind {
                HeadKind::Token => {
                    let s = o.shape[1];
                    &o.values[r * s * n..(r * s + ids.len()) * n]
                }
                HeadKind::Sentence => &o.values[r * n..(r + 1) * n],
            };
            if got.len() != want.len() {
                return Err(Error::Shape(format!(
                    "head {}: {} values, reference {}",
                    meta.name,
                    got.len(),
                    want.len()
                )));
            }
            for (g, w) in got.iter().zip(want) {
                worst = worst.max((g - w).abs());
            }
        }
    }
    Ok(worst)
}

/// `[CLS] pieces [SEP]` of each text with the model's own tokenizer, cut to
/// the model's positions.
pub fn encode_texts(file: &ModelFile, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
    let tok = file.tokenizer()?;
    let max = file.meta().architecture.max_positions.saturating_sub(2);
    texts
        .iter()
        .map(|t| {
            let mut ids = vec![tok.cls_id()];
            ids.extend(tok.tokenize(t)?.ids.into_iter().take(max));
            ids.push(tok.sep_id());
            Ok(ids)
        })
        .collect()
}

/// Sentences of both domains for checks on real models.
pub const CHECK_SENTENCES: &[&str] = &[
    "book a table for two at 8 pm",
    "show me flights from boston to denver tomorrow morning",
    "play the latest album by radiohead on spotify",
    "what will the weather be like in paris this weekend",
    "i take 200 mg of ibuprofen for my migraine",
    "Cisplatin-induced nephrotoxicity was reduced by amifostine in rats.",
    "Mutations in the BRCA1 gene predispose to breast and ovarian cancer.",
    "hi",
];
