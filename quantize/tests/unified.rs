//! Issue #9: one slot head over datasets with disjoint label sets (type map,
//! partial-label loss, dataset-aware scoring, conflicts) and heads-only
//! refinement of a finished run, on tiny data.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor, Var, D};
use picotag::decode::Scheme;
use picotag_quantize::data::encode::Tok;
use picotag_quantize::data::labels::Vocab;
use picotag_quantize::data::unified::{unify, TypeMap};
use picotag_quantize::model::ops::{cross_entropy, partial_label_nll};
use picotag_quantize::model::Model;
use picotag_quantize::recipe::{AuxHeads, InitFrom, Recipe};
use picotag_quantize::train::batch::{Batch, Example};
use picotag_quantize::train::epochs::RunControl;
use picotag_quantize::train::start::train;
use picotag_quantize::train::step::{self, BatchInput};
use picotag_quantize::train::tasks::load_tasks;

fn vocab(labels: &[&str]) -> Vocab {
    Vocab::build(labels.iter().copied(), Some("O"))
}

fn map(pairs: &[(&str, &str)]) -> TypeMap {
    TypeMap {
        task: "slots".into(),
        types: pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    }
}

fn t(v: &[f32], rows: usize) -> Tensor {
    Tensor::from_vec(v.to_vec(), (rows, v.len() / rows), &Device::Cpu).unwrap()
}

#[test]
fn partial_label_loss_matches_a_hand_computed_value() {
    // Row 1: logits (1, 2, 0), target set {0, 2}: ln(e + e² + 1) - ln(e + 1)
    //   = 2.407606 - 1.313262 = 1.094344.
    // Row 2: logits (0, 0, 3), target {1} alone: the cross-entropy
    //   ln(2 + e³) - 0 = 3.094923.
    let logits = t(&[1.0, 2.0, 0.0, 0.0, 0.0, 3.0], 2);
    let allowed = t(&[1.0, 0.0, 1.0, 0.0, 1.0, 0.0], 2);
    let l = partial_label_nll(&logits, &allowed)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    let want = (1.094_344 + 3.094_923) / 2.0;
    assert!((l - want).abs() < 1e-5, "{l} vs {want}");
    // A one-hot target set is exactly the cross-entropy.
    let one_hot = t(&[0.0, 1.0, 0.0, 0.0, 0.0, 1.0], 2);
    let labels = Tensor::from_vec(vec![1u32, 2], 2, &Device::Cpu).unwrap();
    let a = partial_label_nll(&logits, &one_hot)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    let b = cross_entropy(&logits, &labels)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    // A far-off allowed label does not underflow to an infinite loss.
    let far = t(&[200.0, 0.0], 1);
    let l = partial_label_nll(&far, &t(&[0.0, 1.0], 1))
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!((l - 200.0).abs() < 1e-3, "{l}");
}

