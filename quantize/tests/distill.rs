//! Distillation on a tiny random teacher: the loss terms, the student's
//! initialisation, the eigen-decomposition, resume and gradients.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use picotag::format::Architecture;
use picotag_quantize::data::encode::Tok;
use picotag_quantize::distill::args::parse_task_teachers;
use picotag_quantize::distill::eigen::{jacobi_eigen, low_rank};
use picotag_quantize::distill::loss::{kd_kl, Distiller};
use picotag_quantize::distill::{distill, hidden_map, init_student, student_heads, Teachers};
use picotag_quantize::model::Model;
use picotag_quantize::recipe::DistillRecipe;
use picotag_quantize::recipe::KdWeights;
use picotag_quantize::recipe::StudentInit;
use picotag_quantize::recipe::{InitFrom, Recipe};
use picotag_quantize::train::batch::{Batch, Example};
use picotag_quantize::train::epochs::RunControl;
use picotag_quantize::train::start::train;
use picotag_quantize::train::step::{batch_loss, BatchInput};
use picotag_quantize::train::tasks::{load_tasks, TaskData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn arch(vocab: usize, hidden: usize, layers: usize, rank: Option<usize>) -> Architecture {
    Architecture {
        vocab_size: vocab,
        hidden,
        layers,
        heads: 4,
        intermediate: 2 * hidden,
        max_positions: 64,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        embedding_rank: rank,
    }
}

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

/// A 3-layer teacher (hidden 32) trained for a few steps on two tiny tasks;
/// returns its checkpoint folder and the tasks' recipe.
fn teacher(tmp: &Path) -> (PathBuf, Recipe) {
    // The shared tiny recipe, on a 3-layer encoder with trainable word embeddings.
    let mut r = common::tiny_recipe(tmp);
    let tk = tmp.join("tokenizer.json");
    let vocab = Tok::from_file(&tk).unwrap().vocab_size();
    r.init = InitFrom::Random(arch(vocab, 32, 3, None), tk);
    r.freeze_word_embeddings = false;
    let out = tmp.join("teacher");
    train(&r, &ctl(out.clone(), false, Some(6))).unwrap();
    (out.join("last"), r)
}

fn recipe(
    t: &Path,
    base: &Recipe,
    student: Architecture,
    layers: Option<Vec<usize>>,
) -> DistillRecipe {
    let mut base = base.clone();
    base.epochs = 10;
    DistillRecipe {
        teacher: t.to_path_buf(),
        init: StudentInit {
            layers,
            project_embeddings: true,
            seed: 9,
        },
        base: Recipe {
            init: InitFrom::Random(student.clone(), t.join("meta.json")),
            ..base
        },
        student,
        weights: KdWeights {
            temperature: 2.0,
            alpha_kd: 0.5,
            alpha_gold: 0.5,
            hidden_mse: 0.0,
        },
        task_teachers: BTreeMap::new(),
    }
}

fn student(dr: &DistillRecipe, teacher: &Model) -> (Model, Vec<TaskData>) {
    let tok = Tok::from_json(&teacher.meta.tokenizer).unwrap();
    let tasks = load_tasks(&dr.base, &tok, None).unwrap();
    let heads = student_heads(teacher, &BTreeMap::new(), &tasks).unwrap();
    let m = init_student(dr, teacher, heads, "student", &Device::Cpu).unwrap();
    (m, tasks)
}

/// The distiller of `dr` with teacher `t`.
fn distiller<'a>(dr: &DistillRecipe, t: &'a Model) -> Distiller<'a> {
    Distiller {
        teacher: t,
        weights: dr.weights,
        aux_weight: dr.base.aux_weight,
        hidden: hidden_map(dr, t).unwrap(),
    }
}

/// The distillation loss of every task's whole training set, summed.
fn total_loss(dr: &DistillRecipe, teacher: &Model, s: &Model, tasks: &[TaskData]) -> f32 {
    let d = distiller(dr, teacher);
    let mut sum = 0.0;
    for t in tasks {
        let ex: Vec<&Example> = t.train.iter().collect();
        let b = Batch::new(&ex, &Device::Cpu).unwrap();
        let th = s.task(&t.spec.name).unwrap().clone();
        let tth = teacher.task(&t.spec.name).unwrap().clone();
        sum += d
            .batch_loss(s, &BatchInput::new(&b, &th), &tth, &mut None)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
    }
    sum
}

