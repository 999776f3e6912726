//! Entity injection on the shipped model: values added per `task/type` are
//! matched on word boundaries after the tokenizer's normalization, raise the
//! model's labels of their type, and leave the rest alone; bad values and
//! sets of another model are clear errors.

use std::sync::Arc;

use picotag::testing::RandomModel;
use picotag::{EntitySet, Error, TagOptions, Tagger, Tagging};

fn tagger() -> Tagger {
    Tagger::open(concat!(env!("CARGO_MANIFEST_DIR"), "/models/default.ptag")).unwrap()
}

fn with(set: &Arc<EntitySet>) -> TagOptions {
    TagOptions {
        entities: Some(set.clone()),
        ..TagOptions::default()
    }
}

fn slots(t: &Tagging) -> Vec<String> {
    t.slots
        .iter()
        .map(|s| format!("{}/{}={}", s.task, s.label, s.text))
        .collect()
}

fn has(t: &Tagging, slot: &str) -> bool {
    slots(t).iter().any(|s| s == slot)
}

#[test]
fn bad_values_and_types_are_clear_errors() {
    let tg = tagger();
    let mut set = EntitySet::new(&tg);
    assert!(set.types().any(|t| t == "snips/artist"));
    assert!(set.types().any(|t| t == "bc5cdr/Chemical"));
    assert!(set.types().all(|t| !t.contains("B-")));
    let bad = |r: picotag::Result<()>, what: &str| match r {
        Err(Error::InvalidArgument(m)) => assert!(m.contains(what), "{m}"),
        other => panic!("{other:?}"),
    };
    bad(
        set.add("snips/painter", "x"),
        "unknown entity type \"snips/painter\"",
    );
    bad(set.add("artist", "x"), "unknown entity type");
    bad(set.add("snips/artist", ""), "has no word");
    bad(set.add("snips/artist", " \t\u{200b} "), "has no word");
    bad(set.add("snips/artist", &"a".repeat(5000)), "5000 bytes");
    bad(set.add("snips/artist", &"ab ".repeat(40)), "40 words");
    assert!(set.is_empty());
    set.add("snips/artist", "Zorblat Quenx").unwrap();
    set.add("snips/artist", "zorblat   quenx").unwrap();
    set.add("snips/track", "zorblat quenx").unwrap();
    assert_eq!(set.len(), 2, "one value, two types");
}

#[test]
fn a_set_of_another_model_is_refused() {
    let other = Tagger::from_bytes(&RandomModel::tiny(1).to_bytes().unwrap()).unwrap();
    let mut set = EntitySet::new(&other);
    let ty = set.types().next().unwrap().to_string();
    set.add(&ty, "boston").unwrap();
    let e = tagger()
        .tag_utterance_with("play boston", &with(&Arc::new(set)))
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument(ref m) if m.contains("another model")),
        "{e}"
    );
    let nan = TagOptions {
        entity_bonus: f32::NAN,
        ..TagOptions::default()
    };
    assert!(tagger().tag_utterance_with("play x", &nan).is_err());
}

#[test]
fn an_injected_value_becomes_a_slot_of_its_type() {
    let tg = tagger();
    let text = "add Qzx Vorlumbrane to my workout playlist";
    let before = tg.tag_utterance(text).unwrap();
    let mut set = EntitySet::new(&tg);
    // Normalized as the tokenizer does: case and accents do not matter.
    set.add("snips/artist", "QZX vórlumbrane").unwrap();
    let set = Arc::new(set);
    let after = tg.tag_utterance_with(text, &with(&set)).unwrap();
    assert!(
        has(&after, "snips/artist=Qzx Vorlumbrane"),
        "{:?} -> {:?}",
        slots(&before),
        slots(&after)
    );
    // The rest of the utterance keeps its slots, and bonus 0 changes nothing.
    assert!(has(&after, "snips/playlist=workout"), "{:?}", slots(&after));
    let zero = TagOptions {
        entity_bonus: 0.0,
        ..with(&set)
    };
    assert_eq!(tg.tag_utterance_with(text, &zero).unwrap(), before);
    // Scores stay the model's probabilities.
    assert!(after.slots.iter().all(|s| (0.0..=1.0).contains(&s.score)));
}

#[test]
fn matches_are_whole_words_and_longest_first() {
    let tg = tagger();
    let mut set = EntitySet::new(&tg);
    set.add("snips/playlist", "rock").unwrap();
    set.add("snips/playlist", "rock and roll classics").unwrap();
    let set = Arc::new(set);
    let t = tg
        .tag_utterance_with("add this song to rock and roll classics", &with(&set))
        .unwrap();
    assert!(
        has(&t, "snips/playlist=rock and roll classics"),
        "{:?}",
        slots(&t)
    );
    // "rocks" is not "rock".
    let t = tg
        .tag_utterance_with("this song rocks, add it", &with(&set))
        .unwrap();
    assert!(
        !slots(&t).iter().any(|s| s.ends_with("=rock")),
        "{:?}",
        slots(&t)
    );
}

#[test]
fn the_model_keeps_the_last_word_against_its_context() {
    let tg = tagger();
    let mut set = EntitySet::new(&tg);
    set.add("snips/track", "Yesterday").unwrap();
    let set = Arc::new(set);
    let text = "what was the weather like in paris yesterday";
    let plain = tg.tag_utterance(text).unwrap();
    let t = tg.tag_utterance_with(text, &with(&set)).unwrap();
    assert_eq!(t, plain, "{:?}", slots(&t));
}

#[test]
fn one_set_serves_many_threads() {
    let tg = Arc::new(tagger());
    let mut set = EntitySet::new(&tg);
    set.add("snips/artist", "Qzx Vorlumbrane").unwrap();
    let opts = with(&Arc::new(set));
    let want = tg
        .tag_utterance_with("play qzx vorlumbrane", &opts)
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..20 {
                    let got = tg
                        .tag_utterance_with("play qzx vorlumbrane", &opts)
                        .unwrap();
                    assert_eq!(got, want);
                }
            });
        }
    });
}

#[test]
fn a_million_values() {
    let tg = tagger();
    let mut set = EntitySet::new(&tg);
    for i in 0..1_000_000u32 {
        set.add(
            "snips/artist",
            &format!("artist {i} {}", i.wrapping_mul(2_654_435_761)),
        )
        .unwrap();
    }
    assert_eq!(set.len(), 1_000_000);
    let t = tg
        .tag_utterance_with("play artist 77 2528090685 please", &with(&Arc::new(set)))
        .unwrap();
    assert!(!t.slots.is_empty());
}