#[test]
fn unify_merges_only_what_the_map_says() {
    let atis = vocab(&["O", "B-city_name", "I-city_name", "B-fromloc.city_name"]);
    let snips = vocab(&["O", "B-city", "B-artist"]);
    let bc5 = vocab(&["O", "B-Chemical", "B-Disease", "I-Disease"]);
    let ncbi = vocab(&["O", "B-Disease", "I-Disease"]);
    let tasks = [
        ("atis", &atis, Scheme::Bio),
        ("snips", &snips, Scheme::Bio),
        ("bc5cdr", &bc5, Scheme::Bio),
        ("ncbi", &ncbi, Scheme::Bio),
    ];
    let m = map(&[
        ("atis:city_name", "city"),
        ("snips:city", "city"),
        ("bc5cdr:Disease", "Disease"),
        ("ncbi:Disease", "Disease"),
    ]);
    let v = unify(&m, &tasks).unwrap();
    let labels = &v[0].head.labels.labels;
    assert_eq!(
        labels,
        &[
            "O",
            "B-Chemical",
            "B-Disease",
            "B-artist",
            "B-city",
            "B-fromloc.city_name",
            "I-Disease",
            "I-city"
        ]
    );
    // Each dataset's labels land on the unified ones.
    let name = |i: u32| labels[i as usize].as_str();
    let ncbi_u: Vec<&str> = v[3].to_unified.iter().map(|&i| name(i)).collect();
    assert_eq!(ncbi_u, ["O", "B-Disease", "I-Disease"]);
    let atis_u: Vec<&str> = v[0].to_unified.iter().map(|&i| name(i)).collect();
    assert_eq!(atis_u, ["O", "B-city", "B-fromloc.city_name", "I-city"]);
    // A gold O of NCBI may be anything NCBI does not annotate: not Disease.
    let allowed = |i: usize| -> Vec<&str> {
        labels
            .iter()
            .zip(&v[i].o_set)
            .filter(|(_, &a)| a == 1.0)
            .map(|(l, _)| l.as_str())
            .collect()
    };
    assert_eq!(
        allowed(3),
        [
            "O",
            "B-Chemical",
            "B-artist",
            "B-city",
            "B-fromloc.city_name",
            "I-city"
        ]
    );
    // A gold O of SNIPS: the health types and ATIS's own, but not city.
    assert_eq!(
        allowed(1),
        [
            "O",
            "B-Chemical",
            "B-Disease",
            "B-fromloc.city_name",
            "I-Disease"
        ]
    );
    assert_eq!(v[0].unify_label("I-city_name"), "I-city");
    assert_eq!(
        v[0].unify_label("B-fromloc.city_name"),
        "B-fromloc.city_name"
    );

    // Same name in two datasets without the map saying so: refused.
    let err = unify(&map(&[]), &tasks[2..]).unwrap_err().to_string();
    assert!(
        err.contains("Disease") && err.contains("explicitly"),
        "{err}"
    );
    // Only one side mapped: refused too.
    let err = unify(&map(&[("ncbi:Disease", "Disease")]), &tasks[2..])
        .unwrap_err()
        .to_string();
    assert!(err.contains("explicitly"), "{err}");
    // A typo in the map names a type the data does not have.
    let err = unify(&map(&[("ncbi:Diseases", "Disease")]), &tasks[3..])
        .unwrap_err()
        .to_string();
    assert!(err.contains("no type \"Diseases\""), "{err}");
    let err = unify(&map(&[("ncbl:Disease", "Disease")]), &tasks[3..])
        .unwrap_err()
        .to_string();
    assert!(err.contains("no task \"ncbl\""), "{err}");
    // Schemes must agree; the unified task may not shadow a dataset task.
    let bioes = [tasks[3], ("x", &snips, Scheme::Bioes)];
    assert!(unify(&map(&[]), &bioes).is_err());
    let mut m = map(&[]);
    m.task = "ncbi".into();
    assert!(unify(&m, &tasks[3..]).is_err());
}

#[test]
fn conflicts_are_overlaps_of_two_heads_that_disagree() {
    use picotag_quantize::eval::conflicts::pairs;
    let s = |h, a, b, t: &str| (h, a, b, t.to_string());
    // Two heads, the same words, the same type: a duplicate, no conflict.
    assert_eq!(
        pairs(&[s(0, 2, 4, "Disease"), s(1, 2, 4, "Disease")]),
        (0, 1)
    );
    // Other boundaries, or another type: a conflict.
    assert_eq!(
        pairs(&[s(0, 2, 4, "Disease"), s(1, 3, 4, "Disease")]),
        (1, 0)
    );
    assert_eq!(pairs(&[s(0, 2, 4, "Disease"), s(1, 2, 4, "city")]), (1, 0));
    // Adjacent spans do not overlap; one head's own spans never conflict.
    assert_eq!(pairs(&[s(0, 2, 4, "a"), s(1, 4, 5, "b")]), (0, 0));
    assert_eq!(pairs(&[s(0, 2, 4, "a"), s(0, 3, 5, "b")]), (0, 0));
    // Three heads on one word: every pair counts.
    let three = [s(0, 1, 2, "x"), s(1, 1, 2, "x"), s(2, 0, 3, "y")];
    assert_eq!(pairs(&three), (2, 1));
}

