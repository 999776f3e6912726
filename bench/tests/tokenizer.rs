//! picotag's own WordPiece tokenizer equals HF `tokenizers` (ids, sub-token
//! byte offsets, words) on every dev sentence of ../shared/data, their
//! lower-cased forms, odd Unicode, and random strings; on the tiny test
//! vocabulary and on the real all-MiniLM-L6-v2 vocabulary when fetched.

use std::path::PathBuf;

use picotag::testing::{tiny_tokenizer_json, Rng};
use picotag::tokenize::{Buffers, Tokenized, Tokenizer, Word};

fn root() -> PathBuf {
    picotag_bench::root()
}

/// What HF gives, in picotag's shape.
fn hf_tokenize(hf: &tokenizers::Tokenizer, text: &str) -> Tokenized {
    let enc = hf.encode(text, false).expect("HF encode");
    let mut out = Tokenized {
        ids: enc.get_ids().to_vec(),
        offsets: enc.get_offsets().to_vec(),
        words: Vec::new(),
    };
    let mut current = None;
    for (i, (&wid, &(s, e))) in enc.get_word_ids().iter().zip(enc.get_offsets()).enumerate() {
        let wid = wid.expect("no special tokens are added");
        if current == Some(wid) {
            let w = out.words.last_mut().unwrap();
            w.start = w.start.min(s);
            w.end = w.end.max(e);
        } else {
            current = Some(wid);
            out.words.push(Word {
                start: s,
                end: e,
                first_token: i,
            });
        }
    }
    out
}

fn hf_from(json: &str) -> tokenizers::Tokenizer {
    let mut hf = tokenizers::Tokenizer::from_bytes(json.as_bytes()).unwrap();
    hf.with_padding(None);
    hf.with_truncation(None).unwrap();
    hf
}

/// Dev sentences of every dataset (words joined by spaces), deduplicated.
fn dev_sentences() -> Vec<String> {
    let data = root().join("../shared/data");
    let mut out = Vec::new();
    for ds in ["atis", "snips"] {
        if let Ok(s) = std::fs::read_to_string(data.join("slu").join(ds).join("valid/seq.in")) {
            out.extend(s.lines().map(str::to_string));
        }
    }
    for ds in ["BC5CDR", "NCBI-disease", "BC2GM"] {
        if let Ok(s) = std::fs::read_to_string(data.join("bio").join(ds).join("devel.tsv")) {
            for block in s.split("\n\n") {
                let words: Vec<&str> = block.lines().filter_map(|l| l.split('\t').next()).collect();
                if !words.is_empty() {
                    out.push(words.join(" "));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn odd_unicode() -> Vec<String> {
    let mut v: Vec<String> = [
        "Café naïve RÉSUMÉ façade Ångström",
        "İstanbul ß STRASSE ﬁnance Ǆemal",
        "我爱北京天安门 and 東京 𠀀 𪜀x",
        "ひらがな カタカナ 한국어 문장",
        "👍🏽 👨‍👩‍👧 ❤️ ☕",
        "a\u{0}b\u{7}c\td\re\nf\u{85}g\u{a0}h\u{2003}i\u{200b}j\u{feff}k\u{fffd}l",
        "a\u{301}\u{316}b e\u{308}\u{301} \u{301}start",
        "ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ Ελληνικά",
        "مُحَمَّد العربية",
        "हिन्दी भाषा किताब",
        "¿Qué? ¡Sí! «quote» — dash… end",
        "∑x² ≤ 10⁶ ½ ٣٤ ①",
        "[CLS] hello [SEP] [UNK][MASK][PAD] x[CLS]y [cls]",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa short",
        "   ",
        "",
        "x",
        "don't  re-book it's 5:30pm, (maybe) 3.5mg/kg",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("é".repeat(101));
    v.push(format!("{}!", "ab".repeat(60)));
    v
}

/// Random strings over a palette of awkward characters.
fn random_strings(n: usize) -> Vec<String> {
    let palette: Vec<char> = "aZ09 ,.-'#\t\n\u{0}\u{85}\u{a0}\u{200b}\u{301}\u{316}éÉİßﬁ中𠀀ひ한👍\u{fe0f}ΣάمहX[]CLSEPUNK"
        .chars()
        .collect();
    let mut rng = Rng::new(7);
    (0..n)
        .map(|_| {
            let len = (rng.next_u64() % 24) as usize;
            (0..len)
                .map(|_| palette[(rng.next_u64() % palette.len() as u64) as usize])
                .collect()
        })
        .collect()
}

fn check_all(json: &str, name: &str, texts: &[String]) {
    let ours = Tokenizer::from_json(json).unwrap();
    let hf = hf_from(json);
    assert_eq!(
        ours.vocab_size(),
        hf.get_vocab_size(true),
        "{name}: vocab size"
    );
    let (mut out, mut buf) = (Tokenized::default(), Buffers::default());
    for text in texts {
        ours.tokenize_into(text, &mut out, &mut buf).unwrap();
        let want = hf_tokenize(&hf, text);
        assert_eq!(out, want, "{name}: {text:?}");
    }
}

fn corpus() -> Vec<String> {
    let dev = dev_sentences();
    eprintln!("{} dev sentences", dev.len());
    let mut texts = dev.clone();
    texts.extend(dev.iter().map(|s| s.to_lowercase()));
    texts.extend(dev.iter().take(500).map(|s| s.to_uppercase()));
    texts.extend(odd_unicode());
    texts.extend(random_strings(3000));
    texts
}

#[test]
fn equals_hf_on_the_tiny_vocabulary() {
    check_all(&tiny_tokenizer_json(), "tiny", &corpus());
}

#[test]
fn equals_hf_on_the_minilm_vocabulary() {
    let Some(dir) = picotag::testing::assets::teacher_dir() else {
        return;
    };
    let json = std::fs::read_to_string(dir.join("tokenizer.json")).unwrap();
    check_all(&json, "minilm", &corpus());
}

#[test]
fn dev_data_is_read() {
    if picotag::testing::assets::data_path("slu/atis/valid/seq.in").is_some() {
        assert!(dev_sentences().len() > 5000);
    }
}
