//! The adaptation loop: batches of masked windows, AdamW, resumable
//! checkpoints, the held-out masked-token loss after each epoch, and a
//! pretrained folder per epoch.

use std::path::{Path, PathBuf};
use std::time::Duration;

use candle_core::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::corpus::{self, Corpus};
use super::mask::{mask_window, MaskRule, Masked};
use super::mlm::{add_head, mlm_loss, MlmBatch, MlmHead};
use super::AdaptArgs;
use crate::data::encode::Tok;
use crate::error::{read_text, Error, Result};
use crate::model::bert::Bert;
use crate::model::ops::Dropout;
use crate::model::params::{load_safetensors, read_hf_config, select_bert, Params};
use crate::model::{device, write_json};
use crate::train::epochs::log_line;
use crate::train::optim::{AdamW, AdamWConfig};
use crate::train::progress::Progress;
use crate::train::schedule::{epoch_batches, learning_rate, BatchPlan, Schedule};

/// Where a run is: saved in `last/state.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AdaptState {
    step: u64,
    epoch: usize,
    batch_in_epoch: usize,
    /// The settings that change the result; a resume must match them.
    settings: serde_json::Value,
}

fn settings(a: &AdaptArgs) -> serde_json::Value {
    serde_json::json!({
        "init": a.init, "text": a.text, "epochs": a.epochs, "lr": a.lr,
        "warmup": a.warmup, "batch_size": a.batch_size, "max_tokens": a.max_tokens,
        "max_len": a.max_len, "mask_rate": a.mask_rate,
        "train_word_embeddings": a.train_word_embeddings, "dropout": a.dropout, "seed": a.seed,
    })
}

fn check(a: &AdaptArgs) -> Result<()> {
    let bad = |m: &str| Err(Error::Spec(m.to_string()));
    if !(a.mask_rate > 0.0 && a.mask_rate <= 1.0) {
        return bad("--mask-rate must be in (0, 1]");
    }
    if a.epochs == 0 || a.batch_size == 0 || a.max_tokens == 0 {
        return bad("--epochs, --batch-size and --max-tokens must be at least 1");
    }
    if a.max_len < 3 {
        return bad("--max-len must be at least 3");
    }
    if !(0.0..1.0).contains(&a.dropout) {
        return bad("--dropout must be in [0, 1)");
    }
    Ok(())
}

