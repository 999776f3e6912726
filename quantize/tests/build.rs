//! `build RECIPE`: recipes/tiny.toml end to end (teacher, student, compress,
//! eval, card), resuming, and the errors of bad recipe files.

mod common;

use std::path::{Path, PathBuf};

use picotag::Tagger;
use picotag_quantize::build::card::HAND_WRITTEN;
use picotag_quantize::build::recipe::LoadedRecipe;
use picotag_quantize::build::{run, BuildArgs, Stage};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_tiny_recipe_builds_a_model_that_tags_and_a_card_with_its_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("tiny.ptag");
    let args = BuildArgs {
        recipe: repo().join("recipes/tiny.toml"),
        only: vec![],
        runs: tmp.path().join("runs"),
        out: Some(out.clone()),
        data: None,
        teacher_task: vec![],
    };
    run(&args).unwrap();
    let t = Tagger::open(&out).unwrap();
    assert_eq!(t.tasks().len(), 1);
    let r = t
        .tag_utterance("book a table for four in paris tomorrow")
        .unwrap();
    assert!(!r.slots.is_empty(), "{r:?}");
    // The card lists the task, its data and its measured figures.
    let card = std::fs::read_to_string(tmp.path().join("tiny.md")).unwrap();
    for want in [
        "# tiny",
        "| assistant | 300 | 60 | artist, city, genre, party_size, time | BookRestaurant, GetWeather, PlayMusic |",
        "## Dev figures",
        "| task | dev sentences | int8 | int8, gate | f32 | intent int8 / f32 |",
        "Out-of-scope",
        "| teacher |",
        "## Training stages",
        "```toml",
    ] {
        assert!(card.contains(want), "card lacks {want:?}:\n{card}");
    }
    let row = card
        .lines()
        .find(|l| l.starts_with("| assistant | 60 |"))
        .unwrap();
    let f1: f64 = row.split('|').nth(3).unwrap().trim().parse().unwrap();
    assert!(f1 > 50.0, "{row}");
    // The teacher's and the student's kept epochs, as they scored them.
    let stages = card
        .lines()
        .find(|l| l.starts_with("| assistant | ") && l.contains("(epoch"))
        .unwrap();
    assert_eq!(stages.matches("(epoch").count(), 2, "{stages}");
    // Run again: every stage is done, nothing changes.
    let before = std::fs::read(&out).unwrap();
    run(&args).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), before);
    // A hand-written part after the marker survives a new card, once.
    let card_path = tmp.path().join("tiny.md");
    let mut text = card.clone();
    text += &format!("\n{HAND_WRITTEN}\n\n## Known weaknesses\n\nToy data.\n");
    std::fs::write(&card_path, text).unwrap();
    for _ in 0..2 {
        run(&BuildArgs {
            only: vec![Stage::Card],
            ..args.clone()
        })
        .unwrap();
    }
    let card = std::fs::read_to_string(&card_path).unwrap();
    assert_eq!(card.matches("## Known weaknesses\n\nToy data.").count(), 1);
    assert_eq!(card.matches(HAND_WRITTEN).count(), 1);
    assert_eq!(card.matches("## Dev figures").count(), 1);
}

/// recipes/tiny.toml with absolute paths, to be written anywhere.
fn tiny_text() -> String {
    let dir = repo().join("recipes");
    std::fs::read_to_string(dir.join("tiny.toml"))
        .unwrap()
        .replace(
            "data_root = \"tiny\"",
            &format!("data_root = {:?}", dir.join("tiny")),
        )
        .replace(
            "tokenizer = \"../models/default.ptag\"",
            &format!("tokenizer = {:?}", repo().join("models/default.ptag")),
        )
}

/// Every stage of `recipe`, runs under `runs`, the model written to `out`.
fn build_all(recipe: PathBuf, runs: &Path, out: &Path) {
    run(&BuildArgs {
        recipe,
        only: vec![],
        runs: runs.to_path_buf(),
        out: Some(out.to_path_buf()),
        data: None,
        teacher_task: vec![],
    })
    .unwrap();
}

/// Writes `text` as recipe `name.toml` in `dir` and builds every stage:
/// the runs directory and the model file.
fn build_text(dir: &Path, name: &str, text: &str) -> (PathBuf, PathBuf) {
    let recipe = dir.join(format!("{name}.toml"));
    std::fs::write(&recipe, text).unwrap();
    let (runs, out) = (dir.join("runs"), dir.join(format!("{name}.ptag")));
    build_all(recipe, &runs, &out);
    (runs, out)
}

