//! picotag's side of `scripts/bench-ort.sh` (picotag against ONNX Runtime on
//! the same network and the same token ids).
//!
//! ```sh
//! # a random int8 model of MiniLM-L6's shape (6 × 384) with the real tokenizer
//! cargo run --release --example ort_baseline -- minilm --out minilm.ptag
//! # dev utterances of 5, 12 and 25 words, their token ids, the outputs to ask ORT for
//! cargo run --release --example ort_baseline -- ids --model M.ptag --out utts.json
//! # the median per-utterance latency of the whole pipeline on one length
//! cargo run --release --example ort_baseline -- time --model M.ptag --utts utts.json \
//!     --words 12 --warmup 3 --reps 20
//! ```
//! `time` prints one JSON object: `{"words", "utterances", "median_us"}`, the
//! median over every (utterance, repetition) call of `tag_utterance_into`
//! (tokenize → encoder → heads → decode, default options with punctuation
//! for every task: one view, one encoder pass), after `--warmup`
//! untimed passes over the same utterances.

use picotag_bench as common;

use std::path::PathBuf;
use std::time::Instant;

use picotag::format::{HeadRole, ModelMeta};
use picotag::{PunctuationWords, TagOptions, Tagger, Tagging};
use serde_json::{json, Value};

/// Utterance lengths (in words) of the comparison.
const WORDS: [usize; 3] = [5, 12, 25];

#[derive(Default)]
struct Args {
    cmd: String,
    model: PathBuf,
    out: Option<PathBuf>,
    utts: Option<PathBuf>,
    words: usize,
    per_length: usize,
    warmup: usize,
    reps: usize,
}

fn args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        cmd: it.next().ok_or("usage: ort_baseline minilm|ids|time ...")?,
        model: PathBuf::from("models/default.ptag"),
        per_length: 20,
        warmup: 3,
        reps: 20,
        ..Args::default()
    };
    let num = |v: Option<String>, what: &str| -> Result<usize, String> {
        v.and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{what} needs a number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--model" => a.model = it.next().ok_or("--model needs a path")?.into(),
            "--out" => a.out = Some(it.next().ok_or("--out needs a path")?.into()),
            "--utts" => a.utts = Some(it.next().ok_or("--utts needs a path")?.into()),
            "--words" => a.words = num(it.next(), "--words")?,
            "--per-length" => a.per_length = num(it.next(), "--per-length")?,
            "--warmup" => a.warmup = num(it.next(), "--warmup")?,
            "--reps" => a.reps = num(it.next(), "--reps")?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

/// The ONNX outputs the runtime uses by default: slot, intent and has-slot heads.
fn used_outputs(meta: &ModelMeta) -> Vec<String> {
    meta.heads
        .iter()
        .filter(|h| h.role != HeadRole::Aux)
        .map(|h| format!("logits.{}", h.name))
        .collect()
}

fn ids(a: &Args, tagger: &Tagger) -> Result<(), String> {
    let out = a.out.as_ref().ok_or("ids needs --out")?;
    let dev = common::dev_utterances();
    let mut lengths = serde_json::Map::new();
    for w in WORDS {
        let picked: Vec<Value> = dev
            .iter()
            .filter(|t| t.split_whitespace().count() == w)
            .take(a.per_length.max(1))
            .map(|t| json!({"text": t, "ids": common::tract_ids(tagger, t)}))
            .collect();
        if picked.is_empty() {
            return Err(format!("no dev utterance of {w} words"));
        }
        lengths.insert(w.to_string(), Value::Array(picked));
    }
    let doc = json!({
        "outputs": used_outputs(tagger.meta()),
        "lengths": lengths,
    });
    std::fs::write(out, doc.to_string()).map_err(|e| format!("{}: {e}", out.display()))
}

fn time(a: &Args, tagger: &Tagger) -> Result<(), String> {
    let path = a.utts.as_ref().ok_or("time needs --utts")?;
    let doc: Value = std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let texts: Vec<&str> = doc["lengths"][a.words.to_string()]
        .as_array()
        .ok_or_else(|| format!("no utterances of {} words in the file", a.words))?
        .iter()
        .filter_map(|u| u["text"].as_str())
        .collect();
    if texts.is_empty() {
        return Err("no utterance to time".into());
    }
    // The default options but one view of the input for every task: the
    // token ids ORT gets, one encoder pass as ORT runs (by task, an utterance
    // with punctuation may run two; README "Speed").
    let opts = TagOptions {
        punctuation_words: PunctuationWords::Keep,
        ..TagOptions::default()
    };
    let mut out = Tagging::default();
    let mut tag = |t: &str| {
        tagger
            .tag_utterance_into(t, &opts, &mut out)
            .map_err(|e| e.to_string())
    };
    for _ in 0..a.warmup {
        for t in &texts {
            tag(t)?;
        }
    }
    let mut us = Vec::with_capacity(texts.len() * a.reps.max(1));
    for _ in 0..a.reps.max(1) {
        for t in &texts {
            let t0 = Instant::now();
            tag(t)?;
            us.push(t0.elapsed().as_secs_f64() * 1e6);
        }
    }
    us.sort_by(f64::total_cmp);
    println!(
        "{}",
        json!({"words": a.words, "utterances": texts.len(), "median_us": us[us.len() / 2],
               "backend": format!("{:?}", tagger.backend())})
    );
    Ok(())
}

fn run() -> Result<(), String> {
    let a = args()?;
    if a.cmd == "minilm" {
        let out = a.out.as_ref().ok_or("minilm needs --out")?;
        let which = common::write_random_minilm(out);
        eprintln!("wrote {} with {which}", out.display());
        return Ok(());
    }
    let tagger = Tagger::open(&a.model).map_err(|e| format!("{}: {e}", a.model.display()))?;
    match a.cmd.as_str() {
        "ids" => ids(&a, &tagger),
        "time" => time(&a, &tagger),
        other => Err(format!("unknown command {other:?} (ids or time)")),
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("ort_baseline: {e}");
        std::process::exit(1);
    }
}
