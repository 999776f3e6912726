//! Odd and huge inputs: whitespace, control characters, combining marks,
//! emoji, right-to-left text, one very long word, NUL bytes, and a huge
//! utterance tagged in windows. Every result must be well-formed: offsets on
//! char boundaries of the input, `text` equal to the input slice.

#[path = "../fuzz/src/check.rs"]
mod check;
#[path = "../fuzz/src/models.rs"]
#[allow(dead_code)]
mod models;

use picotag::{TagOptions, Tagger};

/// Keep every slot, so that the checks see as many as possible.
fn all_slots() -> TagOptions {
    TagOptions {
        has_slot_threshold: None,
        ..Default::default()
    }
}

/// The taggers under test: the reference path (f32 weights) and the fast
/// path (int8) over the tiny tokenizer, and the fast path over the real
/// MiniLM tokenizer when it is cached.
fn taggers() -> Vec<(&'static str, Tagger)> {
    let open =
        |m: picotag::testing::RandomModel| Tagger::from_bytes(&m.to_bytes().unwrap()).unwrap();
    let mut v = vec![
        ("tiny f32", open(models::small(31, false))),
        ("tiny int8", open(models::small(32, true))),
    ];
    if models::minilm_tokenizer_json().is_some() {
        v.push(("minilm int8", open(models::utterance_model())));
    }
    v
}

fn odd_inputs() -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = vec![
        ("empty", String::new()),
        ("spaces", " ".repeat(50)),
        (
            "whitespace kinds",
            "\t\n\r\u{0b}\u{0c} \u{a0}\u{2003}\u{3000}\u{2028}\u{feff}".repeat(5),
        ),
        ("controls", (1u8..32).map(char::from).chain(['\u{7f}', '\u{85}', '\u{9f}']).collect()),
        ("NUL only", "\0".repeat(20)),
        ("NUL inside words", "book\0a\0flight to\0\0boston \0".into()),
        (
            "combining marks",
            "e\u{301}\u{301}\u{301} a\u{308}\u{323} \u{301}\u{302}\u{303} zalgo\u{36f}\u{35c}\u{489}".into(),
        ),
        ("lone combining marks", "\u{300}\u{301}\u{302}\u{303}\u{304}".repeat(20)),
        (
            "emoji",
            "\u{1f600} flight \u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}\u{200d}\u{1f466} to \u{1f1eb}\u{1f1f7} \u{1f44d}\u{1f3fd} \u{2764}\u{fe0f}".into(),
        ),
        ("emoji only", "\u{1f600}\u{1f680}\u{1f308}".repeat(30)),
        (
            "right-to-left",
            "\u{5e9}\u{5dc}\u{5d5}\u{5dd} \u{5e2}\u{5d5}\u{5dc}\u{5dd} \u{645}\u{631}\u{62d}\u{628}\u{627} \u{628}\u{627}\u{644}\u{639}\u{627}\u{644}\u{645} flight to boston".into(),
        ),
        (
            "bidi controls",
            "\u{202e}book a flight\u{202c} \u{2067}to boston\u{2069} \u{200f}\u{200e}".into(),
        ),
        ("CJK", "\u{6211}\u{8981}\u{53bb}\u{5317}\u{4eac}\u{3002}\u{98de}\u{673a}".repeat(10)),
        ("long ascii word", "a".repeat(10_000)),
        ("long accented word", "\u{e9}".repeat(10_000)),
        ("long word in a sentence", format!("fly to {} tomorrow", "x".repeat(10_000))),
        ("punctuation", "!?.,;:-()[]{}'\"/\\@#$%^&*_+=<>|~`".repeat(20)),
        ("private use and noncharacters", "\u{e000}\u{f8ff}\u{fdd0}\u{fffe}\u{10ffff} boston".into()),
        ("replacement", "\u{fffd}".repeat(40)),
    ];
    // Mixed: every kind above in one utterance, twice.
    let mixed: String = v
        .iter()
        .map(|(_, s)| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    v.push(("everything", mixed.repeat(2)));
    v
}

