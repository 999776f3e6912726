//! Unit tests of the ABI, called the way C calls it.

use std::ffi::{c_char, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::OnceLock;

use picotag::{TagOptions, Tagger, Tagging};

use crate::error::{guard, guard_or, Failure};
use crate::result::utf16_offsets;
use crate::*;

const UTTERANCES: &[&str] = &[
    "book a flight from boston to denver tomorrow morning",
    "i take 200 mg of ibuprofen for my migraine",
    "play music",
    "what is the weather in new york at 8 pm",
    "café in zürich 😀 flights to boston, then 𝄞 denver",
    "",
    "   ",
];

fn model() -> &'static [u8] {
    static MODEL: OnceLock<Vec<u8>> = OnceLock::new();
    MODEL.get_or_init(|| picotag::testing::RandomModel::tiny(7).to_bytes().unwrap())
}

/// Options that let every slot of the random model through.
fn all_slots() -> picotag_options {
    picotag_options {
        has_slot_threshold: -1.0,
        ..picotag_options::default()
    }
}

fn open() -> *mut picotag_tagger {
    let mut t = null_mut();
    let bytes = model();
    // SAFETY: valid buffer and out-pointer.
    let st = unsafe { picotag_open_from_memory(bytes.as_ptr(), bytes.len(), &mut t) };
    assert_eq!(st, picotag_status::Ok, "{}", last_error());
    assert!(!t.is_null());
    t
}

fn last_error() -> String {
    // SAFETY: `picotag_last_error` returns a valid NUL-terminated string.
    unsafe { CStr::from_ptr(picotag_last_error()) }
        .to_str()
        .unwrap()
        .to_owned()
}

/// # Safety
/// `p` is a valid NUL-terminated string.
unsafe fn s<'a>(p: *const c_char) -> &'a str {
    assert!(!p.is_null());
    // SAFETY: forwarded.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap()
}

fn tag_c(
    t: *const picotag_tagger,
    text: &[u8],
    opts: *const picotag_options,
) -> (picotag_status, *mut picotag_result) {
    let mut r = null_mut();
    // SAFETY: valid pointers; `text` readable for its length.
    let st =
        unsafe { picotag_tag_utterance_with(t, text.as_ptr().cast(), text.len(), opts, &mut r) };
    (st, r)
}

/// Asserts that a C result says exactly what the Rust API says.
fn assert_same(text: &str, r: *const picotag_result, want: &Tagging) {
    // SAFETY: `r` is a live result; its arrays have the stated lengths.
    let r = unsafe { &*r };
    assert_eq!(r.n_slots, want.slots.len());
    assert_eq!(r.n_intents, want.intents.len());
    assert_eq!(r.slots.is_null(), r.n_slots == 0);
    assert_eq!(r.intents.is_null(), r.n_intents == 0);
    for (i, w) in want.slots.iter().enumerate() {
        // SAFETY: `i < n_slots`.
        let c = unsafe { &*r.slots.add(i) };
        // SAFETY: the strings of a live result are valid.
        unsafe {
            assert_eq!(s(c.task), &*w.task);
            assert_eq!(s(c.label), &*w.label);
            assert_eq!(s(c.text), w.text);
        }
        assert_eq!((c.start, c.end, c.score), (w.start, w.end, w.score));
        assert_eq!(&text[c.start..c.end], w.text);
        assert_eq!(c.start_utf16, text[..c.start].encode_utf16().count());
        assert_eq!(c.end_utf16, text[..c.end].encode_utf16().count());
        assert!((0.0..=1.0).contains(&c.score));
    }
    for (i, w) in want.intents.iter().enumerate() {
        // SAFETY: `i < n_intents`.
        let c = unsafe { &*r.intents.add(i) };
        // SAFETY: the strings of a live result are valid.
        unsafe {
            assert_eq!(s(c.task), &*w.task);
            assert_eq!(s(c.label), &*w.label);
        }
        assert_eq!(c.score, w.score);
    }
}

