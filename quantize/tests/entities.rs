//! The values of the entity-injection evaluation: unseen dev spans and
//! distractors, drawn from the data.

use std::collections::BTreeSet;

use picotag_quantize::data::Sentence;
use picotag_quantize::entities::values::{distractors, texts_by_type, unseen};

fn sent(words: &str, labels: &str) -> Sentence {
    Sentence::spaced(words, labels)
}

#[test]
fn unseen_values_are_dev_spans_never_seen_as_their_type_in_training() {
    let train = vec![
        sent("play Abba now", "O B-artist O"),
        sent("play jazz by nina simone", "O B-genre O B-artist I-artist"),
    ];
    let dev = vec![
        // "abba" was seen as an artist (case does not matter); "queen" was not.
        sent("play abba and queen", "O B-artist O B-artist"),
        // "jazz" was seen, but as a genre: as an artist it is unseen.
        sent("songs by jazz", "O O B-artist"),
    ];
    let types = vec!["artist".to_string()];
    let u = unseen(&train, &dev, &types);
    let got: Vec<(usize, usize, usize, &str)> = u
        .iter()
        .map(|x| (x.sentence, x.start, x.end, x.text.as_str()))
        .collect();
    assert_eq!(got, [(0, 3, 4, "queen"), (1, 2, 3, "jazz")]);
    assert!(u.iter().all(|x| x.ty == "artist"));
}

#[test]
fn distractors_are_other_texts_never_the_injected_ones() {
    let train = texts_by_type(&[
        sent("play Abba now", "O B-artist O"),
        sent("jazz for the morning", "B-genre O O B-timeRange"),
        sent("rock in the evening", "B-genre O O B-timeRange"),
    ]);
    let dev = texts_by_type(&[sent("play queen", "O B-artist")]);
    let exclude: BTreeSet<String> = ["jazz".to_string()].into();
    let d = distractors("artist", &train, &dev, &exclude, 100);
    let set: BTreeSet<&str> = d.iter().map(String::as_str).collect();
    // Other types' texts and the type's own training texts, not the
    // injected value, each once; the dev span of the type itself is not one.
    assert_eq!(
        set,
        ["Abba", "evening", "morning", "rock"].into_iter().collect()
    );
    assert_eq!(d.len(), 4);
    assert_eq!(
        d,
        distractors("artist", &train, &dev, &exclude, 100),
        "seeded"
    );
    assert_eq!(distractors("artist", &train, &dev, &exclude, 2).len(), 2);
}
