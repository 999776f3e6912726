//! Label vocabularies and the auxiliary labels derived from the slot labels.

use picotag::decode::{decode_labels, Scheme, Tag};

/// Labels of the `mcls` head: number of entities in the window.
pub const MCLS_LABELS: [&str; 4] = ["0", "1", "2", "3+"];
/// Labels of the has-slot head: does the window hold an entity.
pub const HAS_SLOT_LABELS: [&str; 2] = ["no", "yes"];
/// Labels of the `mtcls` head: piece in a multi-word entity, a single-word one, or outside.
pub const MTCLS_LABELS: [&str; 3] = ["O", "multi", "single"];

/// An ordered label list with lookup.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Vocab {
    /// The labels, in head output order.
    pub labels: Vec<String>,
}

impl Vocab {
    /// A vocabulary from the labels seen, sorted, with `first` (if given) in front.
    pub fn build<'a>(seen: impl IntoIterator<Item = &'a str>, first: Option<&str>) -> Vocab {
        let mut set: std::collections::BTreeSet<&str> = seen.into_iter().collect();
        let mut labels = Vec::new();
        if let Some(f) = first {
            set.remove(f);
            labels.push(f.to_string());
        }
        labels.extend(set.into_iter().map(str::to_string));
        Vocab { labels }
    }
    /// Index of a label.
    pub fn index(&self, label: &str) -> Option<u32> {
        self.labels
            .iter()
            .position(|l| l == label)
            .map(|i| i as u32)
    }
    /// Number of labels.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// BIOES if any label uses `E-`/`S-` (or `L-`/`U-`), else BIO.
pub fn detect_scheme<'a>(labels: impl IntoIterator<Item = &'a str>) -> Scheme {
    use picotag::decode::Prefix;
    for l in labels {
        if let Some(t) = Tag::parse(l) {
            if matches!(t.prefix, Prefix::E | Prefix::S) {
                return Scheme::Bioes;
            }
        }
    }
    Scheme::Bio
}

/// Auxiliary labels of one window, from its piece labels and the data word of each piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aux {
    /// Has-slot: 0 = no entity, 1 = some.
    pub has_slot: u32,
    /// `mcls`: 0, 1, 2, 3 (= 3 or more) entities.
    pub mcls: u32,
    /// `mtcls` per piece: 0 = outside, 1 = in a multi-word entity, 2 = in a single-word entity.
    pub mtcls: Vec<u32>,
}

/// Derives the auxiliary labels from piece labels (`piece_word[i]` = data word of piece `i`).
pub fn derive_aux(piece_labels: &[String], piece_word: &[usize]) -> Aux {
    let spans = decode_labels(piece_labels);
    let mut mtcls = vec![0u32; piece_labels.len()];
    for s in &spans {
        let multi = piece_word[s.start] != piece_word[s.end - 1];
        for m in &mut mtcls[s.start..s.end] {
            *m = if multi { 1 } else { 2 };
        }
    }
    let n = spans.len();
    Aux {
        has_slot: u32::from(n > 0),
        mcls: n.min(3) as u32,
        mtcls,
    }
}
