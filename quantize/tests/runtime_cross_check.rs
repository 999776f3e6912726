//! The reference encoder against an independent BERT (candle-transformers)
//! on the real pretrained all-MiniLM-L6-v2 weights. (It lives in this crate
//! because candle is a dependency of the offline tool only.)

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use picotag::encoder::{reference, EncoderRef};
use picotag::format::{Architecture, ModelFile, ModelMeta, ModelWriter, OpenOptions};

const SENTENCES: &[&str] = &[
    "book a table for two at 8 pm",
    "I take 200 mg of ibuprofen for my migraine",
    "Selegiline-induced postural hypotension in Parkinson's disease: a longitudinal study.",
    "play the latest album by Beyoncé in the living room",
    "what's the weather like in Zürich tomorrow morning?",
    "show me flights from boston to denver",
];

#[test]
fn reference_encoder_matches_candle_bert_on_minilm() {
    let Some(dir) = picotag::testing::assets::teacher_dir() else {
        return;
    };
    let ptag = ptag_from_hf(&dir);
    let file = ModelFile::from_bytes(&ptag, OpenOptions::default()).unwrap();
    let enc = EncoderRef::bind(&file).unwrap();
    let tok = file.tokenizer().unwrap();

    let seqs: Vec<Vec<u32>> = SENTENCES
        .iter()
        .map(|s| {
            let t = tok.tokenize(s).unwrap();
            let mut ids = vec![tok.cls_id()];
            ids.extend(&t.ids);
            ids.push(tok.sep_id());
            ids
        })
        .collect();
    let t_max = seqs.iter().map(Vec::len).max().unwrap();

    // candle-transformers' BERT, one padded batch with an attention mask.
    let device = Device::Cpu;
    let cfg: Config =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    let vb = VarBuilder::from_buffered_safetensors(
        std::fs::read(dir.join("model.safetensors")).unwrap(),
        DType::F32,
        &device,
    )
    .unwrap();
    let bert = BertModel::load(vb, &cfg).unwrap();
    let mut ids = Vec::new();
    let mut mask = Vec::new();
    for s in &seqs {
        for i in 0..t_max {
            ids.push(s.get(i).copied().unwrap_or(0));
            mask.push(u32::from(i < s.len()));
        }
    }
    let n = seqs.len();
    let ids_t = Tensor::from_vec(ids.clone(), (n, t_max), &device).unwrap();
    let mask_t = Tensor::from_vec(mask.clone(), (n, t_max), &device).unwrap();
    let types = ids_t.zeros_like().unwrap();
    let out: Vec<Vec<Vec<f32>>> = bert
        .forward(&ids_t, &types, Some(&mask_t))
        .unwrap()
        .to_vec3()
        .unwrap();

    let h = file.meta().architecture.hidden;
    let mut worst = 0.0f32;
    for (b, s) in seqs.iter().enumerate() {
        // Unpadded, and padded with the mask: both must agree with candle.
        let plain = reference::forward(&file, &enc, s, &vec![true; s.len()]).unwrap();
        let padded_ids = &ids[b * t_max..(b + 1) * t_max];
        let padded_mask: Vec<bool> = mask[b * t_max..(b + 1) * t_max]
            .iter()
            .map(|&m| m == 1)
            .collect();
        let padded = reference::forward(&file, &enc, padded_ids, &padded_mask).unwrap();
        for t in 0..s.len() {
            for j in 0..h {
                let c = out[b][t][j];
                worst = worst.max((plain[t * h + j] - c).abs());
                worst = worst.max((padded[t * h + j] - c).abs());
            }
        }
    }
    println!("max |picotag reference - candle BertModel| over {n} sentences: {worst:e}");
    assert!(worst < 1e-4, "max abs diff {worst}");
}

/// A `.ptag` (f32, no heads) of a Hugging Face BERT folder
/// (`model.safetensors`, `config.json`, `tokenizer.json`).
fn ptag_from_hf(dir: &Path) -> Vec<u8> {
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    let u = |k: &str| cfg[k].as_u64().unwrap() as usize;
    let arch = Architecture {
        vocab_size: u("vocab_size"),
        hidden: u("hidden_size"),
        layers: u("num_hidden_layers"),
        heads: u("num_attention_heads"),
        intermediate: u("intermediate_size"),
        max_positions: u("max_position_embeddings"),
        type_vocab_size: u("type_vocab_size"),
        layer_norm_eps: cfg["layer_norm_eps"].as_f64().unwrap() as f32,
        embedding_rank: None,
    };
    let tokenizer = std::fs::read_to_string(dir.join("tokenizer.json")).unwrap();
    let mut w = ModelWriter::new(ModelMeta {
        name: "all-MiniLM-L6-v2 (encoder only)".into(),
        architecture: arch,
        heads: vec![],
        tokenizer,
        provenance: Default::default(),
        scores: Default::default(),
    });
    let tensors =
        candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu).unwrap();
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    for name in names {
        let t = &tensors[name];
        if t.dtype() != DType::F32 || name.starts_with("pooler") {
            continue;
        }
        let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
        w.add_f32(name, t.dims(), &v).unwrap();
    }
    w.to_bytes().unwrap()
}
