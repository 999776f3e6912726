//! Smoke training, resume equivalence and the `eval` command contract, on a tiny random model.

mod common;

use std::path::{Path, PathBuf};

use candle_core::Device;
use picotag_quantize::data::encode::Tok;
use picotag_quantize::model::Model;
use picotag_quantize::recipe::Recipe;
use picotag_quantize::train::batch::{Batch, Example};
use picotag_quantize::train::epochs::RunControl;
use picotag_quantize::train::start::train;
use picotag_quantize::train::step::{self, BatchInput};
use picotag_quantize::train::tasks::load_tasks;

fn ctl(out: PathBuf, resume: bool, max_steps: Option<u64>) -> RunControl {
    RunControl {
        out,
        resume,
        save_every: 2,
        max_steps,
        log_every: 3600,
        dev_limit: None,
    }
}

fn tensors(dir: &Path) -> Vec<(String, Vec<f32>)> {
    let mut v: Vec<(String, Vec<f32>)> = candle_core::safetensors::load(dir, &Device::Cpu)
        .unwrap()
        .into_iter()
        .map(|(k, t)| {
            let t = if t.dtype() == candle_core::DType::F32 {
                t
            } else {
                t.to_dtype(candle_core::DType::F32).unwrap()
            };
            (k, t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn mean_loss(model: &Model, r: &Recipe) -> f32 {
    let tok = Tok::from_json(&model.meta.tokenizer).unwrap();
    let tasks = load_tasks(r, &tok, None).unwrap();
    let mut s = 0.0;
    for t in &tasks {
        let ex: Vec<&Example> = t.train.iter().collect();
        let b = Batch::new(&ex, &Device::Cpu).unwrap();
        let th = model.task(&t.spec.name).unwrap().clone();
        s += step::batch_loss(model, &BatchInput::new(&b, &th), 1.0, &mut None)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
    }
    s
}

#[test]
fn smoke_run_lowers_the_loss_and_keeps_the_best() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = common::tiny_recipe(tmp.path());
    r.epochs = 12;
    let out = tmp.path().join("run");
    // Loss of the initial model (the same seed builds the same heads).
    train(&r, &ctl(out.clone(), false, Some(0))).unwrap();
    let before = mean_loss(
        &Model::load(&out.join("last"), true, &Device::Cpu).unwrap(),
        &r,
    );
    let s = train(&r, &ctl(out.clone(), true, None)).unwrap();
    let after = mean_loss(
        &Model::load(&out.join("last"), true, &Device::Cpu).unwrap(),
        &r,
    );
    assert!(after < 0.6 * before, "loss {before} -> {after}");
    assert_eq!(s.epoch, 12);
    let log = std::fs::read_to_string(out.join("dev.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 12);
    let meta = picotag_quantize::model::read_meta(&out.join("best")).unwrap();
    assert_eq!(meta.scores["split"], "dev");
    assert!(meta.provenance.contains_key("recipe"));
    // The eval command contract, through the binary.
    let bin = env!("CARGO_BIN_EXE_picotag-quantize");
    let o = std::process::Command::new(bin)
        .args(["eval", "--checkpoint"])
        .arg(out.join("best"))
        .args(["--task", "slu", "--data"])
        .arg(tmp.path().join("slu/valid"))
        .arg("--json")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["task"], "slu");
    assert_eq!(v["sentences"], 6);
    for k in ["precision", "recall", "f1", "intent_accuracy"] {
        let x = v[k].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&x), "{k} = {x}");
    }
    assert!(v["per_type"].is_object());
    let o = std::process::Command::new(bin)
        .args(["eval", "--checkpoint"])
        .arg(out.join("best"))
        .args(["--task", "bio", "--json", "--data"])
        .arg(tmp.path().join("bio/devel.tsv"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["intent_accuracy"].is_null());
}

#[test]
fn resume_gives_the_same_result_as_a_straight_run() {
    let tmp = tempfile::tempdir().unwrap();
    let r = common::tiny_recipe(tmp.path());
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    train(&r, &ctl(a.clone(), false, Some(7))).unwrap();
    // "killed" after 3 steps (the checkpoint at step 2 is overwritten at the stop), then resumed.
    train(&r, &ctl(b.clone(), false, Some(3))).unwrap();
    assert!(
        train(&r, &ctl(b.clone(), false, Some(7))).is_err(),
        "an existing run needs --resume"
    );
    let s = train(&r, &ctl(b.clone(), true, Some(7))).unwrap();
    assert_eq!(s.step, 7);
    for f in ["model.safetensors", "optimizer.safetensors"] {
        let (ta, tb) = (
            tensors(&a.join("last").join(f)),
            tensors(&b.join("last").join(f)),
        );
        assert_eq!(ta.len(), tb.len());
        for ((na, va), (nb, vb)) in ta.iter().zip(&tb) {
            assert_eq!(na, nb);
            assert!(va == vb, "{f}: {na} differs after resume");
        }
    }
    // A different recipe refuses to resume.
    let mut r2 = r.clone();
    r2.lr = 1.0;
    assert!(train(&r2, &ctl(b, true, Some(9))).is_err());
}

#[test]
fn eval_contract_on_a_ptag_model() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("tiny.ptag");
    std::fs::write(
        &model,
        picotag::testing::RandomModel::tiny(3).to_bytes().unwrap(),
    )
    .unwrap();
    let d = tmp.path().join("voice");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("seq.in"),
        "book a flight to paris\nweather in paris now\n",
    )
    .unwrap();
    std::fs::write(d.join("seq.out"), "O O O O B-city\nO O B-city B-time\n").unwrap();
    std::fs::write(d.join("label"), "book_flight\nget_weather\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_picotag-quantize");
    let o = std::process::Command::new(bin)
        .args(["eval", "--model"])
        .arg(&model)
        .args(["--task", "voice", "--json", "--data"])
        .arg(&d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["task"].as_str(), v["sentences"].as_u64()),
        (Some("voice"), Some(2))
    );
    for k in ["precision", "recall", "f1", "intent_accuracy"] {
        let x = v[k].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&x), "{k} = {x}");
    }
    let o = std::process::Command::new(bin)
        .args(["eval", "--model"])
        .arg(&model)
        .args(["--task", "nope", "--data"])
        .arg(&d)
        .output()
        .unwrap();
    assert!(!o.status.success());
}

