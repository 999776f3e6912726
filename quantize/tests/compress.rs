//! `compress`: checkpoint → `.ptag`, precision of every tensor, the reference
//! forward of the compressed file, stored dev scores; `inspect`; and the ONNX
//! export of compressed files.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use picotag::decode::Scheme;
use picotag::encoder::reference::forward;
use picotag::encoder::weights::MatRef;
use picotag::encoder::EncoderRef;
use picotag::format::{
    Architecture, DType, HeadKind, HeadMeta, HeadRole, Layout, ModelFile, ModelMeta, OpenOptions,
    Pooling,
};
use picotag_quantize::compress::{compress, CompressOptions, EmbeddingPrecision};
use picotag_quantize::model::params::{load_safetensors, random_bert};
use picotag_quantize::model::write_json;

const SLOT_LABELS: &[&str] = &[
    "O", "B-from", "I-from", "B-to", "I-to", "B-day", "B-genre", "B-artist",
];

fn head(name: &str, kind: HeadKind, role: HeadRole, labels: &[&str], pooling: Pooling) -> HeadMeta {
    HeadMeta {
        name: name.into(),
        task: "slu".into(),
        kind,
        role,
        labels: labels.iter().map(|s| s.to_string()).collect(),
        scheme: (kind == HeadKind::Token).then_some(Scheme::Bio),
        pooling,
        reject_below: None,
        span_symbols: None,
        punctuation_share: None,
    }
}

/// The slot head `slu` and the intent head `slu.intent`.
fn slot_and_intent_heads() -> Vec<HeadMeta> {
    vec![
        head(
            "slu",
            HeadKind::Token,
            HeadRole::Slots,
            SLOT_LABELS,
            Pooling::Cls,
        ),
        head(
            "slu.intent",
            HeadKind::Sentence,
            HeadRole::Intent,
            &["flight", "music"],
            Pooling::Cls,
        ),
    ]
}

/// Writes a random checkpoint (task `slu`: slots, intent, has-slot, mean- and
/// max-pooled aux heads) into `dir/ckpt`; word embeddings factorized at
/// `rank` when given. The weights are scaled up so that quantization matters.
fn checkpoint(dir: &Path, rank: Option<usize>, dev: Option<&Path>) -> PathBuf {
    let tok = common::write_tokenizer(dir);
    let tokenizer = std::fs::read_to_string(&tok).unwrap();
    let vocab = picotag::tokenize::Tokenizer::from_json(&tokenizer)
        .unwrap()
        .vocab_size();
    let mut arch = Architecture {
        vocab_size: vocab,
        hidden: 32,
        layers: 2,
        heads: 4,
        intermediate: 48,
        max_positions: 40,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        embedding_rank: None,
    };
    let d = Device::Cpu;
    let mut t: BTreeMap<String, Tensor> = random_bert(&arch, 5, &d)
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            let s = if k.ends_with("LayerNorm.weight") {
                1.0
            } else {
                25.0
            };
            (k, (v * s).unwrap())
        })
        .collect();
    if let Some(r) = rank {
        arch.embedding_rank = Some(r);
        t.insert(
            "embeddings.word_embeddings.weight".into(),
            Tensor::randn(0f32, 1.0, (vocab, r), &d).unwrap(),
        );
        t.insert(
            "embeddings.word_embeddings.projection".into(),
            Tensor::randn(0f32, 0.3, (32, r), &d).unwrap(),
        );
    }
    let mut heads = slot_and_intent_heads();
    heads.extend([
        head(
            "slu.bcls",
            HeadKind::Sentence,
            HeadRole::HasSlot,
            &["no", "yes"],
            Pooling::Cls,
        ),
        head(
            "slu.mcls",
            HeadKind::Sentence,
            HeadRole::Aux,
            &["0", "1", "2", "3+"],
            Pooling::Max,
        ),
        head(
            "slu.mean",
            HeadKind::Sentence,
            HeadRole::Aux,
            &["a", "b"],
            Pooling::Mean,
        ),
    ]);
    for h in &heads {
        let n = h.labels.len();
        t.insert(
            format!("heads.{}.weight", h.name),
            Tensor::randn(0f32, 1.0, (n, 32), &d).unwrap(),
        );
        t.insert(
            format!("heads.{}.bias", h.name),
            Tensor::randn(0f32, 0.5, n, &d).unwrap(),
        );
    }
    let mut provenance = BTreeMap::new();
    if let Some(dev) = dev {
        // A training recipe whose one task is scored on `dev`.
        std::fs::create_dir_all(dir.join("recipe")).unwrap();
        let mut r = common::tiny_recipe(&dir.join("recipe"));
        r.tasks.truncate(1);
        r.tasks[0].train = dev.to_path_buf();
        r.tasks[0].dev = dev.to_path_buf();
        provenance.insert("recipe".to_string(), serde_json::to_value(&r).unwrap());
    }
    let meta = ModelMeta {
        name: "tiny".into(),
        architecture: arch,
        heads,
        tokenizer,
        provenance,
        scores: BTreeMap::new(),
    };
    let ck = dir.join("ckpt");
    std::fs::create_dir_all(&ck).unwrap();
    let m: HashMap<String, Tensor> = t.into_iter().collect();
    candle_core::safetensors::save(&m, ck.join("model.safetensors")).unwrap();
    write_json(&ck.join("meta.json"), &meta).unwrap();
    ck
}