fn write_map(dir: &Path) -> PathBuf {
    // The tiny SLU data has types from/to/day/genre/artist, the tiny bio
    // data Chemical/Disease: disjoint, nothing to merge.
    let p = dir.join("type-map.json");
    std::fs::write(&p, r#"{"task": "slots", "types": {}}"#).unwrap();
    p
}

fn recipe(tmp: &Path, unified: bool) -> Recipe {
    let mut r = common::tiny_recipe(tmp);
    r.tasks[1].weight = 1.0;
    r.epochs = 60;
    r.max_len = 24;
    r.dropout = 0.0;
    r.seed = 9;
    r.aux = AuxHeads {
        has_slot: true,
        mcls: false,
        mtcls: false,
    };
    r.unified = unified.then(|| TypeMap::load(&write_map(tmp)).unwrap());
    r
}

fn ctl(out: PathBuf) -> RunControl {
    RunControl {
        out,
        resume: false,
        save_every: 0,
        max_steps: None,
        log_every: 3600,
        dev_limit: None,
    }
}

#[test]
fn a_masked_type_gets_no_gradient_against_o_from_a_dataset_without_it() {
    let tmp = tempfile::tempdir().unwrap();
    let r = recipe(tmp.path(), true);
    let out = tmp.path().join("run");
    // A model with random weights (no step taken).
    train(
        &r,
        &RunControl {
            max_steps: Some(0),
            ..ctl(out.clone())
        },
    )
    .unwrap();
    let model = Model::load(&out.join("last"), true, &Device::Cpu).unwrap();
    let tok = Tok::from_json(&model.meta.tokenizer).unwrap();
    let tasks = load_tasks(&r, &tok, None).unwrap();
    let bio = &tasks[1];
    let view = bio.unified.as_ref().unwrap();
    let labels = &view.head.labels.labels;
    let ex: Vec<&Example> = bio.train.iter().collect();
    let batch = Batch::new(&ex, &Device::Cpu).unwrap();
    let th = bio.heads(&model).unwrap();
    // The slot head's logits over the batch, as a leaf to differentiate.
    let hidden = model
        .bert
        .forward(&batch.ids, &batch.mask, &mut None)
        .unwrap();
    let rows = hidden.index_select(&batch.sel, 0).unwrap();
    let z = model.heads[th.slots].logits(&rows).unwrap().detach();
    let zv = Var::from_tensor(&z).unwrap();
    let gold = batch.slot.to_vec1::<u32>().unwrap();
    let targets = step::partial_targets(&gold, &view.o_set, &Device::Cpu).unwrap();
    let loss = partial_label_nll(zv.as_tensor(), &targets).unwrap();
    let g = loss.backward().unwrap();
    let g: Vec<Vec<f32>> = g.get(zv.as_tensor()).unwrap().to_vec2().unwrap();
    let p: Vec<Vec<f32>> = candle_nn::ops::softmax(&z, D::Minus1)
        .unwrap()
        .to_vec2()
        .unwrap();
    let slu_types = ["from", "to", "day", "genre", "artist"];
    let (mut masked, mut annotated) = (0, 0);
    for (r, &y) in gold.iter().enumerate() {
        if y != 0 {
            continue;
        }
        // Along the direction that moves probability from O to label l (all
        // other probabilities fixed), the loss changes by g_l/p_l - g_O/p_O
        // (times the rows, as the loss is a mean): 0 when the loss does not
        // care, 1/P(target set) >= 1 when it punishes l.
        let n = gold.len() as f32;
        for (l, name) in labels.iter().enumerate().skip(1) {
            let d = n * (g[r][l] / p[r][l] - g[r][0] / p[r][0]);
            let ty = &name[2..];
            if slu_types.contains(&ty) {
                // A type bio does not annotate: the loss does not care.
                assert!(d.abs() < 1e-4, "{name} at row {r}: {d}");
                masked += 1;
            } else {
                // A type bio annotates: calling this O word a Chemical or
                // Disease is punished.
                assert!(d >= 1.0 - 1e-4, "{name} at row {r}: {d}");
                annotated += 1;
            }
        }
    }
    assert!(masked > 0 && annotated > 0);
    // The plain cross-entropy toward O would punish the masked types too.
    let ce = cross_entropy(zv.as_tensor(), &batch.slot).unwrap();
    let g = ce.backward().unwrap();
    let g: Vec<Vec<f32>> = g.get(zv.as_tensor()).unwrap().to_vec2().unwrap();
    let to = labels.iter().position(|l| l == "B-to").unwrap();
    let r = gold.iter().position(|&y| y == 0).unwrap();
    let n = gold.len() as f32;
    assert!(n * (g[r][to] / p[r][to] - g[r][0] / p[r][0]) >= 1.0 - 1e-4);
}

/// Compression to int8 with the dev scores measured and stored.
fn int8_with_scores() -> picotag_quantize::compress::CompressOptions {
    picotag_quantize::compress::CompressOptions {
        fp32: false,
        embeddings: picotag_quantize::compress::EmbeddingPrecision::I8,
        max_positions: None,
        int8_heads: false,
        eval: true,
        dev: vec![],
        reject_tpr: Some(0.95),
    }
}

fn dev_tasks(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("dev.jsonl")).unwrap();
    let last = text.lines().last().unwrap();
    serde_json::from_str::<serde_json::Value>(last).unwrap()["tasks"].clone()
}

