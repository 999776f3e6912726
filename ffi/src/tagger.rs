//! The opaque tagger handle: opening, closing, listing tasks.

use std::ffi::{c_char, CStr, CString};

use picotag::decode::Tag;
use picotag::{Tagger, TaskInfo};

use crate::args::{bytes_arg, cstr_arg, out_const_ptr, out_ptr};
use crate::error::{guard, guard_or, Failure};
use crate::status::picotag_status;

/// A loaded model. Opaque; create with `picotag_open` or
/// `picotag_open_from_memory`, destroy with `picotag_close`.
///
/// Thread safety: a tagger is immutable once open. Any number of threads may
/// call `picotag_tag_utterance*` and `picotag_tasks` on the same tagger at
/// the same time, without locking; only `picotag_close` must not overlap
/// any other call on that tagger.
#[allow(non_camel_case_types)]
pub struct picotag_tagger {
    pub(crate) tagger: Tagger,
    tasks: TaskTable,
}

/// A task (dataset head group) of the model, as listed by `picotag_tasks`.
/// All strings are NUL-terminated UTF-8 owned by the tagger.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct picotag_task {
    /// Task name, as used in `picotag_options.tasks` and `picotag_slot.task`.
    pub name: *const c_char,
    /// The slot types it can return (values of `picotag_slot.label`); NULL
    /// when `n_slot_types` is 0.
    pub slot_types: *const *const c_char,
    /// Number of entries of `slot_types`.
    pub n_slot_types: usize,
    /// Its intent labels (values of `picotag_intent.label`); NULL when
    /// `n_intent_labels` is 0 (the task has no intent head).
    pub intent_labels: *const *const c_char,
    /// Number of entries of `intent_labels`.
    pub n_intent_labels: usize,
    /// Whether it has a "has any slot" head, so that
    /// `picotag_options.has_slot_threshold` can silence it.
    pub has_slot_head: bool,
}

/// The `picotag_task` array of a tagger and the strings it points to.
struct TaskTable {
    _strings: Vec<CString>,
    _lists: Vec<Box<[*const c_char]>>,
    entries: Box<[picotag_task]>,
}

// SAFETY: the raw pointers of a `TaskTable` point only into its own heap
// buffers (`_strings`, `_lists`), which are never mutated or freed before the
// table is dropped; sharing or sending it is as safe as sharing those buffers.
unsafe impl Send for TaskTable {}
// SAFETY: see `Send`: the table is read-only after construction.
unsafe impl Sync for TaskTable {}

fn list_ptr(list: &[*const c_char]) -> *const *const c_char {
    if list.is_empty() {
        std::ptr::null()
    } else {
        list.as_ptr()
    }
}

/// The distinct slot types of a task's BIO/BIOES labels, in label order.
fn slot_types(labels: &[String]) -> Vec<&str> {
    let mut types: Vec<&str> = Vec::new();
    for l in labels {
        if let Some(t) = Tag::parse(l) {
            if !t.kind.is_empty() && !types.contains(&t.kind) {
                types.push(t.kind);
            }
        }
    }
    types
}

impl TaskTable {
    fn new(tasks: &[TaskInfo]) -> Result<TaskTable, Failure> {
        let mut strings = Vec::new();
        let mut lists = Vec::new();
        let mut entries = Vec::with_capacity(tasks.len());
        let mut intern = |s: &str| -> Result<*const c_char, Failure> {
            let c = CString::new(s).map_err(|_| {
                Failure::new(
                    picotag_status::Format,
                    format!("invalid model file: name {s:?} contains a NUL byte"),
                )
            })?;
            let p = c.as_ptr();
            strings.push(c);
            Ok(p)
        };
        for t in tasks {
            let name = intern(&t.name)?;
            let types: Box<[_]> = slot_types(&t.slot_labels)
                .into_iter()
                .map(&mut intern)
                .collect::<Result<_, _>>()?;
            let intents: Box<[_]> = t
                .intent_labels
                .iter()
                .map(|s| intern(s))
                .collect::<Result<_, _>>()?;
            entries.push(picotag_task {
                name,
                slot_types: list_ptr(&types),
                n_slot_types: types.len(),
                intent_labels: list_ptr(&intents),
                n_intent_labels: intents.len(),
                has_slot_head: t.has_slot_head,
            });
            lists.push(types);
            lists.push(intents);
        }
        Ok(TaskTable {
            _strings: strings,
            _lists: lists,
            entries: entries.into_boxed_slice(),
        })
    }
}

impl picotag_tagger {
    fn new(tagger: Tagger) -> Result<Box<picotag_tagger>, Failure> {
        let tasks = TaskTable::new(&tagger.tasks())?;
        Ok(Box::new(picotag_tagger { tagger, tasks }))
    }