fn opts(fp32: bool, embeddings: EmbeddingPrecision) -> CompressOptions {
    CompressOptions {
        fp32,
        embeddings,
        max_positions: None,
        int8_heads: false,
        eval: false,
        dev: vec![],
        reject_tpr: None,
    }
}

#[test]
fn the_position_table_is_cut_to_max_positions() {
    let tmp = tempfile::tempdir().unwrap();
    let ck = checkpoint(tmp.path(), None, None);
    let (full, cut) = (tmp.path().join("full.ptag"), tmp.path().join("cut.ptag"));
    compress(&ck, &full, &opts(false, EmbeddingPrecision::I8)).unwrap();
    let mut o = opts(false, EmbeddingPrecision::I8);
    o.max_positions = Some(12);
    compress(&ck, &cut, &o).unwrap();
    let (f, c) = (open(&full), open(&cut));
    assert_eq!(f.meta().architecture.max_positions, 40);
    assert_eq!(c.meta().architecture.max_positions, 12);
    let name = "embeddings.position_embeddings.weight";
    let h = f.meta().architecture.hidden;
    assert_eq!(c.tensor(name).unwrap().shape, [12, h]);
    assert_eq!(dequantized(&c, name), dequantized(&f, name)[..12 * h]);
    assert!(EncoderRef::bind(&c).is_ok());
    // The runtime encodes a long input in windows of at most 12 tokens.
    let tagger = picotag::Tagger::open(&cut).unwrap();
    assert!(tagger.tag_utterance(&"fly to boston ".repeat(20)).is_ok());
    for bad in [2, 41] {
        o.max_positions = Some(bad);
        assert!(compress(&ck, &cut, &o).is_err(), "{bad}");
    }
}

fn open(p: &Path) -> ModelFile {
    ModelFile::open(p, OpenOptions::default()).unwrap()
}

/// A tensor of the file as f32 rows (dequantized), `[n, k]` from its shape.
fn dequantized(f: &ModelFile, name: &str) -> Vec<f32> {
    let t = f.tensor(name).unwrap();
    let (n, k) = (t.shape[0], t.shape.get(1).copied().unwrap_or(1));
    if t.shape.len() == 1 {
        return f.f32s(t).unwrap().to_vec();
    }
    let m = MatRef::bind(f, name, n, k).unwrap();
    let v = m.view(f).unwrap();
    let mut out = vec![0.0; n * k];
    for (r, row) in out.chunks_exact_mut(k).enumerate() {
        v.row_into(r, row);
    }
    out
}

