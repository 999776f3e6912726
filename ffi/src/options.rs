//! Per-call tagging options.

use std::ffi::c_char;

use picotag::{IntentThreshold, PunctuationWords, TagOptions};

use crate::args::cstr_utf8_arg;
use crate::entities::picotag_entities;
use crate::error::{guard, Failure};
use crate::status::picotag_status;

/// Options of `picotag_tag_utterance_with` and
/// `picotag_tag_utterance_json_with`. Fill it with `picotag_options_init`,
/// then change what you need. Read during the call only.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct picotag_options {
    /// Names of the tasks to run (NUL-terminated UTF-8), or NULL. When
    /// `n_tasks` is 0 every task runs. An unknown name fails the call with
    /// `PICOTAG_STATUS_INVALID_ARGUMENT`.
    pub tasks: *const *const c_char,
    /// Number of entries of `tasks`.
    pub n_tasks: usize,
    /// Drop a task's slots and intent when its "has any slot" probability is
    /// below this (tasks without that head are never silenced). Negative
    /// disables it.
    /// Default 0.5.
    pub has_slot_threshold: f32,
    /// Drop slots whose score is below this. Default 0.
    pub min_slot_score: f32,
    /// Values injected at run time (`picotag_entities_new`), or NULL. The set
    /// must have been made for the tagger's model (else `INVALID_ARGUMENT`).
    /// Default NULL.
    pub entities: *const picotag_entities,
    /// The log-probability bonus an entity match gives the labels of its
    /// type over its words (0: matches change nothing). Default 6.
    pub entity_bonus: f32,
    /// "None of these": a task whose intent probability is below this
    /// reports no intent (the utterance is out of its scope). NaN (the
    /// default) uses the threshold calibrated into the model (none: never
    /// rejects); a negative value turns rejection off; a value in [0, 1] is
    /// used for every task.
    pub intent_threshold: f32,
    /// Which tasks see punctuation-only words (`!`, `?!`, `,`) in their
    /// input (emoji never reach the network): a `picotag_punctuation`.
    /// Default `PICOTAG_PUNCTUATION_BY_TASK`: the tasks trained on text with
    /// punctuation (health) see it, the voice tasks do not. Another value
    /// fails the call with `PICOTAG_STATUS_INVALID_ARGUMENT`.
    pub punctuation_words: i32,
}

/// Values of `picotag_options.punctuation_words`.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum picotag_punctuation {
    /// A task sees punctuation when its training text had it (the default).
    ByTask = 0,
    /// Every task sees it.
    Keep = 1,
    /// No task sees it.
    Skip = 2,
}

impl picotag_punctuation {
    fn from_c(v: i32) -> Option<PunctuationWords> {
        Some(match v {
            0 => PunctuationWords::ByTask,
            1 => PunctuationWords::Keep,
            2 => PunctuationWords::Skip,
            _ => return None,
        })
    }

    fn to_c(p: PunctuationWords) -> i32 {
        (match p {
            PunctuationWords::ByTask => picotag_punctuation::ByTask,
            PunctuationWords::Keep => picotag_punctuation::Keep,
            PunctuationWords::Skip => picotag_punctuation::Skip,
        }) as i32
    }
}

impl Default for picotag_options {
    fn default() -> Self {
        let d = TagOptions::default();
        picotag_options {
            tasks: std::ptr::null(),
            n_tasks: 0,
            has_slot_threshold: d.has_slot_threshold.unwrap_or(-1.0),
            min_slot_score: d.min_slot_score,
            entities: std::ptr::null(),
            entity_bonus: d.entity_bonus,
            punctuation_words: picotag_punctuation::to_c(d.punctuation_words),
            intent_threshold: match d.intent_threshold {
                IntentThreshold::Model => f32::NAN,
                IntentThreshold::Off => -1.0,
                IntentThreshold::Fixed(t) => t,
            },
        }
    }
}

impl picotag_options {
    /// The runtime's options for these.
    ///
    /// # Safety
    /// `tasks` is NULL or points to `n_tasks` pointers, each NULL or
    /// NUL-terminated; `entities` is NULL or a live handle.
    pub(crate) unsafe fn tag_options(&self) -> Result<TagOptions, Failure> {
        let invalid = |m: String| Failure::new(picotag_status::InvalidArgument, m);
        if self.has_slot_threshold.is_nan() {
            return Err(invalid("has_slot_threshold is NaN".into()));
        }
        if self.min_slot_score.is_nan() {
            return Err(invalid("min_slot_score is NaN".into()));
        }
        let tasks = if self.n_tasks == 0 {
            None
        } else if self.tasks.is_null() {
            return Err(Failure::null("options.tasks (with n_tasks > 0)"));
        } else {
            if self.n_tasks > isize::MAX as usize / std::mem::size_of::<*const c_char>() {
                return Err(invalid(format!("n_tasks {} is too large", self.n_tasks)));
            }
            // SAFETY: non-NULL and `n_tasks` readable pointers (contract
            // above); the size fits in `isize`.
            let names = unsafe { std::slice::from_raw_parts(self.tasks, self.n_tasks) };
            let names = names
                .iter()
                .map(|&p| {
                    // SAFETY: each entry is NULL or NUL-terminated (contract above).
                    unsafe { cstr_utf8_arg(p, "options.tasks[i]") }.map(str::to_owned)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Some(names)
        };
        Ok(TagOptions {
            tasks,
            has_slot_threshold: (self.has_slot_threshold >= 0.0).then_some(self.has_slot_threshold),
            min_slot_score: self.min_slot_score,
            // Slots made only of symbols are always dropped through the C ABI.
            keep_symbol_slots: false,
            // Emoji and other symbols are left out of the network's input.
            skip_symbol_words: true,
            punctuation_words: picotag_punctuation::from_c(self.punctuation_words).ok_or_else(
                || {
                    invalid(format!(
                        "punctuation_words {} is not a picotag_punctuation",
                        self.punctuation_words
                    ))
                },
            )?,
            // SAFETY: NULL or a live handle (contract above).
            entities: unsafe { self.entities.as_ref() }.map(|e| e.set.clone()),
            entity_bonus: self.entity_bonus,
            intent_threshold: if self.intent_threshold.is_nan() {
                IntentThreshold::Model
            } else if self.intent_threshold < 0.0 {
                IntentThreshold::Off
            } else if self.intent_threshold <= 1.0 {
                IntentThreshold::Fixed(self.intent_threshold)
            } else {
                return Err(invalid(format!(
                    "intent_threshold {} is above 1",
                    self.intent_threshold
                )));
            },
        })
    }
}

/// Fills `*options` with the defaults: all tasks, `has_slot_threshold` 0.5,
/// `min_slot_score` 0, no entities, `entity_bonus` 4, `intent_threshold`
/// NaN (the model's calibrated threshold).
///
/// Errors: `NULL_ARGUMENT`.
///
/// # Safety
/// `options` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn picotag_options_init(options: *mut picotag_options) -> picotag_status {
    guard(|| {
        if options.is_null() {
            return Err(Failure::null("options"));
        }
        // SAFETY: non-NULL and writable (contract above); `write` does not
        // read the possibly uninitialised old value.
        unsafe { options.write(picotag_options::default()) };
        Ok(())
    })
}
