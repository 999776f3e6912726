//! `adapt` (task-adaptive pre-training) on a tiny random encoder: the
//! held-out masked-token loss falls, the result is a folder `train --init`
//! takes, a resumed run equals an uninterrupted one, bad settings are errors.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use picotag::format::Architecture;
use picotag_quantize::adapt::{run, AdaptArgs};
use picotag_quantize::data::encode::Tok;
use picotag_quantize::model::params::{load_safetensors, random_bert, WORD_EMBEDDINGS};
use picotag_quantize::recipe::InitFrom;
use picotag_quantize::train::start::encoder_tensors;

/// A pretrained folder holding a random 2-layer, 32-wide encoder.
fn tiny_pretrained(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let tk = common::write_tokenizer(dir);
    let vocab = Tok::from_file(&tk).unwrap().vocab_size();
    let config = serde_json::json!({
        "vocab_size": vocab, "hidden_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": 64,
        "max_position_embeddings": 64, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let arch = Architecture {
        vocab_size: vocab,
        hidden: 32,
        layers: 2,
        heads: 2,
        intermediate: 64,
        max_positions: 64,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        embedding_rank: None,
    };
    let t: HashMap<String, Tensor> = random_bert(&arch, 7, &Device::Cpu)
        .unwrap()
        .into_iter()
        .collect();
    candle_core::safetensors::save(&t, dir.join("model.safetensors")).unwrap();
    dir.to_path_buf()
}

fn args(tmp: &Path, out: &str) -> AdaptArgs {
    AdaptArgs {
        init: tmp.join("pre"),
        text: vec![tmp.join("slu"), tmp.join("bio")],
        out: tmp.join(out),
        epochs: 12,
        lr: 3e-3,
        warmup: 0.1,
        batch_size: 4,
        max_tokens: 4096,
        max_len: 32,
        mask_rate: 0.3,
        train_word_embeddings: false,
        dropout: 0.1,
        seed: 3,
        dev_limit: 0,
        save_every: 2,
        max_steps: None,
        resume: true,
        log_every: 3600,
    }
}

fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    tiny_pretrained(&tmp.path().join("pre"));
    common::write_slu(&tmp.path().join("slu"));
    common::write_bio(&tmp.path().join("bio"));
    tmp
}

fn held_out_losses(out: &Path) -> Vec<f64> {
    std::fs::read_to_string(out.join("adapt.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["held_out_loss"].as_f64().unwrap()
        })
        .collect()
}

fn values(path: &Path) -> Vec<(String, Vec<f32>)> {
    let mut v: Vec<(String, Vec<f32>)> = load_safetensors(path, &Device::Cpu)
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k, t.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn adapting_lowers_the_held_out_loss_and_gives_a_pretrained_folder() {
    let tmp = setup();
    let mut a = args(tmp.path(), "run");
    a.train_word_embeddings = true;
    a.lr = 1e-2;
    run(&a).unwrap();
    let losses = held_out_losses(&a.out);
    assert_eq!(losses.len(), 12);
    assert!(
        losses[11] < losses[0] - 1.0,
        "held-out loss did not fall: {losses:?}"
    );
    // The last epoch's folder is a pretrained folder `train --init` takes.
    let folder = a.out.join("epoch-12");
    for f in [
        "config.json",
        "tokenizer.json",
        "model.safetensors",
        "adapted.json",
    ] {
        assert!(folder.join(f).is_file(), "{f} missing");
    }
    let (arch, adapted) =
        encoder_tensors(&InitFrom::Pretrained(folder.clone()), 0, &Device::Cpu).unwrap();
    let (_, before) =
        encoder_tensors(&InitFrom::Pretrained(a.init.clone()), 0, &Device::Cpu).unwrap();
    assert_eq!(arch.layers, 2);
    assert_eq!(
        adapted.len(),
        before.len(),
        "only encoder tensors are taken"
    );
    let diff = |n: &str| {
        (&adapted[n] - &before[n])
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    };
    assert!(diff("encoder.layer.1.output.dense.weight") > 1e-3);
    assert!(
        diff(WORD_EMBEDDINGS) > 1e-3,
        "--train-word-embeddings trains them"
    );
}

#[test]
fn a_resumed_run_equals_an_uninterrupted_one() {
    let tmp = setup();
    let mut a = args(tmp.path(), "whole");
    a.epochs = 3;
    run(&a).unwrap();
    let mut b = args(tmp.path(), "parts");
    b.epochs = 3;
    b.max_steps = Some(3);
    run(&b).unwrap();
    assert!(!b.out.join("epoch-3").exists());
    b.max_steps = None;
    run(&b).unwrap();
    let (x, y) = (
        values(&a.out.join("epoch-3/model.safetensors")),
        values(&b.out.join("epoch-3/model.safetensors")),
    );
    assert_eq!(x.len(), y.len());
    for ((n, u), (_, v)) in x.iter().zip(&y) {
        let d = u
            .iter()
            .zip(v)
            .map(|(p, q)| (p - q).abs())
            .fold(0f32, f32::max);
        assert!(d < 1e-5, "{n} differs by {d}");
    }
    assert_eq!(held_out_losses(&a.out), held_out_losses(&b.out));
    let words = |v: &[(String, Vec<f32>)]| v.iter().find(|(n, _)| n == WORD_EMBEDDINGS).cloned();
    assert_eq!(
        words(&x),
        words(&values(&a.init.join("model.safetensors"))),
        "word embeddings are frozen by default"
    );
}

#[test]
fn bad_settings_are_clear_errors() {
    let tmp = setup();
    let mut a = args(tmp.path(), "bad");
    a.mask_rate = 0.0;
    assert!(run(&a).unwrap_err().to_string().contains("--mask-rate"));
    let mut a = args(tmp.path(), "bad");
    a.text = vec![tmp.path().join("nowhere")];
    assert!(run(&a).unwrap_err().to_string().contains("nowhere"));
    // A resume with other settings is refused, naming them.
    let mut a = args(tmp.path(), "changed");
    a.epochs = 2;
    a.max_steps = Some(2);
    run(&a).unwrap();
    a.lr = 1e-3;
    let e = run(&a).unwrap_err().to_string();
    assert!(e.contains("other settings"), "{e}");
}
