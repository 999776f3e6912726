//! The metric against hand-computed conlleval figures.

use picotag_quantize::eval::metric::Metric;

fn s(v: &str) -> Vec<String> {
    v.split_whitespace().map(str::to_string).collect()
}

#[test]
fn exact_match_precision_recall_f1() {
    let mut m = Metric::default();
    // gold: LOC(0,2) PER(3,4); pred: LOC(0,2) PER(3,5) -> 1 correct of 2 / 2.
    m.add_labels(&s("B-LOC I-LOC O B-PER O"), &s("B-LOC I-LOC O B-PER I-PER"));
    // gold: none; pred: ORG -> 1 false positive.
    m.add_labels(&s("O O"), &s("B-ORG O"));
    let r = m.report("t");
    assert_eq!(r.sentences, 2);
    assert!((r.precision - 1.0 / 3.0).abs() < 1e-12);
    assert!((r.recall - 0.5).abs() < 1e-12);
    assert!((r.f1 - 0.4).abs() < 1e-12);
    assert_eq!(r.per_type["LOC"].f1, 1.0);
    assert_eq!(r.per_type["PER"].f1, 0.0);
    assert_eq!(
        (r.per_type["ORG"].precision, r.per_type["ORG"].support),
        (0.0, 0)
    );
    assert_eq!(r.intent_accuracy, None);
}

#[test]
fn ill_formed_bio_reads_like_conlleval() {
    // conlleval: an I- after O opens a chunk; an I- of another type closes and opens.
    let mut m = Metric::default();
    m.add_labels(&s("B-A I-A O B-B"), &s("I-A I-A O I-B"));
    let r = m.report("t");
    assert_eq!((r.precision, r.recall, r.f1), (1.0, 1.0, 1.0));
    let mut m = Metric::default();
    // gold A(0,2); pred A(0,1) B(1,2): 0 correct, 2 predicted, 1 gold.
    m.add_labels(&s("B-A I-A"), &s("B-A I-B"));
    let c = m.total();
    assert_eq!((c.correct, c.predicted, c.gold), (0, 2, 1));
    assert_eq!(m.report("t").f1, 0.0);
    // B- after B- of the same type: two chunks.
    let mut m = Metric::default();
    m.add_labels(&s("B-A B-A"), &s("B-A I-A"));
    let c = m.total();
    assert_eq!((c.correct, c.predicted, c.gold), (0, 1, 2));
}

#[test]
fn intent_accuracy() {
    let mut m = Metric::default();
    m.add_intent("a", "a");
    m.add_intent("b", "a");
    m.add_intent("c", "c");
    m.add_intent("d", "c");
    assert_eq!(m.report("t").intent_accuracy, Some(0.5));
}