/// The mean dev F1 after each epoch of the training run in `dir`.
fn dev_f1s(dir: &Path) -> Vec<f64> {
    std::fs::read_to_string(dir.join("dev.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["mean_f1"]
                .as_f64()
                .unwrap()
        })
        .collect()
}

/// The model at `out` finds slots in a sentence of the tiny data's kind.
fn tags_a_sentence(out: &Path) {
    let t = Tagger::open(out).unwrap();
    let r = t
        .tag_utterance("book a table for four in paris tomorrow")
        .unwrap();
    assert!(!r.slots.is_empty(), "{r:?}");
}

#[test]
fn a_teacher_of_0_epochs_gives_a_gold_label_student() {
    let tmp = tempfile::tempdir().unwrap();
    let text = tiny_text()
        .replace("epochs = 6", "epochs = 0")
        .replace("epochs = 3", "epochs = 8\nalpha_kd = 0.0\nalpha_gold = 1.0");
    let (runs, out) = build_text(tmp.path(), "gold", &text);
    // The teacher was not trained: its best is its start, with no dev line.
    assert!(runs.join("tiny/teacher/best/model.safetensors").is_file());
    assert!(!runs.join("tiny/teacher/dev.jsonl").exists());
    let dev = std::fs::read_to_string(runs.join("tiny/student/dev.jsonl")).unwrap();
    assert_eq!(dev.lines().count(), 8);
    tags_a_sentence(&out);
}

#[test]
fn per_task_teachers_each_teach_their_task() {
    let tmp = tempfile::tempdir().unwrap();
    // Two tasks (the tiny data twice), a teacher each; `b`'s trains 2 epochs
    // at its own learning rate.
    let text = tiny_text()
        .replace(
            "format = \"jsonl\"",
            "format = \"jsonl\"\ndomain = \"x\"\n\n[[tasks]]\nname = \"b\"\ndata = \".\"\nformat = \"jsonl\"\ndomain = \"y\"\nteacher_epochs = 2\nteacher_lr = 2e-3",
        )
        .replace("epochs = 6", "epochs = 3\nper_task = true")
        .replace("epochs = 3\nlr = 2e-3", "epochs = 1\nlr = 2e-3\ninit_teacher = \"b\"");
    let recipe = tmp.path().join("per-task.toml");
    std::fs::write(&recipe, &text).unwrap();
    let runs = tmp.path().join("runs");
    let out = tmp.path().join("per-task.ptag");
    let args = |only: Vec<Stage>, teacher_task: Vec<String>| BuildArgs {
        recipe: recipe.clone(),
        only,
        runs: runs.clone(),
        out: Some(out.clone()),
        data: None,
        teacher_task,
    };
    let run_dir = runs.join("tiny");
    let epochs = |t: &str| {
        std::fs::read_to_string(run_dir.join(t).join("dev.jsonl"))
            .unwrap()
            .lines()
            .count()
    };
    // `--teacher-task b` trains b's teacher alone and leaves the stage open.
    run(&args(vec![Stage::Teacher], vec!["b".into()])).unwrap();
    assert_eq!(epochs("teacher-b"), 2);
    assert!(!run_dir.join("teacher-assistant").exists());
    assert!(!run_dir.join("teacher.done").exists());
    // A task the recipe lacks is an error.
    let e = run(&args(vec![Stage::Teacher], vec!["c".into()])).unwrap_err();
    assert!(e.to_string().contains("--teacher-task c"), "{e}");
    // The whole build: the other teacher, then a student taught by both.
    run(&args(vec![], vec![])).unwrap();
    assert_eq!(epochs("teacher-assistant"), 3);
    assert_eq!(epochs("teacher-b"), 2);
    let lr = |t: &str| {
        let m = picotag_quantize::model::read_meta(&run_dir.join(t).join("best")).unwrap();
        m.provenance["recipe"]["lr"].as_f64().unwrap()
    };
    assert_eq!((lr("teacher-assistant"), lr("teacher-b")), (3e-3, 2e-3));
    let meta = picotag_quantize::model::read_meta(&run_dir.join("student/best")).unwrap();
    let rec = &meta.provenance["recipe"];
    let teacher = rec["teacher"].as_str().unwrap();
    assert!(teacher.ends_with("teacher-b/best"), "{teacher}");
    let other = rec["task_teachers"]["assistant"].as_str().unwrap();
    assert!(other.ends_with("teacher-assistant/best"), "{other}");
    assert!(rec["task_teachers"].get("b").is_none(), "{rec}");
    let t = Tagger::open(&out).unwrap();
    assert_eq!(t.tasks().len(), 2);
    let card = std::fs::read_to_string(tmp.path().join("per-task.md")).unwrap();
    assert!(card.contains("each task's teacher was trained on that task alone"));
    let row = card
        .lines()
        .find(|l| l.starts_with("| b | ") && l.contains("(epoch"))
        .unwrap();
    assert_eq!(row.matches("(epoch").count(), 2, "{row}");
    // Each task's dev sentences through the other domain's task.
    for want in [
        "## Out-of-domain false slots",
        "| assistant | b | 60 |",
        "| b | assistant | 60 |",
    ] {
        assert!(card.contains(want), "card lacks {want:?}:\n{card}");
    }
}