/// Runs (or resumes) task-adaptive pre-training.
pub fn adapt(a: &AdaptArgs) -> Result<()> {
    check(a)?;
    let dev = device()?;
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    let tok = Tok::from_file(&a.init.join("tokenizer.json"))?;
    let arch = read_hf_config(&a.init.join("config.json"))?;
    let (mut train_paths, mut dev_paths) = (Vec::new(), Vec::new());
    for p in &a.text {
        let (t, d) = corpus::splits(p)?;
        train_paths.push(t);
        dev_paths.extend(d);
    }
    let text = corpus::load(&train_paths, &tok, a.max_len, 0)?;
    let held = corpus::load(&dev_paths, &tok, a.max_len, a.dev_limit)?;
    if text.windows.is_empty() {
        return Err(Error::Spec("adapt: the --text splits hold no words".into()));
    }
    eprintln!(
        "text: {} sentences, {} windows, {} sub-tokens; held out: {} sentences",
        text.sentences,
        text.windows.len(),
        text.tokens(),
        held.sentences
    );
    let pool = text.pool();
    let rule = MaskRule {
        rate: a.mask_rate,
        mask_id: tok.token_id("[MASK]")?,
        pool: &pool,
    };
    let last = a.out.join("last");
    let (tensors, mut state, mut opt) = if a.resume && last.join("state.json").is_file() {
        let st: AdaptState = read_json(&last.join("state.json"))?;
        if st.settings != settings(a) {
            return Err(Error::Spec(format!(
                "{}: saved with other settings ({}); use another --out or the same arguments",
                last.display(),
                st.settings
            )));
        }
        eprintln!("resuming at step {} (epoch {})", st.step, st.epoch + 1);
        let t = load_safetensors(&last.join("model.safetensors"), &dev)?;
        let o = AdamW::load(
            AdamWConfig::default(),
            &last.join("optim.safetensors"),
            &dev,
        )?;
        (t, st, o)
    } else {
        let all = load_safetensors(&a.init.join("model.safetensors"), &dev)?;
        let mut t = select_bert(&arch, &all)?;
        // An adapted folder carries its head: keep training it.
        t.extend(
            all.into_iter()
                .filter(|(n, _)| super::mlm::is_head_tensor(n)),
        );
        let mut rng = ChaCha8Rng::seed_from_u64(a.seed ^ 0x6d6c_6d68);
        add_head(&arch, &mut t, &mut rng, &dev)?;
        let st = AdaptState {
            settings: settings(a),
            ..Default::default()
        };
        (t, st, AdamW::new(AdamWConfig::default()))
    };
    let params = Params::new(tensors, |n| {
        !a.train_word_embeddings && n == crate::model::params::WORD_EMBEDDINGS
    })?;
    let bert = Bert::new(&params, &arch)?;
    let head = MlmHead::new(&params, &arch)?;
    let lens = vec![text.windows.iter().map(|w| w.ids.len()).collect::<Vec<_>>()];
    let plan = |epoch: usize| {
        epoch_batches(
            &lens,
            a.batch_size,
            a.max_tokens,
            a.seed,
            epoch,
            Schedule::Mixed,
        )
    };
    let total: u64 = (0..a.epochs).map(|e| plan(e).len() as u64).sum();
    let warmup = (total as f64 * a.warmup).round() as u64;
    eprintln!("{total} steps in {} epochs, warm-up {warmup}", a.epochs);
    let mut prog = Progress::new(total, state.step, Duration::from_secs(a.log_every));
    let save = |st: &AdaptState, opt: &AdamW| save_last(&last, st, &params, opt, &dev);
    while state.epoch < a.epochs {
        let batches = plan(state.epoch);
        while state.batch_in_epoch < batches.len() {
            if a.max_steps.is_some_and(|m| state.step >= m) {
                prog.newline();
                save(&state, &opt)?;
                eprintln!("stopped at step {} (--max-steps)", state.step);
                return Ok(());
            }
            let mut rng =
                ChaCha8Rng::seed_from_u64(a.seed ^ state.step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let items = masked(&text, &batches[state.batch_in_epoch], rule, &mut rng);
            let batch = MlmBatch::new(&items, &dev)?;
            let mut drop = (a.dropout > 0.0).then(|| Dropout::new(a.dropout, rng.clone()));
            let (loss, _) = mlm_loss(&bert, &head, &batch, &mut drop)?;
            let v = loss.to_scalar::<f32>()? as f64;
            if !v.is_finite() {
                return Err(Error::Model(format!("loss is {v} at step {}", state.step)));
            }
            let grads = loss.backward()?;
            let lr = learning_rate(a.lr, state.step, warmup, total);
            opt.step(&params.trainable, &grads, lr)?;
            state.step += 1;
            state.batch_in_epoch += 1;
            prog.step(state.step, state.epoch, v, batch.tokens, lr);
            if a.save_every > 0 && state.step.is_multiple_of(a.save_every) {
                save(&state, &opt)?;
            }
        }
        prog.newline();
        let (loss, acc) = held_out(&bert, &head, &held, rule, a, &dev)?;
        state.epoch += 1;
        state.batch_in_epoch = 0;
        let line = serde_json::json!({
            "epoch": state.epoch, "step": state.step,
            "held_out_loss": loss, "held_out_accuracy": acc,
            "train_tokens_per_s": prog.tokens_per_s(),
        });
        eprintln!("after epoch {}: {line}", state.epoch);
        log_line(&a.out, "adapt.jsonl", &line)?;
        let folder = a.out.join(format!("epoch-{}", state.epoch));
        save_pretrained(&folder, &params, &a.init, a)?;
        eprintln!("encoder saved in {} (use it as --init)", folder.display());
        save(&state, &opt)?;
    }
    Ok(())
}

/// The windows of one batch, masked.
fn masked(text: &Corpus, b: &BatchPlan, rule: MaskRule<'_>, rng: &mut ChaCha8Rng) -> Vec<Masked> {
    b.items
        .iter()
        .map(|&i| {
            let w = &text.windows[i];
            mask_window(&w.ids, &w.first_pos, rule, rng)
        })
        .collect()
}

/// Mean masked-token loss and top-1 accuracy on the held-out windows, with
/// the same masks every epoch (fixed seed), no dropout. `None` without text.
fn held_out(
    bert: &Bert,
    head: &MlmHead,
    held: &Corpus,
    rule: MaskRule<'_>,
    a: &AdaptArgs,
    dev: &Device,
) -> Result<(Option<f64>, Option<f64>)> {
    if held.windows.is_empty() {
        return Ok((None, None));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed ^ 0x6865_6c64);
    let (mut sum, mut right, mut n) = (0f64, 0usize, 0usize);
    for chunk in held.windows.chunks(a.batch_size) {
        let items: Vec<Masked> = chunk
            .iter()
            .map(|w| mask_window(&w.ids, &w.first_pos, rule, &mut rng))
            .collect();
        let batch = MlmBatch::new(&items, dev)?;
        let (loss, r) = mlm_loss(bert, head, &batch, &mut None)?;
        sum += loss.to_scalar::<f32>()? as f64 * batch.n_targets as f64;
        right += r;
        n += batch.n_targets;
    }
    let n = n.max(1) as f64;
    Ok((Some(sum / n), Some(right as f64 / n)))
}

fn save_last(
    dir: &Path,
    st: &AdaptState,
    params: &Params,
    opt: &AdamW,
    dev: &Device,
) -> Result<()> {
    // Write beside, then swap: a kill mid-save leaves the previous state.
    let tmp = dir.with_extension("tmp");
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    params.save(&tmp.join("model.safetensors"))?;
    opt.save(&tmp.join("optim.safetensors"), dev)?;
    write_json(&tmp.join("state.json"), st)?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| Error::io(dir, e))
}

/// Writes a pretrained folder: the tensors (encoder and head), the init's
/// `config.json` and `tokenizer.json`, and `adapted.json` (how it was made).
fn save_pretrained(dir: &Path, params: &Params, init: &Path, a: &AdaptArgs) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    params.save(&dir.join("model.safetensors"))?;
    for f in ["config.json", "tokenizer.json", "vocab.txt", "LICENSE"] {
        let src = init.join(f);
        if src.is_file() {
            std::fs::copy(&src, dir.join(f)).map_err(|e| Error::io(&src, e))?;
        }
    }
    write_json(
        &dir.join("adapted.json"),
        &serde_json::json!({
            "tool": format!("picotag-quantize {}", env!("CARGO_PKG_VERSION")),
            "adapt": settings(a),
        }),
    )
}

fn read_json<T: serde::de::DeserializeOwned>(path: &PathBuf) -> Result<T> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| Error::json(path, e))
}