/// With domains, the sentences of a task train the has-slot heads of the tasks
/// of *other* domains towards "no" (what the runtime's gate reads); tasks of
/// one domain, or without domains, give each other nothing.
#[test]
fn gate_negatives_train_other_domains_has_slot_heads() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = common::tiny_recipe(tmp.path());
    let out = tmp.path().join("run");
    train(&r, &ctl(out.clone(), false, Some(0))).unwrap();
    let model = Model::load(&out.join("last"), true, &Device::Cpu).unwrap();
    assert!(step::gate_negatives(&r.tasks, &model).is_empty());
    r.tasks[0].domain = Some("voice".into());
    r.tasks[1].domain = Some("voice".into());
    let same = step::gate_negatives(&r.tasks, &model);
    assert!(same.len() == 2 && same.values().all(Vec::is_empty));
    r.tasks[1].domain = Some("health".into());
    let neg = step::gate_negatives(&r.tasks, &model);
    let (slu, bio) = (model.task("slu").unwrap(), model.task("bio").unwrap());
    assert_eq!(neg["slu"], vec![bio.has_slot.unwrap()]);
    assert_eq!(neg["bio"], vec![slu.has_slot.unwrap()]);

    let tok = Tok::from_json(&model.meta.tokenizer).unwrap();
    let tasks = load_tasks(&r, &tok, None).unwrap();
    let ex: Vec<&Example> = tasks[0].train.iter().collect();
    let b = Batch::new(&ex, &Device::Cpu).unwrap();
    let th = slu.clone();
    let bio_bcls = model.params.trainable["heads.bio.bcls.weight"].as_tensor();
    let aux = 0.5;
    let plain = step::batch_loss(&model, &BatchInput::new(&b, &th), aux, &mut None).unwrap();
    assert!(plain.backward().unwrap().get(bio_bcls).is_none());
    let with = step::batch_loss(
        &model,
        &BatchInput {
            negatives: &neg["slu"],
            ..BatchInput::new(&b, &th)
        },
        aux,
        &mut None,
    )
    .unwrap();
    let g = with.backward().unwrap();
    let norm = g.get(bio_bcls).expect("a gradient for bio.bcls");
    assert!(
        norm.sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
            > 0.0
    );
    // The added term is aux_weight · mean CE("no") of bio.bcls, by hand:
    // −log softmax(logits)[0] over the CLS rows of the batch.
    let hidden = model.bert.forward(&b.ids, &b.mask, &mut None).unwrap();
    let logits = model.heads[bio.has_slot.unwrap()]
        .sentence_logits(&hidden, &b.mask, b.b, b.t)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let ce: f32 = logits
        .iter()
        .map(|l| {
            let m = l.iter().copied().fold(f32::MIN, f32::max);
            let lse = m + l.iter().map(|x| (x - m).exp()).sum::<f32>().ln();
            lse - l[0]
        })
        .sum::<f32>()
        / logits.len() as f32;
    let diff = with.to_scalar::<f32>().unwrap() - plain.to_scalar::<f32>().unwrap();
    assert!(
        (diff - aux as f32 * ce).abs() < 1e-5,
        "{diff} vs {}",
        aux as f32 * ce
    );
}
