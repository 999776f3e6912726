//! Classification heads over the shared encoder, and how sentence heads pool.

use candle_core::{DType, Tensor};
use picotag::format::{HeadKind, HeadMeta, HeadRole, ModelMeta, Pooling};

use super::ops::linear;
use super::params::Params;
use crate::error::{Error, Result};

/// One linear head: `heads.<name>.weight` `[labels, hidden]`, `heads.<name>.bias` `[labels]`.
pub struct Head {
    /// Its metadata.
    pub meta: HeadMeta,
    w: Tensor,
    b: Tensor,
}

impl Head {
    /// Tensor name of the weight.
    pub fn weight_name(name: &str) -> String {
        format!("heads.{name}.weight")
    }
    /// Tensor name of the bias.
    pub fn bias_name(name: &str) -> String {
        format!("heads.{name}.bias")
    }
    /// Binds a head to its tensors in `p`, checking shapes.
    pub fn new(meta: &HeadMeta, p: &Params, hidden: usize) -> Result<Head> {
        let w = p.get(&Head::weight_name(&meta.name))?;
        let b = p.get(&Head::bias_name(&meta.name))?;
        let n = meta.labels.len();
        if w.dims() != [n, hidden] || b.dims() != [n] {
            return Err(Error::Model(format!(
                "head {}: tensors {:?}/{:?} do not fit {n} labels x {hidden}",
                meta.name,
                w.dims(),
                b.dims()
            )));
        }
        Ok(Head {
            meta: meta.clone(),
            w,
            b,
        })
    }
    /// Logits for rows `x` `[n, hidden]`.
    pub fn logits(&self, x: &Tensor) -> Result<Tensor> {
        linear(x, &self.w, &self.b)
    }
    /// Pools `hidden` `[b * t, h]` as this (sentence) head wants, then gives logits `[b, labels]`.
    pub fn sentence_logits(
        &self,
        hidden: &Tensor,
        mask: &Tensor,
        b: usize,
        t: usize,
    ) -> Result<Tensor> {
        let pooled = pool(hidden, mask, b, t, self.meta.pooling)?;
        self.logits(&pooled)
    }
}

/// Pools `hidden` `[b * t, h]` into `[b, h]`; `mask` `[b, t]` marks real positions.
pub fn pool(hidden: &Tensor, mask: &Tensor, b: usize, t: usize, how: Pooling) -> Result<Tensor> {
    let h = hidden.dim(1)?;
    let x = hidden.reshape((b, t, h))?;
    let m = mask.to_dtype(DType::F32)?.reshape((b, t, 1))?;
    Ok(match how {
        Pooling::Cls => x.narrow(1, 0, 1)?.squeeze(1)?.contiguous()?,
        Pooling::Max => x.broadcast_add(&((m - 1.0)? * 1e4)?)?.max(1)?,
        Pooling::Mean => {
            let s = x.broadcast_mul(&m)?.sum(1)?;
            s.broadcast_div(&m.sum(1)?)?
        }
    })
}

/// The heads of one task, as indices into the model's head list.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskHeads {
    /// Task name.
    pub task: String,
    /// The slot (token) head.
    pub slots: usize,
    /// Intent head, when the task has intents.
    pub intent: Option<usize>,
    /// Has-slot head (the runtime's gate, role `HasSlot`).
    pub has_slot: Option<usize>,
    /// Entity-count head.
    pub mcls: Option<usize>,
    /// Multi/single-word entity head.
    pub mtcls: Option<usize>,
}

/// Groups the heads of `meta` by task, following the naming convention
/// (tasks with a slot head; see [`heads_of_task`] for the others).
pub fn task_heads(meta: &ModelMeta) -> Vec<TaskHeads> {
    meta.heads
        .iter()
        .enumerate()
        .filter(|(_, h)| h.kind == HeadKind::Token && h.role == HeadRole::Slots)
        .map(|(i, h)| heads_of_task(meta, &h.task, i))
        .collect()
}

/// Name suffix of a task's intent head: `TASK.intent`.
pub const INTENT_SUFFIX: &str = "intent";
/// Name suffix of a task's has-slot head (role `HasSlot`): `TASK.bcls`, its
/// name in the checkpoints and `.ptag` files since the first ones.
pub const HAS_SLOT_SUFFIX: &str = "bcls";
/// Name suffix of a task's entity-count head: `TASK.mcls`.
pub const MCLS_SUFFIX: &str = "mcls";
/// Name suffix of a task's multi/single-word entity head: `TASK.mtcls`.
pub const MTCLS_SUFFIX: &str = "mtcls";

/// The heads of `task` named by the convention (`TASK.intent`, `TASK.bcls`
/// for has-slot, …; the suffixes above), with slot head `slots` (its own, or a unified head shared by tasks).
pub fn heads_of_task(meta: &ModelMeta, task: &str, slots: usize) -> TaskHeads {
    let find = |suffix: &str| {
        let name = format!("{task}.{suffix}");
        meta.heads.iter().position(|h| h.name == name)
    };
    TaskHeads {
        task: task.to_string(),
        slots,
        intent: find(INTENT_SUFFIX),
        has_slot: find(HAS_SLOT_SUFFIX),
        mcls: find(MCLS_SUFFIX),
        mtcls: find(MTCLS_SUFFIX),
    }
}
