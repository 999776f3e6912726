//! The exported ONNX graph, run by tract, against the runtime's reference path.

use picotag::format::{Layout, ModelFile, ModelWriter, OpenOptions, Pooling};
use picotag::testing::{RandomModel, Rng};
use picotag_onnx::check::{load_tract, max_abs_diff, run_tract};

const SENTENCES: &[&str] = &[
    "book a table for two at 7 pm in new york",
    "i take 200 mg of ibuprofen for my migraine",
    "flights from boston to denver tomorrow morning",
    "play music",
];

/// `[CLS] pieces [SEP]` of each sentence.
fn batch(file: &ModelFile) -> Vec<Vec<u32>> {
    let tok = file.tokenizer().expect("tokenizer");
    SENTENCES
        .iter()
        .map(|s| {
            let mut ids = vec![tok.cls_id()];
            ids.extend(tok.tokenize(s).expect("tokenize").ids);
            ids.push(tok.sep_id());
            ids
        })
        .collect()
}

/// A random model whose sentence heads use every pooling.
fn random_file(m: &RandomModel) -> ModelFile {
    let mut w = m.writer().expect("writer");
    let poolings = [Pooling::Cls, Pooling::Mean, Pooling::Max];
    let mut k = 0;
    for h in w.meta_mut().heads.iter_mut() {
        if h.kind == picotag::format::HeadKind::Sentence {
            h.pooling = poolings[k % 3];
            k += 1;
        }
    }
    ModelFile::from_bytes(&w.to_bytes().expect("bytes"), OpenOptions::default()).expect("open")
}

fn check(file: &ModelFile, what: &str) {
    let diff = max_abs_diff(file, &batch(file)).expect("cross-check");
    println!("{what}: max |tract - reference| = {diff:e}");
    assert!(diff < 1e-4, "{what}: max abs diff {diff}");
}

#[test]
fn random_f32_model_matches_reference() {
    check(&random_file(&RandomModel::tiny(7)), "tiny f32");
}

#[test]
fn random_int8_model_matches_reference() {
    let mut m = RandomModel::tiny(8);
    m.int8 = true;
    check(&random_file(&m), "tiny int8");
}

#[test]
fn outputs_have_the_head_shapes() {
    let file = random_file(&RandomModel::tiny(9));
    let b = batch(&file);
    let s = b.iter().map(Vec::len).max().unwrap();
    let plan = load_tract(&picotag_onnx::export_bytes(&file).unwrap()).unwrap();
    let outs = run_tract(&plan, &b).unwrap();
    for (o, h) in outs.iter().zip(&file.meta().heads) {
        let n = h.labels.len();
        match h.kind {
            picotag::format::HeadKind::Token => assert_eq!(o.shape, [b.len(), s, n]),
            picotag::format::HeadKind::Sentence => assert_eq!(o.shape, [b.len(), n]),
        }
    }
    let proto = picotag_onnx::export(&file).unwrap();
    let names: Vec<&str> = proto
        .graph
        .as_ref()
        .unwrap()
        .output
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert!(names.contains(&"logits.voice.intent"), "{names:?}");
}

/// The tiny random model with its word embeddings factorized at rank `r`
/// (a random `[vocab, r]` table and `[hidden, r]` projection).
fn factorized(r: usize) -> ModelFile {
    let m = RandomModel::tiny(10);
    let base = ModelFile::from_bytes(&m.to_bytes().unwrap(), OpenOptions::default()).unwrap();
    let mut meta = base.meta().clone();
    meta.tokenizer = base.tokenizer_json().unwrap();
    meta.architecture.embedding_rank = Some(r);
    let (v, h) = (meta.architecture.vocab_size, meta.architecture.hidden);
    let mut w = ModelWriter::new(meta);
    let mut rng = Rng::new(3);
    for t in base.tensors() {
        if t.name == "embeddings.word_embeddings.weight" {
            w.add_f32(&t.name, &[v, r], &rng.vec(v * r, 1.0)).unwrap();
            w.add_f32(
                "embeddings.word_embeddings.projection",
                &[h, r],
                &rng.vec(h * r, 0.5),
            )
            .unwrap();
        } else {
            w.add_raw(&t.name, t.dtype, t.layout, &t.shape, base.bytes_of(t))
                .unwrap();
        }
    }
    assert!(base.tensors().iter().all(|t| t.layout == Layout::RowMajor));
    ModelFile::from_bytes(&w.to_bytes().unwrap(), OpenOptions::default()).unwrap()
}

#[test]
fn factorized_embeddings_match_reference() {
    check(&factorized(8), "tiny factorized r=8");
}

#[test]
fn random_model_with_the_minilm_tokenizer_matches_reference() {
    let Some(dir) = picotag::testing::assets::teacher_dir() else {
        return;
    };
    let json = std::fs::read_to_string(dir.join("tokenizer.json")).unwrap();
    let mut m = RandomModel::tiny(11);
    m.tokenizer = json;
    m.int8 = true;
    check(&random_file(&m), "int8, MiniLM tokenizer");
}
