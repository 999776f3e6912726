//! Memory and load time: model file size, resident memory (VmRSS from
//! /proc/self/status) after `open`, after the first utterance and after
//! 1,000 utterances, and the open time (criterion-timed, mmap + validate +
//! head checksum; also without it, and with the whole-file checksum).

use picotag_bench as common;

use criterion::{criterion_group, criterion_main, Criterion};
use picotag::format::ModelFile;
use picotag::{OpenOptions, TagOptions, Tagger, Tagging};

fn memory(c: &mut Criterion) {
    let (path, which) = common::model_path();
    eprintln!("memory bench on {which}");
    let texts = common::dev_utterances();
    // Measured once, before criterion runs anything else in this process.
    let before = common::status_kb("VmRSS");
    let tagger = Tagger::open(&path).expect("open the model");
    let after_open = common::status_kb("VmRSS");
    let (opts, mut out) = (TagOptions::default(), Tagging::default());
    tagger
        .tag_utterance_into(&texts[0], &opts, &mut out)
        .unwrap();
    let after_first = common::status_kb("VmRSS");
    for t in texts.iter().cycle().take(1000) {
        tagger.tag_utterance_into(t, &opts, &mut out).unwrap();
    }
    let after_1000 = common::status_kb("VmRSS");
    eprintln!(
        "memory: model_bytes={} rss_before_open_kb={before} rss_after_open_kb={after_open} \
         rss_after_first_kb={after_first} rss_after_1000_kb={after_1000} \
         (growth over the process before open: {} / {} / {} kB) peak_kb={}",
        common::file_bytes(&path),
        after_open.saturating_sub(before),
        after_first.saturating_sub(before),
        after_1000.saturating_sub(before),
        common::status_kb("VmHWM"),
    );
    drop(tagger);
    c.bench_function("open", |b| b.iter(|| Tagger::open(&path).unwrap()));
    // Where open's time goes: without the head checksum, and the tokenizer
    // alone; and what the full check (every byte, `Tagger::verify`) costs.
    c.bench_function("open_unverified", |b| {
        b.iter(|| Tagger::open_with(&path, OpenOptions::UNCHECKED).unwrap())
    });
    c.bench_function("open_full_checksum", |b| {
        b.iter(|| Tagger::open_with(&path, OpenOptions::FULL).unwrap())
    });
    let file = ModelFile::open(&path, OpenOptions::UNCHECKED).expect("open the model");
    c.bench_function("tokenizer", |b| b.iter(|| file.tokenizer().unwrap()));
}

criterion_group!(benches, memory);
criterion_main!(benches);