fn tensors(path: &Path) -> Vec<(String, Vec<f32>)> {
    let mut v: Vec<(String, Vec<f32>)> = candle_core::safetensors::load(path, &Device::Cpu)
        .unwrap()
        .into_iter()
        .map(|(k, t)| {
            let t = t.to_dtype(candle_core::DType::F32).unwrap();
            (k, t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn kl_is_zero_when_the_student_is_the_teacher() {
    let tmp = tempfile::tempdir().unwrap();
    let (t, base) = teacher(tmp.path());
    let tm = Model::load_frozen(&t, &Device::Cpu).unwrap();
    let a = tm.meta.architecture.clone();
    let mut dr = recipe(&t, &base, a, Some(vec![0, 1, 2]));
    dr.weights.alpha_gold = 0.0;
    dr.weights.alpha_kd = 1.0;
    dr.weights.hidden_mse = 1.0;
    let (s, tasks) = student(&dr, &tm);
    for temperature in [0.5, 1.0, 4.0] {
        dr.weights.temperature = temperature;
        let l = total_loss(&dr, &tm, &s, &tasks);
        assert!(l.abs() < 1e-5, "T = {temperature}: loss {l}");
    }
    // With the gold term on, the same student has a positive loss.
    dr.weights.alpha_gold = 1.0;
    assert!(total_loss(&dr, &tm, &s, &tasks) > 0.1);
}

#[test]
fn kl_matches_a_hand_computed_value() {
    let dev = Device::Cpu;
    // Teacher logits [ln 3, 0], student [0, 0]: at T = 1, p = (3/4, 1/4), q = (1/2, 1/2).
    let t = Tensor::new(&[[3f32.ln(), 0.0], [0.0, 0.0]], &dev).unwrap();
    let s = Tensor::new(&[[0f32, 0.0], [0.0, 0.0]], &dev).unwrap();
    let row0 = 0.75 * (0.75f64 / 0.5).ln() + 0.25 * (0.25f64 / 0.5).ln();
    let got = kd_kl(&s, &t, 1.0).unwrap().to_scalar::<f32>().unwrap() as f64;
    assert!((got - row0 / 2.0).abs() < 1e-6, "{got} vs {}", row0 / 2.0);
    // At T = 2 the teacher is p = (√3, 1)/(√3 + 1), and the result is scaled by T² = 4.
    let r3 = 3f64.sqrt();
    let (p0, p1) = (r3 / (r3 + 1.0), 1.0 / (r3 + 1.0));
    let row0 = p0 * (p0 / 0.5).ln() + p1 * (p1 / 0.5).ln();
    let got = kd_kl(&s, &t, 2.0).unwrap().to_scalar::<f32>().unwrap() as f64;
    assert!((got - 4.0 * row0 / 2.0).abs() < 1e-6, "{got}");
}

#[test]
fn layer_subset_init_copies_the_right_tensors() {
    let tmp = tempfile::tempdir().unwrap();
    let (t, base) = teacher(tmp.path());
    let tm = Model::load_frozen(&t, &Device::Cpu).unwrap();
    let a = Architecture {
        layers: 2,
        ..tm.meta.architecture.clone()
    };
    let dr = recipe(&t, &base, a, Some(vec![0, 2]));
    let (s, _) = student(&dr, &tm);
    let (sp, tp) = (s.params.all(), tm.params.all());
    let mut checked = 0;
    for (name, x) in &sp {
        let src = if let Some(rest) = name.strip_prefix("encoder.layer.1.") {
            format!("encoder.layer.2.{rest}")
        } else {
            name.clone()
        };
        assert_eq!(values(x), values(&tp[&src]), "{name} is not {src}");
        checked += 1;
    }
    // 5 embedding tensors, 16 per layer, 2 per head.
    assert_eq!(checked, 5 + 2 * 16 + 2 * s.meta.heads.len());
    assert!(!sp.contains_key("encoder.layer.2.output.dense.weight"));
    // Wrong layer lists are refused.
    let bad = recipe(&t, &base, s.meta.architecture.clone(), Some(vec![0, 3]));
    let tok = Tok::from_json(&tm.meta.tokenizer).unwrap();
    let tasks = load_tasks(&bad.base, &tok, None).unwrap();
    let heads = student_heads(&tm, &BTreeMap::new(), &tasks).unwrap();
    assert!(init_student(&bad, &tm, heads, "x", &Device::Cpu).is_err());
}

#[test]
fn jacobi_reconstructs_a_symmetric_matrix() {
    let n = 9;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut a = vec![0.0f64; n * n];
    for i in 0..n {
        for j in i..n {
            let x: f64 = rng.random::<f64>() * 2.0 - 1.0;
            a[i * n + j] = x;
            a[j * n + i] = x;
        }
    }
    let e = jacobi_eigen(&a, n).unwrap();
    assert!(e.values.windows(2).all(|w| w[0] >= w[1]), "{:?}", e.values);
    for i in 0..n {
        for j in 0..n {
            let rec: f64 = (0..n)
                .map(|k| e.vectors[i * n + k] * e.values[k] * e.vectors[j * n + k])
                .sum();
            assert!(
                (rec - a[i * n + j]).abs() < 1e-9,
                "({i},{j}) {rec} vs {}",
                a[i * n + j]
            );
            let dot: f64 = (0..n)
                .map(|k| e.vectors[k * n + i] * e.vectors[k * n + j])
                .sum();
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-9, "VᵀV ({i},{j}) = {dot}");
        }
    }
}

#[test]
fn rank_r_factorization_of_a_rank_r_matrix_is_exact() {
    let dev = Device::Cpu;
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut rand = |n: usize| {
        (0..n)
            .map(|_| rng.random::<f32>() - 0.5)
            .collect::<Vec<_>>()
    };
    let x = Tensor::from_vec(rand(40 * 3), (40, 3), &dev).unwrap();
    let y = Tensor::from_vec(rand(3 * 12), (3, 12), &dev).unwrap();
    let e = x.matmul(&y).unwrap();
    let lr = low_rank(&e, 3).unwrap();
    assert_eq!(lr.coeffs.dims(), [40, 3]);
    assert_eq!(lr.projection.dims(), [12, 3]);
    assert!((lr.energy - 1.0).abs() < 1e-9, "energy {}", lr.energy);
    let rec = lr.coeffs.matmul(&lr.projection.t().unwrap()).unwrap();
    let err = (rec - &e).unwrap().abs().unwrap().max_all().unwrap();
    assert!(err.to_scalar::<f32>().unwrap() < 1e-5);
    // A lower rank loses energy.
    assert!(low_rank(&e, 2).unwrap().energy < 0.999);
}

#[test]
fn resume_reproduces_and_the_loss_decreases() {
    let tmp = tempfile::tempdir().unwrap();
    let (t, base) = teacher(tmp.path());
    let tm = Model::load_frozen(&t, &Device::Cpu).unwrap();
    let a = Architecture {
        layers: 2,
        embedding_rank: Some(8),
        ..tm.meta.architecture.clone()
    };
    let mut dr = recipe(&t, &base, a, Some(vec![0, 2]));
    dr.weights.hidden_mse = 0.5;
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    distill(&dr, &ctl(a.clone(), false, Some(7)), None).unwrap();
    distill(&dr, &ctl(b.clone(), false, Some(3)), None).unwrap();
    assert!(distill(&dr, &ctl(b.clone(), false, Some(7)), None).is_err());
    let s = distill(&dr, &ctl(b.clone(), true, Some(7)), None).unwrap();
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
    let mut other = dr.clone();
    other.weights.temperature = 3.0;
    assert!(distill(&other, &ctl(b.clone(), true, Some(9)), None).is_err());
    // Finish the run: the loss goes down, dev.jsonl and best/ are written.
    let (init, tasks) = student(&dr, &tm);
    let before = total_loss(&dr, &tm, &init, &tasks);
    let s = distill(&dr, &ctl(b.clone(), true, None), None).unwrap();
    assert_eq!(s.epoch, 10);
    let done = Model::load(&b.join("last"), true, &Device::Cpu).unwrap();
    let after = total_loss(&dr, &tm, &done, &tasks);
    assert!(after < 0.85 * before, "loss {before} -> {after}");
    let log = std::fs::read_to_string(b.join("dev.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 10);
    let meta = picotag_quantize::model::read_meta(&b.join("best")).unwrap();
    assert_eq!(meta.architecture.embedding_rank, Some(8));
    let w = tensors(&b.join("best/model.safetensors"));
    let get = |n: &str| w.iter().find(|(k, _)| k == n).map(|(_, v)| v.len());
    assert_eq!(
        get("embeddings.word_embeddings.weight"),
        Some(meta.architecture.vocab_size * 8)
    );
    assert_eq!(get("embeddings.word_embeddings.projection"), Some(32 * 8));
}

#[test]
fn every_student_parameter_gets_a_gradient() {
    let tmp = tempfile::tempdir().unwrap();
    let (t, mut base) = teacher(tmp.path());
    base.tasks.truncate(1);
    base.freeze_word_embeddings = false;
    let tm = Model::load_frozen(&t, &Device::Cpu).unwrap();
    // A narrower student: PCA-projected embeddings, factorized, hidden states projected.
    let a = arch(tm.meta.architecture.vocab_size, 16, 2, Some(4));
    let mut dr = recipe(&t, &base, a, None);
    dr.weights.hidden_mse = 1.0;
    let (s, tasks) = student(&dr, &tm);
    let d = distiller(&dr, &tm);
    assert!(d.hidden.projection.is_some());
    let ex: Vec<&Example> = tasks[0].train.iter().collect();
    let b = Batch::new(&ex, &Device::Cpu).unwrap();
    let th = s.task("slu").unwrap().clone();
    let tth = tm.task("slu").unwrap().clone();
    let loss = d
        .batch_loss(&s, &BatchInput::new(&b, &th), &tth, &mut None)
        .unwrap();
    let grads = loss.backward().unwrap();
    assert!(!s.params.trainable.is_empty());
    assert!(s.params.frozen.is_empty());
    for (name, v) in &s.params.trainable {
        let g = grads
            .get(v.as_tensor())
            .unwrap_or_else(|| panic!("{name} has no gradient"));
        let m = g
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(m > 0.0, "{name}: zero gradient");
    }
}

#[test]
fn gold_only_distillation_is_the_students_own_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let (t, base) = teacher(tmp.path());
    let tm = Model::load_frozen(&t, &Device::Cpu).unwrap();
    let a = arch(tm.meta.architecture.vocab_size, 32, 2, Some(8));
    let mut dr = recipe(&t, &base, a, Some(vec![0, 2]));
    dr.weights.alpha_kd = 0.0;
    dr.weights.alpha_gold = 0.75;
    let (s, tasks) = student(&dr, &tm);
    let d = distiller(&dr, &tm);
    for td in &tasks {
        let ex: Vec<&Example> = td.train.iter().collect();
        let b = Batch::new(&ex, &Device::Cpu).unwrap();
        let th = s.task(&td.spec.name).unwrap().clone();
        let tth = tm.task(&td.spec.name).unwrap().clone();
        let x = BatchInput::new(&b, &th);
        let got = d.batch_loss(&s, &x, &tth, &mut None).unwrap();
        let own = batch_loss(&s, &x, dr.base.aux_weight, &mut None).unwrap();
        let (got, own) = (
            got.to_scalar::<f32>().unwrap(),
            own.to_scalar::<f32>().unwrap(),
        );
        assert!(own > 0.0);
        assert!(
            (got - 0.75 * own).abs() <= 1e-5 * own,
            "{got} vs 0.75 · {own}"
        );
        // With a KL term the teacher counts: the two differ.
        let kd = Distiller {
            weights: KdWeights {
                alpha_kd: 0.5,
                ..dr.weights
            },
            teacher: &tm,
            aux_weight: d.aux_weight,
            hidden: d.hidden.clone(),
        };
        let with_kd = kd.batch_loss(&s, &x, &tth, &mut None).unwrap();
        assert!((with_kd.to_scalar::<f32>().unwrap() - got).abs() > 1e-4);
    }
}

#[test]
fn a_task_teacher_teaches_its_task_and_only_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (t, base) = teacher(tmp.path());
    // A second teacher of the `bio` task alone (another seed, more steps).
    let mut rb = base.clone();
    rb.tasks.retain(|x| x.name == "bio");
    rb.seed = 5;
    let bio_run = tmp.path().join("bio-teacher");
    train(&rb, &ctl(bio_run.clone(), false, Some(8))).unwrap();
    let bt = bio_run.join("last");
    let tm = Model::load_frozen(&t, &Device::Cpu).unwrap();
    let a = arch(tm.meta.architecture.vocab_size, 32, 2, None);
    let mut dr = recipe(&t, &base, a, Some(vec![0, 2]));
    dr.task_teachers.insert("bio".into(), bt.clone());
    let teachers = Teachers::load(&dr, &Device::Cpu).unwrap();
    assert!(std::ptr::eq(teachers.of("slu"), &teachers.main));
    assert!(std::ptr::eq(teachers.of("bio"), &teachers.by_task["bio"]));
    // The student has every task's heads; its bio loss depends on the teacher.
    let tok = Tok::from_json(&tm.meta.tokenizer).unwrap();
    let tasks = load_tasks(&dr.base, &tok, None).unwrap();
    let heads = student_heads(&teachers.main, &teachers.by_task, &tasks).unwrap();
    let s = init_student(&dr, &teachers.main, heads, "s", &Device::Cpu).unwrap();
    let bio = tasks.iter().find(|x| x.spec.name == "bio").unwrap();
    let ex: Vec<&Example> = bio.train.iter().collect();
    let b = Batch::new(&ex, &Device::Cpu).unwrap();
    let th = s.task("bio").unwrap().clone();
    let loss = |teacher: &Model| {
        distiller(&dr, teacher)
            .batch_loss(
                &s,
                &BatchInput::new(&b, &th),
                &bio.heads(teacher).unwrap(),
                &mut None,
            )
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    };
    assert!((loss(teachers.of("bio")) - loss(&teachers.main)).abs() > 1e-4);
    // A run with it goes through, and its recipe names the task's teacher.
    let out = tmp.path().join("student");
    let mut short = dr.clone();
    short.base.epochs = 1;
    distill(&short, &ctl(out.clone(), false, None), None).unwrap();
    let meta = picotag_quantize::model::read_meta(&out.join("best")).unwrap();
    let rec = &meta.provenance["recipe"]["task_teachers"]["bio"];
    assert_eq!(rec.as_str(), bt.to_str());
    // Errors: a task that is not trained, and a hidden-state term.
    let mut bad = dr.clone();
    bad.task_teachers.insert("nope".into(), bt.clone());
    assert!(Teachers::load(&bad, &Device::Cpu).is_err());
    let mut bad = dr.clone();
    bad.weights.hidden_mse = 1.0;
    assert!(Teachers::load(&bad, &Device::Cpu).is_err());
}

#[test]
fn task_teacher_arguments_are_checked() {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let m = parse_task_teachers(&v(&["ncbi=runs/a/best", "atis=runs/b"])).unwrap();
    assert_eq!(m["ncbi"], PathBuf::from("runs/a/best"));
    assert_eq!(m.len(), 2);
    for bad in [&["ncbi"][..], &["=x"], &["ncbi="], &["a=x", "a=y"]] {
        assert!(parse_task_teachers(&v(bad)).is_err(), "{bad:?}");
    }
}

#[test]
fn the_distill_command_writes_a_factorized_student() {
    let tmp = tempfile::tempdir().unwrap();
    let (t, _) = teacher(tmp.path());
    let out = tmp.path().join("student");
    let bin = env!("CARGO_BIN_EXE_picotag-quantize");
    let o = std::process::Command::new(bin)
        .arg("distill")
        .arg("--teacher")
        .arg(&t)
        .arg("--out")
        .arg(&out)
        .arg(format!("--task=slu={}", tmp.path().join("slu").display()))
        .args([
            "--layers",
            "2",
            "--hidden",
            "32",
            "--heads",
            "4",
            "--intermediate",
            "64",
        ])
        .args([
            "--max-positions",
            "64",
            "--init-layers",
            "1,2",
            "--embedding-rank",
            "6",
        ])
        .args(["--epochs", "1", "--batch-size", "2", "--max-len", "12"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("of the energy kept"), "{err}");
    let meta = picotag_quantize::model::read_meta(&out.join("best")).unwrap();
    assert_eq!(meta.architecture.embedding_rank, Some(6));
    assert_eq!(meta.architecture.layers, 2);
    assert!(meta.heads.iter().any(|h| h.name == "slu.intent"));
    assert!(meta.heads.iter().all(|h| h.task == "slu"));
}

#[test]
fn cached_teacher_logits_give_the_live_loss() {
    use picotag_quantize::distill::cache::TaskCache;
    let tmp = tempfile::tempdir().unwrap();
    let (t, base) = teacher(tmp.path());
    let tm = Model::load_frozen(&t, &Device::Cpu).unwrap();
    let a = arch(tm.meta.architecture.vocab_size, 32, 2, Some(8));
    let dr = recipe(&t, &base, a, Some(vec![0, 2]));
    let (s, tasks) = student(&dr, &tm);
    let d = distiller(&dr, &tm);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut heads_seen = 0;
    for td in &tasks {
        let tth = td.heads(&tm).unwrap();
        let sth = s.task(&td.spec.name).unwrap().clone();
        let cache = TaskCache::compute(&tm, &tth, &td.train, &Device::Cpu).unwrap();
        // Written and read back: the same logits.
        let path = tmp.path().join(format!("{}.safetensors", td.spec.name));
        cache.save(&path).unwrap();
        let read = TaskCache::load(&path, &tm, &tth, &td.train).unwrap();
        // The sentence heads (intent, has-slot, mcls) and the token heads
        // (slots, mtcls) are all cached.
        for i in [
            Some(tth.slots),
            tth.intent,
            tth.has_slot,
            tth.mcls,
            tth.mtcls,
        ]
        .into_iter()
        .flatten()
        {
            let x = cache.logits(i, &[0, 1], &Device::Cpu).unwrap();
            assert_eq!(
                values(&x),
                values(&read.logits(i, &[0, 1], &Device::Cpu).unwrap())
            );
            heads_seen += 1;
        }
        // Batches of windows in a random order, of random sizes.
        let mut order: Vec<usize> = (0..td.train.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let mut at = 0;
        while at < order.len() {
            let n = rng.random_range(1..=5).min(order.len() - at);
            let items = &order[at..at + n];
            at += n;
            let ex: Vec<&Example> = items.iter().map(|&i| &td.train[i]).collect();
            let b = Batch::new(&ex, &Device::Cpu).unwrap();
            let x = BatchInput::new(&b, &sth);
            let live = d.batch_loss(&s, &x, &tth, &mut None).unwrap();
            let cached = d
                .batch_loss_cached(&s, &x, &tth, &read, items, &mut None)
                .unwrap();
            let (l, c) = (
                live.to_scalar::<f32>().unwrap(),
                cached.to_scalar::<f32>().unwrap(),
            );
            assert!((l - c).abs() <= 1e-5 * l.abs().max(1.0), "{l} vs {c}");
        }
    }
    assert!(heads_seen >= 8, "{heads_seen}");
    // A hidden-state term needs the teacher's states: not from a cache.
    let tth = tasks[0].heads(&tm).unwrap();
    let cache = TaskCache::compute(&tm, &tth, &tasks[0].train, &Device::Cpu).unwrap();
    let mut mse = dr.clone();
    mse.weights.hidden_mse = 0.5;
    let ex: Vec<&Example> = tasks[0].train.iter().take(2).collect();
    let b = Batch::new(&ex, &Device::Cpu).unwrap();
    let sth = s.task(&tasks[0].spec.name).unwrap().clone();
    let e = distiller(&mse, &tm)
        .batch_loss_cached(
            &s,
            &BatchInput::new(&b, &sth),
            &tth,
            &cache,
            &[0, 1],
            &mut None,
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("hidden-state"), "{e}");
}

#[test]
fn a_damaged_or_foreign_cache_file_is_computed_again() {
    use picotag_quantize::distill::cache::TaskCache;
    let tmp = tempfile::tempdir().unwrap();
    let (t, base) = teacher(tmp.path());
    let tm = Model::load_frozen(&t, &Device::Cpu).unwrap();
    let a = arch(tm.meta.architecture.vocab_size, 32, 2, None);
    let dr = recipe(&t, &base, a, Some(vec![0, 2]));
    let (_, tasks) = student(&dr, &tm);
    let (slu, bio) = (&tasks[0], &tasks[1]);
    let (tth, bth) = (slu.heads(&tm).unwrap(), bio.heads(&tm).unwrap());
    let path = tmp.path().join("c.safetensors");
    let good = TaskCache::compute(&tm, &tth, &slu.train, &Device::Cpu).unwrap();
    good.save(&path).unwrap();
    let want = values(&good.logits(tth.slots, &[0, 2], &Device::Cpu).unwrap());
    // Another task's windows in the file: refused by load.
    let e = TaskCache::load(&path, &tm, &bth, &bio.train)
        .unwrap_err()
        .to_string();
    assert!(e.contains("c.safetensors"), "{e}");
    // Truncated: refused, then computed again and rewritten by load_or_compute.
    let bytes = std::fs::read(&path).unwrap();
    for cut in [0, 8, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        assert!(
            TaskCache::load(&path, &tm, &tth, &slu.train).is_err(),
            "cut {cut}"
        );
        let c = TaskCache::load_or_compute(&path, &tm, &tth, &slu.train, &Device::Cpu).unwrap();
        assert_eq!(
            values(&c.logits(tth.slots, &[0, 2], &Device::Cpu).unwrap()),
            want
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "cut {cut}: not rewritten"
        );
    }
    // Windows not in the cache: an error, not a panic.
    assert!(good
        .logits(tth.slots, &[slu.train.len()], &Device::Cpu)
        .is_err());
    assert!(good.logits(usize::MAX, &[0], &Device::Cpu).is_err());
}

#[test]
fn distillation_with_the_teacher_cache_learns_what_it_learns_without() {
    let tmp = tempfile::tempdir().unwrap();
    let (t, base) = teacher(tmp.path());
    let tm = Model::load_frozen(&t, &Device::Cpu).unwrap();
    let a = arch(tm.meta.architecture.vocab_size, 32, 2, Some(8));
    let mut dr = recipe(&t, &base, a, Some(vec![0, 2]));
    dr.base.epochs = 2;
    let cache = tmp.path().join("cache");
    let run = |name: &str, dr: &DistillRecipe, cache: Option<&Path>| {
        let out = tmp.path().join(name);
        distill(dr, &ctl(out.clone(), false, None), cache).unwrap();
        tensors(&out.join("last/model.safetensors"))
    };
    let live = run("live", &dr, None);
    let cached = run("cached", &dr, Some(&cache));
    // One file per task, named by the teacher and the task's windows.
    let first = common::files_and_times(&cache);
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names[0].starts_with("bio-") && names[1].starts_with("slu-"),
        "{names:?}"
    );
    // The same training, to float rounding (the teacher ran on other
    // batches when the cache was computed).
    assert_eq!(live.len(), cached.len());
    for ((n, a), (_, b)) in live.iter().zip(&cached) {
        let d = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(d < 1e-3, "{n}: {d}");
    }
    // A second run reads the files (untouched) and learns exactly the same.
    let again = run("again", &dr, Some(&cache));
    assert_eq!(common::files_and_times(&cache), first);
    for ((n, a), (_, b)) in cached.iter().zip(&again) {
        assert!(a == b, "{n} differs between two cached runs");
    }
    // Another teacher for one task: a new file for it, the other one reused.
    let mut rb = base.clone();
    rb.tasks.retain(|x| x.name == "bio");
    rb.seed = 5;
    let bio_run = tmp.path().join("bio-teacher");
    train(&rb, &ctl(bio_run.clone(), false, Some(4))).unwrap();
    let mut other = dr.clone();
    other.base.epochs = 1;
    other
        .task_teachers
        .insert("bio".into(), bio_run.join("last"));
    run("other", &other, Some(&cache));
    let now = common::files_and_times(&cache);
    assert_eq!(now.len(), 3, "{now:?}");
    assert!(first.iter().all(|f| now.contains(f)));
    // A hidden-state term runs the teacher: no cache is written.
    let mut mse = dr.clone();
    mse.base.epochs = 1;
    mse.weights.hidden_mse = 0.5;
    let empty = tmp.path().join("cache-mse");
    run("mse", &mse, Some(&empty));
    assert!(!empty.exists());
}
