//! picotag against tract on the ONNX export of the same model, over dev
//! utterances of ../shared/data: per-utterance latency (one thread), memory
//! after the first utterance, model size.
//!
//! ```sh
//! cargo run --release -p picotag-bench --example compare -- --model models/default.ptag --json
//! ```
//! Options: `--model PATH` (default `models/default.ptag`), `--json` (one
//! JSON object instead of text), `--limit N` (utterances, default 500).
//! picotag is timed on the whole pipeline (tokenize, encode, heads,
//! decode); tract on picotag's tokenizer plus the f32 graph.

use picotag_bench as common;

use std::path::PathBuf;
use std::time::Instant;

use picotag::{TagOptions, Tagger, Tagging};

struct Args {
    model: PathBuf,
    json: bool,
    limit: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        model: PathBuf::from("models/default.ptag"),
        json: false,
        limit: 500,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--model" => a.model = it.next().ok_or("--model needs a path")?.into(),
            "--json" => a.json = true,
            "--limit" => {
                a.limit = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--limit needs a number")?
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

/// The `p`-th percentile (0..=100) of sorted `v`.
fn percentile(v: &[f64], p: f64) -> f64 {
    let i = ((v.len() - 1) as f64 * p / 100.0).round() as usize;
    v[i]
}

fn run() -> Result<(), String> {
    let a = args()?;
    let model_bytes = common::file_bytes(&a.model);
    let tagger = Tagger::open(&a.model).map_err(|e| e.to_string())?;
    // Utterances that fit in one window of the model, so that both sides run
    // the network once per utterance (picotag would window longer ones).
    let max = tagger.meta().architecture.max_positions;
    let all: Vec<String> = common::dev_utterances()
        .into_iter()
        .filter(|t| common::tract_ids(&tagger, t).len() <= max)
        .collect();
    let step = all.len().div_ceil(a.limit.max(1)).max(1);
    let texts: Vec<&String> = all.iter().step_by(step).take(a.limit.max(1)).collect();
    if texts.is_empty() {
        return Err("no dev utterance fits the model's positions".into());
    }
    let (opts, mut out) = (TagOptions::default(), Tagging::default());
    tagger
        .tag_utterance_into(texts[0], &opts, &mut out)
        .map_err(|e| e.to_string())?;
    let rss_after_first_kb = common::status_kb("VmRSS");

    // Warm-up pass, then one timed pass.
    for t in &texts {
        tagger
            .tag_utterance_into(t, &opts, &mut out)
            .map_err(|e| e.to_string())?;
    }
    let mut ours = Vec::with_capacity(texts.len());
    for t in &texts {
        let t0 = Instant::now();
        tagger
            .tag_utterance_into(t, &opts, &mut out)
            .map_err(|e| e.to_string())?;
        ours.push(t0.elapsed().as_secs_f64() * 1e6);
    }

    let file = picotag::format::ModelFile::open(&a.model, picotag::OpenOptions::default())
        .map_err(|e| e.to_string())?;
    let onnx = picotag_onnx::export_bytes(&file).map_err(|e| e.to_string())?;
    let plan = picotag_onnx::check::load_tract(&onnx).map_err(|e| e.to_string())?;
    let run_tract = |t: &str| -> Result<f64, String> {
        let t0 = Instant::now();
        let ids = common::tract_ids(&tagger, t);
        picotag_onnx::check::run_tract(&plan, &[ids]).map_err(|e| e.to_string())?;
        Ok(t0.elapsed().as_secs_f64() * 1e6)
    };
    for t in texts.iter().take(20) {
        run_tract(t)?;
    }
    let mut tract = texts
        .iter()
        .map(|t| run_tract(t))
        .collect::<Result<Vec<f64>, String>>()?;

    ours.sort_by(f64::total_cmp);
    tract.sort_by(f64::total_cmp);
    let (p50, p99, t50) = (
        percentile(&ours, 50.0),
        percentile(&ours, 99.0),
        percentile(&tract, 50.0),
    );
    let result = serde_json::json!({
        "utterances": texts.len(),
        "picotag_p50_us": (p50 * 10.0).round() / 10.0,
        "picotag_p99_us": (p99 * 10.0).round() / 10.0,
        "tract_p50_us": (t50 * 10.0).round() / 10.0,
        "speedup_vs_tract": (t50 / p50 * 100.0).round() / 100.0,
        "rss_after_first_kb": rss_after_first_kb,
        "model_bytes": model_bytes,
    });
    if a.json {
        println!("{result}");
    } else {
        println!(
            "{} dev utterances, model {} ({model_bytes} bytes, backend {:?})\n\
             picotag p50 {p50:.1} µs, p99 {p99:.1} µs; tract f32 p50 {t50:.1} µs; speed-up {:.2}x\n\
             resident memory after the first utterance: {rss_after_first_kb} kB",
            texts.len(),
            a.model.display(),
            tagger.backend(),
            t50 / p50
        );
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("compare: {e}");
        std::process::exit(1);
    }
}
