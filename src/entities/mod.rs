//! Entity injection: values an app knows at run time (contacts, playlists,
//! drug names) added per slot type, without retraining.
//!
//! An [`EntitySet`] is built for one model: values are added per
//! `task/type` (`snips/artist`, `bc5cdr/Chemical`), normalized the way the
//! model's tokenizer normalizes text (case, accents) and split into its words
//! (whitespace, punctuation). When tagging with the set in
//! [`TagOptions::entities`](crate::TagOptions), the input's words are matched
//! against it (per task, leftmost-longest, on word boundaries) and a match is
//! *evidence*, not a verdict: the labels of the matched type over the matched
//! words get a bonus of [`TagOptions::entity_bonus`](crate::TagOptions) in
//! log-probability before the per-word argmax and the span decoding. The
//! model keeps the last word: a match the context speaks strongly against
//! stays `O`. Slot scores stay the model's own probabilities, and the
//! has-slot gate is not changed by matches.

mod values;
mod words;

use std::hash::{BuildHasher, Hash, Hasher};

use crate::decode::{Prefix, Tag};
use crate::error::{Error, Result};
use crate::format::{HeadKind, HeadMeta, HeadRole};
use values::ValueTable;
use words::{NormBuf, Normalize, WordTable};

/// At most this many words in one value.
pub const MAX_VALUE_WORDS: usize = 32;
/// At most this many bytes in one value.
pub const MAX_VALUE_BYTES: usize = 1024;

/// A slot type values can be added to, and the labels its matches raise.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EntityType {
    /// `task/type`.
    name: String,
    /// Index of the slot head (in the model's heads).
    head: u32,
    /// Index of the task among the set's tasks.
    task: u16,
    begin: u32,
    inside: Option<u32>,
    end: Option<u32>,
    single: Option<u32>,
}

impl EntityType {
    /// The label a match of `len` words raises at its word `k`.
    fn label_at(&self, k: usize, len: usize) -> u32 {
        let inside = self.inside.unwrap_or(self.begin);
        match (k, len) {
            (0, 1) => self.single.unwrap_or(self.begin),
            (0, _) => self.begin,
            (k, len) if k + 1 == len => self.end.unwrap_or(inside),
            _ => inside,
        }
    }
}

/// The slot types of a model, and a key that identifies them.
fn model_types(heads: &[HeadMeta]) -> (Vec<EntityType>, Vec<String>, u64) {
    let mut h = words::hasher().build_hasher();
    let (mut types, mut tasks) = (Vec::new(), Vec::<String>::new());
    for (hi, head) in heads.iter().enumerate() {
        if head.kind != HeadKind::Token || head.role != HeadRole::Slots {
            continue;
        }
        (hi, &head.name, &head.labels).hash(&mut h);
        let task = match tasks.iter().position(|t| *t == head.task) {
            Some(i) => i,
            None => {
                tasks.push(head.task.clone());
                tasks.len() - 1
            }
        } as u16;
        let tags: Vec<Tag> = head.labels.iter().map(|l| Tag::parse_lenient(l)).collect();
        let find = |kind: &str, p: Prefix| {
            tags.iter()
                .position(|t| t.kind == kind && t.prefix == p)
                .map(|i| i as u32)
        };
        let mut seen: Vec<&str> = Vec::new();
        for t in &tags {
            if t.prefix == Prefix::O || seen.contains(&t.kind) {
                continue;
            }
            seen.push(t.kind);
            let Some(begin) = find(t.kind, Prefix::B).or(find(t.kind, Prefix::S)) else {
                continue;
            };
            types.push(EntityType {
                name: format!("{}/{}", head.task, t.kind),
                head: hi as u32,
                task,
                begin,
                inside: find(t.kind, Prefix::I),
                end: find(t.kind, Prefix::E),
                single: find(t.kind, Prefix::S),
            });
        }
    }
    (types, tasks, h.finish())
}

