//! Target: arbitrary bytes as a model file.

use picotag::{Error, OpenOptions, TagOptions, Tagger};

use crate::check::check_tagging;

const PROBES: [&str; 3] = [
    "book a flight from boston to denver tomorrow",
    "i take 200 mg of ibuprofen",
    "",
];

/// Opens `data` as a model, with and without the checksum check. Damage must
/// be rejected with [`Error::Format`]; a file that opens must tag without
/// panicking and give well-formed results.
pub fn run(data: &[u8]) {
    for opts in [
        OpenOptions::FULL,
        OpenOptions::default(),
        OpenOptions::UNCHECKED,
    ] {
        match Tagger::from_bytes_with(data, opts) {
            Ok(tagger) => probe(&tagger),
            Err(Error::Format(_)) => {}
            Err(e) => panic!("a damaged model gave a non-format error: {e:?}"),
        }
    }
}

fn probe(tagger: &Tagger) {
    let all = TagOptions {
        has_slot_threshold: None,
        ..Default::default()
    };
    for text in PROBES {
        for opts in [tagger.options(), &all] {
            // A damaged tokenizer may fail on an input: an error, not a panic.
            if let Ok(t) = tagger.tag_utterance_with(text, opts) {
                check_tagging(text, &t);
            }
        }
    }
}