#[test]
fn a_restart_with_a_narrower_ffn_trains_and_ships_the_pruned_network() {
    let tmp = tempfile::tempdir().unwrap();
    // With the heads int8 too: the two savings the shipped file needs.
    let text = tiny_text().replace("[compress]\n", "[compress]\nint8_heads = true\n")
        + "\n[[student.restarts]]\nepochs = 2\nlr = 1e-3\nintermediate = 48\n";
    let (runs, out) = build_text(tmp.path(), "prune", &text);
    let run_dir = runs.join("tiny");
    let width = |d: &str| {
        picotag_quantize::model::read_meta(&run_dir.join(d).join("best"))
            .unwrap()
            .architecture
            .intermediate
    };
    assert_eq!((width("student"), width("student-r1")), (128, 48));
    let file = picotag::format::ModelFile::open(&out, Default::default()).unwrap();
    assert_eq!(file.meta().architecture.intermediate, 48);
    for h in &file.meta().heads {
        let t = file.tensor(&format!("heads.{}.weight", h.name)).unwrap();
        assert_eq!(t.dtype, picotag::format::DType::I8, "{}", h.name);
    }
    // The pruned student still learnt the task.
    let f1 = dev_f1s(&run_dir.join("student-r1"));
    assert!(f1.last().is_some_and(|&f| f > 0.5), "{f1:?}");
    tags_a_sentence(&out);
}

#[test]
fn a_warm_restart_starts_from_the_students_best_and_is_what_ships() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("restart.toml");
    let runs = tmp.path().join("runs");
    let out = tmp.path().join("restart.ptag");
    let run_dir = runs.join("tiny");
    // First the recipe without a restart, built to the end.
    std::fs::write(&recipe, tiny_text()).unwrap();
    build_all(recipe.clone(), &runs, &out);
    let first_student = std::fs::read(run_dir.join("student/dev.jsonl")).unwrap();
    let cache = run_dir.join("teacher-cache");
    let first_cache = common::files_and_times(&cache);
    assert_eq!(first_cache.len(), 1, "{first_cache:?}");
    let first_card = std::fs::read_to_string(tmp.path().join("restart.md")).unwrap();
    assert!(!first_card.contains("restart 1"), "{first_card}");
    // Then a restart added to the finished recipe, at a learning rate too
    // small to move anything: it must score what the first round's best
    // scored (a fresh student would not). Only the new round trains; the
    // stages after it run again.
    let text = tiny_text() + "\n[[student.restarts]]\nepochs = 1\nlr = 1e-12\n";
    std::fs::write(&recipe, &text).unwrap();
    build_all(recipe, &runs, &out);
    assert_eq!(
        std::fs::read(run_dir.join("student/dev.jsonl")).unwrap(),
        first_student,
        "the first round trained again"
    );
    assert!(run_dir.join("student-r1/round.done").is_file());
    // The restart read the teacher's logits the first round cached.
    assert_eq!(common::files_and_times(&cache), first_cache);
    let f1s = |d: &str| dev_f1s(&run_dir.join(d));
    let first = f1s("student").into_iter().fold(f64::MIN, f64::max);
    let restart = f1s("student-r1");
    assert_eq!(restart.len(), 1);
    assert!(first > 0.5, "{first}");
    assert!(
        (restart[0] - first).abs() < 0.02,
        "{} vs {first}",
        restart[0]
    );
    // It started from the first round and learnt from the recipe's teacher.
    let meta = picotag_quantize::model::read_meta(&run_dir.join("student-r1/best")).unwrap();
    let rec = &meta.provenance["recipe"];
    let start = rec["teacher"].as_str().unwrap();
    assert!(start.ends_with("student/best"), "{start}");
    let teacher = rec["task_teachers"]["assistant"].as_str().unwrap();
    assert!(teacher.ends_with("teacher/best"), "{teacher}");
    // The restart's best is what was compressed, and the card shows each round.
    // Its slot heads know the symbols of their training slots (none here).
    let file = picotag::format::ModelFile::open(&out, Default::default()).unwrap();
    let slot_heads: Vec<_> = file
        .meta()
        .heads
        .iter()
        .filter(|h| h.role == picotag::format::HeadRole::Slots)
        .collect();
    assert!(!slot_heads.is_empty());
    for h in slot_heads {
        assert_eq!(h.span_symbols.as_deref(), Some(&[][..]), "{}", h.name);
    }
    let t = Tagger::open(&out).unwrap();
    assert!(!t
        .tag_utterance("book a table for four in paris tomorrow")
        .unwrap()
        .slots
        .is_empty());
    let card = std::fs::read_to_string(tmp.path().join("restart.md")).unwrap();
    assert!(
        card.contains("| task | teacher | student | student, restart 1 |"),
        "{card}"
    );
    let row = card
        .lines()
        .find(|l| l.starts_with("| assistant | ") && l.contains("(epoch"))
        .unwrap();
    assert_eq!(row.matches("(epoch").count(), 3, "{row}");
    assert!(card.contains("| student, restart 1 | "), "{card}");
}