#[test]
fn status_codes_and_names_are_stable() {
    let all = [
        (picotag_status::Ok, 0, "OK"),
        (picotag_status::NullArgument, 1, "NULL_ARGUMENT"),
        (picotag_status::InvalidUtf8, 2, "INVALID_UTF8"),
        (picotag_status::Io, 3, "IO"),
        (picotag_status::Format, 4, "FORMAT"),
        (picotag_status::InvalidArgument, 5, "INVALID_ARGUMENT"),
        (picotag_status::Tokenizer, 6, "TOKENIZER"),
        (picotag_status::Internal, 7, "INTERNAL"),
    ];
    for (st, code, name) in all {
        assert_eq!(st as i32, code);
        // SAFETY: static string.
        let got = unsafe { s(picotag_status_name(code)) };
        assert_eq!(got, format!("PICOTAG_STATUS_{name}"));
    }
    assert_eq!(
        // SAFETY: static string.
        unsafe { s(picotag_status_name(-3)) },
        "PICOTAG_STATUS_UNKNOWN"
    );
    // SAFETY: static string.
    assert_eq!(unsafe { s(picotag_version()) }, env!("CARGO_PKG_VERSION"));
    assert_eq!(picotag_abi_version(), PICOTAG_ABI_VERSION);
}

#[test]
fn open_reports_null_missing_and_malformed_models() {
    let mut t = std::ptr::NonNull::<picotag_tagger>::dangling().as_ptr();
    assert_eq!(
        // SAFETY: NULL path, valid out.
        unsafe { picotag_open(null(), &mut t) },
        picotag_status::NullArgument
    );
    assert!(t.is_null(), "out is set to NULL on failure");
    assert!(last_error().contains("path"), "{}", last_error());

    assert_eq!(
        // SAFETY: valid path, NULL out.
        unsafe { picotag_open(c"x.ptag".as_ptr(), null_mut()) },
        picotag_status::NullArgument
    );

    let missing = c"/nonexistent/picotag/model.ptag";
    assert_eq!(
        // SAFETY: valid arguments.
        unsafe { picotag_open(missing.as_ptr(), &mut t) },
        picotag_status::Io
    );
    assert!(t.is_null());
    assert!(
        last_error().contains("/nonexistent/picotag/model.ptag"),
        "{}",
        last_error()
    );

    let bytes = model();
    assert_eq!(
        // SAFETY: NULL data.
        unsafe { picotag_open_from_memory(null(), 10, &mut t) },
        picotag_status::NullArgument
    );
    for len in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        // SAFETY: `len <= bytes.len()`.
        let st = unsafe { picotag_open_from_memory(bytes.as_ptr(), len, &mut t) };
        assert_eq!(
            st,
            picotag_status::Format,
            "truncated to {len}: {}",
            last_error()
        );
        assert!(t.is_null());
        assert!(!last_error().is_empty());
    }
    let mut corrupt = bytes.to_vec();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0x55;
    // SAFETY: valid buffer.
    let st = unsafe { picotag_open_from_memory(corrupt.as_ptr(), corrupt.len(), &mut t) };
    assert_eq!(st, picotag_status::Format, "{}", last_error());
}

