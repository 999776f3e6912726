//! The student's initial tensors, taken from the teacher: a subset of its layers
//! (same hidden size), or its embeddings projected by PCA (smaller hidden size),
//! optionally with the word embeddings factorized at a low rank; with a
//! narrower FFN than the teacher's, its units of most weight
//! ([`super::prune`]).

use std::collections::BTreeMap;

use candle_core::Tensor;
use picotag::format::Architecture;

use super::eigen::{low_rank, principal_directions};
use super::prune::prune_ffn;
use crate::error::{Error, Result};
use crate::model::bert::WORD_PROJECTION;
use crate::model::heads::Head;
use crate::model::params::{random_bert, WORD_EMBEDDINGS};
use crate::model::Model;
use crate::recipe::StudentInit;

/// The student's tensors and what the initialisation measured.
pub struct Initialised {
    /// Encoder tensors (and the heads copied from the teacher, if any).
    pub tensors: BTreeMap<String, Tensor>,
    /// Share of the word-embedding energy the rank-r factorization keeps.
    pub embedding_energy: Option<f64>,
}

const EMBEDDINGS: [&str; 4] = [
    "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias",
];

fn get<'a>(m: &'a BTreeMap<String, Tensor>, name: &str) -> Result<&'a Tensor> {
    m.get(name)
        .ok_or_else(|| Error::Model(format!("teacher lacks {name}")))
}

/// The teacher's word embeddings as a full `[vocab, hidden]` matrix (multiplying
/// out a factorized teacher).
pub fn full_word_embeddings(teacher: &Model) -> Result<Tensor> {
    let w = teacher.params.get(WORD_EMBEDDINGS)?;
    Ok(match teacher.meta.architecture.embedding_rank {
        Some(_) => w.matmul(&teacher.params.get(WORD_PROJECTION)?.t()?)?,
        None => w,
    })
}

/// Builds the student's initial tensors for `arch` from `teacher`.
pub fn student_tensors(
    teacher: &Model,
    arch: &Architecture,
    init: &StudentInit,
    heads: &[String],
) -> Result<Initialised> {
    let ta = &teacher.meta.architecture;
    if arch.vocab_size != ta.vocab_size {
        return Err(Error::Spec(format!(
            "student vocabulary {} differs from the teacher's {}",
            arch.vocab_size, ta.vocab_size
        )));
    }
    if arch.max_positions > ta.max_positions {
        return Err(Error::Spec(format!(
            "student max positions {} exceed the teacher's {}",
            arch.max_positions, ta.max_positions
        )));
    }
    let dev = teacher.params.get(WORD_EMBEDDINGS)?.device().clone();
    let full_arch = Architecture {
        embedding_rank: None,
        ..arch.clone()
    };
    let mut m = random_bert(&full_arch, init.seed, &dev)?;
    let t = teacher.params.all();
    let same = arch.hidden == ta.hidden;
    if same {
        m.insert(WORD_EMBEDDINGS.into(), full_word_embeddings(teacher)?);
        for n in EMBEDDINGS {
            let x = get(&t, n)?;
            let x = if n == EMBEDDINGS[0] {
                x.narrow(0, 0, arch.max_positions)?
            } else {
                x.clone()
            };
            m.insert(n.into(), x);
        }
        for h in heads {
            for n in [Head::weight_name(h), Head::bias_name(h)] {
                m.insert(n.clone(), get(&t, &n)?.clone());
            }
        }
    } else if init.project_embeddings {
        let e = full_word_embeddings(teacher)?;
        let (p, _) = principal_directions(&e, arch.hidden)?;
        m.insert(WORD_EMBEDDINGS.into(), e.matmul(&p)?);
        for n in &EMBEDDINGS[..2] {
            let mut x = get(&t, n)?.clone();
            if *n == EMBEDDINGS[0] {
                x = x.narrow(0, 0, arch.max_positions)?;
            }
            m.insert(n.to_string(), x.matmul(&p)?);
        }
    }
    if let Some(layers) = &init.layers {
        if !same || arch.intermediate > ta.intermediate {
            return Err(Error::Spec(
                "--init-layers needs the teacher's hidden size and at most its intermediate size"
                    .into(),
            ));
        }
        if layers.len() != arch.layers {
            return Err(Error::Spec(format!(
                "--init-layers names {} layers for a {}-layer student",
                layers.len(),
                arch.layers
            )));
        }
        for (j, &src) in layers.iter().enumerate() {
            if src >= ta.layers {
                return Err(Error::Spec(format!(
                    "--init-layers: the teacher has no layer {src} (it has {})",
                    ta.layers
                )));
            }
            let from = format!("encoder.layer.{src}.");
            let to = format!("encoder.layer.{j}.");
            for (name, x) in t.iter().filter(|(n, _)| n.starts_with(&from)) {
                m.insert(name.replacen(&from, &to, 1), x.clone());
            }
        }
        if arch.intermediate < ta.intermediate {
            prune_ffn(&mut m, arch.layers, arch.intermediate)?;
        }
    }
    let mut embedding_energy = None;
    if let Some(r) = arch.embedding_rank {
        let lr = low_rank(get(&m, WORD_EMBEDDINGS)?, r)?;
        m.insert(WORD_EMBEDDINGS.into(), lr.coeffs);
        m.insert(WORD_PROJECTION.into(), lr.projection);
        embedding_energy = Some(lr.energy);
    }
    Ok(Initialised {
        tensors: m,
        embedding_energy,
    })
}

/// `(student output, teacher output)` pairs for the hidden-state MSE: student
/// layer `j` against the teacher layer it was initialised from, else against
/// teacher layer `⌈(j+1)·L_t/L_s⌉` (outputs are 1-based; 0 is the embeddings).
pub fn layer_pairs(
    student_layers: usize,
    teacher_layers: usize,
    init: &StudentInit,
) -> Vec<(usize, usize)> {
    (0..student_layers)
        .map(|j| {
            let uniform = ((j + 1) * teacher_layers).div_ceil(student_layers);
            let t = init
                .layers
                .as_ref()
                .and_then(|l| l.get(j))
                .map_or(uniform, |l| l + 1);
            (j + 1, t)
        })
        .collect()
}
