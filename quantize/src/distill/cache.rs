//! The teacher's outputs cached on disk: every head's logits for every
//! training window of a task, computed once, so that distillation pays no
//! teacher forward pass.
//!
//! A frozen teacher in eval mode gives each window the same logits in every
//! epoch (the windows, with their ASR and symbol forms, are fixed when the
//! tasks are loaded; an epoch only chooses among them), so the logits are
//! computed once per (teacher, task) and read back by the later epochs, the
//! warm restarts and any run resumed. The file's name is a fingerprint of the
//! teacher's weights and heads and of the task's windows: a changed teacher
//! or data never meets a stale file. A file that cannot be read is computed
//! again.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use picotag::format::Checksum;

use crate::error::{Error, Result};
use crate::model::heads::TaskHeads;
use crate::model::Model;
use crate::train::batch::{Batch, Example};

/// Bumped when what a cache file holds changes.
const CACHE_VERSION: u64 = 1;

/// Windows per teacher forward while the cache is computed.
const FILL_BATCH: usize = 64;

/// One teacher head's cached logits.
#[derive(Debug, Clone)]
struct CachedHead {
    /// Index of the head in the teacher.
    index: usize,
    /// One row per labelled sub-token (a token head) or per window (a sentence head).
    per_token: bool,
    /// Classes (logits per row).
    classes: usize,
    /// `[rows, classes]`, row-major.
    logits: Vec<f32>,
}

/// A task's cached teacher logits.
#[derive(Debug, Clone)]
pub struct TaskCache {
    /// Row of each window's first labelled sub-token (`windows + 1` entries).
    offsets: Vec<usize>,
    heads: Vec<CachedHead>,
}

/// The teacher heads a task's distillation reads (token heads first).
fn used_heads(th: &TaskHeads) -> Vec<(usize, bool)> {
    let mut v = vec![(th.slots, true)];
    v.extend(th.mtcls.map(|i| (i, true)));
    for i in [th.intent, th.has_slot, th.mcls].into_iter().flatten() {
        v.push((i, false));
    }
    v
}

/// The cache file of `teacher` (checkpoint folder `teacher_dir`) on the
/// windows `train`, in `dir`: `TASK-FINGERPRINT.safetensors`.
pub fn cache_path(
    dir: &Path,
    task: &str,
    teacher_dir: &Path,
    teacher: &Model,
    th: &TaskHeads,
    train: &[Example],
) -> Result<PathBuf> {
    let weights = teacher_dir.join("model.safetensors");
    let bytes = std::fs::read(&weights).map_err(|e| Error::io(&weights, e))?;
    let mut c = Checksum::new();
    c.update(&CACHE_VERSION.to_le_bytes());
    c.update(&bytes);
    for (i, per_token) in used_heads(th) {
        let h = teacher
            .meta
            .heads
            .get(i)
            .ok_or_else(|| Error::Model(format!("the teacher has no head {i}")))?;
        c.update(h.name.as_bytes());
        c.update(&[per_token as u8]);
        c.update(&(h.labels.len() as u64).to_le_bytes());
    }
    c.update(&(train.len() as u64).to_le_bytes());
    for e in train {
        c.update(&(e.ids.len() as u64).to_le_bytes());
        for &x in e.ids.iter().chain(&e.pos) {
            c.update(&x.to_le_bytes());
        }
    }
    Ok(dir.join(format!("{task}-{:016x}.safetensors", c.finish())))
}

impl TaskCache {
    /// Runs `teacher` over every window of `train` and keeps the logits of
    /// the heads `th` (the task's heads in the teacher), on `dev` (the teacher's).
    pub fn compute(
        teacher: &Model,
        th: &TaskHeads,
        train: &[Example],
        dev: &Device,
    ) -> Result<TaskCache> {
        let mut offsets = Vec::with_capacity(train.len() + 1);
        offsets.push(0);
        for e in train {
            offsets.push(offsets[offsets.len() - 1] + e.pos.len());
        }
        let rows = offsets[train.len()];
        let mut heads: Vec<CachedHead> = used_heads(th)
            .into_iter()
            .map(|(index, per_token)| {
                let classes = teacher.meta.heads.get(index).map_or(0, |h| h.labels.len());
                let n = if per_token { rows } else { train.len() };
                CachedHead {
                    index,
                    per_token,
                    classes,
                    logits: vec![0.0; n * classes],
                }
            })
            .collect();
        // Windows of similar length together (little padding).
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.sort_by_key(|&i| train[i].ids.len());
        for chunk in order.chunks(FILL_BATCH) {
            let ex: Vec<&Example> = chunk.iter().map(|&i| &train[i]).collect();
            let batch = Batch::new(&ex, dev)?;
            let hidden = teacher.bert.forward(&batch.ids, &batch.mask, &mut None)?;
            let rows_of_batch = hidden.index_select(&batch.sel, 0)?;
            for h in &mut heads {
                let head = teacher
                    .heads
                    .get(h.index)
                    .ok_or_else(|| Error::Model(format!("the teacher has no head {}", h.index)))?;
                let logits = if h.per_token {
                    head.logits(&rows_of_batch)?
                } else {
                    head.sentence_logits(&hidden, &batch.mask, batch.b, batch.t)?
                };
                let v = logits
                    .to_dtype(DType::F32)?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                let c = h.classes;
                let mut at = 0;
                for &w in chunk {
                    let (from, n) = if h.per_token {
                        (offsets[w], train[w].pos.len())
                    } else {
                        (w, 1)
                    };
                    let src = v.get(at * c..(at + n) * c).ok_or_else(|| {
                        Error::Model("teacher logits shorter than the batch".into())
                    })?;
                    h.logits[from * c..(from + n) * c].copy_from_slice(src);
                    at += n;
                }
            }
        }
        Ok(TaskCache { offsets, heads })
    }