#[test]
fn every_tensor_gets_its_precision_and_stays_within_its_error_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let ck = checkpoint(tmp.path(), None, None);
    let ckpt = load_safetensors(&ck.join("model.safetensors"), &Device::Cpu).unwrap();
    let values = |n: &str| ckpt[n].flatten_all().unwrap().to_vec1::<f32>().unwrap();
    for (fp32, emb, int8_heads) in [
        (false, EmbeddingPrecision::I8, false),
        (false, EmbeddingPrecision::F16, false),
        (false, EmbeddingPrecision::I4, false),
        (false, EmbeddingPrecision::I4, true),
        (true, EmbeddingPrecision::I8, true),
    ] {
        let out = tmp
            .path()
            .join(format!("m-{fp32}-{emb:?}-{int8_heads}.ptag"));
        let mut o = opts(fp32, emb);
        o.int8_heads = int8_heads;
        compress(&ck, &out, &o).unwrap();
        let f = open(&out);
        let mut seen = 0;
        for t in f.tensors().iter().filter(|t| !t.name.ends_with(".scale")) {
            seen += 1;
            let want = values(&t.name);
            let got = dequantized(&f, &t.name);
            let is_linear = t.name.starts_with("encoder.") && t.name.ends_with("dense.weight")
                || ["query.weight", "key.weight", "value.weight"]
                    .iter()
                    .any(|s| t.name.ends_with(s));
            let is_head = t.name.starts_with("heads.") && t.name.ends_with(".weight");
            let is_words = t.name == "embeddings.word_embeddings.weight";
            let is_table = is_words || t.name == "embeddings.position_embeddings.weight";
            let (dtype, layout) = match (fp32, is_linear, is_table, emb) {
                (false, false, false, _) if is_head && int8_heads => (DType::I8, Layout::RowMajor),
                (true, _, _, _) | (false, false, false, _) => (DType::F32, Layout::RowMajor),
                (false, true, _, _) => (DType::I8, Layout::K4n16),
                (false, _, true, EmbeddingPrecision::I4) if is_words => {
                    (DType::I4, Layout::RowMajor)
                }
                (false, _, true, EmbeddingPrecision::I8 | EmbeddingPrecision::I4) => {
                    (DType::I8, Layout::RowMajor)
                }
                (false, _, true, EmbeddingPrecision::F16) => (DType::F16, Layout::RowMajor),
            };
            assert_eq!((t.dtype, t.layout), (dtype, layout), "{}", t.name);
            let k = *t.shape.last().unwrap();
            for (r, (g, w)) in got.chunks(k).zip(want.chunks(k)).enumerate() {
                let bound = match t.dtype {
                    DType::F32 => 0.0,
                    DType::F16 => w.iter().fold(0f32, |a, v| a.max(v.abs())) / 1024.0,
                    DType::I8 => {
                        let s = f
                            .f32s(f.tensor(&format!("{}.scale", t.name)).unwrap())
                            .unwrap();
                        s[r] * 0.5 + 1e-6
                    }
                    DType::I4 => {
                        let s = f
                            .f16s(f.tensor(&format!("{}.scale", t.name)).unwrap())
                            .unwrap()[r]
                            .to_f32();
                        // Within half a step of the value clipped to ±7 steps,
                        // and the clip at least half the row's largest value.
                        let amax = w.iter().fold(0f32, |a, v| a.max(v.abs()));
                        assert!(7.0 * s >= amax * 0.499, "{} row {r}: scale {s}", t.name);
                        for (a, b) in g.iter().zip(w) {
                            let clipped = b.clamp(-7.0 * s, 7.0 * s);
                            assert!((a - clipped).abs() <= s * 0.5 + 1e-6, "{} row {r}", t.name);
                        }
                        continue;
                    }
                };
                for (a, b) in g.iter().zip(w) {
                    assert!((a - b).abs() <= bound, "{} row {r}: {a} vs {b}", t.name);
                }
            }
        }
        assert_eq!(seen, ckpt.len(), "every checkpoint tensor is in the file");
        assert!(EncoderRef::bind(&f).is_ok());
        // The runtime reads every head, int8 or f32.
        let tagger = picotag::Tagger::open(&out).unwrap();
        tagger.tag_utterance("show me flights to denver").unwrap();
    }
    let size = |n: &str| std::fs::metadata(tmp.path().join(n)).unwrap().len();
    assert!(size("m-false-I4-true.ptag") < size("m-false-I4-false.ptag"));
    assert!(size("m-false-I4-false.ptag") < size("m-false-I8-false.ptag"));
    assert!(size("m-false-I8-false.ptag") < size("m-false-F16-false.ptag"));
    assert!(size("m-false-F16-false.ptag") < size("m-true-I8-true.ptag"));
}

