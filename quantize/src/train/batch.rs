//! Training examples and their tensors.

use candle_core::{Device, Tensor};

use crate::data::encode::Encoded;
use crate::data::labels::{derive_aux, Vocab};
use crate::data::Sentence;
use crate::error::{Error, Result};

/// One training window with all its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Token ids with `[CLS]`/`[SEP]`.
    pub ids: Vec<u32>,
    /// Positions of the labelled (first) sub-tokens.
    pub pos: Vec<u32>,
    /// Slot label index at each labelled position.
    pub slot: Vec<u32>,
    /// `mtcls` label at each labelled position.
    pub mtcls: Vec<u32>,
    /// Intent index.
    pub intent: Option<u32>,
    /// Has-slot label.
    pub has_slot: u32,
    /// `mcls` label.
    pub mcls: u32,
}

/// Builds the examples (one per window) of a sentence.
pub fn examples(
    s: &Sentence,
    enc: &Encoded,
    slots: &Vocab,
    intents: Option<&Vocab>,
    path: &std::path::Path,
) -> Result<Vec<Example>> {
    let pl = enc.piece_labels(&s.labels);
    let intent = match (intents, &s.intent) {
        (Some(v), Some(i)) => Some(
            v.index(i)
                .ok_or_else(|| Error::data(path, s.line, format!("unknown intent {i:?}")))?,
        ),
        _ => None,
    };
    let mut out = Vec::with_capacity(enc.windows.len());
    for w in &enc.windows {
        let range = w.first_piece..w.first_piece + w.first_pos.len();
        let labels = &pl[range.clone()];
        let aux = derive_aux(labels, &enc.piece_word[range]);
        let slot = labels
            .iter()
            .map(|l| {
                slots.index(l).ok_or_else(|| {
                    Error::data(path, s.line, format!("label {l:?} not in the head"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.push(Example {
            ids: w.ids.clone(),
            pos: w.first_pos.iter().map(|&p| p as u32).collect(),
            slot,
            mtcls: aux.mtcls,
            intent,
            has_slot: aux.has_slot,
            mcls: aux.mcls,
        });
    }
    Ok(out)
}

/// A padded mini-batch of one task, as tensors.
pub struct Batch {
    /// `[b, t]` u32 ids (0-padded).
    pub ids: Tensor,
    /// `[b, t]` f32, 1 on real tokens.
    pub mask: Tensor,
    /// Batch size and padded length.
    pub b: usize,
    /// Padded length.
    pub t: usize,
    /// Flat indices (`row * t + pos`) of the labelled sub-tokens.
    pub sel: Tensor,
    /// Slot labels at `sel`.
    pub slot: Tensor,
    /// `mtcls` labels at `sel`.
    pub mtcls: Tensor,
    /// Intent labels `[b]`, when the task has intents.
    pub intent: Option<Tensor>,
    /// Has-slot labels `[b]`.
    pub has_slot: Tensor,
    /// `mcls` labels `[b]`.
    pub mcls: Tensor,
    /// Real (non-pad) tokens.
    pub tokens: usize,
}

impl Batch {
    /// Pads and stacks examples.
    pub fn new(ex: &[&Example], dev: &Device) -> Result<Batch> {
        let b = ex.len();
        let t = ex.iter().map(|e| e.ids.len()).max().unwrap_or(1);
        let mut ids = vec![0u32; b * t];
        let mut mask = vec![0f32; b * t];
        let (mut sel, mut slot, mut mt) = (Vec::new(), Vec::new(), Vec::new());
        let mut tokens = 0;
        for (r, e) in ex.iter().enumerate() {
            ids[r * t..r * t + e.ids.len()].copy_from_slice(&e.ids);
            mask[r * t..r * t + e.ids.len()].fill(1.0);
            tokens += e.ids.len();
            sel.extend(e.pos.iter().map(|&p| (r * t) as u32 + p));
            slot.extend_from_slice(&e.slot);
            mt.extend_from_slice(&e.mtcls);
        }
        let v = |x: Vec<u32>| Tensor::from_vec(x.clone(), x.len(), dev);
        let intent = if ex.iter().all(|e| e.intent.is_some()) {
            Some(v(ex.iter().filter_map(|e| e.intent).collect())?)
        } else {
            None
        };
        Ok(Batch {
            ids: Tensor::from_vec(ids, (b, t), dev)?,
            mask: Tensor::from_vec(mask, (b, t), dev)?,
            b,
            t,
            sel: v(sel)?,
            slot: v(slot)?,
            mtcls: v(mt)?,
            intent,
            has_slot: v(ex.iter().map(|e| e.has_slot).collect())?,
            mcls: v(ex.iter().map(|e| e.mcls).collect())?,
            tokens,
        })
    }
}
