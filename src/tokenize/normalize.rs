//! BERT's normalizer and pre-tokenizer character classes, with alignments.
//!
//! Mirrors HF `tokenizers`' `BertNormalizer` (clean text, spaces around CJK
//! ideographs, NFD + dropping non-spacing marks, lowercase) one input
//! character at a time: every output character remembers the byte range of
//! the input character it came from, as HF's alignments do.

use unicode_categories::UnicodeCategories;

/// The `BertNormalizer` switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BertNormalizer {
    /// Drop control characters, map every whitespace to `' '`.
    pub clean_text: bool,
    /// Put spaces around CJK ideographs (so each is a word).
    pub handle_chinese_chars: bool,
    /// NFD, then drop non-spacing marks.
    pub strip_accents: bool,
    /// Lowercase (Unicode, may expand one character into several).
    pub lowercase: bool,
}

/// Whitespace as BERT's cleaning sees it.
fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

/// Control characters BERT's cleaning drops (Cc, Cf, Cn, Co except tab/newlines).
/// ASCII (the only category of it here is Cc) skips the Unicode tables.
fn is_control(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r');
    }
    c.is_other()
}

/// CJK ideographs (the blocks BERT puts spaces around).
fn is_chinese_char(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}

/// Punctuation as BERT's pre-tokenizer sees it (each is a word of its own).
/// ASCII skips the Unicode tables: its punctuation (P*) is all inside
/// `is_ascii_punctuation`.
pub fn is_bert_punc(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation();
    }
    c.is_punctuation()
}

impl BertNormalizer {
    /// Normalizes `text` into `out` (cleared first); `align[b]` is the input
    /// byte range of the character that produced output byte `b`. `base` is
    /// added to every input offset.
    pub fn normalize(
        &self,
        text: &str,
        base: usize,
        out: &mut String,
        align: &mut Vec<(u32, u32)>,
    ) {
        out.clear();
        align.clear();
        for (i, c) in text.char_indices() {
            let range = ((base + i) as u32, (base + i + c.len_utf8()) as u32);
            let c = if self.clean_text {
                if c == '\0' || c == '\u{fffd}' || is_control(c) {
                    continue;
                }
                if is_whitespace(c) {
                    ' '
                } else {
                    c
                }
            } else {
                c
            };
            let mut emit = |c: char| self.accents_and_case(c, range, out, align);
            if self.handle_chinese_chars && is_chinese_char(c) {
                emit(' ');
                emit(c);
                emit(' ');
            } else {
                emit(c);
            }
        }
    }

    fn accents_and_case(
        &self,
        c: char,
        range: (u32, u32),
        out: &mut String,
        align: &mut Vec<(u32, u32)>,
    ) {
        // ASCII: no decomposition, no mark, one-byte lower case.
        if c.is_ascii() {
            out.push(if self.lowercase {
                c.to_ascii_lowercase()
            } else {
                c
            });
            align.push(range);
            return;
        }
        let mut push = |c: char| {
            if self.lowercase {
                for l in c.to_lowercase() {
                    out.push(l);
                    align.extend(std::iter::repeat_n(range, l.len_utf8()));
                }
            } else {
                out.push(c);
                align.extend(std::iter::repeat_n(range, c.len_utf8()));
            }
        };
        if self.strip_accents {
            unicode_normalization_alignments::char::decompose_canonical(c, |d| {
                if !d.is_mark_nonspacing() {
                    push(d);
                }
            });
        } else {
            push(c);
        }
    }
}

/// Calls `word(start, end)` for each BERT pre-tokenizer word of `text`
/// (byte ranges): split on whitespace (dropped), each punctuation character
/// a word of its own.
pub fn pre_tokenize(text: &str, mut word: impl FnMut(usize, usize)) {
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() || is_bert_punc(c) {
            if let Some(s) = start.take() {
                word(s, i);
            }
            if !c.is_whitespace() {
                word(i, i + c.len_utf8());
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        word(s, text.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(t: &str) -> Vec<&str> {
        let mut v = Vec::new();
        pre_tokenize(t, |s, e| v.push(&t[s..e]));
        v
    }

    #[test]
    fn splits_on_whitespace_and_punctuation() {
        assert_eq!(
            words("  a,b  c.d!! "),
            ["a", ",", "b", "c", ".", "d", "!", "!"]
        );
        assert_eq!(words(""), Vec::<&str>::new());
    }

    #[test]
    fn normalizes_with_alignments() {
        let n = BertNormalizer {
            clean_text: true,
            handle_chinese_chars: true,
            strip_accents: true,
            lowercase: true,
        };
        let (mut out, mut al) = (String::new(), Vec::new());
        n.normalize("É\u{200b}x中", 10, &mut out, &mut al);
        assert_eq!(out, "ex 中 ");
        assert_eq!(al[0], (10, 12));
        assert_eq!(al[1], (15, 16));
        assert_eq!(al[3], (16, 19));
        assert_eq!(al.len(), out.len());
    }

    #[test]
    fn ascii_fast_paths_agree_with_the_unicode_tables() {
        for b in 0u8..128 {
            let c = b as char;
            let ctl = !matches!(c, '\t' | '\n' | '\r') && c.is_other();
            assert_eq!(is_control(c), ctl, "{b}");
            let punc = c.is_ascii_punctuation() || c.is_punctuation();
            assert_eq!(is_bert_punc(c), punc, "{b}");
            for lowercase in [false, true] {
                let n = BertNormalizer {
                    clean_text: false,
                    handle_chinese_chars: false,
                    strip_accents: true,
                    lowercase,
                };
                let (mut out, mut al) = (String::new(), Vec::new());
                n.normalize(&c.to_string(), 0, &mut out, &mut al);
                let mut want = String::new();
                unicode_normalization_alignments::char::decompose_canonical(c, |d| {
                    if !d.is_mark_nonspacing() {
                        if lowercase {
                            want.extend(d.to_lowercase());
                        } else {
                            want.push(d);
                        }
                    }
                });
                assert_eq!(out, want, "{b}");
                assert_eq!(al, vec![(0, 1); want.len()], "{b}");
            }
        }
    }
}