#[test]
fn open_from_a_file_tags_like_open_from_memory() {
    let dir = std::env::temp_dir().join(format!("picotag-ffi-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.ptag");
    std::fs::write(&path, model()).unwrap();
    let cpath = CString::new(path.to_str().unwrap()).unwrap();
    let mut t = null_mut();
    assert_eq!(
        // SAFETY: valid arguments.
        unsafe { picotag_open(cpath.as_ptr(), &mut t) },
        picotag_status::Ok
    );
    let m = open();
    let opts = all_slots();
    for text in UTTERANCES {
        let (a, ra) = tag_c(t, text.as_bytes(), &opts);
        let (b, rb) = tag_c(m, text.as_bytes(), &opts);
        assert_eq!((a, b), (picotag_status::Ok, picotag_status::Ok));
        let want = Tagger::from_bytes(model())
            .unwrap()
            .tag_utterance_with(
                text,
                &TagOptions {
                    has_slot_threshold: None,
                    ..TagOptions::default()
                },
            )
            .unwrap();
        assert_same(text, ra, &want);
        assert_same(text, rb, &want);
        // SAFETY: live results, freed once.
        unsafe {
            picotag_result_free(ra);
            picotag_result_free(rb);
        }
    }
    // SAFETY: live handles, closed once.
    unsafe {
        picotag_close(t);
        picotag_close(m);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn results_match_the_rust_api_with_utf16_offsets() {
    let t = open();
    let tagger = Tagger::from_bytes(model()).unwrap();
    let mut n_slots = 0;
    let mut n_after_astral = 0;
    for text in UTTERANCES {
        for (opts, ropts) in [
            (None, TagOptions::default()),
            (
                Some(all_slots()),
                TagOptions {
                    has_slot_threshold: None,
                    ..TagOptions::default()
                },
            ),
        ] {
            let (st, r) = tag_c(
                t,
                text.as_bytes(),
                opts.as_ref().map_or(null(), |o| o as *const _),
            );
            assert_eq!(st, picotag_status::Ok, "{}", last_error());
            assert_eq!(last_error(), "");
            let want = tagger.tag_utterance_with(text, &ropts).unwrap();
            assert_same(text, r, &want);
            n_slots += want.slots.len();
            n_after_astral += want
                .slots
                .iter()
                .filter(|s| text[..s.start].contains('😀'))
                .count();
            // SAFETY: live result, freed once.
            unsafe { picotag_result_free(r) };
        }
    }
    // The random model must produce slots, or this test checks nothing.
    assert!(n_slots > 5, "only {n_slots} slots");
    assert!(n_after_astral > 0, "no slot after a non-BMP character");
    // SAFETY: live handle, closed once.
    unsafe { picotag_close(t) };
}

#[test]
fn json_says_what_the_structs_say() {
    let t = open();
    let opts = all_slots();
    for text in UTTERANCES {
        let mut json = null_mut();
        // SAFETY: valid arguments.
        let st = unsafe {
            picotag_tag_utterance_json_with(t, text.as_ptr().cast(), text.len(), &opts, &mut json)
        };
        assert_eq!(st, picotag_status::Ok);
        // SAFETY: a live string from picotag.
        let v: serde_json::Value = serde_json::from_str(unsafe { s(json) }).unwrap();
        // SAFETY: freed once.
        unsafe { picotag_string_free(json) };
        let (_, r) = tag_c(t, text.as_bytes(), &opts);
        // SAFETY: live result.
        let rr = unsafe { &*r };
        let slots = v["slots"].as_array().unwrap();
        assert_eq!(slots.len(), rr.n_slots);
        for (i, js) in slots.iter().enumerate() {
            // SAFETY: `i < n_slots`; strings valid.
            let c = unsafe { &*rr.slots.add(i) };
            // SAFETY: strings of a live result.
            unsafe {
                assert_eq!(js["task"], s(c.task));
                assert_eq!(js["label"], s(c.label));
                assert_eq!(js["text"], s(c.text));
            }
            assert_eq!(js["start"], c.start);
            assert_eq!(js["end"], c.end);
            assert_eq!(js["start_utf16"], c.start_utf16);
            assert_eq!(js["end_utf16"], c.end_utf16);
            assert_eq!(js["score"].as_f64().unwrap() as f32, c.score);
        }
        assert_eq!(v["intents"].as_array().unwrap().len(), rr.n_intents);
        // SAFETY: freed once.
        unsafe { picotag_result_free(r) };
    }
    // The default-options entry point.
    let mut json = null_mut();
    // SAFETY: valid arguments.
    let st = unsafe { picotag_tag_utterance_json(t, c"play music".as_ptr(), 10, &mut json) };
    assert_eq!(st, picotag_status::Ok);
    // SAFETY: freed once.
    unsafe { picotag_string_free(json) };
    // SAFETY: live handle, closed once.
    unsafe { picotag_close(t) };
}

#[test]
fn tagging_reports_null_arguments_and_invalid_utf8() {
    let t = open();
    let text = b"book a flight";
    let mut r = std::ptr::NonNull::<picotag_result>::dangling().as_ptr();
    // SAFETY: NULL tagger; other arguments valid.
    let st = unsafe { picotag_tag_utterance(null(), text.as_ptr().cast(), text.len(), &mut r) };
    assert_eq!(st, picotag_status::NullArgument);
    assert!(r.is_null());
    assert!(last_error().contains("tagger"));
    // SAFETY: NULL text with a length.
    let st = unsafe { picotag_tag_utterance(t, null(), 3, &mut r) };
    assert_eq!(st, picotag_status::NullArgument);
    // SAFETY: NULL out.
    let st = unsafe { picotag_tag_utterance(t, text.as_ptr().cast(), text.len(), null_mut()) };
    assert_eq!(st, picotag_status::NullArgument);
    let mut json = null_mut();
    // SAFETY: NULL json_out, then NULL tagger.
    unsafe {
        assert_eq!(
            picotag_tag_utterance_json(t, text.as_ptr().cast(), 3, null_mut()),
            picotag_status::NullArgument
        );
        assert_eq!(
            picotag_tag_utterance_json(null(), text.as_ptr().cast(), 3, &mut json),
            picotag_status::NullArgument
        );
    }
    assert!(json.is_null());

    // NULL with length 0 is the empty string.
    // SAFETY: NULL, 0 is allowed.
    let st = unsafe { picotag_tag_utterance(t, null(), 0, &mut r) };
    assert_eq!(st, picotag_status::Ok);
    // SAFETY: live result.
    assert_eq!(unsafe { ((*r).n_slots, (*r).n_intents) }, (0, 0));
    // SAFETY: freed once.
    unsafe { picotag_result_free(r) };

    for bad in [
        &b"caf\xc3"[..],
        b"\xff\xfe",
        b"ok \xed\xa0\x80 surrogate",
        b"\xc0\xaf",
    ] {
        let (st, r) = tag_c(t, bad, null());
        assert_eq!(st, picotag_status::InvalidUtf8, "{bad:?}");
        assert!(r.is_null());
        assert!(last_error().contains("UTF-8"), "{}", last_error());
        let mut json = null_mut();
        // SAFETY: valid arguments.
        let st =
            unsafe { picotag_tag_utterance_json(t, bad.as_ptr().cast(), bad.len(), &mut json) };
        assert_eq!(st, picotag_status::InvalidUtf8);
        assert!(json.is_null());
    }
    // A valid prefix of an invalid buffer is fine: the length is what counts.
    let (st, r) = tag_c(t, &b"play music\xff"[..10], null());
    assert_eq!(st, picotag_status::Ok);
    // SAFETY: freed once; NULLs are no-ops.
    unsafe {
        picotag_result_free(r);
        picotag_result_free(null_mut());
        picotag_string_free(null_mut());
        picotag_close(null_mut());
        picotag_close(t);
    }
}

#[test]
fn last_error_is_cleared_by_success_and_per_thread() {
    let t = open();
    let (st, _) = tag_c(t, b"\xff", null());
    assert_eq!(st, picotag_status::InvalidUtf8);
    assert!(!last_error().is_empty());
    std::thread::spawn(|| assert_eq!(last_error(), ""))
        .join()
        .unwrap();
    assert!(!last_error().is_empty(), "reading it does not clear it");
    let (st, r) = tag_c(t, b"play", null());
    assert_eq!(st, picotag_status::Ok);
    assert_eq!(last_error(), "");
    // SAFETY: freed once.
    unsafe {
        picotag_result_free(r);
        picotag_close(t);
    }
}

#[test]
fn tasks_are_listed_and_restricted() {
    let t = open();
    let mut tasks = null();
    let mut n = 0;
    assert_eq!(
        // SAFETY: valid arguments.
        unsafe { picotag_tasks(t, &mut tasks, &mut n) },
        picotag_status::Ok
    );
    assert_eq!(n, 2);
    // SAFETY: `n` entries, strings owned by the live tagger.
    let names: Vec<(&str, Vec<&str>, Vec<&str>, bool)> = unsafe {
        std::slice::from_raw_parts(tasks, n)
            .iter()
            .map(|t| {
                let list = |p: *const *const c_char, n: usize| -> Vec<&str> {
                    if n == 0 {
                        assert!(p.is_null());
                        return vec![];
                    }
                    std::slice::from_raw_parts(p, n)
                        .iter()
                        .map(|&q| s(q))
                        .collect()
                };
                (
                    s(t.name),
                    list(t.slot_types, t.n_slot_types),
                    list(t.intent_labels, t.n_intent_labels),
                    t.has_slot_head,
                )
            })
            .collect()
    };
    assert_eq!(
        names,
        vec![
            (
                "voice",
                vec!["city", "time"],
                vec!["book_flight", "get_weather", "play_music"],
                true
            ),
            ("health", vec!["Chemical", "Disease"], vec![], true),
        ]
    );
    // SAFETY: NULL arguments.
    unsafe {
        assert_eq!(
            picotag_tasks(null(), &mut tasks, &mut n),
            picotag_status::NullArgument
        );
        assert!(tasks.is_null());
        assert_eq!(
            picotag_tasks(t, null_mut(), &mut n),
            picotag_status::NullArgument
        );
        assert_eq!(
            picotag_tasks(t, &mut tasks, null_mut()),
            picotag_status::NullArgument
        );
    }

    let health = [c"health".as_ptr()];
    let opts = picotag_options {
        tasks: health.as_ptr(),
        n_tasks: 1,
        ..all_slots()
    };
    let mut n_health = 0;
    for text in UTTERANCES {
        let (st, r) = tag_c(t, text.as_bytes(), &opts);
        assert_eq!(st, picotag_status::Ok);
        // SAFETY: live result.
        let rr = unsafe { &*r };
        assert_eq!(rr.n_intents, 0, "health has no intent head");
        for i in 0..rr.n_slots {
            // SAFETY: `i < n_slots`.
            assert_eq!(unsafe { s((*rr.slots.add(i)).task) }, "health");
        }
        n_health += rr.n_slots;
        // SAFETY: freed once.
        unsafe { picotag_result_free(r) };
    }
    assert!(n_health > 0);

    let cases: [(&[*const c_char], usize, picotag_status, &str); 4] = [
        (
            &[c"voice".as_ptr(), c"no-such-task".as_ptr()],
            2,
            picotag_status::InvalidArgument,
            "no-such-task",
        ),
        (&[null()], 1, picotag_status::NullArgument, "tasks"),
        (
            &[c"\xffvoice".as_ptr()],
            1,
            picotag_status::InvalidUtf8,
            "UTF-8",
        ),
        (&[], 3, picotag_status::NullArgument, "tasks"),
    ];
    for (names, n, want, msg) in cases {
        let opts = picotag_options {
            tasks: if names.is_empty() {
                null()
            } else {
                names.as_ptr()
            },
            n_tasks: n,
            ..picotag_options::default()
        };
        let (st, r) = tag_c(t, b"play music", &opts);
        assert_eq!(st, want, "{}", last_error());
        assert!(r.is_null());
        assert!(last_error().contains(msg), "{}", last_error());
    }
    for bad in [
        picotag_options {
            has_slot_threshold: f32::NAN,
            ..picotag_options::default()
        },
        picotag_options {
            min_slot_score: f32::NAN,
            ..picotag_options::default()
        },
    ] {
        assert_eq!(tag_c(t, b"play", &bad).0, picotag_status::InvalidArgument);
    }
    // SAFETY: closed once.
    unsafe { picotag_close(t) };
}

#[test]
fn options_init_fills_the_defaults() {
    let mut o = std::mem::MaybeUninit::<picotag_options>::uninit();
    assert_eq!(
        // SAFETY: writable.
        unsafe { picotag_options_init(o.as_mut_ptr()) },
        picotag_status::Ok
    );
    // SAFETY: initialised by the call.
    let o = unsafe { o.assume_init() };
    assert!(o.tasks.is_null());
    assert_eq!(
        (o.n_tasks, o.has_slot_threshold, o.min_slot_score),
        (0, 0.5, 0.0)
    );
    assert_eq!(
        // SAFETY: NULL.
        unsafe { picotag_options_init(null_mut()) },
        picotag_status::NullArgument
    );
}

#[test]
fn intent_threshold_rejects_out_of_scope_intents() {
    let t = open();
    let text = b"book a flight from boston to new york tomorrow morning";
    let n_intents = |o: picotag_options| {
        let (st, r) = tag_c(t, text, &o);
        assert_eq!(st, picotag_status::Ok, "{}", last_error());
        // SAFETY: a live result, freed once.
        let n = unsafe { (*r).n_intents };
        // SAFETY: freed once.
        unsafe { picotag_result_free(r) };
        n
    };
    let d = picotag_options::default();
    assert!(
        d.intent_threshold.is_nan(),
        "default: the model's threshold"
    );
    // The random model stores no threshold: NaN and "off" keep the intent;
    // 1.0 rejects it (the probability of one of three labels is below 1).
    let with = |x: f32| picotag_options {
        intent_threshold: x,
        ..all_slots()
    };
    assert_eq!(n_intents(all_slots()), 1);
    assert_eq!(n_intents(with(-1.0)), 1);
    assert_eq!(n_intents(with(1.0)), 0);
    let (st, r) = tag_c(t, text, &with(1.5));
    assert_eq!(st, picotag_status::InvalidArgument);
    assert!(r.is_null());
    assert!(
        last_error().contains("intent_threshold"),
        "{}",
        last_error()
    );
    // SAFETY: closed once.
    unsafe { picotag_close(t) };
}

#[test]
fn punctuation_words_is_checked_and_passed_on() {
    let t = open();
    let text = b"book a flight , from boston ! to new york ?";
    let json = |o: picotag_options| {
        let (st, r) = tag_c(t, text, &o);
        assert_eq!(st, picotag_status::Ok, "{}", last_error());
        // SAFETY: a live result, freed once.
        let n = unsafe { ((*r).n_slots, (*r).n_intents, (*(*r).intents).score) };
        // SAFETY: freed once.
        unsafe { picotag_result_free(r) };
        n
    };
    assert_eq!(
        picotag_options::default().punctuation_words,
        picotag_punctuation::ByTask as i32
    );
    let with = |p: i32| picotag_options {
        punctuation_words: p,
        ..all_slots()
    };
    // The random model has no punctuation shares: by task keeps it.
    let by_task = json(with(picotag_punctuation::ByTask as i32));
    assert_eq!(by_task, json(with(picotag_punctuation::Keep as i32)));
    assert_ne!(by_task, json(with(picotag_punctuation::Skip as i32)));
    for bad in [-1, 3, i32::MAX] {
        let (st, r) = tag_c(t, text, &with(bad));
        assert_eq!(st, picotag_status::InvalidArgument);
        assert!(r.is_null());
        assert!(
            last_error().contains("punctuation_words"),
            "{}",
            last_error()
        );
    }
    // SAFETY: closed once.
    unsafe { picotag_close(t) };
}

#[test]
fn panics_are_contained() {
    let st = guard(|| -> Result<(), Failure> { panic!("boom {}", 42) });
    assert_eq!(st, picotag_status::Internal);
    assert!(
        last_error().contains("panic") && last_error().contains("boom 42"),
        "{}",
        last_error()
    );
    let st = guard(|| std::panic::panic_any(17u8));
    assert_eq!(st, picotag_status::Internal);
    assert_eq!(guard_or(3, || -> i32 { panic!("in a getter") }), 3);
    assert!(last_error().contains("in a getter"));
    assert_eq!(guard(|| Ok(())), picotag_status::Ok);
    assert_eq!(last_error(), "");
}

#[test]
fn one_tagger_serves_several_threads() {
    struct Shared(*mut picotag_tagger);
    // SAFETY: the C ABI documents the tagger as shareable across threads.
    unsafe impl Sync for Shared {}
    let t = Shared(open());
    let json = |t: &Shared, text: &str| {
        let opts = all_slots();
        let mut j = null_mut();
        // SAFETY: valid arguments.
        let st = unsafe {
            picotag_tag_utterance_json_with(t.0, text.as_ptr().cast(), text.len(), &opts, &mut j)
        };
        assert_eq!(st, picotag_status::Ok);
        // SAFETY: a live string, freed once.
        unsafe {
            let out = s(j).to_owned();
            picotag_string_free(j);
            out
        }
    };
    let want: Vec<String> = UTTERANCES.iter().map(|u| json(&t, u)).collect();
    std::thread::scope(|scope| {
        for k in 0..4 {
            let (t, want, json) = (&t, &want, &json);
            scope.spawn(move || {
                for i in 0..2 * UTTERANCES.len() {
                    let j = (i + k) % UTTERANCES.len();
                    assert_eq!(json(t, UTTERANCES[j]), want[j]);
                }
            });
        }
    });
    // SAFETY: closed once, after the threads.
    unsafe { picotag_close(t.0) };
}

#[test]
fn utf16_offsets_count_code_units() {
    let text = "aé😀b𝄞c";
    let bytes: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let want: Vec<usize> = bytes
        .iter()
        .map(|&b| text[..b].encode_utf16().count())
        .collect();
    let mut rev = bytes.clone();
    rev.reverse();
    assert_eq!(utf16_offsets(text, &bytes), want);
    let mut want_rev = want.clone();
    want_rev.reverse();
    assert_eq!(utf16_offsets(text, &rev), want_rev);
    assert_eq!(want, [0, 1, 2, 4, 5, 7, 8]);
}
