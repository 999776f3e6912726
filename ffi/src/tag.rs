//! Tagging entry points: C structs or JSON out.

use std::ffi::{c_char, CString};

use picotag::{TagOptions, Tagging};
use serde::Serialize;

use crate::args::{out_ptr, utf8_arg};
use crate::error::{guard, guard_or, Failure};
use crate::options::picotag_options;
use crate::result::{free_result, new_result, picotag_result, slot_utf16};
use crate::status::picotag_status;
use crate::tagger::picotag_tagger;

/// Reads the arguments shared by every tagging call and tags.
///
/// # Safety
/// As the entry points' contracts: `tagger` NULL or live, `utf8` NULL or
/// readable for `len` bytes, `options` NULL or valid.
unsafe fn tag<'a>(
    tagger: *const picotag_tagger,
    utf8: *const c_char,
    len: usize,
    options: *const picotag_options,
) -> Result<(&'a str, Tagging), Failure> {
    // SAFETY: `tagger` is NULL or a live handle (contract above).
    let t = unsafe { picotag_tagger::from_arg(tagger)? };
    // SAFETY: `utf8` is NULL or readable for `len` bytes (contract above).
    let text = unsafe { utf8_arg(utf8, len, "utf8")? };
    let tagging = if options.is_null() {
        t.tagger.tag_utterance(text)?
    } else {
        // SAFETY: non-NULL and valid (contract above).
        let opts: TagOptions = unsafe { (*options).tag_options()? };
        t.tagger.tag_utterance_with(text, &opts)?
    };
    Ok((text, tagging))
}

/// Tags `len` bytes of UTF-8 at `utf8` (need not be NUL-terminated; NULL is
/// allowed when `len` is 0) with the default options. On success `*out` is a
/// new result, to be released with `picotag_result_free`.
///
/// Errors: `NULL_ARGUMENT`, `INVALID_UTF8`, `TOKENIZER`, `INTERNAL`.
///
/// # Safety
/// `tagger` is NULL or a live handle; `utf8` is NULL or readable for `len`
/// bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn picotag_tag_utterance(
    tagger: *const picotag_tagger,
    utf8: *const c_char,
    len: usize,
    out: *mut *mut picotag_result,
) -> picotag_status {
    // SAFETY: same contract.
    unsafe { picotag_tag_utterance_with(tagger, utf8, len, std::ptr::null(), out) }
}

/// `picotag_tag_utterance` with options (NULL: the defaults).
///
/// Errors: as `picotag_tag_utterance`, plus `INVALID_ARGUMENT` (unknown
/// task, NaN threshold).
///
/// # Safety
/// As `picotag_tag_utterance`; `options` is NULL or points to an initialised
/// `picotag_options`.
#[no_mangle]
pub unsafe extern "C" fn picotag_tag_utterance_with(
    tagger: *const picotag_tagger,
    utf8: *const c_char,
    len: usize,
    options: *const picotag_options,
    out: *mut *mut picotag_result,
) -> picotag_status {
    guard(|| {
        // SAFETY: `out` is NULL or writable (contract above).
        let out = unsafe { out_ptr(out, "out")? };
        // SAFETY: forwarded contract.
        let (text, tagging) = unsafe { tag(tagger, utf8, len, options)? };
        *out = new_result(text, &tagging);
        Ok(())
    })
}

/// Releases a result. NULL is a no-op.
///
/// # Safety
/// `result` is NULL or a result from `picotag_tag_utterance*`, freed once.
#[no_mangle]
pub unsafe extern "C" fn picotag_result_free(result: *mut picotag_result) {
    if result.is_null() {
        return;
    }
    // SAFETY: a live result, freed once (contract above).
    guard_or((), || unsafe { free_result(result) })
}

#[derive(Serialize)]
struct JsonSlot<'a> {
    task: &'a str,
    label: &'a str,
    text: &'a str,
    start: usize,
    end: usize,
    start_utf16: usize,
    end_utf16: usize,
    score: f32,
}

#[derive(Serialize)]
struct JsonIntent<'a> {
    task: &'a str,
    label: &'a str,
    score: f32,
}

#[derive(Serialize)]
struct JsonResult<'a> {
    slots: Vec<JsonSlot<'a>>,
    intents: Vec<JsonIntent<'a>>,
}

/// The JSON text of a result: the fields of `picotag_result`.
pub(crate) fn to_json(text: &str, tagging: &Tagging) -> String {
    let utf16 = slot_utf16(text, tagging);
    let r = JsonResult {
        slots: tagging
            .slots
            .iter()
            .zip(utf16)
            .map(|(s, (start_utf16, end_utf16))| JsonSlot {
                task: &s.task,
                label: &s.label,
                text: &s.text,
                start: s.start,
                end: s.end,
                start_utf16,
                end_utf16,
                score: s.score,
            })
            .collect(),
        intents: tagging
            .intents
            .iter()
            .map(|i| JsonIntent {
                task: &i.task,
                label: &i.label,
                score: i.score,
            })
            .collect(),
    };
    serde_json::to_string(&r).expect("serialising plain structs cannot fail")
}

/// Tags like `picotag_tag_utterance`, with the result as one JSON object
/// (NUL-terminated UTF-8, to be released with `picotag_string_free`):
/// `{"slots":[{"task","label","text","start","end","start_utf16",
/// "end_utf16","score"}...],"intents":[{"task","label","score"}...]}`.
///
/// Errors: as `picotag_tag_utterance`.
///
/// # Safety
/// As `picotag_tag_utterance`; `json_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn picotag_tag_utterance_json(
    tagger: *const picotag_tagger,
    utf8: *const c_char,
    len: usize,
    json_out: *mut *mut c_char,
) -> picotag_status {
    // SAFETY: same contract.
    unsafe { picotag_tag_utterance_json_with(tagger, utf8, len, std::ptr::null(), json_out) }
}

/// `picotag_tag_utterance_json` with options (NULL: the defaults).
///
/// Errors: as `picotag_tag_utterance_with`.
///
/// # Safety
/// As `picotag_tag_utterance_with`; `json_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn picotag_tag_utterance_json_with(
    tagger: *const picotag_tagger,
    utf8: *const c_char,
    len: usize,
    options: *const picotag_options,
    json_out: *mut *mut c_char,
) -> picotag_status {
    guard(|| {
        // SAFETY: `json_out` is NULL or writable (contract above).
        let out = unsafe { out_ptr(json_out, "json_out")? };
        // SAFETY: forwarded contract.
        let (text, tagging) = unsafe { tag(tagger, utf8, len, options)? };
        // serde_json escapes control characters: no NUL inside.
        let json = CString::new(to_json(text, &tagging))
            .map_err(|_| Failure::new(picotag_status::Internal, "NUL byte in JSON"))?;
        *out = json.into_raw();
        Ok(())
    })
}

/// Releases a string returned by picotag (e.g. by
/// `picotag_tag_utterance_json`). NULL is a no-op.
///
/// # Safety
/// `s` is NULL or a string from picotag, freed once.
#[no_mangle]
pub unsafe extern "C" fn picotag_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    // SAFETY: made by `CString::into_raw` in this library, freed once
    // (contract above).
    guard_or((), || drop(unsafe { CString::from_raw(s) }))
}