#[test]
fn a_unified_run_trains_scores_per_dataset_and_compresses_to_one_task() {
    let tmp = tempfile::tempdir().unwrap();
    let r = recipe(tmp.path(), true);
    let out = tmp.path().join("run");
    let s = train(&r, &ctl(out.clone())).unwrap();
    assert_eq!(s.epoch, r.epochs);
    let model = Model::load(&out.join("best"), false, &Device::Cpu).unwrap();
    let names: Vec<&str> = model.meta.heads.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["slots", "slu.intent", "slu.bcls", "bio.bcls"]);
    let tasks = dev_tasks(&out);
    // The tiny train set is its dev set: the unified head learns both.
    for t in ["slu", "bio"] {
        let f1 = tasks[t]["f1"].as_f64().unwrap();
        assert!(f1 > 0.9, "{t}: dev F1 {f1}");
        assert!(tasks[t]["foreign_spans"].is_u64(), "{t}");
    }
    assert!(tasks["slu"]["intent_accuracy"].as_f64().unwrap() > 0.9);
    // Scored on its own types only: bio's gold count is bio's spans.
    assert_eq!(tasks["bio"]["per_type"].as_object().unwrap().len(), 2);

    // The runtime decodes the unified head as one task; the SLU task keeps its intent.
    let ptag = tmp.path().join("u.ptag");
    let opts = int8_with_scores();
    let c = picotag_quantize::compress::compress(&out.join("best"), &ptag, &opts).unwrap();
    // The stored dev scores go through the runtime and the unified head, per dataset.
    let stored = &c.scores["tasks"];
    assert_eq!(stored.as_object().unwrap().len(), 2, "{stored}");
    for t in ["slu", "bio"] {
        let f1 = stored[t]["f1"].as_f64().unwrap();
        assert!(f1 > 0.9, "{t}: stored dev F1 {f1}");
    }
    assert!(stored["slu"]["intent_accuracy"].as_f64().unwrap() > 0.9);
    let tagger = picotag::Tagger::open(&ptag).unwrap();
    let infos: BTreeMap<String, (usize, usize)> = tagger
        .tasks()
        .into_iter()
        .map(|t| (t.name, (t.slot_labels.len(), t.intent_labels.len())))
        .collect();
    assert_eq!(infos["slots"].0, model.meta.heads[0].labels.len());
    assert_eq!(infos["slu"], (0, 2));
    let tagging = tagger
        .tag_utterance("the patient took aspirin for headache")
        .unwrap();
    let slots: Vec<(&str, &str, &str)> = tagging
        .slots
        .iter()
        .map(|s| (&*s.task, &*s.label, &*s.text))
        .collect();
    for want in [
        ("slots", "Chemical", "aspirin"),
        ("slots", "Disease", "headache"),
    ] {
        assert!(slots.contains(&want), "{slots:?}");
    }
    // Without domains, nothing tells the head that SLU text has no Disease
    // (nor bio text a `to`): the pure partial-label loss leaves foreign types
    // free, so only the dataset's own slots are checked here.
    let tagging = tagger.tag_utterance("fly from boston to denver").unwrap();
    let slots: Vec<(&str, &str)> = tagging
        .slots
        .iter()
        .map(|s| (&*s.label, &*s.text))
        .collect();
    for want in [("from", "boston"), ("to", "denver")] {
        assert!(slots.contains(&want), "{slots:?}");
    }
    assert_eq!(&*tagging.intents[0].label, "flight");

    // One slot head: nothing to reconcile. The per-dataset model has two.
    let sents = picotag_quantize::data::load_split(&r.tasks[1].train).unwrap();
    let c = picotag_quantize::eval::conflicts::count(&out.join("best"), None, &[], sents).unwrap();
    assert_eq!(c.heads, ["slots"]);
    assert_eq!(c.conflicting_pairs + c.agreeing_duplicates, 0);
    assert!(c.spans > 0);
}

