//! The BERT encoder and the heads as ONNX nodes.

use picotag::encoder::weights::{LinearRef, MatRef, NormRef, VecRef};
use picotag::encoder::EncoderRef;
use picotag::format::{HeadKind, ModelFile, Pooling};
use tract_onnx::pb::{tensor_proto::DataType, GraphProto};

use crate::error::Result;
use crate::graph::{attr_i, attr_ints, value_info, Dim, Graph};
use crate::output_name;

/// A bound matrix as row-major f32 `[n, k]` (dequantized as the reference does).
fn dense(file: &ModelFile, m: &MatRef) -> Result<(Vec<f32>, usize, usize)> {
    let v = m.view(file)?;
    let (n, k) = (v.n, v.k);
    let mut out = vec![0.0f32; n * k];
    for (r, row) in out.chunks_exact_mut(k).enumerate() {
        v.row_into(r, row);
    }
    Ok((out, n, k))
}

/// `[n, k]` → `[k, n]`.
fn transpose(v: &[f32], n: usize, k: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; v.len()];
    for r in 0..n {
        for c in 0..k {
            t[c * n + r] = v[r * k + c];
        }
    }
    t
}

/// Builds the graph and its constants.
struct Builder<'a> {
    file: &'a ModelFile,
    g: Graph,
}

impl Builder<'_> {
    fn vector(&mut self, name: &str, v: &VecRef) -> Result<String> {
        let x = v.view(self.file)?;
        self.g.f32s(name, &[x.len()], &x)
    }

    /// `x W^T + b` for a weight `name.weight` `[n, k]`, bias `name.bias`.
    fn linear(&mut self, x: &str, name: &str, w: &MatRef, b: &VecRef) -> Result<String> {
        let (v, n, k) = dense(self.file, w)?;
        let wt = self
            .g
            .f32s(&format!("{name}.weight.t"), &[k, n], &transpose(&v, n, k))?;
        let bias = self.vector(&format!("{name}.bias"), b)?;
        let y = self.g.node("MatMul", &[x, &wt], vec![]);
        Ok(self.g.node("Add", &[&y, &bias], vec![]))
    }

    fn lin(&mut self, x: &str, name: &str, l: &LinearRef) -> Result<String> {
        self.linear(x, name, &l.weight, &l.bias)
    }

    /// LayerNorm over the last axis.
    fn norm(&mut self, x: &str, name: &str, n: &NormRef, eps: &str) -> Result<String> {
        let gamma = self.vector(&format!("{name}.weight"), &n.gamma)?;
        let beta = self.vector(&format!("{name}.bias"), &n.beta)?;
        let g = &mut self.g;
        let mean = g.node("ReduceMean", &[x], vec![attr_ints("axes", &[-1])]);
        let d = g.node("Sub", &[x, &mean], vec![]);
        let d2 = g.node("Mul", &[&d, &d], vec![]);
        let var = g.node("ReduceMean", &[&d2], vec![attr_ints("axes", &[-1])]);
        let ve = g.node("Add", &[&var, eps], vec![]);
        let sd = g.node("Sqrt", &[&ve], vec![]);
        let y = g.node("Div", &[&d, &sd], vec![]);
        let y = g.node("Mul", &[&y, &gamma], vec![]);
        Ok(g.node("Add", &[&y, &beta], vec![]))
    }
}

