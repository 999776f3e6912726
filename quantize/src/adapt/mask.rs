//! Whole-word masking of one input window (BERT's 80/10/10 rule).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One window with some of its pieces masked.
#[derive(Debug, Clone, PartialEq)]
pub struct Masked {
    /// The input ids, masked.
    pub ids: Vec<u32>,
    /// Positions (in `ids`) the model must restore.
    pub positions: Vec<usize>,
    /// The original id at each of `positions`.
    pub targets: Vec<u32>,
}

/// How tokens are replaced.
#[derive(Debug, Clone, Copy)]
pub struct MaskRule<'a> {
    /// Fraction of pieces (whole pre-tokenizer words) selected.
    pub rate: f64,
    /// The `[MASK]` id.
    pub mask_id: u32,
    /// Replacement tokens for the "random token" case, drawn uniformly
    /// (the corpus's own sub-tokens: their unigram distribution).
    pub pool: &'a [u32],
}

/// Masks whole pieces of `ids` (`[CLS] … [SEP]`, pieces starting at
/// `first_pos`): each piece is selected with probability `rule.rate` (at
/// least one piece when the window has any); every sub-token of a selected
/// piece becomes a target and is replaced by `[MASK]` (80%), a random pool
/// token (10%) or kept (10%). `[CLS]` and `[SEP]` are never selected.
pub fn mask_window(
    ids: &[u32],
    first_pos: &[usize],
    rule: MaskRule<'_>,
    rng: &mut ChaCha8Rng,
) -> Masked {
    let end = ids.len().saturating_sub(1);
    let span = |i: usize| {
        let s = first_pos[i];
        let e = first_pos.get(i + 1).copied().unwrap_or(end);
        s..e.max(s)
    };
    let mut chosen: Vec<usize> = (0..first_pos.len())
        .filter(|_| rng.random::<f64>() < rule.rate)
        .collect();
    if chosen.is_empty() && !first_pos.is_empty() {
        chosen.push(rng.random_range(0..first_pos.len()));
    }
    let mut out = Masked {
        ids: ids.to_vec(),
        positions: Vec::new(),
        targets: Vec::new(),
    };
    for i in chosen {
        for p in span(i) {
            out.positions.push(p);
            out.targets.push(ids[p]);
            let r: f64 = rng.random();
            if r < 0.8 {
                out.ids[p] = rule.mask_id;
            } else if r < 0.9 && !rule.pool.is_empty() {
                out.ids[p] = rule.pool[rng.random_range(0..rule.pool.len())];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const MASK: u32 = 103;

    fn rule(rate: f64) -> MaskRule<'static> {
        MaskRule {
            rate,
            mask_id: MASK,
            pool: &[7, 8, 9],
        }
    }

    #[test]
    fn whole_pieces_are_masked_and_specials_never() {
        // [CLS] a ##b c ##d ##e f [SEP]: pieces at 1, 3, 6.
        let ids = [101, 10, 11, 12, 13, 14, 15, 102];
        let first = [1, 3, 6];
        for seed in 0..200 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let m = mask_window(&ids, &first, rule(0.3), &mut rng);
            assert!(!m.positions.is_empty());
            assert_eq!(m.ids[0], 101);
            assert_eq!(m.ids[7], 102);
            for (&p, &t) in m.positions.iter().zip(&m.targets) {
                assert_eq!(ids[p], t);
            }
            // A piece is masked whole or not at all.
            for (s, e) in [(1, 3), (3, 6), (6, 7)] {
                let n = (s..e).filter(|p| m.positions.contains(p)).count();
                assert!(
                    n == 0 || n == e - s,
                    "seed {seed}: piece {s}..{e} partly masked"
                );
            }
            // Unselected tokens are untouched.
            for (p, &id) in ids.iter().enumerate() {
                if !m.positions.contains(&p) {
                    assert_eq!(m.ids[p], id);
                }
            }
        }
    }

    #[test]
    fn replacement_follows_80_10_10() {
        let ids: Vec<u32> = std::iter::once(101)
            .chain(1000..3000)
            .chain(std::iter::once(102))
            .collect();
        let first: Vec<usize> = (1..2001).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let m = mask_window(&ids, &first, rule(0.15), &mut rng);
        let n = m.positions.len() as f64;
        assert!((n / 2000.0 - 0.15).abs() < 0.03, "selected {n}");
        let masked = m.positions.iter().filter(|&&p| m.ids[p] == MASK).count() as f64;
        let random = m
            .positions
            .iter()
            .filter(|&&p| (7..=9).contains(&m.ids[p]))
            .count() as f64;
        assert!((masked / n - 0.8).abs() < 0.06, "masked {masked} of {n}");
        assert!((random / n - 0.1).abs() < 0.05, "random {random} of {n}");
    }

    #[test]
    fn a_window_without_pieces_has_no_target() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let m = mask_window(&[101, 102], &[], rule(0.15), &mut rng);
        assert!(m.positions.is_empty());
        assert_eq!(m.ids, vec![101, 102]);
    }
}