    /// The handle behind a pointer argument.
    ///
    /// # Safety
    /// `ptr` is NULL or a live handle from `picotag_open*`.
    pub(crate) unsafe fn from_arg<'a>(ptr: *const picotag_tagger) -> Result<&'a Self, Failure> {
        if ptr.is_null() {
            return Err(Failure::null("tagger"));
        }
        // SAFETY: non-NULL, and a live handle by the caller's contract.
        Ok(unsafe { &*ptr })
    }
}

#[cfg(unix)]
fn path_of(path: &CStr) -> Result<&std::path::Path, Failure> {
    use std::os::unix::ffi::OsStrExt;
    Ok(std::path::Path::new(std::ffi::OsStr::from_bytes(
        path.to_bytes(),
    )))
}

#[cfg(not(unix))]
fn path_of(path: &CStr) -> Result<&std::path::Path, Failure> {
    path.to_str().map(std::path::Path::new).map_err(|e| {
        Failure::new(
            picotag_status::InvalidUtf8,
            format!("path is not valid UTF-8 ({e})"),
        )
    })
}

/// Opens the model file at `path` (NUL-terminated; bytes on Unix, UTF-8
/// elsewhere): memory-maps it and verifies its head checksum (everything but
/// the weights; the whole file for a version-1 file). On success `*out`
/// is a new tagger, to be released with `picotag_close`; the file may not be
/// modified while it is open.
///
/// Errors: `NULL_ARGUMENT`, `IO` (missing or unreadable), `FORMAT`
/// (truncated, corrupted, unsupported version).
///
/// # Safety
/// `path` is NULL or NUL-terminated; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn picotag_open(
    path: *const c_char,
    out: *mut *mut picotag_tagger,
) -> picotag_status {
    guard(|| {
        // SAFETY: `out` is NULL or writable (contract above).
        let out = unsafe { out_ptr(out, "out")? };
        // SAFETY: `path` is NULL or NUL-terminated (contract above).
        let path = unsafe { cstr_arg(path, "path")? };
        let tagger = Tagger::open(path_of(path)?)?;
        *out = Box::into_raw(picotag_tagger::new(tagger)?);
        Ok(())
    })
}

/// Loads a model from `len` bytes at `data`. The bytes are copied (into an
/// aligned buffer the tagger owns): the caller may free `data` as soon as
/// this returns. The whole-file checksum is verified (the copy reads every
/// byte anyway). On success `*out` is a new tagger, to be released with
/// `picotag_close`.
///
/// Errors: `NULL_ARGUMENT`, `FORMAT`.
///
/// # Safety
/// `data` is NULL or readable for `len` bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn picotag_open_from_memory(
    data: *const u8,
    len: usize,
    out: *mut *mut picotag_tagger,
) -> picotag_status {
    guard(|| {
        // SAFETY: `out` is NULL or writable (contract above).
        let out = unsafe { out_ptr(out, "out")? };
        if data.is_null() {
            return Err(Failure::null("data"));
        }
        // SAFETY: `data` is readable for `len` bytes (contract above).
        let bytes = unsafe { bytes_arg(data, len, "data")? };
        let tagger = Tagger::from_bytes_with(bytes, picotag::OpenOptions::FULL)?;
        *out = Box::into_raw(picotag_tagger::new(tagger)?);
        Ok(())
    })
}

/// Releases a tagger. NULL is a no-op. Results and strings obtained from it
/// stay valid (they own their memory); the `picotag_task` array does not.
///
/// # Safety
/// `tagger` is NULL or a live handle, used by no other thread during and
/// after the call.
#[no_mangle]
pub unsafe extern "C" fn picotag_close(tagger: *mut picotag_tagger) {
    if tagger.is_null() {
        return;
    }
    guard_or((), || {
        // SAFETY: a live handle made by `Box::into_raw` in `picotag_open*`,
        // released once (contract above).
        drop(unsafe { Box::from_raw(tagger) });
    })
}

/// Lists the model's tasks: `*tasks_out` points to `*n_tasks_out` entries,
/// borrowed from the tagger (valid until `picotag_close`; do not free), in
/// the model's order.
///
/// Errors: `NULL_ARGUMENT`.
///
/// # Safety
/// `tagger` is NULL or a live handle; the out-pointers are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn picotag_tasks(
    tagger: *const picotag_tagger,
    tasks_out: *mut *const picotag_task,
    n_tasks_out: *mut usize,
) -> picotag_status {
    guard(|| {
        // SAFETY: `tasks_out` is NULL or writable (contract above).
        let tasks_out = unsafe { out_const_ptr(tasks_out, "tasks_out")? };
        if n_tasks_out.is_null() {
            return Err(Failure::null("n_tasks_out"));
        }
        // SAFETY: non-NULL and writable (contract above).
        let n_tasks_out = unsafe { &mut *n_tasks_out };
        *n_tasks_out = 0;
        // SAFETY: `tagger` is NULL or a live handle (contract above).
        let t = unsafe { picotag_tagger::from_arg(tagger)? };
        if !t.tasks.entries.is_empty() {
            *tasks_out = t.tasks.entries.as_ptr();
        }
        *n_tasks_out = t.tasks.entries.len();
        Ok(())
    })
}
