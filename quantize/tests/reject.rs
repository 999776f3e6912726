//! Out-of-scope rejection: the separation measures, hold-out task specs, and
//! calibrating a model file's intent thresholds.

mod common;

use picotag::format::{HeadRole, ModelFile, ModelWriter, OpenOptions};
use picotag::testing::RandomModel;
use picotag::{IntentThreshold, TagOptions, Tagger};
use picotag_quantize::compress::reject::calibrate;
use picotag_quantize::data::{has_intent_in, load_split, Sentence, TaskSpec};
use picotag_quantize::eval::reject::{model_scores, separation, threshold_at_tpr};

#[test]
fn separation_counts_ranks_and_the_tpr_threshold() {
    let inside = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
    // Perfectly separated.
    let s = separation("msp", &inside, &[0.01, 0.02], 0.9).unwrap();
    assert_eq!(s.auroc, 1.0);
    assert_eq!(s.threshold, 0.1);
    assert_eq!((s.tpr, s.fpr), (0.9, 0.0));
    // Reversed: every out-of-scope score is above every in-scope one.
    let s = separation("msp", &inside, &[0.95, 0.99], 0.9).unwrap();
    assert_eq!((s.auroc, s.fpr), (0.0, 1.0));
    // Ties count half; one of two accepted at the threshold 0.5.
    let s = separation("msp", &[0.5, 0.5], &[0.5, 0.1], 1.0).unwrap();
    assert_eq!((s.auroc, s.threshold, s.fpr), (0.75, 0.5, 0.5));
    // The threshold keeps at least the asked share.
    assert_eq!(threshold_at_tpr(&inside, 0.95), 0.05);
    assert_eq!(threshold_at_tpr(&inside, 0.5), 0.5);
    assert!(separation("x", &inside, &[], 0.9).is_none());
    assert!(separation("x", &[f32::NAN], &[0.1], 0.9).is_none());
}

#[test]
fn hold_out_names_intents_and_matches_multi_intent_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let slu = common::write_slu(&tmp.path().join("slu"));
    let t = TaskSpec::parse(&format!("a={},hold-out=flight+weather", slu.display())).unwrap();
    assert_eq!(t.hold_out, vec!["flight", "weather"]);
    assert!(TaskSpec::parse(&format!("a={},hold-out=flight+", slu.display())).is_err());
    let s = |i: &str| Sentence {
        intent: Some(i.to_string()),
        ..Sentence::default()
    };
    assert!(has_intent_in(&s("airfare#flight"), &t.hold_out));
    assert!(!has_intent_in(&s("airfare"), &t.hold_out));
    assert!(!has_intent_in(&Sentence::default(), &t.hold_out));
}

#[test]
fn calibrate_stores_the_threshold_that_keeps_the_share_of_dev() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("m.ptag");
    std::fs::write(&path, RandomModel::tiny(3).to_bytes().unwrap()).unwrap();
    // The tiny model's voice task on a small slot-filling dev set.
    let slu = common::write_slu(&tmp.path().join("slu"));
    let dev = slu.join("valid");
    let f = ModelFile::open(&path, OpenOptions::FULL).unwrap();
    let mut w = ModelWriter::from_file(&f).unwrap();
    let th = calibrate(&mut w, &path, &[("voice".into(), dev.clone())], 0.5).unwrap();
    let t = th["voice"];
    let msp: Vec<f32> = model_scores(&path, "voice", &load_split(&dev).unwrap())
        .unwrap()
        .iter()
        .map(|s| s.msp)
        .collect();
    assert_eq!(t, threshold_at_tpr(&msp, 0.5));
    let heads = &w.meta_mut().heads;
    let intent = heads.iter().find(|h| h.role == HeadRole::Intent).unwrap();
    assert_eq!(intent.reject_below, Some(t));
    assert!(heads
        .iter()
        .filter(|h| h.role != HeadRole::Intent)
        .all(|h| h.reject_below.is_none()));
    // Through the runtime with its default options: the rejected share.
    drop(f);
    let out = tmp.path().join("c.ptag");
    w.write(&out).unwrap();
    let tagger = Tagger::open(&out).unwrap();
    let opts = TagOptions {
        has_slot_threshold: None,
        ..TagOptions::default()
    };
    assert_eq!(opts.intent_threshold, IntentThreshold::Model);
    let kept = load_split(&dev)
        .unwrap()
        .iter()
        .filter(|s| {
            let r = tagger
                .tag_utterance_with(&s.words.join(" "), &opts)
                .unwrap();
            r.intents.iter().any(|i| &*i.task == "voice")
        })
        .count();
    let want = msp.iter().filter(|&&x| x >= t).count();
    assert_eq!(kept, want);
    assert!(2 * want >= msp.len());
}
