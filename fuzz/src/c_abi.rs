//! Target: arbitrary bytes and lengths through the C ABI's tagging calls.
//!
//! Input layout: byte 0 selects how the text is passed (bits 0-1), whether
//! options are passed (bit 2) and which (bits 4-6), and the struct or JSON
//! result (bit 3); byte 1 is a length cut or an option value; the rest is
//! the text bytes (not necessarily UTF-8, never NUL-terminated).

use std::ffi::{c_char, CStr};
use std::ptr;
use std::sync::OnceLock;

use picotag::{TagOptions, Tagger};
use picotag_ffi::{
    picotag_last_error, picotag_open_from_memory, picotag_options, picotag_result,
    picotag_result_free, picotag_status, picotag_string_free, picotag_tag_utterance_json_with,
    picotag_tag_utterance_with, picotag_tagger,
};

use crate::models::small;

/// The model of this target, as a C handle and as a Rust tagger (the
/// reference the C results are compared with).
struct Model {
    /// `*const picotag_tagger`, stored as an address so that it can live in a
    /// static; never closed.
    handle: usize,
    rust: Tagger,
}

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let bytes = small(9, true)
            .to_bytes()
            .expect("the random model is valid");
        let mut handle: *mut picotag_tagger = ptr::null_mut();
        // SAFETY: `bytes` is readable for its length; `handle` is writable.
        let status = unsafe { picotag_open_from_memory(bytes.as_ptr(), bytes.len(), &mut handle) };
        assert_eq!(status, picotag_status::Ok, "open_from_memory");
        Model {
            handle: handle as usize,
            rust: Tagger::from_bytes(&bytes).expect("the random model opens"),
        }
    })
}

/// How the text reaches the call.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Text {
    /// The whole buffer.
    Whole,
    /// A prefix: the bytes after `len` are readable but not part of the text.
    Prefix(usize),
    /// NULL with length 0 (allowed: the empty text).
    NullEmpty,
    /// NULL with a non-zero length (rejected).
    NullNonEmpty,
}

/// Which options are passed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Opts {
    None,
    /// Thresholds from the input (possibly NaN, negative, above 1).
    Thresholds(f32, f32),
    /// One known task.
    Known,
    /// One unknown task name.
    Unknown,
    /// `n_tasks` 1 with a NULL `tasks` array.
    NullTasks,
}

const THRESHOLDS: [f32; 8] = [0.5, 0.0, -1.0, 1.0, 2.0, f32::NAN, f32::INFINITY, 0.25];

/// Runs one call described by `data` and checks its status and result
/// against the Rust API.
pub fn run(data: &[u8]) {
    let (flags, cut, text) = match data {
        [f, c, rest @ ..] => (*f, *c as usize, rest),
        [f] => (*f, 0, &[][..]),
        [] => (0, 0, &[][..]),
    };
    let mode = match flags & 3 {
        0 => Text::Whole,
        1 => Text::Prefix(text.len().saturating_sub(cut)),
        2 => Text::NullEmpty,
        _ => Text::NullNonEmpty,
    };
    let opts = if flags & 4 == 0 {
        Opts::None
    } else {
        match (flags >> 4) & 7 {
            0..=2 => Opts::Thresholds(THRESHOLDS[cut & 7], THRESHOLDS[(cut >> 3) & 7]),
            3 | 4 => Opts::Known,
            5 => Opts::Unknown,
            _ => Opts::NullTasks,
        }
    };
    let json = flags & 8 != 0;
    let (ptr, len) = match mode {
        Text::Whole => (text.as_ptr(), text.len()),
        Text::Prefix(n) => (text.as_ptr(), n),
        Text::NullEmpty => (ptr::null(), 0),
        Text::NullNonEmpty => (ptr::null(), text.len() + 1),
    };
    let bytes: &[u8] = match mode {
        Text::Whole | Text::Prefix(_) => &text[..len],
        _ => &[],
    };
    let expected = expected_outcome(mode, opts, bytes);
    call(ptr.cast(), len, opts, json, bytes, expected);
}

/// The status the call must return, and on success the Rust API's result.
fn expected_outcome(
    mode: Text,
    opts: Opts,
    bytes: &[u8],
) -> Result<(String, picotag::Tagging), picotag_status> {
    if mode == Text::NullNonEmpty {
        return Err(picotag_status::NullArgument);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| picotag_status::InvalidUtf8)?;
    let options = match opts {
        Opts::None => TagOptions::default(),
        Opts::Thresholds(h, m) if h.is_nan() || m.is_nan() => {
            return Err(picotag_status::InvalidArgument)
        }
        Opts::Thresholds(h, m) => TagOptions {
            tasks: None,
            has_slot_threshold: (h >= 0.0).then_some(h),
            min_slot_score: m,
            keep_symbol_slots: false,
            ..TagOptions::default()
        },
        Opts::Known => TagOptions {
            tasks: Some(vec!["voice".into()]),
            ..Default::default()
        },
        Opts::Unknown => return Err(picotag_status::InvalidArgument),
        Opts::NullTasks => return Err(picotag_status::NullArgument),
    };
    let t = model()
        .rust
        .tag_utterance_with(text, &options)
        .unwrap_or_else(|e| panic!("the Rust API failed: {e}"));
    crate::check::check_tagging(text, &t);
    Ok((text.to_owned(), t))
}

