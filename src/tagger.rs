//! The public entry point: [`Tagger`].

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use crate::decode::{decode_with, is_skippable_word, is_symbol_word, Prefix, Tag};
use crate::encoder::{fast, reference, EncoderRef};
use crate::entities::{self, EntitySet, Match, MatchScratch, SpanScratch};
use crate::error::{Error, Result};
use crate::format::{HeadKind, HeadMeta, HeadRole, ModelFile, ModelMeta, OpenOptions};
use crate::heads::HeadRef;
use crate::kernels::{self, Isa};
use crate::tagging::{Intent, Slot, Tagging};
use crate::tokenize::{is_bert_punc, Buffers, Tokenized, Tokenizer};
use crate::window;

/// Per-call options of [`Tagger::tag_utterance_with`].
#[derive(Debug, Clone, PartialEq)]
pub struct TagOptions {
    /// Run only these tasks (`None`: all tasks).
    pub tasks: Option<Vec<String>>,
    /// Silence a task (drop its slots and its intent) when its "has any slot"
    /// probability is below this (tasks without such a head are never
    /// silenced). `None` disables it.
    pub has_slot_threshold: Option<f32>,
    /// Drop slots whose score is below this.
    pub min_slot_score: f32,
    /// Keep slots made only of punctuation, emoji or other symbols (words
    /// without a letter or digit, [`decode::is_symbol_word`](crate::decode::is_symbol_word)).
    /// `false` (the default) drops them: such a slot (`track` "🎵", `timeRange`
    /// "!") is never what an app wants. It also ends a slot at a symbol word
    /// its task never had inside a slot in training (a head's
    /// [`HeadMeta::span_symbols`]): "jazz ! please" is not one `playlist`,
    /// whether the `!` is in the task's input or left out of it
    /// ([`TagOptions::punctuation_words`]).
    pub keep_symbol_slots: bool,
    /// Leave words made only of emoji and other symbols that are not
    /// punctuation (©, €, °) out of the network's input: users type them
    /// between the words, and no task was trained with them. `true` (the
    /// default); entity values lose such words too.
    pub skip_symbol_words: bool,
    /// Which tasks see punctuation-only words (`!`, `?!`, `,`, `(`; the
    /// tokenizer cuts each punctuation character into a word) in their
    /// input. Default [`PunctuationWords::ByTask`]: the tasks trained on text
    /// with punctuation (the health tasks: "5-fluorouracil") see it, the
    /// voice tasks (trained on transcripts) do not.
    pub punctuation_words: PunctuationWords,
    /// Values injected at run time (see [`EntitySet`]); `None`: none.
    pub entities: Option<Arc<EntitySet>>,
    /// The log-probability bonus per word a match gives the labels of its
    /// type over its words, taken whole or not at all (default
    /// [`DEFAULT_ENTITY_BONUS`]; 0: matches change nothing).
    pub entity_bonus: f32,
    /// "None of these": when a task's intent probability is below the
    /// threshold, the utterance is out of that task's scope and the task
    /// reports no intent (its slots stay; the has-slot gate decides those).
    /// Default [`IntentThreshold::Model`].
    pub intent_threshold: IntentThreshold,
}

/// Which tasks see punctuation-only words in their input (see
/// [`TagOptions::punctuation_words`]). When tasks differ and the utterance
/// has punctuation, the encoder runs twice, once with it and once without,
/// unless the has-slot gate silences every task of the second view on the
/// first (their has-slot heads see the utterance with its punctuation
/// first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PunctuationWords {
    /// A task sees punctuation when its training text had it: when at least
    /// [`PUNCTUATION_SHARE_TO_KEEP`] of its words were punctuation (the
    /// model's [`HeadMeta::punctuation_share`]; a model without it: every
    /// task sees punctuation).
    #[default]
    ByTask,
    /// Every task sees it.
    Keep,
    /// No task sees it.
    Skip,
}

/// [`PunctuationWords::ByTask`]: the share of punctuation words in a task's
/// training text from which the task sees punctuation at run time. The voice
/// tasks' transcripts have about 1% (ATIS `'`, SNIPS `:` `-` `&`), the health
/// tasks' PubMed text 15–17%.
pub const PUNCTUATION_SHARE_TO_KEEP: f32 = 0.05;

