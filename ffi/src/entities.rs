//! Entity sets: values an app injects at run time (contacts, playlists, drug
//! names), passed to tagging through `picotag_options.entities`.

use std::ffi::c_char;
use std::sync::Arc;

use picotag::EntitySet;

use crate::args::{out_ptr, utf8_arg};
use crate::error::{guard, guard_or, Failure};
use crate::status::picotag_status;

/// A set of entity values bound to one model. Opaque; create with
/// `picotag_entities_new`, fill with `picotag_entities_add`, pass it in
/// `picotag_options.entities`, destroy with `picotag_entities_free`.
///
/// Thread safety: any number of threads may tag with the same set at the
/// same time; `picotag_entities_add` and `picotag_entities_free` must not
/// overlap any other call that uses the set.
#[allow(non_camel_case_types)]
pub struct picotag_entities {
    pub(crate) set: Arc<EntitySet>,
}

/// Creates an empty entity set for the model of `tagger` (the set may
/// outlive the tagger, but only tags with a tagger of the same model).
/// On success `*out` is a new set, to be released with `picotag_entities_free`.
///
/// Errors: `NULL_ARGUMENT`.
///
/// # Safety
/// `tagger` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn picotag_entities_new(
    tagger: *const crate::picotag_tagger,
    out: *mut *mut picotag_entities,
) -> picotag_status {
    guard(|| {
        // SAFETY: `out` is NULL or writable (contract above).
        let out = unsafe { out_ptr(out, "out")? };
        // SAFETY: `tagger` is NULL or a live handle (contract above).
        let tagger = unsafe { tagger.as_ref() }.ok_or_else(|| Failure::null("tagger"))?;
        let set = EntitySet::new(&tagger.tagger);
        *out = Box::into_raw(Box::new(picotag_entities { set: Arc::new(set) }));
        Ok(())
    })
}

/// Adds the value of `value_len` bytes of UTF-8 at `value` as an entity of
/// the type of `type_len` bytes at `type` (`task/type`, e.g. `snips/artist`
/// or `bc5cdr/Chemical`; the labels `picotag_tasks` lists, without `B-`).
/// Neither needs a NUL terminator. Adding a value twice is not an error.
///
/// Errors: `NULL_ARGUMENT`, `INVALID_UTF8`, `INVALID_ARGUMENT` (a type the
/// model does not have; a value with no word, over 1,024 bytes or over 32
/// words; the set in use by a tagging call).
///
/// # Safety
/// `set` is NULL or a live handle used by no other call during this one;
/// `type` and `value` are NULL or readable for their lengths.
#[no_mangle]
pub unsafe extern "C" fn picotag_entities_add(
    set: *mut picotag_entities,
    r#type: *const c_char,
    type_len: usize,
    value: *const c_char,
    value_len: usize,
) -> picotag_status {
    guard(|| {
        // SAFETY: `set` is NULL or a live handle not used elsewhere (contract above).
        let set = unsafe { set.as_mut() }.ok_or_else(|| Failure::null("set"))?;
        // SAFETY: NULL or readable for `type_len` bytes (contract above).
        let ty = unsafe { utf8_arg(r#type, type_len, "type")? };
        // SAFETY: NULL or readable for `value_len` bytes (contract above).
        let value = unsafe { utf8_arg(value, value_len, "value")? };
        let set = Arc::get_mut(&mut set.set).ok_or_else(|| {
            Failure::new(
                picotag_status::InvalidArgument,
                "the entity set is in use by a tagging call",
            )
        })?;
        set.add(ty, value)?;
        Ok(())
    })
}

/// The number of distinct (value, type) pairs in the set (0 for NULL).
///
/// # Safety
/// `set` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn picotag_entities_len(set: *const picotag_entities) -> usize {
    guard_or(0, || {
        // SAFETY: NULL or a live handle (contract above).
        unsafe { set.as_ref() }.map_or(0, |s| s.set.len())
    })
}

/// Releases an entity set. NULL is a no-op.
///
/// # Safety
/// `set` is NULL or a live handle, used by no other call during and after
/// this one.
#[no_mangle]
pub unsafe extern "C" fn picotag_entities_free(set: *mut picotag_entities) {
    if set.is_null() {
        return;
    }
    guard_or((), || {
        // SAFETY: a live handle made by `Box::into_raw` in
        // `picotag_entities_new`, released once (contract above).
        drop(unsafe { Box::from_raw(set) });
    })
}