fn call(
    ptr: *const c_char,
    len: usize,
    opts: Opts,
    json: bool,
    bytes: &[u8],
    expected: Result<(String, picotag::Tagging), picotag_status>,
) {
    let tagger = model().handle as *const picotag_tagger;
    let known = c"voice";
    let unknown = c"no such task";
    let known_list = [known.as_ptr()];
    let unknown_list = [unknown.as_ptr()];
    let mut o = picotag_options::default();
    match opts {
        Opts::None => {}
        Opts::Thresholds(h, m) => {
            o.has_slot_threshold = h;
            o.min_slot_score = m;
        }
        Opts::Known => {
            o.tasks = known_list.as_ptr();
            o.n_tasks = 1;
        }
        Opts::Unknown => {
            o.tasks = unknown_list.as_ptr();
            o.n_tasks = 1;
        }
        Opts::NullTasks => o.n_tasks = 1,
    }
    let o_ptr: *const picotag_options = if opts == Opts::None { ptr::null() } else { &o };
    if json {
        let mut out: *mut c_char = ptr::null_mut();
        // SAFETY: `tagger` is live; `ptr` is NULL or readable for `len`
        // bytes (or NULL with `len` > 0, which the call must reject without
        // reading); `o_ptr` is NULL or valid; `out` is writable.
        let status = unsafe { picotag_tag_utterance_json_with(tagger, ptr, len, o_ptr, &mut out) };
        check_status(status, &expected, out.is_null());
        if let Ok((text, t)) = &expected {
            // SAFETY: on success `out` is a NUL-terminated string from picotag.
            let s = unsafe { CStr::from_ptr(out) }
                .to_str()
                .expect("JSON is UTF-8");
            let v: serde_json::Value = serde_json::from_str(s).expect("valid JSON");
            let slots = v["slots"].as_array().expect("slots");
            assert_eq!(slots.len(), t.slots.len(), "slot count");
            for (j, s) in slots.iter().zip(&t.slots) {
                assert_eq!(j["start"].as_u64(), Some(s.start as u64));
                assert_eq!(j["end"].as_u64(), Some(s.end as u64));
                assert_eq!(j["text"].as_str(), Some(&text[s.start..s.end]));
            }
            // SAFETY: a string from picotag, freed once.
            unsafe { picotag_string_free(out) };
        }
    } else {
        let mut out: *mut picotag_result = ptr::null_mut();
        // SAFETY: as above.
        let status = unsafe { picotag_tag_utterance_with(tagger, ptr, len, o_ptr, &mut out) };
        check_status(status, &expected, out.is_null());
        if let Ok((text, t)) = &expected {
            // SAFETY: on success `out` is a live result.
            check_result(unsafe { &*out }, text, bytes, t);
            // SAFETY: a live result, freed once.
            unsafe { picotag_result_free(out) };
        }
    }
}

fn check_status(
    status: picotag_status,
    expected: &Result<(String, picotag::Tagging), picotag_status>,
    out_null: bool,
) {
    let want = expected
        .as_ref()
        .err()
        .copied()
        .unwrap_or(picotag_status::Ok);
    if status != want {
        // SAFETY: `picotag_last_error` returns NULL or a NUL-terminated string.
        let msg = unsafe { last_error() };
        panic!("status {status:?}, expected {want:?} ({msg})");
    }
    assert_eq!(out_null, status != picotag_status::Ok, "out pointer");
    if status != picotag_status::Ok {
        // SAFETY: as above.
        assert!(!unsafe { last_error() }.is_empty(), "no error message");
    }
}

/// # Safety
/// None beyond the C ABI's own contract of `picotag_last_error`.
unsafe fn last_error() -> String {
    let p = picotag_last_error();
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-NULL: a NUL-terminated string valid until the next call.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Compares a C result with the Rust API's for the same text.
fn check_result(r: &picotag_result, text: &str, bytes: &[u8], t: &picotag::Tagging) {
    assert_eq!(r.n_slots, t.slots.len(), "slot count");
    assert_eq!(r.n_intents, t.intents.len(), "intent count");
    let slots = if r.n_slots == 0 {
        &[][..]
    } else {
        // SAFETY: `slots` points to `n_slots` entries owned by `r`.
        unsafe { std::slice::from_raw_parts(r.slots, r.n_slots) }
    };
    for (c, s) in slots.iter().zip(&t.slots) {
        assert_eq!((c.start, c.end), (s.start, s.end), "offsets");
        // SAFETY: slot strings are NUL-terminated and owned by `r`.
        let (ctext, label, task) = unsafe {
            (
                CStr::from_ptr(c.text).to_bytes(),
                CStr::from_ptr(c.label).to_bytes(),
                CStr::from_ptr(c.task).to_bytes(),
            )
        };
        // A NUL inside the slot text ends the C string early.
        let slice = &bytes[c.start..c.end];
        let until_nul = slice.iter().position(|&b| b == 0).unwrap_or(slice.len());
        assert_eq!(ctext, &slice[..until_nul], "slot text");
        assert_eq!(label, s.label.as_bytes(), "label");
        assert_eq!(task, s.task.as_bytes(), "task");
        let utf16 = |b: usize| text[..b].encode_utf16().count();
        assert_eq!((c.start_utf16, c.end_utf16), (utf16(c.start), utf16(c.end)));
        assert_eq!(c.score.to_bits(), s.score.to_bits(), "score");
    }
    let intents = if r.n_intents == 0 {
        &[][..]
    } else {
        // SAFETY: `intents` points to `n_intents` entries owned by `r`.
        unsafe { std::slice::from_raw_parts(r.intents, r.n_intents) }
    };
    for (c, i) in intents.iter().zip(&t.intents) {
        // SAFETY: intent strings are NUL-terminated and owned by `r`.
        let label = unsafe { CStr::from_ptr(c.label) }.to_bytes();
        assert_eq!(label, i.label.as_bytes(), "intent label");
        assert_eq!(c.score.to_bits(), i.score.to_bits(), "intent score");
    }
}
