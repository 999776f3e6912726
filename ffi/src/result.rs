//! Tagging results as plain C structs, owned by one heap block set per
//! result.

use std::collections::HashMap;
use std::ffi::c_char;

use picotag::Tagging;

/// A slot found in the input. Strings are NUL-terminated UTF-8 owned by the
/// `picotag_result` they belong to.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct picotag_slot {
    /// The task that found it, e.g. `"atis"`.
    pub task: *const c_char,
    /// The slot type, e.g. `"fromloc.city_name"`.
    pub label: *const c_char,
    /// The input bytes `start..end` (`end - start` bytes, then a NUL).
    pub text: *const c_char,
    /// Byte offset of the slot's first byte in the input.
    pub start: usize,
    /// Byte offset one past its last byte.
    pub end: usize,
    /// `start` in UTF-16 code units (for Java, Kotlin, Swift `utf16` views).
    pub start_utf16: usize,
    /// `end` in UTF-16 code units.
    pub end_utf16: usize,
    /// Confidence in [0, 1].
    pub score: f32,
}

/// The intent (sentence label) of the input for one task.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct picotag_intent {
    /// The task, e.g. `"snips"`.
    pub task: *const c_char,
    /// The most probable label.
    pub label: *const c_char,
    /// Its probability, in [0, 1].
    pub score: f32,
}

/// The result of tagging one utterance. Owns all it points to; release it
/// with `picotag_result_free` (from any thread).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct picotag_result {
    /// Slots ordered by `start`; NULL when `n_slots` is 0.
    pub slots: *const picotag_slot,
    /// Number of slots.
    pub n_slots: usize,
    /// One intent per task with an intent head; NULL when `n_intents` is 0.
    pub intents: *const picotag_intent,
    /// Number of intents.
    pub n_intents: usize,
}

/// A `picotag_result` and the memory it points to. `result` comes first, so a
/// pointer to it is a pointer to the whole.
#[repr(C)]
struct OwnedResult {
    result: picotag_result,
    _slots: Box<[picotag_slot]>,
    _intents: Box<[picotag_intent]>,
    _strings: Box<[u8]>,
}

/// Maps byte offsets of `text` (on character boundaries) to UTF-16 offsets,
/// in one pass over the text.
pub(crate) fn utf16_offsets(text: &str, offsets: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_unstable_by_key(|&i| offsets[i]);
    let mut out = vec![0; offsets.len()];
    let (mut pos, mut units) = (0, 0);
    for i in order {
        let to = offsets[i];
        units += text[pos..to].chars().map(char::len_utf16).sum::<usize>();
        pos = to;
        out[i] = units;
    }
    out
}

/// The UTF-16 `(start, end)` of each slot of `tagging`.
pub(crate) fn slot_utf16(text: &str, tagging: &Tagging) -> Vec<(usize, usize)> {
    let bytes: Vec<usize> = tagging
        .slots
        .iter()
        .flat_map(|s| [s.start, s.end])
        .collect();
    utf16_offsets(text, &bytes)
        .chunks_exact(2)
        .map(|c| (c[0], c[1]))
        .collect()
}

/// Appends NUL-terminated strings to one buffer, each distinct task and
/// label once.
#[derive(Default)]
struct Strings<'a> {
    buf: Vec<u8>,
    seen: HashMap<&'a str, usize>,
}

impl<'a> Strings<'a> {
    fn push(&mut self, s: &str) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        at
    }

    fn intern(&mut self, s: &'a str) -> usize {
        if let Some(&at) = self.seen.get(s) {
            return at;
        }
        let at = self.push(s);
        self.seen.insert(s, at);
        at
    }
}

fn ptr_or_null<T>(items: &[T]) -> *const T {
    if items.is_empty() {
        std::ptr::null()
    } else {
        items.as_ptr()
    }
}

/// Builds the C result of tagging `text`; free it with [`free_result`].
pub(crate) fn new_result(text: &str, tagging: &Tagging) -> *mut picotag_result {
    let utf16 = slot_utf16(text, tagging);
    let mut strings = Strings::default();
    // Offsets into the string buffer first, pointers once it stops growing.
    let slot_offsets: Vec<[usize; 3]> = tagging
        .slots
        .iter()
        .map(|s| {
            [
                strings.intern(&s.task),
                strings.intern(&s.label),
                strings.push(&s.text),
            ]
        })
        .collect();
    let intent_offsets: Vec<[usize; 2]> = tagging
        .intents
        .iter()
        .map(|i| [strings.intern(&i.task), strings.intern(&i.label)])
        .collect();
    let buf = strings.buf.into_boxed_slice();
    let at = |off: usize| buf[off..].as_ptr().cast::<c_char>();
    let slots: Box<[picotag_slot]> = tagging
        .slots
        .iter()
        .zip(&slot_offsets)
        .zip(&utf16)
        .map(|((s, o), &(start_utf16, end_utf16))| picotag_slot {
            task: at(o[0]),
            label: at(o[1]),
            text: at(o[2]),
            start: s.start,
            end: s.end,
            start_utf16,
            end_utf16,
            score: s.score,
        })
        .collect();
    let intents: Box<[picotag_intent]> = tagging
        .intents
        .iter()
        .zip(&intent_offsets)
        .map(|(i, o)| picotag_intent {
            task: at(o[0]),
            label: at(o[1]),
            score: i.score,
        })
        .collect();
    let owned = Box::new(OwnedResult {
        result: picotag_result {
            slots: ptr_or_null(&slots),
            n_slots: slots.len(),
            intents: ptr_or_null(&intents),
            n_intents: intents.len(),
        },
        _slots: slots,
        _intents: intents,
        _strings: buf,
    });
    // `result` is the first field of a `repr(C)` struct: same address.
    Box::into_raw(owned).cast::<picotag_result>()
}

/// Frees a result made by [`new_result`].
///
/// # Safety
/// `result` comes from [`new_result`] and is freed once.
pub(crate) unsafe fn free_result(result: *mut picotag_result) {
    // SAFETY: `result` is the address of a boxed `OwnedResult` (its first
    // field, `repr(C)`), made by `new_result` and not yet freed.
    drop(unsafe { Box::from_raw(result.cast::<OwnedResult>()) });
}