/// Builds the graph of the encoder and every head of `file`.
pub fn build(file: &ModelFile) -> Result<GraphProto> {
    let enc = EncoderRef::bind(file)?;
    let a = enc.arch.clone();
    let (h, nh) = (a.hidden, a.heads);
    let d = h / nh;
    let mut b = Builder {
        file,
        g: Graph::default(),
    };
    // Constants.
    let eps = b.g.f32s("const.eps", &[], &[a.layer_norm_eps])?;
    let one_f = b.g.f32s("const.one", &[], &[1.0])?;
    let half = b.g.f32s("const.half", &[], &[0.5])?;
    let neg = b.g.f32s("const.neg_big", &[], &[-1e9])?;
    let inv_sqrt2 =
        b.g.f32s("const.inv_sqrt2", &[], &[std::f32::consts::FRAC_1_SQRT_2])?;
    let scale = b.g.f32s("const.scale", &[], &[1.0 / (d as f32).sqrt()])?;
    let i0 = b.g.i64s("const.i0", &[1], &[0])?;
    let i1 = b.g.i64s("const.i1", &[1], &[1])?;
    let i2 = b.g.i64s("const.i2", &[1], &[2])?;
    let i12 = b.g.i64s("const.i12", &[2], &[1, 2])?;
    let cls = b.g.i64s("const.cls", &[], &[0])?;
    let split_heads =
        b.g.i64s("const.split_heads", &[4], &[0, 0, nh as i64, d as i64])?;
    let merge_heads = b.g.i64s("const.merge_heads", &[3], &[0, 0, h as i64])?;

    // Embeddings: word (+ projection) + position + token type, LayerNorm.
    let (wv, wn, wk) = dense(file, &enc.word)?;
    let word =
        b.g.f32s("embeddings.word_embeddings.weight", &[wn, wk], &wv)?;
    let mut x =
        b.g.node("Gather", &[&word, "input_ids"], vec![attr_i("axis", 0)]);
    if let Some(p) = &enc.word_projection {
        let (pv, pn, pk) = dense(file, p)?;
        let pt = b.g.f32s(
            "embeddings.word_embeddings.projection.t",
            &[pk, pn],
            &transpose(&pv, pn, pk),
        )?;
        x = b.g.node("MatMul", &[&x, &pt], vec![]);
    }
    let (pv, pn, pk) = dense(file, &enc.position)?;
    let pos_table =
        b.g.f32s("embeddings.position_embeddings.weight", &[pn, pk], &pv)?;
    let shape = b.g.node("Shape", &["input_ids"], vec![]);
    let seq = b.g.node("Slice", &[&shape, &i1, &i2], vec![]);
    let pos = b.g.node("Slice", &[&pos_table, &i0, &seq, &i0], vec![]);
    x = b.g.node("Add", &[&x, &pos], vec![]);
    let (tv, tn, tk) = dense(file, &enc.token_type)?;
    let typ_table =
        b.g.f32s("embeddings.token_type_embeddings.weight", &[tn, tk], &tv)?;
    let typ = b.g.node(
        "Gather",
        &[&typ_table, "token_type_ids"],
        vec![attr_i("axis", 0)],
    );
    x = b.g.node("Add", &[&x, &typ], vec![]);
    x = b.norm(&x, "embeddings.LayerNorm", &enc.emb_norm, &eps)?;

    // Mask: 0 on real positions, -1e9 on padding; [B,1,1,S] for attention.
    let mf = b.g.node(
        "Cast",
        &["attention_mask"],
        vec![attr_i("to", DataType::Float as i64)],
    );
    let pad = b.g.node("Sub", &[&one_f, &mf], vec![]);
    let mask_add = b.g.node("Mul", &[&pad, &neg], vec![]);
    let mask4 = b.g.node("Unsqueeze", &[&mask_add, &i12], vec![]);

    for (i, l) in enc.layers.iter().enumerate() {
        let p = format!("encoder.layer.{i}");
        let q = b.lin(&x, &format!("{p}.attention.self.query"), &l.query)?;
        let k = b.lin(&x, &format!("{p}.attention.self.key"), &l.key)?;
        let v = b.lin(&x, &format!("{p}.attention.self.value"), &l.value)?;
        let g = &mut b.g;
        let heads = |g: &mut Graph, t: &str, perm: &[i64]| {
            let r = g.node("Reshape", &[t, &split_heads], vec![]);
            g.node("Transpose", &[&r], vec![attr_ints("perm", perm)])
        };
        let qh = heads(g, &q, &[0, 2, 1, 3]);
        let kt = heads(g, &k, &[0, 2, 3, 1]);
        let vh = heads(g, &v, &[0, 2, 1, 3]);
        let s = g.node("MatMul", &[&qh, &kt], vec![]);
        let s = g.node("Mul", &[&s, &scale], vec![]);
        let s = g.node("Add", &[&s, &mask4], vec![]);
        let pr = g.node("Softmax", &[&s], vec![attr_i("axis", -1)]);
        let ctx = g.node("MatMul", &[&pr, &vh], vec![]);
        let ctx = g.node("Transpose", &[&ctx], vec![attr_ints("perm", &[0, 2, 1, 3])]);
        let ctx = g.node("Reshape", &[&ctx, &merge_heads], vec![]);
        let attn = b.lin(&ctx, &format!("{p}.attention.output.dense"), &l.attn_out)?;
        let attn = b.g.node("Add", &[&attn, &x], vec![]);
        let attn = b.norm(
            &attn,
            &format!("{p}.attention.output.LayerNorm"),
            &l.attn_norm,
            &eps,
        )?;
        let inner = b.lin(&attn, &format!("{p}.intermediate.dense"), &l.ffn_in)?;
        // Exact GELU: 0.5 x (1 + erf(x / √2)).
        let g = &mut b.g;
        let e = g.node("Mul", &[&inner, &inv_sqrt2], vec![]);
        let e = g.node("Erf", &[&e], vec![]);
        let e = g.node("Add", &[&e, &one_f], vec![]);
        let hx = g.node("Mul", &[&inner, &half], vec![]);
        let inner = g.node("Mul", &[&hx, &e], vec![]);
        let out = b.lin(&inner, &format!("{p}.output.dense"), &l.ffn_out)?;
        let out = b.g.node("Add", &[&out, &attn], vec![]);
        x = b.norm(&out, &format!("{p}.output.LayerNorm"), &l.ffn_norm, &eps)?;
    }

    // Heads.
    let mut outputs = Vec::new();
    let mask3 = b.g.node("Unsqueeze", &[&mf, &i2], vec![]);
    let mask3_add = b.g.node("Unsqueeze", &[&mask_add, &i2], vec![]);
    for head in &file.meta().heads {
        let n = head.labels.len();
        let wname = format!("heads.{}", head.name);
        let w = MatRef::bind(file, &format!("{wname}.weight"), n, h)?;
        let bias = VecRef::bind(file, &format!("{wname}.bias"), n)?;
        let (input, dims) = match head.kind {
            HeadKind::Token => (
                x.clone(),
                vec![Dim::Param("batch"), Dim::Param("seq"), Dim::Fixed(n)],
            ),
            HeadKind::Sentence => {
                let g = &mut b.g;
                let pooled = match head.pooling {
                    Pooling::Cls => g.node("Gather", &[&x, &cls], vec![attr_i("axis", 1)]),
                    Pooling::Mean => {
                        let xm = g.node("Mul", &[&x, &mask3], vec![]);
                        let keep = attr_i("keepdims", 0);
                        let sum = g.node("ReduceSum", &[&xm, &i1], vec![keep.clone()]);
                        let cnt = g.node("ReduceSum", &[&mask3, &i1], vec![keep]);
                        g.node("Div", &[&sum, &cnt], vec![])
                    }
                    Pooling::Max => {
                        let xm = g.node("Add", &[&x, &mask3_add], vec![]);
                        g.node(
                            "ReduceMax",
                            &[&xm],
                            vec![attr_ints("axes", &[1]), attr_i("keepdims", 0)],
                        )
                    }
                };
                (pooled, vec![Dim::Param("batch"), Dim::Fixed(n)])
            }
        };
        let logits = b.linear(&input, &wname, &w, &bias)?;
        let name = output_name(&head.name);
        b.g.node_named("Identity", &[&logits], vec![], &name);
        outputs.push(value_info(&name, DataType::Float, &dims));
    }
    let bs = [Dim::Param("batch"), Dim::Param("seq")];
    let inputs = ["input_ids", "attention_mask", "token_type_ids"]
        .iter()
        .map(|n| value_info(n, DataType::Int64, &bs))
        .collect();
    Ok(b.g.finish("picotag", inputs, outputs))
}