#[test]
fn domains_rule_out_the_types_of_other_domains() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = recipe(tmp.path(), true);
    let tok = Tok::from_file(&tmp.path().join("tokenizer.json")).unwrap();
    let pure = load_tasks(&r, &tok, None).unwrap();
    r.tasks[0].domain = Some("voice".into());
    r.tasks[1].domain = Some("health".into());
    let with = load_tasks(&r, &tok, None).unwrap();
    let allowed = |t: &picotag_quantize::train::tasks::TaskData| -> Vec<String> {
        let v = t.unified.as_ref().unwrap();
        v.head
            .labels
            .labels
            .iter()
            .zip(&v.o_set)
            .filter(|(_, &a)| a == 1.0)
            .map(|(l, _)| l.clone())
            .collect()
    };
    // Without domains a bio O may be any SLU type; with them, only O.
    assert!(allowed(&pure[1]).contains(&"B-to".to_string()));
    assert_eq!(allowed(&with[1]), ["O"]);
    assert_eq!(allowed(&with[0]), ["O"]);
    // And the trained model stops tagging SLU types in bio text.
    let out = tmp.path().join("run");
    train(&r, &ctl(out.clone())).unwrap();
    let sents = vec![picotag_quantize::data::Sentence {
        words: ["the", "patient", "took", "aspirin", "for", "headache"]
            .map(String::from)
            .to_vec(),
        labels: ["O", "O", "O", "B-Chemical", "O", "B-Disease"]
            .map(String::from)
            .to_vec(),
        intent: None,
        line: 1,
    }];
    let model = Model::load(&out.join("best"), false, &Device::Cpu).unwrap();
    // Each domain's sentences are "no slot" examples for the other domain's
    // has-slot head, found by name (the tasks have no slot heads of their own).
    let head = |n: &str| model.meta.heads.iter().position(|h| h.name == n).unwrap();
    let neg = step::gate_negatives(&r.tasks, &model);
    assert_eq!(neg["slu"], [head("bio.bcls")]);
    assert_eq!(neg["bio"], [head("slu.bcls")]);
    let items = picotag_quantize::eval::prepare(&tok, sents, 24).unwrap();
    let th = with[1].heads(&model).unwrap();
    let p = picotag_quantize::eval::predict(&model, &th, &items, &Device::Cpu).unwrap();
    let (_, foreign) =
        picotag_quantize::eval::score_in("bio", &items, &p, with[1].unified.as_ref());
    assert_eq!(foreign, 0, "{:?}", p[0].pieces);
    assert_eq!(p[0].pieces, ["O", "O", "O", "B-Chemical", "O", "B-Disease"]);
}

