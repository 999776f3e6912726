//! `ood`: out-of-domain false slots, gate off and on, on a random model.

use picotag::testing::RandomModel;
use picotag::{TagOptions, Tagger};
use picotag_quantize::data::Sentence;
use picotag_quantize::eval::ood::false_slots;

fn sentences() -> Vec<Sentence> {
    [
        "play some music in the morning",
        "what is the weather in boston",
        "book a table for two at 8 pm",
        "i take 200 mg of ibuprofen for my migraine",
        "show me flights from denver to new york",
        "",
    ]
    .iter()
    .map(|s| Sentence {
        words: s.split_whitespace().map(String::from).collect(),
        ..Default::default()
    })
    .collect()
}

#[test]
fn counts_slots_with_the_gate_off_and_on() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("m.ptag");
    std::fs::write(&path, RandomModel::tiny(11).to_bytes().unwrap()).unwrap();
    let data = sentences();
    let tasks = vec!["health".to_string()];
    let r = false_slots(&path, &tasks, &[], &data).unwrap();
    assert_eq!(r.sentences, data.len());
    assert_eq!(r.threshold, 0.5);
    // The same counts straight from the runtime.
    let t = Tagger::open(&path).unwrap();
    let count = |gate: Option<f32>| -> (usize, usize) {
        let o = TagOptions {
            tasks: Some(tasks.clone()),
            has_slot_threshold: gate,
            ..Default::default()
        };
        data.iter()
            .map(|s| t.tag_utterance_with(&s.words.join(" "), &o).unwrap().slots)
            .fold((0, 0), |(n, k), v| {
                (n + v.len(), k + usize::from(!v.is_empty()))
            })
    };
    let (off, off_k) = count(None);
    let (on, on_k) = count(Some(0.5));
    assert!(off > 0, "a random model tags something");
    assert_eq!(
        (r.gate_off.slots, r.gate_off.sentences_with_slots),
        (off, off_k)
    );
    assert_eq!(
        (r.gate_on.slots, r.gate_on.sentences_with_slots),
        (on, on_k)
    );
    assert!(r.gate_on.slots <= r.gate_off.slots);
    let per = |n: usize| 1000.0 * n as f64 / data.len() as f64;
    assert_eq!(r.gate_off.per_1000, per(off));
    assert_eq!(r.gate_on.per_1000, per(on));
    assert_eq!(r.per_label.values().sum::<usize>(), on);
    assert!(r.per_label.keys().all(|k| k.starts_with("health/")));
    // Narrowed to one type, the count is that type's.
    let (key, &n) = r.per_label.iter().next().unwrap();
    let ty = key.strip_prefix("health/").unwrap().to_string();
    let one = false_slots(&path, &tasks, std::slice::from_ref(&ty), &data).unwrap();
    assert_eq!(one.gate_on.slots, n);
    assert_eq!(one.per_label.len(), 1);
    assert!(one.gate_off.slots <= r.gate_off.slots);
    assert_eq!(one.types, [ty]);
}

#[test]
fn an_unknown_task_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("m.ptag");
    std::fs::write(&path, RandomModel::tiny(12).to_bytes().unwrap()).unwrap();
    let e = false_slots(&path, &["nope".to_string()], &[], &sentences()).unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
}
