//! The learning-rate schedule, the batch order (mixed and sequential), and a
//! tiny sequential run with an ASR-form task.

mod common;

use candle_core::Device;
use clap::Parser;
use picotag_quantize::cli::{Cli, Cmd};
use picotag_quantize::data::encode::Tok;
use picotag_quantize::model::Model;
use picotag_quantize::recipe::Recipe;
use picotag_quantize::train::batch::{Batch, Example};
use picotag_quantize::train::plan::epoch_plan;
use picotag_quantize::train::schedule::{epoch_batches, learning_rate, Schedule};
use picotag_quantize::train::start::train;
use picotag_quantize::train::step::{self, BatchInput};
use picotag_quantize::train::tasks::{load_tasks, Form};

#[test]
fn learning_rate_warms_up_then_decays_linearly_to_zero() {
    let (peak, warmup, total) = (5e-4, 10u64, 110u64);
    let lr: Vec<f64> = (0..total)
        .map(|s| learning_rate(peak, s, warmup, total))
        .collect();
    assert!((lr[0] - peak / 10.0).abs() < 1e-12, "first step {}", lr[0]);
    assert!((lr[9] - peak).abs() < 1e-12, "end of warm-up {}", lr[9]);
    assert!(lr[..10].windows(2).all(|w| w[1] > w[0]));
    assert!(lr[10..].windows(2).all(|w| w[1] < w[0]));
    // Halfway through the decay the rate is half the peak; the last step is tiny but positive.
    assert!((lr[60] - peak / 2.0).abs() < 1e-12, "mid-decay {}", lr[60]);
    assert!(lr[109] > 0.0 && lr[109] <= peak / 100.0 + 1e-12);
    // No warm-up: the first step runs at the peak.
    assert!((learning_rate(peak, 0, 0, 100) - peak).abs() < 1e-12);
}

fn lens() -> Vec<Vec<usize>> {
    vec![
        (0..37).map(|i| 5 + i % 9).collect(),
        (0..20).map(|i| 8 + i % 30).collect(),
        (0..11).map(|i| 4 + i % 3).collect(),
    ]
}

fn check_cover(plan: &[picotag_quantize::train::schedule::BatchPlan], lens: &[Vec<usize>]) {
    for (t, l) in lens.iter().enumerate() {
        let mut seen: Vec<usize> = plan
            .iter()
            .filter(|b| b.task == t)
            .flat_map(|b| b.items.iter().copied())
            .collect();
        seen.sort();
        assert_eq!(seen, (0..l.len()).collect::<Vec<_>>(), "task {t}");
    }
    assert!(plan
        .iter()
        .all(|b| !b.items.is_empty() && b.items.len() <= 4));
}

#[test]
fn both_schedules_cover_every_example_once_per_epoch() {
    let l = lens();
    for sch in [Schedule::Mixed, Schedule::Sequential] {
        for epoch in 0..3 {
            let plan = epoch_batches(&l, 4, 10_000, 7, epoch, sch);
            check_cover(&plan, &l);
            // Deterministic for (seed, epoch), different across epochs.
            assert_eq!(plan, epoch_batches(&l, 4, 10_000, 7, epoch, sch));
            assert_ne!(plan, epoch_batches(&l, 4, 10_000, 7, epoch + 1, sch));
        }
    }
    // The token cap splits batches of long windows.
    let plan = epoch_batches(&l, 4, 60, 7, 0, Schedule::Mixed);
    check_cover(&plan, &l);
    for b in &plan {
        let longest = b.items.iter().map(|&i| l[b.task][i]).max().unwrap();
        assert!(b.items.len() == 1 || longest * b.items.len() <= 60);
    }
}

#[test]
fn sequential_runs_task_after_task_and_mixed_interleaves() {
    let l = lens();
    let seq = epoch_batches(&l, 4, 10_000, 7, 0, Schedule::Sequential);
    let order: Vec<usize> = seq.iter().map(|b| b.task).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "sequential: all of task 0, then 1, then 2");
    let mixed = epoch_batches(&l, 4, 10_000, 7, 0, Schedule::Mixed);
    let switches = mixed.windows(2).filter(|w| w[0].task != w[1].task).count();
    assert!(
        switches > 2,
        "mixed interleaves tasks ({switches} switches)"
    );
}