#[test]
fn refining_the_heads_keeps_the_encoder_and_scores_per_task() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = recipe(tmp.path(), false);
    r.epochs = 3;
    let first = tmp.path().join("first");
    train(&r, &ctl(first.clone())).unwrap();
    let base = Model::load(&first.join("best"), false, &Device::Cpu).unwrap();

    let mut refine = r.clone();
    refine.init = InitFrom::Checkpoint(first.join("best"));
    refine.finetune_heads = true;
    refine.lr = 1e-3;
    refine.epochs = 4;
    let out = tmp.path().join("refined");
    train(&refine, &ctl(out.clone())).unwrap();
    let after = Model::load(&out.join("best"), false, &Device::Cpu).unwrap();
    let values = |m: &Model, n: &str| -> Vec<f32> {
        m.params
            .get(n)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    for n in [
        "encoder.layer.0.attention.self.query.weight",
        "encoder.layer.1.output.dense.bias",
        "embeddings.position_embeddings.weight",
    ] {
        assert_eq!(values(&base, n), values(&after, n), "{n} changed");
    }
    assert_ne!(
        values(&base, "heads.bio.weight"),
        values(&after, "heads.bio.weight")
    );
    assert!(after.meta.provenance.contains_key("refined_from"));
    let tasks = dev_tasks(&out);
    assert!(tasks["bio"]["f1"].is_f64() && tasks["slu"]["f1"].is_f64());

    // Per-dataset heads on the bio sentences: two heads, so spans can clash.
    let sents = picotag_quantize::data::load_split(&r.tasks[1].train).unwrap();
    let c = picotag_quantize::eval::conflicts::count(&out.join("best"), None, &[], sents.clone())
        .unwrap();
    assert_eq!(c.heads, ["slu", "bio"]);
    let only = ["bio".to_string()];
    let c = picotag_quantize::eval::conflicts::count(&out.join("best"), None, &only, sents.clone())
        .unwrap();
    assert_eq!((c.heads.len(), c.conflicting_pairs), (1, 0));
    let bad = ["nope".to_string()];
    assert!(
        picotag_quantize::eval::conflicts::count(&out.join("best"), None, &bad, sents).is_err()
    );

    // Refining needs the checkpoint's heads: other tasks are refused.
    let mut other = refine.clone();
    other.tasks.truncate(1);
    let err = train(&other, &ctl(tmp.path().join("bad")))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("heads"), "{err}");
}

