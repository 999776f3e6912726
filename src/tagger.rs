//! The public entry point: [`Tagger`].

use std::path::Path;
use std::sync::Arc;

use crate::decode::{decode, Tag};
use crate::encoder::{fast, reference, EncoderRef};
use crate::error::{Error, Result};
use crate::format::{HeadKind, HeadMeta, HeadRole, ModelFile, ModelMeta, OpenOptions};
use crate::heads::HeadRef;
use crate::kernels::{self, Isa};
use crate::tagging::{Intent, Slot, Tagging};
use crate::tokenize::{Tokenized, Tokenizer};
use crate::window;

/// Per-call options of [`Tagger::tag_utterance_with`].
#[derive(Debug, Clone, PartialEq)]
pub struct TagOptions {
    /// Run only these tasks (`None`: all tasks).
    pub tasks: Option<Vec<String>>,
    /// Drop a task's slots when its "has any slot" probability is below this
    /// (tasks without such a head are never silenced). `None` disables it.
    pub has_slot_threshold: Option<f32>,
    /// Drop slots whose score is below this.
    pub min_slot_score: f32,
}

impl Default for TagOptions {
    fn default() -> Self {
        TagOptions {
            tasks: None,
            has_slot_threshold: Some(0.5),
            min_slot_score: 0.0,
        }
    }
}

/// Which encoder implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The plain f32 reference pass (dequantizes int8 weights as it goes).
    Reference,
    /// int8 GEMM kernels on the given instruction set.
    Fast(Isa),
}

/// What a task of the model offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// Task name, e.g. `atis`.
    pub name: String,
    /// Labels of its slot head (BIO tags), empty if it has none.
    pub slot_labels: Vec<String>,
    /// Labels of its intent head, empty if it has none.
    pub intent_labels: Vec<String>,
    /// Whether it has a "has any slot" head (and so can be silenced).
    pub has_slot_head: bool,
}

/// A loaded model, ready to tag. `Send + Sync`: share one across threads.
pub struct Tagger {
    file: ModelFile,
    tokenizer: Tokenizer,
    encoder: EncoderRef,
    heads: Vec<HeadRef>,
    /// Task names, interned so slots share them.
    names: Vec<Arc<str>>,
    /// Per head: its labels interned, and the span type of each label.
    labels: Vec<Vec<Arc<str>>>,
    options: TagOptions,
    backend: Backend,
}

impl std::fmt::Debug for Tagger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tagger")
            .field("file", &self.file)
            .field("heads", &self.heads.len())
            .finish()
    }
}

impl Tagger {
    /// Memory-maps and validates the model at `path` (checksum verified).
    pub fn open(path: impl AsRef<Path>) -> Result<Tagger> {
        Self::open_with(path, OpenOptions::default())
    }

    /// [`Tagger::open`] with explicit options (e.g. skip the checksum).
    pub fn open_with(path: impl AsRef<Path>, opts: OpenOptions) -> Result<Tagger> {
        Self::from_model(ModelFile::open(path, opts)?)
    }

    /// Loads a model held in memory (copied once into an aligned buffer).
    pub fn from_bytes(bytes: &[u8]) -> Result<Tagger> {
        Self::from_bytes_with(bytes, OpenOptions::default())
    }

    /// [`Tagger::from_bytes`] with explicit options.
    pub fn from_bytes_with(bytes: &[u8], opts: OpenOptions) -> Result<Tagger> {
        Self::from_model(ModelFile::from_bytes(bytes, opts)?)
    }

    fn from_model(file: ModelFile) -> Result<Tagger> {
        let meta = file.meta();
        let tokenizer = Tokenizer::from_json(&meta.tokenizer).map_err(|e| match e {
            Error::Tokenizer(m) => Error::Format(format!("tokenizer in the model: {m}")),
            other => other,
        })?;
        if tokenizer.vocab_size() > meta.architecture.vocab_size {
            return Err(Error::format(format!(
                "tokenizer has {} tokens, the embeddings {}",
                tokenizer.vocab_size(),
                meta.architecture.vocab_size
            )));
        }
        let encoder = EncoderRef::bind(&file)?;
        let hidden = meta.architecture.hidden;
        let mut heads = Vec::with_capacity(meta.heads.len());
        for h in &meta.heads {
            if meta.heads.iter().filter(|o| o.name == h.name).count() > 1 {
                return Err(Error::format(format!("head {} appears twice", h.name)));
            }
            heads.push(HeadRef::bind(&file, h, hidden)?);
        }
        let mut names: Vec<Arc<str>> = Vec::new();
        for h in &meta.heads {
            if !names.iter().any(|n| **n == *h.task) {
                names.push(h.task.as_str().into());
            }
        }
        let labels = meta
            .heads
            .iter()
            .map(|h| {
                h.labels
                    .iter()
                    .map(|l| match (h.kind, Tag::parse(l)) {
                        (HeadKind::Token, Some(t)) => Arc::from(t.kind),
                        _ => Arc::from(l.as_str()),
                    })
                    .collect()
            })
            .collect();
        let backend = if fast::supports(&file, &encoder) {
            Backend::Fast(kernels::detect())
        } else {
            Backend::Reference
        };
        Ok(Tagger {
            file,
            tokenizer,
            encoder,
            heads,
            names,
            labels,
            options: TagOptions::default(),
            backend,
        })
    }