/// Values of slot types, bound to one model. Build it once, add values with
/// [`EntitySet::add`], then share it (`Arc`) through
/// [`TagOptions::entities`](crate::TagOptions) across threads.
///
/// Two sets compare equal only when they are the same object.
#[derive(Debug, Clone)]
pub struct EntitySet {
    key: u64,
    norm: Normalize,
    types: Vec<EntityType>,
    /// Task names, in the order of `EntityType::task`.
    tasks: Vec<String>,
    words: WordTable,
    values: ValueTable,
    /// Per task: the most words of one of its values (0: none).
    max_words: Vec<u16>,
    /// Reused by `add` (not part of the set's content).
    scratch: (NormBuf, Vec<u32>),
}

impl PartialEq for EntitySet {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl EntitySet {
    /// An empty set for the model of `tagger`.
    pub fn new(tagger: &crate::Tagger) -> EntitySet {
        let (types, tasks, key) = model_types(tagger.heads());
        EntitySet {
            key,
            norm: Normalize(tagger.tokenizer().normalizer().copied()),
            max_words: vec![0; tasks.len()],
            types,
            tasks,
            words: WordTable::default(),
            values: ValueTable::default(),
            scratch: Default::default(),
        }
    }

    /// The types values can be added to (`task/type`), in model order.
    pub fn types(&self) -> impl Iterator<Item = &str> {
        self.types.iter().map(|t| t.name.as_str())
    }

    /// Adds `value` as an entity of `ty` (`task/type`, e.g. `snips/artist`).
    /// Adding a value twice is not an error (it is stored once).
    ///
    /// Errors ([`Error::InvalidArgument`]): a type the model does not have, a
    /// value with no word (empty, only spaces or control characters), longer
    /// than [`MAX_VALUE_BYTES`] bytes or [`MAX_VALUE_WORDS`] words, or a set
    /// with more than 2^32 words.
    pub fn add(&mut self, ty: &str, value: &str) -> Result<()> {
        let t = self
            .types
            .iter()
            .position(|t| t.name == ty)
            .ok_or_else(|| {
                let close: Vec<&str> = self
                    .types
                    .iter()
                    .map(|t| t.name.as_str())
                    .filter(|n| n.split('/').next() == ty.split('/').next())
                    .take(8)
                    .collect();
                Error::InvalidArgument(format!(
                    "unknown entity type {ty:?} (types are task/type, e.g. {close:?})"
                ))
            })?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(Error::InvalidArgument(format!(
                "entity value of {} bytes (at most {MAX_VALUE_BYTES})",
                value.len()
            )));
        }
        let (mut buf, mut ids) = std::mem::take(&mut self.scratch);
        ids.clear();
        let words = &mut self.words;
        self.norm
            .words(value, &mut buf, |w| ids.push(words.intern(w)));
        let r = if ids.is_empty() {
            Err(Error::InvalidArgument(format!(
                "entity value {value:?} has no word"
            )))
        } else if ids.len() > MAX_VALUE_WORDS {
            Err(Error::InvalidArgument(format!(
                "entity value of {} words (at most {MAX_VALUE_WORDS})",
                ids.len()
            )))
        } else if self.words.len() > u32::MAX as usize - 1 {
            Err(Error::InvalidArgument("too many distinct words".into()))
        } else {
            let task = self.types[t].task;
            self.values.insert(task, &ids, t as u16);
            let m = &mut self.max_words[task as usize];
            *m = (*m).max(ids.len() as u16);
            Ok(())
        };
        self.scratch = (buf, ids);
        r
    }

    /// Distinct (value, type) pairs.
    pub fn len(&self) -> usize {
        self.values.pairs()
    }

    /// True when no value was added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held by the set.
    pub fn heap_bytes(&self) -> usize {
        self.words.heap_bytes() + self.values.heap_bytes()
    }

    /// Whether the set was built for a model with these heads.
    pub(crate) fn fits(&self, key: u64) -> bool {
        self.key == key
    }