#[test]
fn a_unified_teacher_distils_into_a_unified_student() {
    use picotag_quantize::distill::loss::Distiller;
    use picotag_quantize::distill::{hidden_map, init_student, student_heads};
    use picotag_quantize::recipe::{training_recipe, DistillRecipe};
    let tmp = tempfile::tempdir().unwrap();
    let mut r = recipe(tmp.path(), true);
    r.epochs = 40;
    let teacher_out = tmp.path().join("teacher");
    train(&r, &ctl(teacher_out.clone())).unwrap();
    let teacher_dir = teacher_out.join("best");

    // The distill command finds the type map in the teacher: no --type-map.
    let out = tmp.path().join("student");
    let bin = env!("CARGO_BIN_EXE_picotag-quantize");
    let o = std::process::Command::new(bin)
        .arg("distill")
        .arg("--teacher")
        .arg(&teacher_dir)
        .arg("--out")
        .arg(&out)
        .arg(format!("--task=slu={}", tmp.path().join("slu").display()))
        .arg(format!(
            "--task=bio={},weight=1",
            tmp.path().join("bio").display()
        ))
        .args(["--layers", "1", "--hidden", "32", "--heads", "4"])
        .args(["--intermediate", "64", "--max-positions", "64"])
        .args(["--init-layers", "1", "--aux-weight", "0.1"])
        .args(["--epochs", "40", "--batch-size", "2", "--max-len", "24"])
        .args(["--lr", "3e-3", "--dropout", "0"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let student = Model::load(&out.join("best"), false, &Device::Cpu).unwrap();
    let teacher = Model::load_frozen(&teacher_dir, &Device::Cpu).unwrap();
    let names: Vec<&str> = student.meta.heads.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["slots", "slu.intent", "slu.bcls", "bio.bcls"]);
    assert_eq!(student.meta.heads, teacher.meta.heads);
    assert_eq!(
        training_recipe(&student.meta).and_then(|r| r.unified),
        r.unified
    );
    // Scored per dataset through the one head, like the teacher.
    let tasks = dev_tasks(&out);
    for t in ["slu", "bio"] {
        let f1 = tasks[t]["f1"].as_f64().unwrap();
        assert!(f1 > 0.8, "{t}: student dev F1 {f1}");
        assert!(tasks[t]["foreign_spans"].is_u64(), "{t}");
    }

    // The gold term of the unified head is the partial-label loss: with the
    // KL and aux terms off, the distillation loss is the training loss.
    let mut dr: DistillRecipe =
        serde_json::from_value(student.meta.provenance["recipe"].clone()).unwrap();
    dr.weights.alpha_kd = 0.0;
    dr.weights.alpha_gold = 1.0;
    let tok = Tok::from_json(&teacher.meta.tokenizer).unwrap();
    let tasks = load_tasks(&dr.base, &tok, None).unwrap();
    let heads = student_heads(&teacher, &Default::default(), &tasks).unwrap();
    let s = init_student(&dr, &teacher, heads, "s", &Device::Cpu).unwrap();
    let d = Distiller {
        teacher: &teacher,
        weights: dr.weights,
        aux_weight: 0.0,
        hidden: hidden_map(&dr, &teacher).unwrap(),
    };
    for td in &tasks {
        let ex: Vec<&Example> = td.train.iter().collect();
        let b = Batch::new(&ex, &Device::Cpu).unwrap();
        let (sth, tth) = (td.heads(&s).unwrap(), td.heads(&teacher).unwrap());
        let o_set = td.unified.as_ref().map(|v| v.o_set.as_slice());
        assert!(o_set.is_some_and(|o| o.iter().filter(|&&x| x > 0.0).count() > 1));
        let kd = d
            .batch_loss(
                &s,
                &BatchInput {
                    o_set,
                    ..BatchInput::new(&b, &sth)
                },
                &tth,
                &mut None,
            )
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let gold = step::batch_loss(
            &s,
            &BatchInput {
                o_set,
                ..BatchInput::new(&b, &sth)
            },
            0.0,
            &mut None,
        )
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
        assert!((kd - gold).abs() < 1e-5, "{}: {kd} vs {gold}", td.spec.name);
        let ce = step::batch_loss(&s, &BatchInput::new(&b, &sth), 0.0, &mut None)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(ce > kd + 1e-3, "{}: CE {ce}, partial {kd}", td.spec.name);
    }

    // Compressed, it stores per-dataset scores through the unified head.
    let ptag = tmp.path().join("s.ptag");
    let opts = int8_with_scores();
    let c = picotag_quantize::compress::compress(&out.join("best"), &ptag, &opts).unwrap();
    let stored = c.scores["tasks"].as_object().unwrap();
    assert_eq!(
        stored.keys().map(String::as_str).collect::<Vec<_>>(),
        ["bio", "slu"]
    );
    // `eval` finds the unified head of the file and of the checkpoint, and
    // scores bio on its own two types.
    let eval = |what: &str, path: &Path| -> serde_json::Value {
        let o = std::process::Command::new(bin)
            .arg("eval")
            .arg(format!("--{what}={}", path.display()))
            .args(["--task", "bio", "--json"])
            .arg(format!(
                "--data={}",
                tmp.path().join("bio").join("devel.tsv").display()
            ))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let file = eval("model", &ptag);
    assert!((file["f1"].as_f64().unwrap() - stored["bio"]["f1"].as_f64().unwrap()).abs() < 1e-9);
    let ck = eval("checkpoint", &out.join("best"));
    assert_eq!(ck["per_type"].as_object().unwrap().len(), 2, "{ck}");
    assert!(ck["f1"].as_f64().unwrap() > 0.8, "{ck}");
}