    /// Replaces the default options used by [`Tagger::tag_utterance`].
    pub fn with_options(mut self, options: TagOptions) -> Result<Tagger> {
        self.check_tasks(&options)?;
        self.options = options;
        Ok(self)
    }

    /// Chooses the encoder implementation. The fast path needs every Linear
    /// weight stored as packed int8 with f32 scales (what `compress` writes);
    /// asking for it on another file is an error. The default is the fast
    /// path on the best instruction set when the file allows it.
    pub fn with_backend(mut self, backend: Backend) -> Result<Tagger> {
        if let Backend::Fast(isa) = backend {
            if !fast::supports(&self.file, &self.encoder) {
                return Err(Error::InvalidArgument(
                    "the fast path needs packed int8 weights with f32 scales".into(),
                ));
            }
            self.backend = Backend::Fast(isa.or_detected());
        } else {
            self.backend = backend;
        }
        Ok(self)
    }

    /// The encoder implementation in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The default options.
    pub fn options(&self) -> &TagOptions {
        &self.options
    }

    /// The model's metadata (architecture, heads, provenance, scores).
    pub fn meta(&self) -> &ModelMeta {
        self.file.meta()
    }

    /// Size of the model file in bytes.
    pub fn model_bytes(&self) -> usize {
        self.file.file_len()
    }

    /// The model's heads.
    pub fn heads(&self) -> &[HeadMeta] {
        &self.meta().heads
    }

    /// The model's tasks with their labels.
    pub fn tasks(&self) -> Vec<TaskInfo> {
        self.names
            .iter()
            .map(|name| {
                let of = |role| {
                    self.heads()
                        .iter()
                        .find(|h| *h.task == **name && h.role == role)
                };
                TaskInfo {
                    name: name.to_string(),
                    slot_labels: of(HeadRole::Slots)
                        .map(|h| h.labels.clone())
                        .unwrap_or_default(),
                    intent_labels: of(HeadRole::Intent)
                        .map(|h| h.labels.clone())
                        .unwrap_or_default(),
                    has_slot_head: of(HeadRole::HasSlot).is_some(),
                }
            })
            .collect()
    }