/// The int8 file's reference forward equals the fp32 forward of the
/// checkpoint with its weights replaced by their dequantized values.
#[test]
fn compressed_forward_matches_the_dequantized_checkpoint() {
    for emb in [EmbeddingPrecision::I8, EmbeddingPrecision::I4] {
        compressed_forward_matches(emb);
    }
}

fn compressed_forward_matches(emb: EmbeddingPrecision) {
    let tmp = tempfile::tempdir().unwrap();
    let ck = checkpoint(tmp.path(), None, None);
    let int8 = tmp.path().join("int8.ptag");
    compress(&ck, &int8, &opts(false, emb)).unwrap();
    let qf = open(&int8);
    // The dequantized checkpoint, written through the checkpoint format.
    let dq = tmp.path().join("dq");
    std::fs::create_dir_all(&dq).unwrap();
    let mut m: HashMap<String, Tensor> = HashMap::new();
    for t in qf.tensors().iter().filter(|t| !t.name.ends_with(".scale")) {
        let v = dequantized(&qf, &t.name);
        m.insert(
            t.name.clone(),
            Tensor::from_vec(v, t.shape.as_slice(), &Device::Cpu).unwrap(),
        );
    }
    candle_core::safetensors::save(&m, dq.join("model.safetensors")).unwrap();
    std::fs::copy(ck.join("meta.json"), dq.join("meta.json")).unwrap();
    let fp = tmp.path().join("dq.ptag");
    compress(&dq, &fp, &opts(true, EmbeddingPrecision::I8)).unwrap();
    let ff = open(&fp);
    let tok = qf.tokenizer().unwrap();
    let mut ids = vec![tok.cls_id()];
    ids.extend(
        tok.tokenize("show me flights from boston to denver on monday")
            .unwrap()
            .ids,
    );
    ids.push(tok.sep_id());
    let mask = vec![true; ids.len()];
    let a = forward(&qf, &EncoderRef::bind(&qf).unwrap(), &ids, &mask).unwrap();
    let b = forward(&ff, &EncoderRef::bind(&ff).unwrap(), &ids, &mask).unwrap();
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-4, "max abs diff {worst}");
}

#[test]
fn factorized_embeddings_are_kept_factorized() {
    let tmp = tempfile::tempdir().unwrap();
    let ck = checkpoint(tmp.path(), Some(8), None);
    let out = tmp.path().join("f.ptag");
    compress(&ck, &out, &opts(false, EmbeddingPrecision::I8)).unwrap();
    let f = open(&out);
    assert_eq!(f.meta().architecture.embedding_rank, Some(8));
    let w = f.tensor("embeddings.word_embeddings.weight").unwrap();
    assert_eq!(
        (w.dtype, w.shape.as_slice()),
        (DType::I8, &[f.meta().architecture.vocab_size, 8][..])
    );
    let p = f.tensor("embeddings.word_embeddings.projection").unwrap();
    assert_eq!((p.dtype, p.shape.as_slice()), (DType::F32, &[32, 8][..]));
    assert!(EncoderRef::bind(&f).unwrap().word_projection.is_some());
    #[cfg(feature = "onnx")]
    factorized_onnx_matches(&f);
}

/// The ONNX export of a factorized file runs the same network (Gather + MatMul).
#[cfg(feature = "onnx")]
fn factorized_onnx_matches(f: &ModelFile) {
    let batch =
        picotag_onnx::check::encode_texts(f, &["fly to boston", "play some jazz by miles davis"])
            .unwrap();
    let diff = picotag_onnx::check::max_abs_diff(f, &batch).unwrap();
    assert!(diff < 1e-4, "max abs diff {diff}");
}

