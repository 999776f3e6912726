//! Steady state allocates nothing: after a warm-up call, tagging an utterance
//! into a reused `Tagging` makes no heap allocation, on both backends, for
//! short and windowed inputs, with and without an entity set, with one or
//! two encoder passes (punctuation by task), and on two threads sharing one
//! `Tagger`.
//! Its own test binary because of the counting `#[global_allocator]`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use picotag::testing::RandomModel;
use picotag::{Backend, EntitySet, TagOptions, Tagger, Tagging};

/// Counts the allocations of threads that switched counting on.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: forwards every call to the system allocator unchanged; counting
// touches only const-initialised thread-locals (no allocation, no re-entry).
unsafe impl GlobalAlloc for Counting {
    /// # Safety
    /// The contract of [`GlobalAlloc::alloc`].
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    /// # Safety
    /// The contract of [`GlobalAlloc::alloc_zeroed`].
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    /// # Safety
    /// The contract of [`GlobalAlloc::realloc`].
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    /// # Safety
    /// The contract of [`GlobalAlloc::dealloc`].
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    COUNT.with(|c| c.get())
}

fn utterances() -> Vec<String> {
    let mut v: Vec<String> = [
        "book a flight from boston to denver tomorrow morning",
        "i take 200 mg of ibuprofen for my migraine",
        "play music",
        "what is the weather in new york",
        "Café 中文 naïve, (x) — ok!",
        "fly to boston , new york !! at 8:30 ( x )",
        "x",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Longer than the tiny model's 64 positions: tagged in windows.
    v.push("show me flights from boston to denver and new york with aspirin and cancer ".repeat(6));
    v
}

fn tagger(int8: bool) -> Tagger {
    let mut m = RandomModel::tiny(11);
    m.int8 = int8;
    let mut w = m.writer().unwrap();
    // The voice task trained without punctuation, the health task with: an
    // utterance with punctuation runs the encoder twice by default.
    for h in &mut w.meta_mut().heads {
        h.punctuation_share = Some(if h.task == "voice" { 0.01 } else { 0.2 });
    }
    Tagger::from_bytes(&w.to_bytes().unwrap()).unwrap()
}

/// The option sets tagged with, one of them with an entity set whose values
/// occur in the utterances.
fn option_sets(t: &Tagger) -> Vec<TagOptions> {
    let mut set = EntitySet::new(t);
    let types: Vec<String> = set.types().map(str::to_string).collect();
    for (i, v) in [
        "boston",
        "new york",
        "aspirin",
        "naïve",
        "x",
        "boston , new york",
    ]
    .iter()
    .enumerate()
    {
        set.add(&types[i % types.len()], v).unwrap();
    }
    vec![
        TagOptions {
            tasks: None,
            has_slot_threshold: None,
            min_slot_score: 0.0,
            keep_symbol_slots: true,
            skip_symbol_words: false,
            ..Default::default()
        },
        TagOptions {
            entities: Some(Arc::new(set)),
            ..Default::default()
        },
        TagOptions::default(),
        TagOptions {
            tasks: Some(vec!["voice".into()]),
            ..Default::default()
        },
    ]
}

/// Warms up, then tags every utterance again and returns the allocations
/// and the number of slots found in the counted pass.
fn steady_state(t: &Tagger) -> (usize, usize) {
    let texts = utterances();
    let opts = option_sets(t);
    let mut outs: Vec<Vec<Tagging>> = opts
        .iter()
        .map(|_| vec![Tagging::default(); texts.len()])
        .collect();
    for (o, out) in opts.iter().zip(&mut outs) {
        for (text, res) in texts.iter().zip(out.iter_mut()) {
            t.tag_utterance_into(text, o, res).unwrap();
        }
    }
    let mut slots = 0;
    let n = allocations(|| {
        for (o, out) in opts.iter().zip(&mut outs) {
            for (text, res) in texts.iter().zip(out.iter_mut()) {
                t.tag_utterance_into(text, o, res).unwrap();
                slots += res.slots.len();
            }
        }
    });
    // The reused result equals a fresh one.
    for (o, out) in opts.iter().zip(&outs) {
        for (text, res) in texts.iter().zip(out) {
            assert_eq!(*res, t.tag_utterance_with(text, o).unwrap(), "{text}");
        }
    }
    (n, slots)
}

#[test]
fn counting_allocator_counts() {
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))) >= 1);
    let t = tagger(true);
    // A fresh result is the only thing a warm call allocates.
    t.tag_utterance("play music").unwrap();
    assert!(allocations(|| drop(t.tag_utterance("play music").unwrap())) >= 1);
}

#[test]
fn fast_path_allocates_nothing_when_warm() {
    let t = tagger(true);
    assert!(matches!(t.backend(), Backend::Fast(_)));
    let (n, slots) = steady_state(&t);
    assert!(slots > 0, "the test should exercise slots");
    assert_eq!(n, 0, "allocations in steady state (fast path)");
}

#[test]
fn reference_path_allocates_nothing_when_warm() {
    for int8 in [false, true] {
        let t = tagger(int8).with_backend(Backend::Reference).unwrap();
        let (n, slots) = steady_state(&t);
        assert!(slots > 0);
        assert_eq!(n, 0, "allocations in steady state (reference, int8 {int8})");
    }
}

#[test]
fn threads_sharing_one_tagger_allocate_nothing_when_warm() {
    let t = Arc::new(tagger(true));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let t = Arc::clone(&t);
            std::thread::spawn(move || steady_state(&t).0)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 0);
    }
}