    /// The tokenizer of the model.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    fn check_tasks(&self, options: &TagOptions) -> Result<()> {
        if let Some(tasks) = &options.tasks {
            if let Some(bad) = tasks
                .iter()
                .find(|t| !self.names.iter().any(|n| **n == ***t))
            {
                let known: Vec<&str> = self.names.iter().map(|n| &**n).collect();
                return Err(Error::InvalidArgument(format!(
                    "unknown task {bad:?} (the model has {known:?})"
                )));
            }
        }
        Ok(())
    }

    /// Tags one utterance with the default options.
    pub fn tag_utterance(&self, text: &str) -> Result<Tagging> {
        self.tag_utterance_with(text, &self.options)
    }

    /// Tags one utterance with the given options.
    pub fn tag_utterance_with(&self, text: &str, options: &TagOptions) -> Result<Tagging> {
        self.check_tasks(options)?;
        let tokens = self.tokenizer.tokenize(text)?;
        if tokens.words.is_empty() {
            return Ok(Tagging::default());
        }
        let wanted = |h: &HeadRef| {
            options
                .tasks
                .as_ref()
                .is_none_or(|ts| ts.contains(&h.meta.task))
        };
        let active: Vec<usize> = (0..self.heads.len())
            .filter(|&i| {
                let h = &self.heads[i];
                wanted(h)
                    && match h.meta.role {
                        HeadRole::Slots | HeadRole::Intent => true,
                        HeadRole::HasSlot => options.has_slot_threshold.is_some(),
                        HeadRole::Aux => false,
                    }
            })
            .collect();
        let outputs = self.run_heads(&tokens, &active)?;
        Ok(self.assemble(text, &tokens, &active, &outputs, options))
    }

    /// Runs the encoder over each window and the active heads. Returns, per
    /// active head, `[words, labels]` probabilities for token heads and
    /// `[labels]` for sentence heads (averaged over windows; max of "yes"
    /// for has-slot heads).
    fn run_heads(&self, tokens: &Tokenized, active: &[usize]) -> Result<Vec<Vec<f32>>> {
        let h = self.encoder.arch.hidden;
        let capacity = self.encoder.arch.max_positions - 2;
        let windows = window::plan(tokens.ids.len(), capacity);
        let owner: Vec<usize> = tokens
            .words
            .iter()
            .map(|w| window::best_window(&windows, w.first_token))
            .collect();
        let mut outputs: Vec<Vec<f32>> = active
            .iter()
            .map(|&i| {
                let n = self.heads[i].meta.labels.len();
                match self.heads[i].meta.kind {
                    HeadKind::Token => vec![0.0; tokens.words.len() * n],
                    HeadKind::Sentence => vec![0.0; n],
                }
            })
            .collect();
        let mut ids = Vec::with_capacity(capacity + 2);
        for (wi, win) in windows.iter().enumerate() {
            ids.clear();
            ids.push(self.tokenizer.cls_id());
            ids.extend_from_slice(&tokens.ids[win.start..win.end]);
            ids.push(self.tokenizer.sep_id());
            let hidden = match self.backend {
                Backend::Reference => {
                    let mask = vec![true; ids.len()];
                    reference::forward(&self.file, &self.encoder, &ids, &mask)?
                }
                Backend::Fast(isa) => {
                    let mut hidden = Vec::new();
                    fast::forward(&self.file, &self.encoder, isa, &ids, &mut hidden)?;
                    hidden
                }
            };
            let mine: Vec<usize> = (0..tokens.words.len())
                .filter(|&w| owner[w] == wi)
                .collect();
            for (out, &hi) in outputs.iter_mut().zip(active) {
                let head = &self.heads[hi];
                let n = head.meta.labels.len();
                match head.meta.kind {
                    HeadKind::Token => {
                        let rows: Vec<&[f32]> = mine
                            .iter()
                            .map(|&w| {
                                let p = tokens.words[w].first_token - win.start + 1;
                                &hidden[p * h..(p + 1) * h]
                            })
                            .collect();
                        let probs = head.probs(&self.file, &rows)?;
                        for (r, &w) in mine.iter().enumerate() {
                            out[w * n..(w + 1) * n].copy_from_slice(&probs[r * n..(r + 1) * n]);
                        }
                    }
                    HeadKind::Sentence => {
                        let pooled = head.pool(&hidden, h, ids.len());
                        let probs = head.probs(&self.file, &[&pooled])?;
                        if head.meta.role == HeadRole::HasSlot {
                            if wi == 0 || probs[1] > out[1] {
                                out.copy_from_slice(&probs);
                            }
                        } else {
                            let wgt = 1.0 / windows.len() as f32;
                            out.iter_mut().zip(&probs).for_each(|(o, p)| *o += p * wgt);
                        }
                    }
                }
            }
        }
        Ok(outputs)
    }

    fn assemble(
        &self,
        text: &str,
        tokens: &Tokenized,
        active: &[usize],
        outputs: &[Vec<f32>],
        options: &TagOptions,
    ) -> Tagging {
        let mut tagging = Tagging::default();
        let task_of = |hi: usize| -> Arc<str> {
            let t = &self.heads[hi].meta.task;
            self.names
                .iter()
                .find(|n| ***n == **t)
                .cloned()
                .unwrap_or_else(|| Arc::from(t.as_str()))
        };
        let silenced = |task: &str| -> bool {
            let Some(th) = options.has_slot_threshold else {
                return false;
            };
            active.iter().zip(outputs).any(|(&hi, out)| {
                let m = &self.heads[hi].meta;
                m.role == HeadRole::HasSlot && m.task == task && out[1] < th
            })
        };
        for (&hi, out) in active.iter().zip(outputs) {
            let head = &self.heads[hi];
            let labels = &self.labels[hi];
            let n = head.meta.labels.len();
            match head.meta.role {
                HeadRole::Slots => {
                    if silenced(&head.meta.task) {
                        continue;
                    }
                    let (best, score): (Vec<usize>, Vec<f32>) = out
                        .chunks_exact(n)
                        .map(|p| {
                            let (i, s) = argmax(p);
                            (i, s)
                        })
                        .unzip();
                    let tags: Vec<Tag> = best
                        .iter()
                        .map(|&i| Tag::parse_lenient(&head.meta.labels[i]))
                        .collect();
                    let task = task_of(hi);
                    for span in decode(&tags) {
                        let (start, end) = (
                            tokens.words[span.start].start,
                            tokens.words[span.end - 1].end,
                        );
                        let s = score[span.start..span.end].iter().sum::<f32>()
                            / (span.end - span.start) as f32;
                        if s < options.min_slot_score {
                            continue;
                        }
                        tagging.slots.push(Slot {
                            task: task.clone(),
                            label: labels[best[span.start]].clone(),
                            start,
                            end,
                            text: text[start..end].to_string(),
                            score: s,
                        });
                    }
                }
                HeadRole::Intent => {
                    let (i, s) = argmax(out);
                    tagging.intents.push(Intent {
                        task: task_of(hi),
                        label: labels[i].clone(),
                        score: s,
                    });
                }
                HeadRole::HasSlot | HeadRole::Aux => {}
            }
        }
        tagging.slots.sort_by_key(|s| (s.start, s.end));
        tagging
    }
}

fn argmax(p: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, &v) in p.iter().enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best
}
