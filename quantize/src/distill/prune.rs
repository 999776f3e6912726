//! Structured pruning of the feed-forward blocks: a student round may start
//! from a narrower FFN than its predecessor's, keeping in every layer the
//! units that carry the most weight (the product of the norms of a unit's
//! input row and output column, as in magnitude-based structured pruning).

use std::collections::BTreeMap;

use candle_core::{DType, Tensor};

use crate::error::{Error, Result};

/// The names of layer `l`'s FFN tensors: input weight `[I, H]`, input bias
/// `[I]`, output weight `[H, I]`.
fn ffn_names(l: usize) -> [String; 3] {
    let p = format!("encoder.layer.{l}.");
    [
        format!("{p}intermediate.dense.weight"),
        format!("{p}intermediate.dense.bias"),
        format!("{p}output.dense.weight"),
    ]
}

/// The indices (ascending) of the `keep` units of largest
/// `‖w_in[u, :]‖ · ‖w_out[:, u]‖`.
pub fn units_to_keep(w_in: &Tensor, w_out: &Tensor, keep: usize) -> Result<Vec<u32>> {
    let row = w_in.to_dtype(DType::F32)?.sqr()?.sum(1)?.sqrt()?;
    let col = w_out.to_dtype(DType::F32)?.sqr()?.sum(0)?.sqrt()?;
    let score: Vec<f32> = (row * col)?.to_vec1()?;
    if keep == 0 || keep > score.len() {
        return Err(Error::Spec(format!(
            "cannot keep {keep} of {} FFN units",
            score.len()
        )));
    }
    let mut order: Vec<u32> = (0..score.len() as u32).collect();
    // Largest first; ties broken by index so the choice is deterministic.
    order.sort_by(|&a, &b| {
        score[b as usize]
            .total_cmp(&score[a as usize])
            .then(a.cmp(&b))
    });
    order.truncate(keep);
    order.sort_unstable();
    Ok(order)
}

/// Narrows the FFN of each of `layers` layers in `m` to `keep` units.
pub fn prune_ffn(m: &mut BTreeMap<String, Tensor>, layers: usize, keep: usize) -> Result<()> {
    for l in 0..layers {
        let [wi, bi, wo] = ffn_names(l);
        let get = |n: &str| {
            m.get(n)
                .cloned()
                .ok_or_else(|| Error::Model(format!("pruning: no tensor {n}")))
        };
        let (w_in, b_in, w_out) = (get(&wi)?, get(&bi)?, get(&wo)?);
        let idx = units_to_keep(&w_in, &w_out, keep)?;
        let idx = Tensor::new(idx.as_slice(), w_in.device())?;
        m.insert(wi, w_in.index_select(&idx, 0)?);
        m.insert(bi, b_in.index_select(&idx, 0)?);
        m.insert(wo, w_out.index_select(&idx, 1)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn ffn(x: &Tensor, w_in: &Tensor, b_in: &Tensor, w_out: &Tensor) -> Tensor {
        let h = x
            .matmul(&w_in.t().unwrap())
            .unwrap()
            .broadcast_add(b_in)
            .unwrap();
        h.gelu_erf().unwrap().matmul(&w_out.t().unwrap()).unwrap()
    }

    #[test]
    fn the_units_of_most_weight_are_kept_in_order() {
        let d = Device::Cpu;
        // Unit u's input row has norm u + 1; its output column 1, except
        // unit 1 whose column is 10: scores 1, 20, 3, 4, 5.
        let w_in = Tensor::new(&[[1f32, 0.], [0., 2.], [3., 0.], [0., 4.], [5., 0.]], &d).unwrap();
        let w_out = Tensor::new(&[[1f32, 10., 1., 1., 1.]], &d).unwrap();
        assert_eq!(units_to_keep(&w_in, &w_out, 3).unwrap(), vec![1, 3, 4]);
        assert_eq!(
            units_to_keep(&w_in, &w_out, 5).unwrap(),
            vec![0, 1, 2, 3, 4]
        );
        assert!(units_to_keep(&w_in, &w_out, 0).is_err());
        assert!(units_to_keep(&w_in, &w_out, 6).is_err());
    }

    #[test]
    fn pruning_units_without_output_weight_keeps_the_ffn_output() {
        let d = Device::Cpu;
        let (h, i, keep) = (8, 24, 16);
        let w_in = Tensor::randn(0f32, 1., (i, h), &d).unwrap();
        let b_in = Tensor::randn(0f32, 1., i, &d).unwrap();
        // Units 16.. have no output weight: the pruned FFN must equal the full one.
        let mask: Vec<f32> = (0..i).map(|u| if u < keep { 1. } else { 0. }).collect();
        let mask = Tensor::new(mask.as_slice(), &d).unwrap();
        let w_out = Tensor::randn(0f32, 1., (h, i), &d)
            .unwrap()
            .broadcast_mul(&mask)
            .unwrap();
        let x = Tensor::randn(0f32, 1., (5, h), &d).unwrap();
        let full = ffn(&x, &w_in, &b_in, &w_out);
        let [wi, bi, wo] = ffn_names(0);
        let mut m = BTreeMap::from([(wi.clone(), w_in), (bi.clone(), b_in), (wo.clone(), w_out)]);
        prune_ffn(&mut m, 1, keep).unwrap();
        assert_eq!(m[&wi].dims(), &[keep, h]);
        assert_eq!(m[&bi].dims(), &[keep]);
        assert_eq!(m[&wo].dims(), &[h, keep]);
        let pruned = ffn(&x, &m[&wi], &m[&bi], &m[&wo]);
        let diff: f32 = (full - pruned)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar()
            .unwrap();
        assert!(diff < 1e-4, "max difference {diff}");
        assert!(prune_ffn(&mut m, 2, keep).is_err(), "layer 1 is missing");
    }
}
