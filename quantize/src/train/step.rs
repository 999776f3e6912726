//! The loss of one mini-batch: the encoder plus the batch's own task heads only
//! (and, with domains, the has-slot heads of other domains' tasks).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use super::batch::Batch;
use super::TaskRecipe;
use crate::error::Result;
use crate::model::heads::TaskHeads;
use crate::model::ops::{cross_entropy, partial_label_nll, Dropout};
use crate::model::Model;

/// For each task with a domain, the `bcls` heads of the tasks of *other*
/// domains: a sentence of the task is a gold "no slot" example for them, which
/// teaches every has-slot head to stay quiet on text of another domain (the
/// runtime's gate). Tasks without a domain neither give nor take negatives.
pub fn gate_negatives(tasks: &[TaskRecipe], model: &Model) -> HashMap<String, Vec<usize>> {
    // The has-slot head of each task by its name (`TASK.bcls`): with a
    // unified slot head the tasks have no slot heads of their own to start from.
    let bcls = |task: &str| {
        let name = format!("{task}.bcls");
        model.meta.heads.iter().position(|h| h.name == name)
    };
    tasks
        .iter()
        .filter_map(|a| Some((a, a.domain.as_deref()?)))
        .map(|(a, da)| {
            let others = tasks
                .iter()
                .filter(|b| b.domain.as_deref().is_some_and(|db| db != da))
                .filter_map(|b| bcls(&b.name))
                .collect();
            (a.name.clone(), others)
        })
        .collect()
}

/// Mean cross-entropy of "no" (label 0 of `BCLS_LABELS`) over the sentences
/// of the batch, summed over the has-slot heads `negatives`; `None` when empty.
pub fn negatives_loss(
    model: &Model,
    negatives: &[usize],
    hidden: &Tensor,
    batch: &Batch,
) -> Result<Option<Tensor>> {
    if negatives.is_empty() {
        return Ok(None);
    }
    let no = Tensor::zeros(batch.b, DType::U32, hidden.device())?;
    let mut sum: Option<Tensor> = None;
    for &h in negatives {
        let l = model.heads[h].sentence_logits(hidden, &batch.mask, batch.b, batch.t)?;
        let ce = cross_entropy(&l, &no)?;
        sum = Some(match sum {
            Some(s) => (s + ce)?,
            None => ce,
        });
    }
    Ok(sum)
}

/// The target sets of the partial-label loss, `[n, labels]`: for a gold
/// label other than `O` (index 0) that label alone, for a gold `O` the
/// labels `o_set` allows (see [`crate::data::unified::TaskView::o_set`]).
pub fn partial_targets(gold: &[u32], o_set: &[f32], dev: &Device) -> Result<Tensor> {
    let l = o_set.len();
    let mut m = vec![0f32; gold.len() * l];
    for (row, &g) in m.chunks_exact_mut(l).zip(gold) {
        match g {
            0 => row.copy_from_slice(o_set),
            g => row[g as usize] = 1.0,
        }
    }
    Ok(Tensor::from_vec(m, (gold.len(), l), dev)?)
}

/// `λ · (slots + intent + aux_weight · (bcls + mcls + mtcls + negatives))` for
/// one batch of task `th`, where `negatives` is the "no" loss of the other
/// domains' has-slot heads (see [`gate_negatives`]). With `o_set` (a unified
/// slot head), the slot loss is the partial-label one
/// ([`partial_label_nll`] over [`partial_targets`]); else cross-entropy.
#[allow(clippy::too_many_arguments)]
pub fn batch_loss(
    model: &Model,
    th: &TaskHeads,
    negatives: &[usize],
    o_set: Option<&[f32]>,
    batch: &Batch,
    weight: f64,
    aux_weight: f64,
    drop: &mut Option<Dropout>,
) -> Result<Tensor> {
    let (b, t) = (batch.b, batch.t);
    let hidden = model.bert.forward(&batch.ids, &batch.mask, drop)?;
    let rows = hidden.index_select(&batch.sel, 0)?;
    let logits = model.heads[th.slots].logits(&rows)?;
    let mut loss = match o_set {
        Some(o) => {
            let gold = batch.slot.to_vec1::<u32>()?;
            partial_label_nll(&logits, &partial_targets(&gold, o, logits.device())?)?
        }
        None => cross_entropy(&logits, &batch.slot)?,
    };
    if let (Some(h), Some(y)) = (th.intent, &batch.intent) {
        let l = model.heads[h].sentence_logits(&hidden, &batch.mask, b, t)?;
        loss = (loss + cross_entropy(&l, y)?)?;
    }
    let mut aux: Option<Tensor> = None;
    let mut add = |x: Tensor| -> Result<()> {
        aux = Some(match aux.take() {
            Some(a) => (a + x)?,
            None => x,
        });
        Ok(())
    };
    if let Some(h) = th.bcls {
        add(cross_entropy(
            &model.heads[h].sentence_logits(&hidden, &batch.mask, b, t)?,
            &batch.bcls,
        )?)?;
    }
    if let Some(h) = th.mcls {
        add(cross_entropy(
            &model.heads[h].sentence_logits(&hidden, &batch.mask, b, t)?,
            &batch.mcls,
        )?)?;
    }
    if let Some(h) = th.mtcls {
        add(cross_entropy(&model.heads[h].logits(&rows)?, &batch.mtcls)?)?;
    }
    if let Some(n) = negatives_loss(model, negatives, &hidden, batch)? {
        add(n)?;
    }
    if let Some(a) = aux {
        loss = (loss + (a * aux_weight)?)?;
    }
    Ok((loss * weight)?)
}
