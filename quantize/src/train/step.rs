//! The loss of one mini-batch: the encoder plus the batch's own task heads only.

use candle_core::Tensor;

use super::batch::Batch;
use crate::error::Result;
use crate::model::heads::TaskHeads;
use crate::model::ops::{cross_entropy, Dropout};
use crate::model::Model;

/// `λ · (slots + intent + aux_weight · (bcls + mcls + mtcls))` for one batch of task `th`.
pub fn batch_loss(
    model: &Model,
    th: &TaskHeads,
    batch: &Batch,
    weight: f64,
    aux_weight: f64,
    drop: &mut Option<Dropout>,
) -> Result<Tensor> {
    let (b, t) = (batch.b, batch.t);
    let hidden = model.bert.forward(&batch.ids, &batch.mask, drop)?;
    let rows = hidden.index_select(&batch.sel, 0)?;
    let mut loss = cross_entropy(&model.heads[th.slots].logits(&rows)?, &batch.slot)?;
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
    if let Some(a) = aux {
        loss = (loss + (a * aux_weight)?)?;
    }
    Ok((loss * weight)?)
}
