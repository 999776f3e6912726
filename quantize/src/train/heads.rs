//! The heads a recipe's tasks train, by the naming convention of the
//! checkpoints and `.ptag` files.

use picotag::format::{HeadKind, HeadMeta, HeadRole, Pooling};

use crate::data::labels::{HAS_SLOT_LABELS, MCLS_LABELS, MTCLS_LABELS};
use crate::model::heads::{HAS_SLOT_SUFFIX, INTENT_SUFFIX, MCLS_SUFFIX, MTCLS_SUFFIX};
use crate::recipe::AuxHeads;
use crate::train::tasks::TaskData;

/// The heads of the tasks, following the naming convention: per task its
/// slot head `NAME`, `NAME.intent` and the auxiliary heads; with a unified
/// head, that head (named for its task) first and no per-task slot heads.
pub fn head_metas(tasks: &[TaskData], aux: AuxHeads) -> Vec<HeadMeta> {
    let mut v = Vec::new();
    let strs = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let unified = tasks
        .first()
        .and_then(|t| t.unified.as_ref())
        .map(|v| &v.head);
    if let Some(u) = unified {
        v.push(HeadMeta {
            name: u.task.clone(),
            task: u.task.clone(),
            kind: HeadKind::Token,
            role: HeadRole::Slots,
            labels: u.labels.labels.clone(),
            scheme: Some(u.scheme),
            pooling: Pooling::Cls,
            reject_below: None,
            span_symbols: None,
            punctuation_share: None,
        });
    }
    for t in tasks {
        let n = &t.spec.name;
        let head = |suffix: &str, kind, role, labels, pooling| HeadMeta {
            name: if suffix.is_empty() {
                n.clone()
            } else {
                format!("{n}.{suffix}")
            },
            task: n.clone(),
            kind,
            role,
            labels,
            scheme: (kind == HeadKind::Token && role == HeadRole::Slots).then_some(t.scheme),
            pooling,
            reject_below: None,
            span_symbols: None,
            punctuation_share: None,
        };
        if unified.is_none() {
            v.push(head(
                "",
                HeadKind::Token,
                HeadRole::Slots,
                t.slots.labels.clone(),
                Pooling::Cls,
            ));
        }
        if let Some(i) = &t.intents {
            v.push(head(
                INTENT_SUFFIX,
                HeadKind::Sentence,
                HeadRole::Intent,
                i.labels.clone(),
                Pooling::Cls,
            ));
        }
        if aux.has_slot {
            v.push(head(
                HAS_SLOT_SUFFIX,
                HeadKind::Sentence,
                HeadRole::HasSlot,
                strs(&HAS_SLOT_LABELS),
                Pooling::Cls,
            ));
        }
        if aux.mcls {
            v.push(head(
                MCLS_SUFFIX,
                HeadKind::Sentence,
                HeadRole::Aux,
                strs(&MCLS_LABELS),
                Pooling::Max,
            ));
        }
        if aux.mtcls {
            v.push(head(
                MTCLS_SUFFIX,
                HeadKind::Token,
                HeadRole::Aux,
                strs(&MTCLS_LABELS),
                Pooling::Cls,
            ));
        }
    }
    v
}