#[test]
fn odd_inputs_give_well_formed_results() {
    let inputs = odd_inputs();
    for (name, tagger) in taggers() {
        let mut slots = 0;
        for (what, text) in &inputs {
            for opts in [TagOptions::default(), all_slots()] {
                let t = tagger
                    .tag_utterance_with(text, &opts)
                    .unwrap_or_else(|e| panic!("{name}, {what}: {e}"));
                check::check_tagging(text, &t);
                slots += t.slots.len();
            }
            // Deterministic.
            assert_eq!(
                tagger.tag_utterance(text).unwrap(),
                tagger.tag_utterance(text).unwrap(),
                "{name}, {what}"
            );
        }
        println!("{name}: {slots} slots over {} inputs", inputs.len());
        // Random weights label many words: the checks above saw real slots.
        assert!(slots > 0, "{name}: no slot at all");
    }
}

#[test]
fn whitespace_and_controls_give_nothing() {
    for (name, tagger) in taggers() {
        for text in ["", "   ", "\t\n\r", "\u{3000}\u{a0}", "\0\0\0"] {
            let t = tagger.tag_utterance_with(text, &all_slots()).unwrap();
            assert!(t.slots.is_empty(), "{name}: {text:?} gave {t:?}");
        }
    }
}

/// A long utterance of sentences over the tiny vocabulary, with some odd
/// characters mixed in.
fn huge(bytes: usize) -> String {
    let words = [
        "book",
        "a",
        "flight",
        "from",
        "boston",
        "to",
        "denver",
        "tomorrow",
        "\u{e9}t\u{e9}",
        "\u{1f600}",
        "200",
        "mg",
        "of",
        "ibuprofen",
        "\u{5e9}\u{5dc}\u{5d5}\u{5dd}",
        ",",
        ".",
    ];
    let mut rng = picotag::testing::Rng::new(41);
    let mut s = String::with_capacity(bytes + 32);
    while s.len() < bytes {
        s.push_str(words[(rng.next_u64() % words.len() as u64) as usize]);
        s.push(' ');
    }
    s
}

/// Tags `bytes` of text on the tiny int8 model; returns the slot count.
fn tag_huge(bytes: usize) -> usize {
    let tagger = Tagger::from_bytes(&models::small(33, true).to_bytes().unwrap()).unwrap();
    let text = huge(bytes);
    let t = tagger.tag_utterance_with(&text, &all_slots()).unwrap();
    check::check_tagging(&text, &t);
    // Windows of 14 tokens: slots are found all along the text.
    let last = t.slots.last().map_or(0, |s| s.end);
    assert!(
        last > text.len() * 9 / 10,
        "last slot ends at {last} of {}",
        text.len()
    );
    t.slots.len()
}

#[test]
fn long_utterance_is_tagged_in_windows() {
    let n = tag_huge(100_000);
    println!("100 kB: {n} slots");
}

/// Peak resident memory of this process (`VmHWM`), in kB.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The 1 MB utterance, with peak RSS: run alone, by name:
/// `cargo test --release --test odd_inputs -- --ignored one_megabyte --nocapture`.
#[test]
#[ignore]
fn one_megabyte_utterance_bounded_memory() {
    let before = peak_rss_kb();
    let start = std::time::Instant::now();
    let n = tag_huge(1_000_000);
    let after = peak_rss_kb();
    println!(
        "1 MB: {n} slots in {:.1} s; peak RSS {before:?} kB before, {after:?} kB after",
        start.elapsed().as_secs_f64()
    );
    if let (Some(b), Some(a)) = (before, after) {
        // Generous: far below what a whole-input attention matrix would take.
        assert!(a - b < 1024 * 1024, "peak RSS grew by {} kB", a - b);
    }
}
