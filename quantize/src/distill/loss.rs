//! The distillation loss of one mini-batch: on every head of the batch's task,
//! `α_kd · KL(teacher_T ‖ student_T) · T² + α_gold · CE(gold)`, plus an optional
//! MSE between mapped hidden states. On a unified slot head the gold term is
//! the partial-label loss and the KL term covers every type: the teacher's
//! view of the types a dataset does not annotate is what the student learns
//! there.

use candle_core::{Device, Tensor, D};

use crate::distill::cache::TaskCache;
use crate::error::{Error, Result};
use crate::model::heads::TaskHeads;
use crate::model::ops::{cross_entropy, partial_label_nll, Dropout};
use crate::model::Model;
use crate::recipe::KdWeights;
use crate::train::step::{batch_loss, negatives_loss, partial_targets, BatchInput};

/// How student hidden states are compared with the teacher's.
#[derive(Debug, Clone)]
pub struct HiddenMap {
    /// `(student output, teacher output)` indices into [`crate::model::bert::Bert::forward_layers`].
    pub pairs: Vec<(usize, usize)>,
    /// `[teacher hidden, student hidden]` projection of the teacher's states,
    /// when the sizes differ.
    pub projection: Option<Tensor>,
}

fn log_softmax(x: &Tensor) -> Result<Tensor> {
    let m = x.max_keepdim(D::Minus1)?.detach();
    let z = x.broadcast_sub(&m)?;
    let lse = z.exp()?.sum_keepdim(D::Minus1)?.log()?;
    Ok(z.broadcast_sub(&lse)?)
}

/// `T² · mean over rows of KL(softmax(teacher/T) ‖ softmax(student/T))` for logits `[n, c]`.
pub fn kd_kl(student: &Tensor, teacher: &Tensor, temperature: f64) -> Result<Tensor> {
    let lt = log_softmax(&(teacher.detach() / temperature)?)?;
    let ls = log_softmax(&(student / temperature)?)?;
    let kl = lt.exp()?.mul(&(lt - ls)?)?.sum(D::Minus1)?.mean_all()?;
    Ok((kl * (temperature * temperature))?)
}

/// Mean squared difference over real tokens between `s` `[b*t, h]` and `t` `[b*t, h]`.
fn masked_mse(s: &Tensor, t: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.flatten_all()?;
    let per_row = (s - t.detach())?.sqr()?.mean(D::Minus1)?;
    let n = m.sum_all()?.to_scalar::<f32>()?.max(1.0) as f64;
    Ok((per_row.mul(&m)?.sum_all()? / n)?)
}

/// Where a batch's teacher logits come from.
enum TeacherLogits<'a> {
    /// The teacher run on the batch: its final hidden states `[b * t, h]`
    /// and their rows at the labelled sub-tokens.
    Live {
        teacher: &'a Model,
        hidden: Tensor,
        rows: Tensor,
        mask: &'a Tensor,
        b: usize,
        t: usize,
    },
    /// Read from the task's cache for the batch's windows.
    Cached {
        cache: &'a TaskCache,
        items: &'a [usize],
        dev: Device,
    },
}

impl TeacherLogits<'_> {
    /// Token head `ti`'s logits at the labelled sub-tokens.
    fn token(&self, ti: usize) -> Result<Tensor> {
        match self {
            TeacherLogits::Live { teacher, rows, .. } => head_of(teacher, ti)?.logits(rows),
            TeacherLogits::Cached { cache, items, dev } => cache.logits(ti, items, dev),
        }
    }

    /// Sentence head `ti`'s logits, one row per window.
    fn sentence(&self, ti: usize) -> Result<Tensor> {
        match self {
            TeacherLogits::Live {
                teacher,
                hidden,
                mask,
                b,
                t,
                ..
            } => head_of(teacher, ti)?.sentence_logits(hidden, mask, *b, *t),
            TeacherLogits::Cached { cache, items, dev } => cache.logits(ti, items, dev),
        }
    }
}