#[test]
fn dev_scores_are_measured_on_the_written_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = common::write_slu(&tmp.path().join("slu"));
    let valid = data.join("valid");
    let ck = checkpoint(tmp.path(), None, Some(&valid));
    let out = tmp.path().join("scored.ptag");
    let mut o = opts(false, EmbeddingPrecision::I8);
    o.eval = true;
    let c = compress(&ck, &out, &o).unwrap();
    let f = open(&out);
    // JSON parsing may move a float by an ulp: compare keys exactly, numbers closely.
    assert_eq!(
        f.meta().scores.keys().collect::<Vec<_>>(),
        c.scores.keys().collect::<Vec<_>>()
    );
    let (a, b) = (&f.meta().scores["mean_f1"], &c.scores["mean_f1"]);
    assert!((a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-12);
    assert_eq!(f.meta().scores["split"], "dev");
    let again = picotag_quantize::eval::ptag::eval_model(&out, "slu", &valid).unwrap();
    let stored = &f.meta().scores["tasks"]["slu"];
    assert!((stored["f1"].as_f64().unwrap() - again.f1).abs() < 1e-12);
    assert_eq!(stored["sentences"].as_u64().unwrap(), 6);
    assert!(f.meta().provenance.contains_key("compression"));
    let text = picotag_quantize::inspect::describe(&f);
    assert!(text.contains("dev scores (split dev"), "{text}");
    assert!(
        text.contains(&format!("slu: F1 {:.2}", 100.0 * again.f1)),
        "{text}"
    );
    // A --dev for a task the model lacks is refused.
    o.dev = vec![("nope".into(), valid.clone())];
    assert!(compress(&ck, &tmp.path().join("x.ptag"), &o).is_err());
}

#[test]
fn inspect_describes_a_random_model() {
    let mut m = picotag::testing::RandomModel::tiny(1);
    m.int8 = true;
    let bytes = m.to_bytes().unwrap();
    let f = ModelFile::from_bytes(&bytes, OpenOptions::default()).unwrap();
    let text = picotag_quantize::inspect::describe(&f);
    assert!(
        text.contains("architecture: 2 layers, hidden 32, 4 heads, FFN 64"),
        "{text}"
    );
    assert!(text.contains("tasks (2): voice, health"), "{text}");
    assert!(text.contains("voice.intent [task voice, sentence, cls pooling, role Intent, 3 labels]: book_flight get_weather play_music"), "{text}");
    assert!(
        text.contains(&format!("total size: {} bytes", bytes.len())),
        "{text}"
    );
    assert!(text.contains("dev scores: none stored"), "{text}");
    for t in f.tensors() {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(t.name.as_str()))
            .unwrap_or_else(|| panic!("no line for {}", t.name));
        assert!(line.ends_with(&format!(" {}", t.length)), "{line}");
    }
    let q = text
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with("encoder.layer.0.attention.self.query.weight ")
        })
        .unwrap();
    assert!(
        q.contains("i8") && q.contains("k4n16") && q.contains("[32, 32]"),
        "{q}"
    );
}

/// The pretrained teacher (all-MiniLM-L6-v2, full size) with fresh heads,
/// compressed, exported and run by tract.
#[cfg(feature = "onnx")]
#[test]
fn pretrained_teacher_compresses_and_exports() {
    use picotag_quantize::model::params::{read_hf_config, select_bert};
    let Some(hf) = picotag::testing::assets::teacher_dir() else {
        return;
    };
    let d = Device::Cpu;
    let arch = read_hf_config(&hf.join("config.json")).unwrap();
    let all = load_safetensors(&hf.join("model.safetensors"), &d).unwrap();
    let heads = slot_and_intent_heads();
    let tensors = select_bert(&arch, &all).unwrap();
    let meta = ModelMeta {
        name: "minilm".into(),
        architecture: arch,
        heads,
        tokenizer: std::fs::read_to_string(hf.join("tokenizer.json")).unwrap(),
        provenance: BTreeMap::new(),
        scores: BTreeMap::new(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let ck = tmp.path().join("ckpt");
    picotag_quantize::model::Model::build(meta, tensors, true, 1, &d)
        .unwrap()
        .save(&ck)
        .unwrap();
    let out = tmp.path().join("teacher.ptag");
    compress(&ck, &out, &opts(false, EmbeddingPrecision::I8)).unwrap();
    let f = open(&out);
    let batch =
        picotag_onnx::check::encode_texts(&f, picotag_onnx::check::CHECK_SENTENCES).unwrap();
    let diff = picotag_onnx::check::max_abs_diff(&f, &batch).unwrap();
    println!("teacher int8: max |tract - reference| = {diff:e}");
    assert!(diff < 1e-4, "max abs diff {diff}");
}
