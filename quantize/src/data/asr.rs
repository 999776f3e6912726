//! The speech-recognition form of a sentence: lower-cased, without punctuation.
//!
//! ASR transcripts carry no case and no punctuation, so a tagger meant to read
//! them is trained (and scored) on a copy of each sentence in that form. A
//! word is lower-cased and loses its punctuation characters, except an
//! apostrophe or hyphen *between* two letters or digits (`don't`, `il-2`,
//! `5-ht`) and a decimal point or comma between two digits (`0.5`, `1,000`),
//! which transcripts keep. A word left empty (`(`, `,`, `--`) is removed with
//! its label.
//!
//! Labels stay aligned through the spans, not the tags: the sentence's spans
//! (conlleval reading) are mapped onto the words kept, a span that keeps no
//! word vanishes, and the kept spans are written back in the sentence's
//! scheme. So removing the first word of an entity turns the next `I-X` into
//! `B-X` (`E-X` into `S-X` in BIOES), and removing an `O` word that separated
//! two entities of one type leaves two entities, never one merged one.

use picotag::decode::{decode_labels, Scheme};

use super::labels::detect_scheme;
use super::Sentence;

/// The ASR form of one word (empty when the word is only punctuation).
pub fn asr_word(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    for (i, &c) in chars.iter().enumerate() {
        if is_punct(c) {
            let (prev, next) = (
                i.checked_sub(1).and_then(|j| chars.get(j)),
                chars.get(i + 1),
            );
            let between = |f: fn(&char) -> bool| prev.is_some_and(f) && next.is_some_and(f);
            let joins = (matches!(c, '\'' | '’' | '-') && between(|x| x.is_alphanumeric()))
                || (matches!(c, '.' | ',') && between(char::is_ascii_digit));
            if !joins {
                continue;
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Punctuation and symbols a transcript would not spell out.
fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation()
        || (!c.is_alphanumeric() && !c.is_whitespace() && !c.is_control() && !c.is_ascii())
}

/// The ASR form of a sentence (labels repaired, intent and line kept).
pub fn asr_form(s: &Sentence) -> Sentence {
    let scheme = detect_scheme(s.labels.iter().map(String::as_str));
    let forms: Vec<String> = s.words.iter().map(|w| asr_word(w)).collect();
    // new index of each kept word
    let mut new_index = vec![None; forms.len()];
    let mut words = Vec::with_capacity(forms.len());
    for (i, f) in forms.into_iter().enumerate() {
        if !f.is_empty() {
            new_index[i] = Some(words.len());
            words.push(f);
        }
    }
    let mut labels = vec!["O".to_string(); words.len()];
    for span in decode_labels(&s.labels) {
        let kept: Vec<usize> = (span.start..span.end.min(new_index.len()))
            .filter_map(|i| new_index[i])
            .collect();
        let (Some(&a), Some(&b)) = (kept.first(), kept.last()) else {
            continue;
        };
        write_span(&mut labels[a..=b], span.kind, scheme);
    }
    Sentence {
        words,
        labels,
        intent: s.intent.clone(),
        line: s.line,
    }
}

fn write_span(out: &mut [String], kind: &str, scheme: Scheme) {
    let n = out.len();
    for (j, l) in out.iter_mut().enumerate() {
        let p = match scheme {
            Scheme::Bio => {
                if j == 0 {
                    "B"
                } else {
                    "I"
                }
            }
            Scheme::Bioes => match (j == 0, j + 1 == n) {
                (true, true) => "S",
                (true, false) => "B",
                (false, true) => "E",
                (false, false) => "I",
            },
        };
        *l = format!("{p}-{kind}");
    }
}

/// The ASR form of each sentence that differs from it and keeps a word,
/// with the sentence's index.
pub fn asr_copies(sentences: &[Sentence]) -> Vec<(usize, Sentence)> {
    sentences
        .iter()
        .enumerate()
        .map(|(i, s)| (i, asr_form(s), s))
        .filter(|(_, c, s)| c.words != s.words && !c.words.is_empty())
        .map(|(i, c, _)| (i, c))
        .collect()
}

/// The sentences followed by the ASR form of each one that differs from it
/// (and keeps a word).
pub fn with_asr_copies(sentences: Vec<Sentence>) -> Vec<Sentence> {
    let copies: Vec<Sentence> = sentences
        .iter()
        .map(asr_form)
        .zip(&sentences)
        .filter(|(c, s)| c.words != s.words && !c.words.is_empty())
        .map(|(c, _)| c)
        .collect();
    let mut all = sentences;
    all.extend(copies);
    all
}
