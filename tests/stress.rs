//! Load: one `Tagger` shared by 8 threads, every result equal to the
//! single-thread result of the same utterance. The full run (100,000
//! utterances) is ignored by default:
//! `cargo test --release --test stress -- --ignored shared_tagger_100k --nocapture`.

#[path = "../fuzz/src/check.rs"]
mod check;
#[path = "../fuzz/src/models.rs"]
#[allow(dead_code)]
mod models;

use std::sync::Arc;

use picotag::testing::Rng;
use picotag::{Backend, TagOptions, Tagger, Tagging};

const THREADS: usize = 8;

/// `n` distinct utterances of 1 to 40 words, some long enough for several
/// windows, some with non-ASCII words.
fn utterances(n: usize) -> Vec<String> {
    let words = [
        "book",
        "a",
        "flight",
        "from",
        "boston",
        "to",
        "denver",
        "tomorrow",
        "morning",
        "play",
        "jazz",
        "in",
        "the",
        "kitchen",
        "i",
        "take",
        "200",
        "mg",
        "of",
        "ibuprofen",
        "for",
        "my",
        "migraine",
        "caf\u{e9}",
        "\u{1f600}",
        "new",
        "york",
        ",",
        "?",
    ];
    let mut rng = Rng::new(77);
    (0..n)
        .map(|i| {
            let len = 1 + (rng.next_u64() % 40) as usize;
            let mut s: Vec<&str> = (0..len)
                .map(|_| words[(rng.next_u64() % words.len() as u64) as usize])
                .collect();
            if i % 7 == 0 {
                s.push("unknownword");
            }
            s.join(" ")
        })
        .collect()
}

fn options(i: usize) -> TagOptions {
    if i.is_multiple_of(3) {
        TagOptions {
            has_slot_threshold: None,
            ..Default::default()
        }
    } else {
        TagOptions::default()
    }
}

/// Tags `total` utterances drawn from `texts` on `THREADS` threads sharing
/// `tagger`, comparing each with `expected`. Returns the number compared.
fn run(tagger: Tagger, texts: Vec<String>, total: usize) -> usize {
    let expected: Vec<Tagging> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| tagger.tag_utterance_with(t, &options(i)).unwrap())
        .collect();
    for (t, e) in texts.iter().zip(&expected) {
        check::check_tagging(t, e);
    }
    let shared = Arc::new((tagger, texts, expected));
    let per_thread = total / THREADS;
    let handles: Vec<_> = (0..THREADS)
        .map(|k| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let (tagger, texts, expected) = &*shared;
                let mut rng = Rng::new(1000 + k as u64);
                for _ in 0..per_thread {
                    let i = (rng.next_u64() % texts.len() as u64) as usize;
                    let got = tagger.tag_utterance_with(&texts[i], &options(i)).unwrap();
                    assert_eq!(
                        got, expected[i],
                        "thread {k}, utterance {i}: {:?}",
                        texts[i]
                    );
                }
                per_thread
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

#[test]
fn shared_tagger_short() {
    for int8 in [true, false] {
        let tagger = Tagger::from_bytes(&models::small(51, int8).to_bytes().unwrap()).unwrap();
        let backend = tagger.backend();
        let n = run(tagger, utterances(100), 800);
        assert_eq!(n, 800);
        println!("{backend:?}: {n} utterances");
    }
    // The reference path on an int8 file too.
    let tagger = Tagger::from_bytes(&models::small(52, true).to_bytes().unwrap())
        .unwrap()
        .with_backend(Backend::Reference)
        .unwrap();
    assert_eq!(run(tagger, utterances(50), 400), 400);
}

#[test]
#[ignore]
fn shared_tagger_100k() {
    let mut m = models::utterance_model();
    m.arch.hidden = 64;
    m.arch.heads = 4;
    m.arch.layers = 2;
    m.arch.intermediate = 128;
    m.arch.max_positions = 64;
    let tagger = Tagger::from_bytes(&m.to_bytes().unwrap()).unwrap();
    println!("backend {:?}", tagger.backend());
    let start = std::time::Instant::now();
    let n = run(tagger, utterances(2000), 100_000);
    println!(
        "{n} utterances on {THREADS} threads in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(n, 100_000);
}

/// Regression (found by the `model_bytes` fuzz seeds): taggers of different
/// hidden sizes used in turn on one thread share the thread's scratch
/// buffers; a buffer grown by the larger model must not be handed whole to
/// the smaller one (it panicked in the embeddings).
#[test]
fn models_of_different_sizes_on_one_thread() {
    let small = models::small(61, false);
    let mut large = models::small(62, false);
    large.arch.hidden = 16;
    large.arch.intermediate = 32;
    let text = "book a flight from boston to denver";
    for backend in [
        Backend::Reference,
        Backend::Fast(picotag::kernels::detect()),
    ] {
        let open = |m: &picotag::testing::RandomModel| {
            let mut m = m.clone();
            m.int8 = matches!(backend, Backend::Fast(_));
            Tagger::from_bytes(&m.to_bytes().unwrap())
                .unwrap()
                .with_backend(backend)
                .unwrap()
        };
        let (a, b) = (open(&small), open(&large));
        let first = (
            a.tag_utterance(text).unwrap(),
            b.tag_utterance(text).unwrap(),
        );
        for _ in 0..3 {
            // Alternate: each sees scratch buffers last sized by the other.
            assert_eq!(b.tag_utterance(text).unwrap(), first.1);
            assert_eq!(a.tag_utterance(text).unwrap(), first.0);
        }
    }
}
