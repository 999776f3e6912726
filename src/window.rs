//! Overlapping windows over inputs longer than the model's positions.
//!
//! Windows of `capacity` sub-tokens advance by half their size, and each word
//! takes its labels from the window in which its first sub-token sits the
//! farthest from an edge, so every word sees context on both sides.

/// A window: sub-tokens `start..end` of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First sub-token.
    pub start: usize,
    /// One past the last sub-token.
    pub end: usize,
}

/// Windows covering `n` sub-tokens with at most `capacity` each (`capacity >= 1`).
pub fn plan(n: usize, capacity: usize) -> Vec<Window> {
    let mut out = Vec::new();
    plan_into(n, capacity, &mut out);
    out
}

/// [`plan`] into a caller-owned vector (cleared first).
pub fn plan_into(n: usize, capacity: usize, out: &mut Vec<Window>) {
    out.clear();
    let capacity = capacity.max(1);
    if n <= capacity {
        out.push(Window { start: 0, end: n });
        return;
    }
    let stride = (capacity / 2).max(1);
    let mut start = 0;
    loop {
        let end = (start + capacity).min(n);
        out.push(Window {
            start: end - capacity,
            end,
        });
        if end == n {
            break;
        }
        start += stride;
    }
}

/// The index of the window in which sub-token `token` is the most central.
pub fn best_window(windows: &[Window], token: usize) -> usize {
    let mut best: Option<(usize, usize)> = None;
    for (i, w) in windows.iter().enumerate() {
        if (w.start..w.end).contains(&token) {
            let margin = (token - w.start).min(w.end - 1 - token);
            if best.is_none_or(|(_, m)| margin > m) {
                best = Some((i, margin));
            }
        }
    }
    best.map_or(0, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_input_is_one_window() {
        assert_eq!(plan(5, 10), vec![Window { start: 0, end: 5 }]);
        assert_eq!(plan(0, 10), vec![Window { start: 0, end: 0 }]);
    }

    #[test]
    fn windows_cover_everything_within_capacity() {
        for cap in 1..12 {
            for n in 0..60 {
                let ws = plan(n, cap);
                for w in &ws {
                    assert!(w.end - w.start <= cap && w.end <= n);
                }
                for tok in 0..n {
                    let b = best_window(&ws, tok);
                    assert!(
                        (ws[b].start..ws[b].end).contains(&tok),
                        "n={n} cap={cap} tok={tok}"
                    );
                }
            }
        }
    }

    #[test]
    fn best_window_prefers_the_centre() {
        let ws = plan(20, 8); // starts 0, 4, 8, 12
        assert_eq!(best_window(&ws, 5), 0); // margin 2 in 0..8, 1 in 4..12
        assert_eq!(best_window(&ws, 6), 1); // margin 1 in 0..8, 2 in 4..12
        assert_eq!(best_window(&ws, 0), 0);
        assert_eq!(best_window(&ws, 19), ws.len() - 1);
    }
}
