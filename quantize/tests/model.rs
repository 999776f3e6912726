//! The differentiable encoder: gradients reach every parameter; the forward
//! matches candle-nn's fused ops and candle-transformers' BertModel.

mod common;

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarBuilder;
use picotag::format::Architecture;
use picotag::format::ModelMeta;
use picotag_quantize::data::encode::Tok;
use picotag_quantize::model::ops::{layer_norm, softmax};
use picotag_quantize::model::{params, Model};
use picotag_quantize::recipe::{AuxHeads, InitFrom, Recipe, TaskRecipe};
use picotag_quantize::train::batch::{Batch, Example};
use picotag_quantize::train::heads::head_metas;
use picotag_quantize::train::optim::AdamWConfig;
use picotag_quantize::train::schedule::Schedule;
use picotag_quantize::train::step::{self, BatchInput};
use picotag_quantize::train::tasks::load_tasks;

fn tiny_arch(vocab: usize) -> Architecture {
    Architecture {
        vocab_size: vocab,
        hidden: 16,
        layers: 2,
        heads: 2,
        intermediate: 32,
        max_positions: 64,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        embedding_rank: None,
    }
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

#[test]
fn every_trainable_parameter_gets_a_gradient() {
    let tmp = tempfile::tempdir().unwrap();
    let tk = common::write_tokenizer(tmp.path());
    let slu = common::write_slu(&tmp.path().join("slu"));
    let tok = Tok::from_file(&tk).unwrap();
    let arch = tiny_arch(tok.vocab_size());
    let recipe = Recipe {
        tasks: vec![TaskRecipe {
            name: "slu".into(),
            train: slu.join("train"),
            dev: slu.join("valid"),
            weight: 1.0,
            asr: false,
            asr_augment: false,
            domain: None,
            hold_out: Vec::new(),
            limit: 0,
            symbols: 0.0,
        }],
        init: InitFrom::Random(arch.clone(), tk.clone()),
        epochs: 1,
        batch_size: 8,
        max_tokens: 4096,
        max_len: 64,
        lr: 1e-3,
        warmup: 0.0,
        adamw: AdamWConfig::default(),
        dropout: 0.1,
        seed: 3,
        schedule: Schedule::Mixed,
        aux: AuxHeads {
            has_slot: true,
            mcls: true,
            mtcls: true,
        },
        aux_weight: 1.0,
        freeze_word_embeddings: false,
        unified: None,
        finetune_heads: false,
    };
    let tasks = load_tasks(&recipe, &tok, None).unwrap();
    let meta = ModelMeta {
        name: "t".into(),
        architecture: arch.clone(),
        heads: head_metas(&tasks, recipe.aux),
        tokenizer: tok.to_json().unwrap(),
        provenance: Default::default(),
        scores: Default::default(),
    };
    assert_eq!(meta.heads.len(), 5, "slots, intent, has-slot, mcls, mtcls");
    let dev = Device::Cpu;
    let model = Model::build(
        meta,
        params::random_bert(&arch, 1, &dev).unwrap(),
        false,
        1,
        &dev,
    )
    .unwrap();
    let ex: Vec<&Example> = tasks[0].train.iter().collect();
    let batch = Batch::new(&ex, &dev).unwrap();
    let th = model.tasks[0].clone();
    let loss = step::batch_loss(&model, &BatchInput::new(&batch, &th), 1.0, &mut None).unwrap();
    let grads = loss.backward().unwrap();
    let n_expected = params::bert_shapes(&arch).len() + 2 * 5;
    assert_eq!(model.params.trainable.len(), n_expected);
    for (name, var) in &model.params.trainable {
        let g = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("{name} got no gradient"));
        let norm = g
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(
            norm > 0.0 && norm.is_finite(),
            "{name}: gradient norm {norm}"
        );
    }
}

