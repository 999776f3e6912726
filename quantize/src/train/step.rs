//! The loss of one mini-batch: the encoder plus the batch's own task heads only
//! (and, with domains, the has-slot heads of other domains' tasks).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use crate::error::Result;
use crate::model::heads::{TaskHeads, HAS_SLOT_SUFFIX};
use crate::model::ops::{cross_entropy, partial_label_nll, Dropout};
use crate::model::Model;
use crate::recipe::TaskRecipe;
use crate::train::batch::Batch;
use crate::train::tasks::TaskData;

/// One mini-batch of a task, as its loss sees it.
pub struct BatchInput<'a> {
    /// The batch.
    pub batch: &'a Batch,
    /// The task's heads in the model being trained.
    pub heads: &'a TaskHeads,
    /// Has-slot heads of other domains' tasks that learn "no" from this
    /// batch (see [`gate_negatives`]).
    pub negatives: &'a [usize],
    /// With a unified slot head, the task's `o_set` (partial-label loss,
    /// see [`partial_targets`]); `None`: cross-entropy.
    pub o_set: Option<&'a [f32]>,
    /// The task's weight λ.
    pub weight: f64,
}

impl<'a> BatchInput<'a> {
    /// A batch of the task `heads`: no negatives, no unified head, weight 1.
    pub fn new(batch: &'a Batch, heads: &'a TaskHeads) -> Self {
        BatchInput {
            batch,
            heads,
            negatives: &[],
            o_set: None,
            weight: 1.0,
        }
    }

    /// A batch of task `task`: its weight, its unified head's `o_set`, and
    /// its entry of `negatives` (by task name, from [`gate_negatives`]).
    pub fn of_task(
        batch: &'a Batch,
        heads: &'a TaskHeads,
        task: &'a TaskData,
        negatives: &'a HashMap<String, Vec<usize>>,
    ) -> Self {
        BatchInput {
            batch,
            heads,
            negatives: negatives
                .get(&task.spec.name)
                .map_or(&[][..], Vec::as_slice),
            o_set: task.unified.as_ref().map(|v| v.o_set.as_slice()),
            weight: task.spec.weight as f64,
        }
    }
}

/// For each task with a domain, the has-slot heads of the tasks of *other*
/// domains: a sentence of the task is a gold "no slot" example for them, which
/// teaches every has-slot head to stay quiet on text of another domain (the
/// runtime's gate). Tasks without a domain neither give nor take negatives.
pub fn gate_negatives(tasks: &[TaskRecipe], model: &Model) -> HashMap<String, Vec<usize>> {
    // The has-slot head of each task by its name: with a unified slot head
    // the tasks have no slot heads of their own to start from.
    let has_slot = |task: &str| {
        let name = format!("{task}.{HAS_SLOT_SUFFIX}");
        model.meta.heads.iter().position(|h| h.name == name)
    };
    tasks
        .iter()
        .filter_map(|a| Some((a, a.domain.as_deref()?)))
        .map(|(a, da)| {
            let others = tasks
                .iter()
                .filter(|b| b.domain.as_deref().is_some_and(|db| db != da))
                .filter_map(|b| has_slot(&b.name))
                .collect();
            (a.name.clone(), others)
        })
        .collect()
}

/// Mean cross-entropy of "no" (label 0 of `HAS_SLOT_LABELS`) over the sentences
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

/// `λ · (slots + intent + aux_weight · (has_slot + mcls + mtcls + negatives))`
/// for one batch `x`, where `negatives` is the "no" loss of the other
/// domains' has-slot heads (see [`gate_negatives`]). With `o_set` (a unified
/// slot head), the slot loss is the partial-label one ([`partial_label_nll`]
/// over [`partial_targets`]); else cross-entropy.
pub fn batch_loss(
    model: &Model,
    x: &BatchInput,
    aux_weight: f64,
    drop: &mut Option<Dropout>,
) -> Result<Tensor> {
    let BatchInput {
        batch,
        heads: th,
        negatives,
        o_set,
        weight,
    } = *x;
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
    if let Some(h) = th.has_slot {
        add(cross_entropy(
            &model.heads[h].sentence_logits(&hidden, &batch.mask, b, t)?,
            &batch.has_slot,
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