fn head_of(m: &Model, i: usize) -> Result<&crate::model::heads::Head> {
    m.heads
        .get(i)
        .ok_or_else(|| Error::Model(format!("the teacher has no head {i}")))
}

/// The inputs of [`Distiller::batch_loss`] that do not change from batch to batch.
pub struct Distiller<'a> {
    /// The teacher (frozen).
    pub teacher: &'a Model,
    /// Loss weights.
    pub weights: KdWeights,
    /// Weight of the auxiliary heads' losses.
    pub aux_weight: f64,
    /// Hidden-state pairs for the MSE term.
    pub hidden: HiddenMap,
}

impl Distiller<'_> {
    /// `λ · (slots + intent + aux_weight · (has_slot + mcls + mtcls + negatives) + hidden_mse · MSE)`
    /// for one batch `x` of the student, where each head's term is
    /// `α_kd · KL · T² + α_gold · CE`, and `negatives` the gold "no" loss of
    /// the other domains' has-slot heads of the student
    /// (`crate::train::step::gate_negatives`; no teacher term: the teacher may
    /// never have seen such negatives). `tth` are the task's heads in the
    /// teacher; with `x.o_set` (a unified slot head) the slots' gold term is
    /// the partial-label loss. With `α_kd = 0` and no hidden-state term, the
    /// teacher is not run: `α_gold ·` [`batch_loss`] of the student alone.
    pub fn batch_loss(
        &self,
        student: &Model,
        x: &BatchInput,
        tth: &TaskHeads,
        drop: &mut Option<Dropout>,
    ) -> Result<Tensor> {
        self.loss(student, x, tth, None, drop)
    }

    /// [`Distiller::batch_loss`] with the teacher's logits read from `cache`
    /// (the task's, [`TaskCache`]) for the batch's windows `items` (indices
    /// into the task's training windows, in batch order) instead of a
    /// teacher forward pass. Not with a hidden-state term.
    pub fn batch_loss_cached(
        &self,
        student: &Model,
        x: &BatchInput,
        tth: &TaskHeads,
        cache: &TaskCache,
        items: &[usize],
        drop: &mut Option<Dropout>,
    ) -> Result<Tensor> {
        self.loss(student, x, tth, Some((cache, items)), drop)
    }

    fn loss(
        &self,
        student: &Model,
        x: &BatchInput,
        tth: &TaskHeads,
        cached: Option<(&TaskCache, &[usize])>,
        drop: &mut Option<Dropout>,
    ) -> Result<Tensor> {
        let BatchInput {
            batch,
            heads: sth,
            negatives,
            o_set,
            weight,
        } = *x;
        let (b, t) = (batch.b, batch.t);
        let w = self.weights;
        let teacher = self.teacher;
        let mse = w.hidden_mse > 0.0 && !self.hidden.pairs.is_empty();
        if w.alpha_kd == 0.0 && !mse {
            // Gold labels only (a shrunk encoder trained from its teacher's
            // layers): the teacher's outputs are not needed.
            return Ok((batch_loss(student, x, self.aux_weight, drop)? * w.alpha_gold)?);
        }
        if mse && cached.is_some() {
            return Err(Error::Spec(
                "cached teacher outputs go without a hidden-state term".into(),
            ));
        }
        let s_all = if mse {
            student.bert.forward_layers(&batch.ids, &batch.mask, drop)?
        } else {
            vec![student.bert.forward(&batch.ids, &batch.mask, drop)?]
        };
        let t_all = match cached {
            Some(_) => Vec::new(),
            None if mse => teacher
                .bert
                .forward_layers(&batch.ids, &batch.mask, &mut None)?,
            None => vec![teacher.bert.forward(&batch.ids, &batch.mask, &mut None)?],
        };
        let sh = s_all
            .last()
            .ok_or_else(|| Error::Model("encoder without outputs".into()))?;
        let s_rows = sh.index_select(&batch.sel, 0)?;
        let tl = match cached {
            Some((cache, items)) => TeacherLogits::Cached {
                cache,
                items,
                dev: sh.device().clone(),
            },
            None => {
                let th = t_all
                    .last()
                    .ok_or_else(|| Error::Model("encoder without outputs".into()))?
                    .detach();
                TeacherLogits::Live {
                    teacher,
                    rows: th.index_select(&batch.sel, 0)?,
                    hidden: th,
                    mask: &batch.mask,
                    b,
                    t,
                }
            }
        };
        let head = |s: &Tensor, t: &Tensor, gold: &Tensor| -> Result<Tensor> {
            let kd = kd_kl(s, t, w.temperature)?;
            let ce = cross_entropy(s, gold)?;
            Ok(((kd * w.alpha_kd)? + (ce * w.alpha_gold)?)?)
        };
        let token = |si: usize, ti: usize, gold: &Tensor| -> Result<Tensor> {
            head(&student.heads[si].logits(&s_rows)?, &tl.token(ti)?, gold)
        };
        let sentence = |si: usize, ti: usize, gold: &Tensor| -> Result<Tensor> {
            head(
                &student.heads[si].sentence_logits(sh, &batch.mask, b, t)?,
                &tl.sentence(ti)?,
                gold,
            )
        };
        let mut loss = match o_set {
            None => token(sth.slots, tth.slots, &batch.slot)?,
            Some(o) => {
                let s = student.heads[sth.slots].logits(&s_rows)?;
                let kd = kd_kl(&s, &tl.token(tth.slots)?, w.temperature)?;
                let gold = batch.slot.to_vec1::<u32>()?;
                let nll = partial_label_nll(&s, &partial_targets(&gold, o, s.device())?)?;
                ((kd * w.alpha_kd)? + (nll * w.alpha_gold)?)?
            }
        };
        if let (Some(s), Some(t), Some(y)) = (sth.intent, tth.intent, &batch.intent) {
            loss = (loss + sentence(s, t, y)?)?;
        }
        let mut aux: Option<Tensor> = None;
        let mut add = |x: Tensor| -> Result<()> {
            aux = Some(match aux.take() {
                Some(a) => (a + x)?,
                None => x,
            });
            Ok(())
        };
        if let (Some(s), Some(t)) = (sth.has_slot, tth.has_slot) {
            add(sentence(s, t, &batch.has_slot)?)?;
        }
        if let (Some(s), Some(t)) = (sth.mcls, tth.mcls) {
            add(sentence(s, t, &batch.mcls)?)?;
        }
        if let (Some(s), Some(t)) = (sth.mtcls, tth.mtcls) {
            add(token(s, t, &batch.mtcls)?)?;
        }
        if let Some(n) = negatives_loss(student, negatives, sh, batch)? {
            add((n * w.alpha_gold)?)?;
        }
        if let Some(a) = aux {
            loss = (loss + (a * self.aux_weight)?)?;
        }
        if mse {
            let mut sum: Option<Tensor> = None;
            for &(si, ti) in &self.hidden.pairs {
                let (s, t) = match (s_all.get(si), t_all.get(ti)) {
                    (Some(s), Some(t)) => (s, t),
                    _ => {
                        return Err(Error::Model(format!(
                            "hidden-state pair ({si}, {ti}) out of range"
                        )))
                    }
                };
                let t = match &self.hidden.projection {
                    Some(p) => t.matmul(p)?,
                    None => t.clone(),
                };
                let l = masked_mse(s, &t, &batch.mask)?;
                sum = Some(match sum {
                    Some(x) => (x + l)?,
                    None => l,
                });
            }
            if let Some(s) = sum {
                let n = self.hidden.pairs.len() as f64;
                loss = (loss + (s * (w.hidden_mse / n))?)?;
            }
        }
        Ok((loss * weight)?)
    }
}