#[test]
fn a_student_can_start_from_another_recipes_student() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let first = tmp.path().join("first.toml");
    let first_text = tiny_text().replace("../target/recipes/tiny.ptag", "first.ptag");
    std::fs::write(&first, &first_text).unwrap();
    // A second recipe (own name, own teacher) whose student starts from the
    // first recipe's, at a learning rate too small to move anything: it must
    // score what that student scored (a fresh student would not).
    let text = tiny_text()
        .replace("name = \"tiny\"", "name = \"tiny-refined\"")
        .replace(
            "init_layers = [1]\nepochs = 3\nlr = 2e-3",
            "init_from = \"first.toml\"\nepochs = 1\nlr = 1e-12",
        );
    assert!(text.contains("init_from"), "{text}");
    let second = tmp.path().join("second.toml");
    std::fs::write(&second, &text).unwrap();
    let out = tmp.path().join("second.ptag");
    // One command: the first recipe is built first, to its own output.
    build_all(second, &runs, &out);
    tags_a_sentence(&tmp.path().join("first.ptag"));
    let best = |d: &str| dev_f1s(&runs.join(d)).into_iter().fold(f64::MIN, f64::max);
    let (before, after) = (best("tiny/student"), best("tiny-refined/student"));
    assert!(before > 0.5, "{before}");
    assert!((after - before).abs() < 0.02, "{after} vs {before}");
    // It started from the first recipe's student and learnt from its own teacher.
    let meta = picotag_quantize::model::read_meta(&runs.join("tiny-refined/student/best")).unwrap();
    let rec = &meta.provenance["recipe"];
    let start = rec["teacher"].as_str().unwrap();
    assert!(start.ends_with("tiny/student/best"), "{start}");
    let teacher = rec["task_teachers"]["assistant"].as_str().unwrap();
    assert!(teacher.ends_with("tiny-refined/teacher/best"), "{teacher}");
    tags_a_sentence(&out);
    // A recipe that starts from itself is an error, not a loop.
    let own = tmp.path().join("own.toml");
    std::fs::write(
        &own,
        first_text.replace("init_layers = [1]", "init_from = \"own.toml\""),
    )
    .unwrap();
    let e = run(&BuildArgs {
        recipe: own,
        only: vec![],
        runs: tmp.path().join("runs-own"),
        out: Some(tmp.path().join("own.ptag")),
        data: None,
        teacher_task: vec![],
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("student.init_from"), "{e}");
}

fn recipe_error(text: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("r.toml");
    std::fs::write(&p, text).unwrap();
    LoadedRecipe::load(&p, None).unwrap_err().to_string()
}

const GOOD: &str = r#"
version = 1
name = "x"
output = "x.ptag"
[[tasks]]
name = "a"
data = "d"
[teacher]
init = "minilm"
epochs = 1
lr = 1e-4
"#;

const STUDENT: &str =
    "[student]\nshape = { layers = 1, hidden = 64, heads = 4, intermediate = 128 }\nepochs = 1\nlr = 1e-3\n";