    /// Writes the cache to `path` (through a temporary file and a rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let dev = Device::Cpu;
        let mut m = std::collections::HashMap::new();
        let off: Vec<u32> = self.offsets.iter().map(|&o| o as u32).collect();
        let n = off.len();
        m.insert("offsets".to_string(), Tensor::from_vec(off, n, &dev)?);
        for h in &self.heads {
            let rows = h.logits.len() / h.classes.max(1);
            m.insert(
                format!("head.{}", h.index),
                Tensor::from_vec(h.logits.clone(), (rows, h.classes), &dev)?,
            );
        }
        let tmp = path.with_extension("tmp");
        candle_core::safetensors::save(&m, &tmp)?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }

    /// Reads a cache written by [`TaskCache::save`] for the heads `th` of
    /// `teacher` and the windows `train`, checking every shape.
    pub fn load(path: &Path, teacher: &Model, th: &TaskHeads, train: &[Example]) -> Result<Self> {
        let bad = |what: &str| Error::Model(format!("{}: {what}", path.display()));
        let m = candle_core::safetensors::load(path, &Device::Cpu)?;
        let offsets: Vec<usize> = m
            .get("offsets")
            .ok_or_else(|| bad("no offsets"))?
            .to_vec1::<u32>()?
            .into_iter()
            .map(|o| o as usize)
            .collect();
        if offsets.len() != train.len() + 1
            || offsets.first() != Some(&0)
            || train
                .iter()
                .zip(offsets.windows(2))
                .any(|(e, w)| w[1] != w[0] + e.pos.len())
        {
            return Err(bad("its windows are not the task's"));
        }
        let rows = offsets[train.len()];
        let mut heads = Vec::new();
        for (index, per_token) in used_heads(th) {
            let classes = teacher.meta.heads.get(index).map_or(0, |h| h.labels.len());
            let t = m
                .get(&format!("head.{index}"))
                .ok_or_else(|| bad(&format!("no logits of head {index}")))?;
            let want = (if per_token { rows } else { train.len() }, classes);
            if t.dims2()? != want {
                return Err(bad(&format!("head {index} has the wrong shape")));
            }
            let logits = t.flatten_all()?.to_vec1::<f32>()?;
            if logits.iter().any(|x| !x.is_finite()) {
                return Err(bad(&format!("head {index} holds a non-finite logit")));
            }
            heads.push(CachedHead {
                index,
                per_token,
                classes,
                logits,
            });
        }
        Ok(TaskCache { offsets, heads })
    }

    /// The cache at `path` when it can be read, else computed and written
    /// there. Says on stderr which.
    pub fn load_or_compute(
        path: &Path,
        teacher: &Model,
        th: &TaskHeads,
        train: &[Example],
        dev: &Device,
    ) -> Result<TaskCache> {
        if path.is_file() {
            match TaskCache::load(path, teacher, th, train) {
                Ok(c) => {
                    eprintln!("teacher outputs: read {}", path.display());
                    return Ok(c);
                }
                Err(e) => eprintln!("teacher outputs: {e}; computing them again"),
            }
        }
        let t0 = std::time::Instant::now();
        let c = TaskCache::compute(teacher, th, train, dev)?;
        c.save(path)?;
        eprintln!(
            "teacher outputs: wrote {} ({} windows, {:.1}s)",
            path.display(),
            train.len(),
            t0.elapsed().as_secs_f64()
        );
        Ok(c)
    }

    /// The cached logits of teacher head `index` for the windows `items` of a
    /// batch, in the batch's row order: `[labelled sub-tokens, classes]` for a
    /// token head, `[windows, classes]` for a sentence head.
    pub fn logits(&self, index: usize, items: &[usize], dev: &Device) -> Result<Tensor> {
        let h = self
            .heads
            .iter()
            .find(|h| h.index == index)
            .ok_or_else(|| Error::Model(format!("teacher head {index} is not cached")))?;
        let c = h.classes;
        let mut v = Vec::new();
        for &w in items {
            let (from, to) = if h.per_token {
                match (self.offsets.get(w), self.offsets.get(w + 1)) {
                    (Some(&a), Some(&b)) => (a, b),
                    _ => return Err(Error::Model(format!("window {w} is not cached"))),
                }
            } else {
                (w, w + 1)
            };
            let src = h
                .logits
                .get(from * c..to * c)
                .ok_or_else(|| Error::Model(format!("window {w} is not cached")))?;
            v.extend_from_slice(src);
        }
        let n = v.len() / c.max(1);
        Ok(Tensor::from_vec(v, (n, c), dev)?)
    }
}
