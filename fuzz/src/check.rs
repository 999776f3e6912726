//! Invariants every tagging result must satisfy, whatever the input.

use picotag::Tagging;

/// Panics unless `t` is a well-formed result for `text`: slot offsets are
/// ordered char boundaries of `text`, each slot's `text` is that slice, and
/// every score is a probability.
pub fn check_tagging(text: &str, t: &Tagging) {
    let mut last_start = 0;
    for s in &t.slots {
        assert!(
            s.start < s.end && s.end <= text.len(),
            "slot {}..{} out of 0..{}",
            s.start,
            s.end,
            text.len()
        );
        assert!(
            text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
            "slot {}..{} not on char boundaries",
            s.start,
            s.end
        );
        assert_eq!(s.text, text[s.start..s.end], "slot text");
        assert!(s.start >= last_start, "slots not ordered by start");
        last_start = s.start;
        assert!((0.0..=1.0).contains(&s.score), "slot score {}", s.score);
        assert!(!s.label.is_empty() && !s.task.is_empty(), "empty label");
    }
    for i in &t.intents {
        assert!((0.0..=1.0).contains(&i.score), "intent score {}", i.score);
        assert!(!i.label.is_empty() && !i.task.is_empty(), "empty label");
    }
}