#[test]
fn composed_ops_match_fused_ones() {
    let dev = Device::Cpu;
    let x = Tensor::randn(0f32, 3.0, (5, 7, 24), &dev).unwrap();
    let w = Tensor::randn(1f32, 0.1, 24, &dev).unwrap();
    let b = Tensor::randn(0f32, 0.1, 24, &dev).unwrap();
    let ours = layer_norm(&x, &w, &b, 1e-12).unwrap();
    let fused = candle_nn::ops::layer_norm(&x, &w, &b, 1e-12).unwrap();
    assert!(max_diff(&ours, &fused) < 1e-4);
    let ours = softmax(&x).unwrap();
    let fused = candle_nn::ops::softmax_last_dim(&x).unwrap();
    assert!(max_diff(&ours, &fused) < 1e-6);
}

/// Our forward vs candle-transformers' BertModel on the weights in `dir`.
fn compare_with_candle_transformers(dir: &Path, ids: &[Vec<u32>], tol: f32) {
    let dev = Device::Cpu;
    let config: candle_transformers::models::bert::Config =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    // SAFETY: the safetensors file is a test fixture nobody modifies while
    // it is mapped.
    let vb = unsafe {
        VarBuilder::from_mmaped_safetensors(&[dir.join("model.safetensors")], DType::F32, &dev)
            .unwrap()
    };
    let reference = candle_transformers::models::bert::BertModel::load(vb, &config).unwrap();
    let arch = params::read_hf_config(&dir.join("config.json")).unwrap();
    let all = params::load_safetensors(&dir.join("model.safetensors"), &dev).unwrap();
    let p = params::Params::new(params::select_bert(&arch, &all).unwrap(), |_| false).unwrap();
    let ours = picotag_quantize::model::bert::Bert::new(&p, &arch).unwrap();
    let (b, t) = (ids.len(), ids.iter().map(Vec::len).max().unwrap());
    let mut flat = vec![0u32; b * t];
    let mut mask = vec![0f32; b * t];
    for (r, row) in ids.iter().enumerate() {
        flat[r * t..r * t + row.len()].copy_from_slice(row);
        mask[r * t..r * t + row.len()].fill(1.0);
    }
    let idt = Tensor::from_vec(flat, (b, t), &dev).unwrap();
    let m = Tensor::from_vec(mask.clone(), (b, t), &dev).unwrap();
    let want = reference
        .forward(&idt, &idt.zeros_like().unwrap(), Some(&m))
        .unwrap();
    let got = ours
        .forward(&idt, &m, &mut None)
        .unwrap()
        .reshape((b, t, arch.hidden))
        .unwrap();
    for (r, row) in ids.iter().enumerate() {
        let n = row.len();
        let d = max_diff(
            &want.get(r).unwrap().narrow(0, 0, n).unwrap(),
            &got.get(r).unwrap().narrow(0, 0, n).unwrap(),
        );
        assert!(d < tol, "row {r}: max |diff| {d}");
    }
    let _ = D::Minus1;
}

#[test]
fn forward_matches_candle_transformers_on_random_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let arch = tiny_arch(100);
    let dev = Device::Cpu;
    let t = params::random_bert(&arch, 9, &dev).unwrap();
    let m: HashMap<String, Tensor> = t.into_iter().collect();
    candle_core::safetensors::save(&m, tmp.path().join("model.safetensors")).unwrap();
    let config = serde_json::json!({
        "vocab_size": 100, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 32, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "max_position_embeddings": 64, "type_vocab_size": 2, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "pad_token_id": 0, "model_type": "bert"
    });
    std::fs::write(tmp.path().join("config.json"), config.to_string()).unwrap();
    compare_with_candle_transformers(tmp.path(), &[vec![2, 10, 11, 12, 3], vec![2, 40, 3]], 1e-4);
}

#[test]
fn forward_matches_candle_transformers_on_minilm() {
    let Some(dir) = picotag::testing::assets::teacher_dir() else {
        return;
    };
    let tok = Tok::from_file(&dir.join("tokenizer.json")).unwrap();
    let words: Vec<String> = "i take 200 mg of ibuprofen for my migraine"
        .split(' ')
        .map(String::from)
        .collect();
    let enc = tok.encode(&words, 128).unwrap();
    let short = tok.encode(&["hello".to_string()], 128).unwrap();
    compare_with_candle_transformers(
        &dir,
        &[enc.windows[0].ids.clone(), short.windows[0].ids.clone()],
        2e-4,
    );
}