#[test]
fn bad_recipes_name_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("r.toml");
    std::fs::write(&p, GOOD).unwrap();
    LoadedRecipe::load(&p, None).unwrap();
    let cases = [
        (GOOD.replace("version = 1", "version = 2"), "`version`"),
        (
            GOOD.replace("lr = 1e-4", "lr = 1e-4\nlearning_rate = 3"),
            "learning_rate",
        ),
        (GOOD.replace("epochs = 1", "epochs = \"one\""), "epochs"),
        (GOOD.replace("epochs = 1", "epochs = 0"), "`teacher.epochs`"),
        (
            GOOD.replace("epochs = 1", "epochs = 0") + STUDENT,
            "`teacher.epochs`",
        ),
        (GOOD.replace("x.ptag", "x.bin"), "`output`"),
        (
            GOOD.replace("data = \"d\"", "train = \"t\""),
            "`tasks[0].data`",
        ),
        (
            GOOD.replace("name = \"a\"", "name = \"a b\""),
            "`tasks[0].name`",
        ),
        (
            GOOD.replace("init = \"minilm\"", "init = \"random\""),
            "`teacher.init`",
        ),
        (
            GOOD.replace("[teacher]", "[compress]\nembeddings = \"i2\"\n[teacher]"),
            "`compress.embeddings`",
        ),
        (
            GOOD.replace("lr = 1e-4", "lr = 1e-4\naux = [\"pos\"]"),
            "`teacher.aux`",
        ),
        (
            GOOD.replace("data = \"d\"", "data = \"d\"\nasr = \"maybe\""),
            "asr",
        ),
        (
            GOOD.replace("lr = 1e-4", "lr = 1e-4\nsymbols = 1.5"),
            "`teacher.symbols`",
        ),
        (
            GOOD.replace("lr = 1e-4", "lr = 1e-4\nper_task = true"),
            "`teacher.per_task`",
        ),
        (
            GOOD.replace("data = \"d\"", "data = \"d\"\nteacher_epochs = 4"),
            "`tasks[0].teacher_epochs`",
        ),
        (
            GOOD.replace("data = \"d\"", "data = \"d\"\nteacher_lr = 1e-4"),
            "`tasks[0].teacher_lr`",
        ),
        (
            GOOD.replace("lr = 1e-4", "lr = 1e-4\nper_task = true")
                .replace("data = \"d\"", "data = \"d\"\nteacher_lr = 0")
                + STUDENT,
            "`tasks[0].teacher_lr`",
        ),
        (
            GOOD.replace("lr = 1e-4", "lr = 1e-4\nper_task = true")
                + STUDENT
                + "init_teacher = \"z\"\n",
            "`student.init_teacher`",
        ),
        (
            GOOD.to_string() + STUDENT + "init_teacher = \"a\"\n",
            "`student.init_teacher`",
        ),
        (
            GOOD.replace("lr = 1e-4", "lr = 1e-4\nper_task = true")
                + STUDENT
                + "hidden_mse = 1.0\n",
            "`student.hidden_mse`",
        ),
        (
            GOOD.to_string() + STUDENT + "init_from = \"other.toml\"\ninit_layers = [0]\n",
            "`student.init_from`",
        ),
        (
            GOOD.to_string() + STUDENT + "[[student.restarts]]\nepochs = 0\nlr = 1e-4\n",
            "`student.restarts[0].epochs`",
        ),
        (
            GOOD.to_string() + STUDENT + "[[student.restarts]]\nepochs = 2\nlr = -1\n",
            "`student.restarts[0].lr`",
        ),
        (
            GOOD.to_string() + STUDENT + "[[student.restarts]]\nepochs = 2\nlr = 1e-4\nseed = 3\n",
            "seed",
        ),
        (
            GOOD.to_string()
                + STUDENT
                + "hidden_mse = 1.0\n[[student.restarts]]\nepochs = 2\nlr = 1e-4\n",
            "`student.restarts`",
        ),
        // A restart may only narrow the FFN: wider than the previous round's is an error.
        (
            GOOD.to_string()
                + STUDENT
                + "[[student.restarts]]\nepochs = 2\nlr = 1e-4\nintermediate = 64\n"
                + "[[student.restarts]]\nepochs = 2\nlr = 1e-4\nintermediate = 96\n",
            "`student.restarts[1].intermediate`",
        ),
        (
            GOOD.to_string()
                + STUDENT
                + "[[student.restarts]]\nepochs = 2\nlr = 1e-4\nintermediate = 0\n",
            "`student.restarts[0].intermediate`",
        ),
    ];
    for (text, want) in cases {
        let e = recipe_error(&text);
        assert!(e.contains(want), "{want:?} not in {e:?}");
    }
}

#[test]
fn every_recipe_in_the_repository_loads() {
    let mut n = 0;
    for dir in [repo().join("recipes"), repo().join("recipes/experiments")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                LoadedRecipe::load(&p, None).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                n += 1;
            }
        }
    }
    assert!(n >= 3, "{n} recipes");
}