/// Which threshold rejects an intent as out of scope (see
/// [`TagOptions::intent_threshold`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum IntentThreshold {
    /// The threshold stored with each intent head of the model
    /// ([`HeadMeta::reject_below`], calibrated on dev when the model was
    /// compressed); a head without one never rejects.
    #[default]
    Model,
    /// Never reject.
    Off,
    /// Reject below this probability, for every task.
    Fixed(f32),
}

impl IntentThreshold {
    /// The threshold for an intent head, if any.
    pub fn for_head(self, head: &HeadMeta) -> Option<f32> {
        match self {
            IntentThreshold::Model => head.reject_below,
            IntentThreshold::Off => None,
            IntentThreshold::Fixed(t) => Some(t),
        }
    }
}

/// The default [`TagOptions::entity_bonus`]: tuned on the dev sets with
/// `picotag-quantize entities` (the largest bonus under which no task's F1
/// falls with 10,000 distractors per type injected; see the model card).
pub const DEFAULT_ENTITY_BONUS: f32 = 6.0;

impl Default for TagOptions {
    fn default() -> Self {
        TagOptions {
            tasks: None,
            has_slot_threshold: Some(0.5),
            min_slot_score: 0.0,
            keep_symbol_slots: false,
            skip_symbol_words: true,
            punctuation_words: PunctuationWords::ByTask,
            entities: None,
            entity_bonus: DEFAULT_ENTITY_BONUS,
            intent_threshold: IntentThreshold::Model,
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
    /// Per head: index of its task in `names`.
    task_of: Vec<usize>,
    /// Per head and label: the BIO prefix and an id of the span type.
    tags: Vec<Vec<(Prefix, usize)>>,
    /// Per head: its `O` label, when the head ends slots at the symbol words
    /// outside its [`HeadMeta::span_symbols`].
    symbol_breaks: Vec<Option<usize>>,
    options: TagOptions,
    backend: Backend,
    /// Identifies the slot types an [`EntitySet`] must have been built for.
    entity_key: u64,
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
    /// Memory-maps and validates the model at `path` (head checksum
    /// verified; see [`OpenOptions`] and [`Tagger::verify`]).
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
        let tokenizer = file.tokenizer().map_err(|e| match e {
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
        let task_of = meta
            .heads
            .iter()
            .map(|h| names.iter().position(|n| **n == *h.task).unwrap_or(0))
            .collect();
        let tags = meta
            .heads
            .iter()
            .map(|h| {
                let parsed: Vec<Tag> = h.labels.iter().map(|l| Tag::parse_lenient(l)).collect();
                parsed
                    .iter()
                    .map(|t| {
                        (
                            t.prefix,
                            parsed.iter().position(|o| o.kind == t.kind).unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .collect();
        let symbol_breaks = meta
            .heads
            .iter()
            .map(|h| {
                h.span_symbols
                    .as_ref()
                    .and_then(|_| h.labels.iter().position(|l| l == "O"))
            })
            .collect();
        let entity_key = entities::model_key(&meta.heads);
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
            task_of,
            tags,
            symbol_breaks,
            options: TagOptions::default(),
            backend,
            entity_key,
        })
    }

    /// Checks the whole-file checksum, weights included (reads every byte
    /// of the model once): `open` checks only what it parses by default.
    pub fn verify(&self) -> Result<()> {
        self.file.verify()
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
        if let Some(set) = &options.entities {
            if !set.fits(self.entity_key) {
                return Err(Error::InvalidArgument(
                    "the entity set was built for another model".into(),
                ));
            }
        }
        if !options.entity_bonus.is_finite() {
            return Err(Error::InvalidArgument(format!(
                "entity_bonus is {}",
                options.entity_bonus
            )));
        }
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
        let mut out = Tagging::default();
        self.tag_utterance_into(text, options, &mut out)?;
        Ok(out)
    }

    /// Tags one utterance into `out`, reusing its vectors and the slots'
    /// text buffers. Working memory is per-thread scratch, so once a thread
    /// has tagged an utterance at least as long (in sub-tokens, words and
    /// slots), this call allocates nothing on the heap.
    pub fn tag_utterance_into(
        &self,
        text: &str,
        options: &TagOptions,
        out: &mut Tagging,
    ) -> Result<()> {
        self.check_tasks(options)?;
        SCRATCH.with(|cell| {
            let mut guard = cell.borrow_mut();
            let s = &mut *guard;
            self.tokenizer
                .tokenize_into(text, &mut s.tokens, &mut s.tok_buf)?;
            if options.skip_symbol_words {
                s.tokens
                    .retain_words(|w| !is_skippable_word(&text[w.start..w.end], false));
            }
            let (mut n_slots, mut n_intents) = (0, 0);
            if s.tokens.words.is_empty() {
                Self::finish(out, 0, 0);
                return Ok(());
            }
            match &options.entities {
                Some(set) => set.find_into(text, &s.tokens.words, &mut s.match_buf, &mut s.matches),
                None => s.matches.clear(),
            }
            // The heads that run: those that see this input now (`active`), and
            // those that see it without its punctuation words (`later`).
            let punctuation = s
                .tokens
                .words
                .iter()
                .any(|w| is_punctuation_word(&text[w.start..w.end]));
            s.active.clear();
            s.later.clear();
            for (i, h) in self.heads.iter().enumerate() {
                let wanted = options
                    .tasks
                    .as_ref()
                    .is_none_or(|ts| ts.contains(&h.meta.task));
                let runs = match h.meta.role {
                    HeadRole::Slots | HeadRole::Intent => true,
                    HeadRole::HasSlot => options.has_slot_threshold.is_some(),
                    HeadRole::Aux => false,
                };
                if !(wanted && runs) {
                    continue;
                }
                if punctuation && self.skips_punctuation(i, options.punctuation_words) {
                    s.later.push(i);
                } else {
                    s.active.push(i);
                }
            }
            let gate = options.has_slot_threshold;
            let decide_first = !s.active.is_empty() && !s.later.is_empty() && gate.is_some();
            if decide_first {
                // The has-slot heads of the later tasks see this input too: a
                // task they silence here needs no second pass (health text
                // with punctuation runs once when the voice tasks do not apply).
                let heads = &self.heads;
                s.active.extend(
                    s.later
                        .iter()
                        .filter(|&&i| heads[i].meta.role == HeadRole::HasSlot),
                );
            }
            if !s.active.is_empty() {
                self.run_heads(s, gate)?;
                self.assemble(text, s, options, out, (&mut n_slots, &mut n_intents));
            }
            if decide_first {
                let first = (&s.active[..], &s.outputs[..], &s.offsets[..]);
                let heads = &self.heads;
                s.later
                    .retain(|&i| !self.silenced(first, gate, &heads[i].meta.task));
            }
            let two_passes = !s.active.is_empty() && !s.later.is_empty();
            if !s.later.is_empty() {
                Self::drop_punctuation(text, s);
                if !s.tokens.words.is_empty() {
                    std::mem::swap(&mut s.active, &mut s.later);
                    self.run_heads(s, gate)?;
                    self.assemble(text, s, options, out, (&mut n_slots, &mut n_intents));
                }
            }
            Self::finish(out, n_slots, n_intents);
            if two_passes {
                // In the order one pass gives: intents by task, slots by
                // position then task.
                insertion_sort_by_key(&mut out.intents, |i| self.task_index(&i.task));
                insertion_sort_by_key(&mut out.slots, |s| {
                    (s.start, s.end, self.task_index(&s.task))
                });
            }
            Ok(())
        })
    }

    /// Whether head `hi` sees the input without its punctuation words.
    fn skips_punctuation(&self, hi: usize, mode: PunctuationWords) -> bool {
        match mode {
            PunctuationWords::Keep => false,
            PunctuationWords::Skip => true,
            PunctuationWords::ByTask => self.heads[hi]
                .meta
                .punctuation_share
                .is_some_and(|r| r < PUNCTUATION_SHARE_TO_KEEP),
        }
    }

    /// Leaves the punctuation words out of `s.tokens`, and moves the entity
    /// matches onto the words that remain (a match made only of punctuation
    /// goes).
    fn drop_punctuation(text: &str, s: &mut Scratch) {
        s.kept_before.clear();
        let mut kept = 0u32;
        for w in &s.tokens.words {
            s.kept_before.push(kept);
            kept += u32::from(!is_punctuation_word(&text[w.start..w.end]));
        }
        s.kept_before.push(kept);
        s.tokens
            .retain_words(|w| !is_punctuation_word(&text[w.start..w.end]));
        let before = &s.kept_before;
        for m in s.matches.iter_mut() {
            (m.start, m.end) = (before[m.start as usize], before[m.end as usize]);
        }
        s.matches.retain(|m| m.start < m.end);
    }

    /// Ends a call: `n_slots` slots and `n_intents` intents were written;
    /// slots sorted by position.
    fn finish(tagging: &mut Tagging, n_slots: usize, n_intents: usize) {
        tagging.slots.truncate(n_slots);
        tagging.intents.truncate(n_intents);
        insertion_sort_by_key(&mut tagging.slots, |s: &Slot| (s.start, s.end));
    }

    /// The position of `task` among the model's tasks.
    fn task_index(&self, task: &Arc<str>) -> Option<usize> {
        self.names.iter().position(|n| Arc::ptr_eq(n, task))
    }

    /// Runs the encoder over each window and the active heads. Leaves in
    /// `s.outputs`, per active head from `s.offsets[a]`, `[words, labels]`
    /// probabilities for token heads and `[labels]` for sentence heads
    /// (averaged over windows; max of "yes" for has-slot heads).
    ///
    /// With the gate at `gate` and one window (so the has-slot outputs are
    /// final after it), the has-slot heads run first and the other heads of
    /// a task they silence do not run: their outputs stay 0 and are never
    /// read (see `assemble`).
    fn run_heads(&self, s: &mut Scratch, gate: Option<f32>) -> Result<()> {
        let h = self.encoder.arch.hidden;
        let capacity = self.encoder.arch.max_positions - 2;
        let words = s.tokens.words.len();
        window::plan_into(s.tokens.ids.len(), capacity, &mut s.windows);
        s.owner.clear();
        for w in &s.tokens.words {
            s.owner.push(window::best_window(&s.windows, w.first_token));
        }
        s.offsets.clear();
        let mut total = 0;
        for &i in &s.active {
            s.offsets.push(total);
            let n = self.heads[i].meta.labels.len();
            total += match self.heads[i].meta.kind {
                HeadKind::Token => words * n,
                HeadKind::Sentence => n,
            };
        }
        s.offsets.push(total);
        s.outputs.clear();
        s.outputs.resize(total, 0.0);
        for (wi, win) in s.windows.iter().enumerate() {
            s.ids.clear();
            s.ids.push(self.tokenizer.cls_id());
            s.ids.extend_from_slice(&s.tokens.ids[win.start..win.end]);
            s.ids.push(self.tokenizer.sep_id());
            match self.backend {
                Backend::Reference => {
                    reference::forward_into(&self.file, &self.encoder, &s.ids, &[], &mut s.hidden)?
                }
                Backend::Fast(isa) => {
                    fast::forward(&self.file, &self.encoder, isa, &s.ids, &mut s.hidden)?
                }
            }
            s.mine.clear();
            s.mine.extend((0..words).filter(|&w| s.owner[w] == wi));
            let single = s.windows.len() == 1;
            // Has-slot heads first, then the rest.
            for (a, &hi) in s
                .active
                .iter()
                .enumerate()
                .filter(|&(_, &hi)| self.heads[hi].meta.role == HeadRole::HasSlot)
                .chain(
                    s.active
                        .iter()
                        .enumerate()
                        .filter(|&(_, &hi)| self.heads[hi].meta.role != HeadRole::HasSlot),
                )
            {
                let head = &self.heads[hi];
                if head.meta.role != HeadRole::HasSlot
                    && single
                    && self.silenced((&s.active, &s.outputs, &s.offsets), gate, &head.meta.task)
                {
                    continue;
                }
                let n = head.meta.labels.len();
                let out = &mut s.outputs[s.offsets[a]..s.offsets[a + 1]];
                let hidden = &s.hidden;
                match head.meta.kind {
                    HeadKind::Token => {
                        let (mine, tw) = (&s.mine, &s.tokens.words);
                        s.probs.resize(mine.len() * n, 0.0);
                        let row = |r: usize| {
                            let p = tw[mine[r]].first_token - win.start + 1;
                            &hidden[p * h..(p + 1) * h]
                        };
                        head.probs_into(&self.file, mine.len(), row, &mut s.probs)?;
                        for (r, &w) in mine.iter().enumerate() {
                            out[w * n..(w + 1) * n].copy_from_slice(&s.probs[r * n..(r + 1) * n]);
                        }
                    }
                    HeadKind::Sentence => {
                        s.pooled.resize(h, 0.0);
                        head.pool_into(hidden, h, s.ids.len(), &mut s.pooled);
                        s.probs.resize(n, 0.0);
                        let pooled = &s.pooled;
                        head.probs_into(&self.file, 1, |_| pooled.as_slice(), &mut s.probs)?;
                        let probs = &s.probs[..n];
                        if head.meta.role == HeadRole::HasSlot {
                            if wi == 0 || probs[1] > out[1] {
                                out.copy_from_slice(probs);
                            }
                        } else {
                            let wgt = 1.0 / s.windows.len() as f32;
                            out.iter_mut().zip(probs).for_each(|(o, p)| *o += p * wgt);
                        }
                    }
                }
            }
        }
        // Damaged weights (a file opened without its checksum check) can make
        // the network produce NaN or infinities: say so instead of returning
        // scores outside [0, 1].
        if s.outputs.iter().any(|v| !v.is_finite()) {
            return Err(Error::format(
                "the network produced non-finite values (damaged weights?)",
            ));
        }
        Ok(())
    }

    /// Whether the has-slot head of `task` among the `active` heads (their
    /// outputs in `outputs` from `offsets`) is below the gate `gate` (never
    /// when `None`).
    fn silenced(
        &self,
        (active, outputs, offsets): (&[usize], &[f32], &[usize]),
        gate: Option<f32>,
        task: &str,
    ) -> bool {
        let Some(th) = gate else {
            return false;
        };
        active.iter().enumerate().any(|(a, &hi)| {
            let m = &self.heads[hi].meta;
            m.role == HeadRole::HasSlot && m.task == task && outputs[offsets[a] + 1] < th
        })
    }

    /// Decodes the outputs of the heads `s.active` into `tagging`, from its
    /// slot `*n_slots` and intent `*n_intents` on (both advanced).
    fn assemble(
        &self,
        text: &str,
        s: &mut Scratch,
        options: &TagOptions,
        tagging: &mut Tagging,
        (n_slots, n_intents): (&mut usize, &mut usize),
    ) {
        let output = |a: usize| &s.outputs[s.offsets[a]..s.offsets[a + 1]];
        let heads_out = (&s.active[..], &s.outputs[..], &s.offsets[..]);
        let silenced = |task: &str| self.silenced(heads_out, options.has_slot_threshold, task);
        for (a, &hi) in s.active.iter().enumerate() {
            let head = &self.heads[hi];
            let labels = &self.labels[hi];
            let n = head.meta.labels.len();
            let out = output(a);
            let task = &self.names[self.task_of[hi]];
            match head.meta.role {
                HeadRole::Slots => {
                    if silenced(&head.meta.task) {
                        continue;
                    }
                    s.best.clear();
                    s.best.extend(out.chunks_exact(n).map(argmax));
                    if let Some(set) = options
                        .entities
                        .as_deref()
                        .filter(|_| !s.matches.is_empty())
                    {
                        let bonus = options.entity_bonus;
                        set.best_labels(out, hi, &s.matches, bonus, &mut s.best, &mut s.spans);
                    }
                    if let (false, Some(o), Some(inside)) = (
                        options.keep_symbol_slots,
                        self.symbol_breaks[hi],
                        head.meta.span_symbols.as_deref(),
                    ) {
                        // A symbol word the task never had in a slot is `O`.
                        for (b, w) in s.best.iter_mut().zip(&s.tokens.words) {
                            let word = &text[w.start..w.end];
                            if is_symbol_word(word) && !inside.iter().any(|x| x == word) {
                                b.0 = o;
                            }
                        }
                        // Punctuation left out of this view ends a slot the
                        // same way: a word after such a gap starts a new one.
                        let foreign = |c: char| {
                            is_bert_punc(c)
                                && !inside.iter().any(|x| {
                                    let mut cs = x.chars();
                                    cs.next() == Some(c) && cs.next().is_none()
                                })
                        };
                        s.breaks.clear();
                        let mut prev_end = None;
                        for w in &s.tokens.words {
                            let gap = prev_end.map_or("", |e| &text[e..w.start]);
                            s.breaks.push(gap.chars().any(foreign));
                            prev_end = Some(w.end);
                        }
                    } else {
                        s.breaks.clear();
                    }
                    let (best, tags, words) = (&s.best, &self.tags[hi], &s.tokens.words);
                    let breaks = &s.breaks;
                    decode_with(
                        best.len(),
                        |w| match tags[best[w].0] {
                            (Prefix::I | Prefix::E, k) if breaks.get(w) == Some(&true) => {
                                (Prefix::B, k)
                            }
                            tag => tag,
                        },
                        |sw, ew, _| {
                            let score =
                                best[sw..ew].iter().map(|b| b.1).sum::<f32>() / (ew - sw) as f32;
                            if score < options.min_slot_score {
                                return;
                            }
                            if !options.keep_symbol_slots
                                && words[sw..ew]
                                    .iter()
                                    .all(|w| is_symbol_word(&text[w.start..w.end]))
                            {
                                return;
                            }
                            let (start, end) = (words[sw].start, words[ew - 1].end);
                            let label = &labels[best[sw].0];
                            // Reuse the spare slot whose text buffer fits best (sorting
                            // moved the buffers since the last call).
                            let need = end - start;
                            if let Some(j) = (*n_slots..tagging.slots.len())
                                .filter(|&j| tagging.slots[j].text.capacity() >= need)
                                .min_by_key(|&j| tagging.slots[j].text.capacity())
                            {
                                tagging.slots.swap(*n_slots, j);
                            }
                            if let Some(slot) = tagging.slots.get_mut(*n_slots) {
                                slot.task.clone_from(task);
                                slot.label.clone_from(label);
                                (slot.start, slot.end, slot.score) = (start, end, score);
                                slot.text.clear();
                                slot.text.push_str(&text[start..end]);
                            } else {
                                tagging.slots.push(Slot {
                                    task: task.clone(),
                                    label: label.clone(),
                                    start,
                                    end,
                                    text: text[start..end].to_string(),
                                    score,
                                });
                            }
                            *n_slots += 1;
                        },
                    );
                }
                HeadRole::Intent => {
                    // A silenced task does not apply to the utterance: no intent either.
                    if silenced(&head.meta.task) {
                        continue;
                    }
                    let (i, score) = argmax(out);
                    // "None of these": out of the task's scope.
                    if options
                        .intent_threshold
                        .for_head(&head.meta)
                        .is_some_and(|t| score < t)
                    {
                        continue;
                    }
                    let intent = Intent {
                        task: task.clone(),
                        label: labels[i].clone(),
                        score,
                    };
                    match tagging.intents.get_mut(*n_intents) {
                        Some(slot) => *slot = intent,
                        None => tagging.intents.push(intent),
                    }
                    *n_intents += 1;
                }
                HeadRole::HasSlot | HeadRole::Aux => {}
            }
        }
    }
}

/// Stable insertion sort (no allocation; a few slots or intents).
fn insertion_sort_by_key<T, K: PartialOrd>(v: &mut [T], key: impl Fn(&T) -> K) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && key(&v[j - 1]) > key(&v[j]) {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// A word made only of punctuation (`!`, `,`, `-`), as the tokenizer cuts it.
fn is_punctuation_word(word: &str) -> bool {
    is_symbol_word(word) && !is_skippable_word(word, false)
}

/// Per-thread working memory of [`Tagger::tag_utterance_into`] (grown, never
/// shrunk; shared by every `Tagger` used on the thread).
#[derive(Default)]
struct Scratch {
    tokens: Tokenized,
    tok_buf: Buffers,
    active: Vec<usize>,
    windows: Vec<window::Window>,
    owner: Vec<usize>,
    ids: Vec<u32>,
    hidden: Vec<f32>,
    mine: Vec<usize>,
    /// Per active head, its range of `outputs` (`offsets[a]..offsets[a + 1]`).
    offsets: Vec<usize>,
    outputs: Vec<f32>,
    probs: Vec<f32>,
    pooled: Vec<f32>,
    /// Per word: best label and its probability.
    best: Vec<(usize, f32)>,
    /// Entity matches of the call, and the matcher's buffers.
    matches: Vec<Match>,
    match_buf: MatchScratch,
    /// Working memory of applying the entity matches.
    spans: SpanScratch,
    /// Heads that run on the input without its punctuation words.
    later: Vec<usize>,
    /// Per word (and one past the last): how many words before it are not
    /// punctuation.
    kept_before: Vec<u32>,
    /// Per word: a slot must not run into it from the word before (punctuation
    /// its task never had in a slot lies between them, left out of the view).
    breaks: Vec<bool>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
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