    /// Matches the words of `text` (byte ranges `words`) into `out`
    /// (cleared first): per task, leftmost-longest, on word boundaries.
    pub(crate) fn find_into(
        &self,
        text: &str,
        words: &[crate::tokenize::Word],
        s: &mut MatchScratch,
        out: &mut Vec<Match>,
    ) {
        out.clear();
        if self.is_empty() {
            return;
        }
        s.ids.clear();
        for w in words {
            let n = self.norm.word(&text[w.start..w.end], &mut s.norm);
            s.ids.push(self.words.get(n).unwrap_or(u32::MAX));
        }
        let ids = &s.ids;
        for (task, &max) in self.max_words.iter().enumerate() {
            let mut i = 0;
            while i < ids.len() {
                let run = ids[i..]
                    .iter()
                    .take(max as usize)
                    .take_while(|&&id| id != u32::MAX)
                    .count();
                let hit = (1..=run).rev().find_map(|len| {
                    self.values
                        .get(task as u16, &ids[i..i + len])
                        .map(|v| (len, v))
                });
                let Some((len, v)) = hit else {
                    i += 1;
                    continue;
                };
                for ty in self.values.types(v) {
                    out.push(Match {
                        head: self.types[ty as usize].head,
                        ty,
                        start: i as u32,
                        end: (i + len) as u32,
                    });
                }
                i += len;
            }
        }
    }

    /// Applies the matches of slot head `head` to its per-word best labels
    /// (`probs`: `[words, labels]`, `best`: the plain argmax per word, as
    /// `(label, model probability of it)`). A match is taken whole or not at
    /// all: its gain is the sum over its words of `ln(p(its label) / p(best
    /// label)) + bonus`, and of the matches with a positive gain the
    /// non-overlapping ones with the largest total gain are taken.
    pub(crate) fn best_labels(
        &self,
        probs: &[f32],
        head: usize,
        matches: &[Match],
        bonus: f32,
        best: &mut [(usize, f32)],
        s: &mut SpanScratch,
    ) {
        let n = probs.len() / best.len().max(1);
        let label = |m: &Match, k: usize| {
            self.types[m.ty as usize].label_at(k, (m.end - m.start) as usize) as usize
        };
        s.cands.clear();
        for (i, m) in matches.iter().enumerate() {
            if m.head as usize != head {
                continue;
            }
            let gain: f32 = (m.start..m.end)
                .enumerate()
                .map(|(k, w)| {
                    let w = w as usize;
                    let p = probs[w * n + label(m, k)].max(f32::MIN_POSITIVE);
                    (p / best[w].1.max(f32::MIN_POSITIVE)).ln() + bonus
                })
                .sum();
            if gain > 0.0 {
                s.cands.push((m.end, i as u32, gain));
            }
        }
        if s.cands.is_empty() {
            return;
        }
        // Weighted interval scheduling over the words: `total[j]` is the best
        // total gain of matches within the first `j` words, `pick[j]` the
        // candidate ending at `j` that gives it (or none).
        s.cands.sort_unstable_by_key(|c| (c.0, c.1));
        let words = best.len();
        s.total.clear();
        s.total.resize(words + 1, 0.0);
        s.pick.clear();
        s.pick.resize(words + 1, u32::MAX);
        let mut c = 0;
        for j in 1..=words {
            s.total[j] = s.total[j - 1];
            while c < s.cands.len() && s.cands[c].0 as usize == j {
                let (_, i, gain) = s.cands[c];
                let v = s.total[matches[i as usize].start as usize] + gain;
                if v > s.total[j] {
                    s.total[j] = v;
                    s.pick[j] = c as u32;
                }
                c += 1;
            }
        }
        let mut j = words;
        while j > 0 {
            let Some(&(_, i, _)) = s.cands.get(s.pick[j] as usize) else {
                j -= 1;
                continue;
            };
            let m = &matches[i as usize];
            for (k, w) in (m.start..m.end).enumerate() {
                let (w, l) = (w as usize, label(m, k));
                best[w] = (l, probs[w * n + l]);
            }
            j = m.start as usize;
        }
    }

