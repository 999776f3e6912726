//! Throughput: dev utterances per second with 1 and 2 threads sharing one
//! `Tagger` (criterion reports elements/s; one element = one utterance).

use picotag_bench as common;

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use picotag::{TagOptions, Tagger, Tagging};

/// Utterances each thread tags per iteration.
const PER_THREAD: usize = 64;

fn throughput(c: &mut Criterion) {
    let (path, which) = common::model_path();
    eprintln!("throughput bench on {which}");
    let tagger = Arc::new(Tagger::open(&path).expect("open the model"));
    let texts: Arc<Vec<String>> =
        Arc::new(common::dev_utterances().into_iter().step_by(7).collect());
    let mut g = c.benchmark_group("throughput");
    for threads in [1usize, 2] {
        g.throughput(Throughput::Elements((threads * PER_THREAD) as u64));
        g.bench_function(BenchmarkId::new("threads", threads), |b| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for th in 0..threads {
                        let (tagger, texts) = (&tagger, &texts);
                        s.spawn(move || {
                            let (opts, mut out) = (TagOptions::default(), Tagging::default());
                            for i in 0..PER_THREAD {
                                let t = &texts[(th * PER_THREAD + i) % texts.len()];
                                tagger.tag_utterance_into(t, &opts, &mut out).unwrap();
                            }
                        });
                    }
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