fn mean_loss(model: &Model, r: &Recipe) -> f32 {
    let tok = Tok::from_json(&model.meta.tokenizer).unwrap();
    let mut s = 0.0;
    for t in &load_tasks(r, &tok, None).unwrap() {
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
fn sequential_run_with_an_asr_task_learns_and_scores_both_forms() {
    let tmp = tempfile::tempdir().unwrap();
    let tk = common::write_tokenizer(tmp.path());
    let slu = common::write_slu(&tmp.path().join("slu"));
    let bio = common::write_bio(&tmp.path().join("bio"));
    let out = tmp.path().join("run");
    let args = |max_steps: &str| {
        let a = "picotag-quantize train --init random --layers 2 --hidden 32 --heads 4 \
                 --intermediate 64 --max-positions 64 --epochs 10 --batch-size 2 --max-len 12 \
                 --lr 3e-3 --warmup 0.1 --seed 5 --schedule sequential --log-every 3600 \
                 --resume --max-steps";
        let mut v: Vec<String> = a.split_whitespace().map(str::to_string).collect();
        v.extend([
            max_steps.to_string(),
            "--tokenizer".into(),
            tk.display().to_string(),
            "--out".into(),
            out.display().to_string(),
            "--task".into(),
            format!("slu={}", slu.display()),
            "--task".into(),
            format!("bio={},asr=1", bio.display()),
        ]);
        let Cmd::Train(t) = Cli::parse_from(v).cmd else {
            panic!("not train")
        };
        t.recipe().unwrap()
    };
    let (r, ctl) = args("0");
    assert_eq!(r.schedule, Schedule::Sequential);
    assert!(r.tasks[1].asr && !r.tasks[0].asr);
    let tok = Tok::from_file(&tk).unwrap();
    let tasks = load_tasks(&r, &tok, None).unwrap();
    // The bio data has punctuation in 2 of its 4 sentences: 2 ASR copies; every dev
    // sentence is also scored in ASR form.
    let mut plain = r.clone();
    plain.tasks[1].asr = false;
    let n0 = load_tasks(&plain, &tok, None).unwrap()[1].train.len();
    assert!(
        tasks[1].train.len() >= n0 + 2,
        "{} vs {n0}",
        tasks[1].train.len()
    );
    assert_eq!(tasks[1].dev_asr.len(), 4);
    assert!(tasks[0].dev_asr.is_empty());
    train(&r, &ctl).unwrap();
    let before = mean_loss(
        &Model::load(&out.join("last"), true, &Device::Cpu).unwrap(),
        &r,
    );
    let (r, ctl) = args("1000");
    let s = train(&r, &ctl).unwrap();
    assert_eq!(s.epoch, 10);
    let after = mean_loss(
        &Model::load(&out.join("last"), true, &Device::Cpu).unwrap(),
        &r,
    );
    assert!(after < 0.6 * before, "loss {before} -> {after}");
    let log = std::fs::read_to_string(out.join("dev.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["tasks"]["bio"]["asr"]["sentences"], 4);
    assert!(last["tasks"]["bio"]["asr"]["f1"].as_f64().is_some());
    assert!(last["tasks"]["slu"].get("asr").is_none());
}

/// A tiny two-task `train` recipe (`slu`, `bio`; `epochs` epochs) with the
/// given task options, its tokenizer, and the folder that holds the data.
fn two_task_recipe(
    epochs: usize,
    slu_opts: &str,
    bio_opts: &str,
) -> (Recipe, Tok, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let tk = common::write_tokenizer(tmp.path());
    let slu = common::write_slu(&tmp.path().join("slu"));
    let bio = common::write_bio(&tmp.path().join("bio"));
    let a = format!(
        "picotag-quantize train --init random --layers 2 --hidden 32 --heads 4 \
         --intermediate 64 --max-positions 64 --epochs {epochs} --batch-size 2 --max-len 64 \
         --seed 5 --out x"
    );
    let mut v: Vec<String> = a.split_whitespace().map(str::to_string).collect();
    v.extend([
        "--tokenizer".into(),
        tk.display().to_string(),
        "--task".into(),
        format!("slu={}{slu_opts}", slu.display()),
        "--task".into(),
        format!("bio={}{bio_opts}", bio.display()),
    ]);
    let Cmd::Train(t) = Cli::parse_from(v).cmd else {
        panic!("not train")
    };
    let (r, _) = t.recipe().unwrap();
    (r, Tok::from_file(&tk).unwrap(), tmp)
}

#[test]
fn asr_aug_trains_one_form_of_each_sentence_an_epoch() {
    let (r, tok, _tmp) = two_task_recipe(40, "", ",asr=aug");
    assert!(r.tasks[1].asr && r.tasks[1].asr_augment && !r.tasks[0].asr_augment);
    let tasks = load_tasks(&r, &tok, None).unwrap();
    // 4 written sentences, 2 of which have a different ASR form (punctuation).
    let forms = &tasks[1].train_forms;
    assert_eq!(forms.len(), tasks[1].train.len());
    assert_eq!(forms.iter().filter(|f| f.1 == Form::Given).count(), 4);
    assert_eq!(forms.iter().filter(|f| f.1 == Form::Asr).count(), 2);
    assert!(tasks[0].train_forms.is_empty());
    let mut asr_seen = 0;
    for epoch in 0..r.epochs {
        let plan = epoch_plan(&r, &tasks, epoch);
        assert_eq!(
            plan,
            epoch_plan(&r, &tasks, epoch),
            "a pure function of the epoch"
        );
        // The plain task: every window once.
        let mut slu: Vec<usize> = plan
            .iter()
            .filter(|b| b.task == 0)
            .flat_map(|b| b.items.clone())
            .collect();
        slu.sort_unstable();
        assert_eq!(slu, (0..tasks[0].train.len()).collect::<Vec<_>>());
        // The augmented task: each sentence exactly once, in one of its forms.
        let bio: Vec<usize> = plan
            .iter()
            .filter(|b| b.task == 1)
            .flat_map(|b| b.items.clone())
            .collect();
        let mut sentences: Vec<u32> = bio.iter().map(|&i| forms[i].0).collect();
        sentences.sort_unstable();
        assert_eq!(sentences, vec![0, 1, 2, 3]);
        asr_seen += bio.iter().filter(|&&i| forms[i].1 == Form::Asr).count();
    }
    // Two sentences with a copy over 40 epochs: each form drawn about half the time.
    assert!(
        (20..=60).contains(&asr_seen),
        "ASR form drawn {asr_seen} times of 80"
    );
}

#[test]
fn symbol_noise_is_one_more_form_of_each_sentence() {
    let (r, tok, _tmp) = two_task_recipe(60, ",symbols=1", ",asr=aug,symbols=1");
    assert_eq!((r.tasks[0].symbols, r.tasks[1].symbols), (1.0, 1.0));
    let tasks = load_tasks(&r, &tok, None).unwrap();
    let count = |t: usize, f: Form| tasks[t].train_forms.iter().filter(|x| x.1 == f).count();
    // At rate 1 every sentence gets a noisy copy (a symbol at its ends at least).
    let n_slu = count(0, Form::Given);
    assert!(n_slu > 0);
    assert_eq!(count(0, Form::Symbols), n_slu);
    assert_eq!(count(0, Form::Asr), 0);
    assert_eq!((count(1, Form::Given), count(1, Form::Asr)), (4, 2));
    assert_eq!(count(1, Form::Symbols), 4);
    // Noisy copies are longer (one more word at least, so more pieces).
    for (i, &(s, f)) in tasks[0].train_forms.iter().enumerate() {
        if f == Form::Symbols {
            let given = tasks[0]
                .train_forms
                .iter()
                .position(|&x| x == (s, Form::Given))
                .unwrap();
            assert!(tasks[0].train[i].pos.len() > tasks[0].train[given].pos.len());
        }
    }
    let mut seen = [[0usize; 3]; 2];
    for epoch in 0..r.epochs {
        let plan = epoch_plan(&r, &tasks, epoch);
        for t in 0..2 {
            let forms = &tasks[t].train_forms;
            let items: Vec<usize> = plan
                .iter()
                .filter(|b| b.task == t)
                .flat_map(|b| b.items.clone())
                .collect();
            let mut sentences: Vec<u32> = items.iter().map(|&i| forms[i].0).collect();
            sentences.sort_unstable();
            let n = count(t, Form::Given) as u32;
            assert_eq!(sentences, (0..n).collect::<Vec<_>>(), "each sentence once");
            for &i in &items {
                seen[t][forms[i].1 as usize] += 1;
            }
        }
    }
    // slu: two forms, about half each; bio: the 2 sentences with an ASR
    // form draw from three, the other 2 from two.
    let slu_draws = 60 * n_slu;
    assert!(
        (slu_draws * 2 / 5..=slu_draws * 3 / 5).contains(&seen[0][Form::Symbols as usize]),
        "{seen:?}"
    );
    // bio: expected symbols 60 * (2/3 + 2/2) = 100, ASR 60 * 2/3 = 40.
    assert!(
        (75..=125).contains(&seen[1][Form::Symbols as usize]),
        "{seen:?}"
    );
    assert!((25..=60).contains(&seen[1][Form::Asr as usize]), "{seen:?}");
}