    /// The task names, in the order of the set's task indices.
    pub fn tasks(&self) -> &[String] {
        &self.tasks
    }
}

/// The key of a model's slot types (what [`EntitySet::new`] binds a set to).
pub(crate) fn model_key(heads: &[HeadMeta]) -> u64 {
    model_types(heads).2
}

/// A match of a value over words `start..end`, for slot head `head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Match {
    pub(crate) head: u32,
    pub(crate) ty: u16,
    pub(crate) start: u32,
    pub(crate) end: u32,
}

/// Working memory of [`EntitySet::best_labels`].
#[derive(Debug, Default)]
pub(crate) struct SpanScratch {
    /// Matches with a positive gain: (end word, index in the matches, gain).
    cands: Vec<(u32, u32, f32)>,
    total: Vec<f32>,
    pick: Vec<u32>,
}

/// Per-thread working memory of matching.
#[derive(Debug, Default)]
pub(crate) struct MatchScratch {
    norm: NormBuf,
    ids: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::RandomModel;

    /// The tiny model's voice slot head (head 0: `O`, `B-city`, `I-city`,
    /// `B-time`, `I-time`), four words each `O` at 0.9, and a match of `ty`.
    fn setup() -> (EntitySet, Vec<f32>, impl Fn(&str, u32, u32) -> Match) {
        let bytes = RandomModel::tiny(3).to_bytes().unwrap();
        let t = crate::Tagger::from_bytes(&bytes).unwrap();
        assert_eq!(
            t.heads()[0].labels,
            ["O", "B-city", "I-city", "B-time", "I-time"]
        );
        let set = EntitySet::new(&t);
        let probs = [0.9, 0.025, 0.025, 0.025, 0.025].repeat(4);
        let names: Vec<String> = set.types().map(str::to_string).collect();
        let m = move |ty: &str, start, end| Match {
            head: 0,
            ty: names.iter().position(|n| n == ty).unwrap() as u16,
            start,
            end,
        };
        (set, probs, m)
    }

    fn labels(set: &EntitySet, probs: &[f32], matches: &[Match], bonus: f32) -> Vec<usize> {
        let mut best: Vec<(usize, f32)> = probs.chunks(5).map(|r| (0, r[0])).collect();
        let mut s = SpanScratch::default();
        set.best_labels(probs, 0, matches, bonus, &mut best, &mut s);
        best.iter().map(|b| b.0).collect()
    }

    #[test]
    fn of_overlapping_matches_the_larger_total_gain_wins() {
        let (set, probs, m) = setup();
        let (city, time) = (m("voice/city", 0, 3), m("voice/time", 2, 4));
        // Per word ln(0.025 / 0.9) + 4 = +0.42: the 3-word match gains more.
        assert_eq!(labels(&set, &probs, &[time, city], 4.0), [1, 2, 2, 0]);
        // Below a gain of 0 nothing changes.
        assert_eq!(labels(&set, &probs, &[time, city], 3.0), [0, 0, 0, 0]);
        // Two that do not overlap both apply.
        let early = m("voice/time", 0, 1);
        assert_eq!(labels(&set, &probs, &[early, time], 4.0), [3, 0, 3, 4]);
    }

    #[test]
    fn a_match_is_taken_whole_or_not_at_all() {
        let (set, mut probs, m) = setup();
        // The model rules out `I-city` on word 1: the city match loses as a
        // whole (no lone `B-city` on word 0), and the time match takes over.
        probs[5 + 2] = 1e-6;
        let (city, time) = (m("voice/city", 0, 3), m("voice/time", 2, 4));
        assert_eq!(labels(&set, &probs, &[city, time], 4.0), [0, 0, 3, 4]);
    }
}
