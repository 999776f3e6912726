//! Per-utterance latency, one thread: picotag (int8 fast path, whole
//! pipeline: tokenize, encode, heads, decode) against tract running the ONNX
//! export of the same model in f32 (tokenize with picotag's tokenizer, then
//! the graph), on dev utterances of about 5, 12, 25 and 50 words.

use picotag_bench as common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use picotag::{TagOptions, Tagger, Tagging};

fn latency(c: &mut Criterion) {
    let (path, which) = common::model_path();
    eprintln!("latency bench on {which}");
    let tagger = Tagger::open(&path).expect("open the model");
    eprintln!("picotag backend: {:?}", tagger.backend());
    let onnx = picotag_onnx::export_bytes(tagger_file(&path).as_ref()).expect("ONNX export");
    let plan = picotag_onnx::check::load_tract(&onnx).expect("tract load");
    let all = common::dev_utterances();
    let opts = TagOptions::default();
    let mut g = c.benchmark_group("latency");
    for words in [5, 12, 25, 50] {
        let texts = common::of_length(&all, words, 16);
        let tokens: usize = texts
            .iter()
            .map(|t| common::tract_ids(&tagger, t).len())
            .sum();
        eprintln!(
            "{words} words: {} utterances, {:.1} tokens on average (with [CLS]/[SEP])",
            texts.len(),
            tokens as f64 / texts.len() as f64
        );
        let mut out = Tagging::default();
        let mut i = 0;
        g.bench_function(BenchmarkId::new("picotag_int8", words), |b| {
            b.iter(|| {
                i = (i + 1) % texts.len();
                tagger
                    .tag_utterance_into(&texts[i], &opts, &mut out)
                    .unwrap();
            })
        });
        let mut i = 0;
        g.bench_function(BenchmarkId::new("tract_f32", words), |b| {
            b.iter(|| {
                i = (i + 1) % texts.len();
                let ids = common::tract_ids(&tagger, &texts[i]);
                picotag_onnx::check::run_tract(&plan, &[ids]).unwrap()
            })
        });
    }
    g.finish();
}

fn tagger_file(path: &std::path::Path) -> Box<picotag::format::ModelFile> {
    Box::new(
        picotag::format::ModelFile::open(path, picotag::OpenOptions::default())
            .expect("open the model file"),
    )
}

criterion_group!(benches, latency);
criterion_main!(benches);
