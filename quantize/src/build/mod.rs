//! `build RECIPE`: teacher → student → compress → eval → model card, from one
//! recipe file. Each stage is the building-block command (`train`,
//! `distill`, `compress`, `reencode`, `eval`) run with the arguments the
//! recipe gives; each resumes after a kill (the training stages from their
//! last checkpoint) and is skipped once done (`runs/NAME/STAGE.done`). Each
//! round of the student is marked done on its own (`student-rK/round.done`),
//! so a restart added to a finished recipe runs only the new round; a stage
//! that runs makes the stages after it stale (their marks are removed).

pub mod card;
pub mod recipe;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Parser, ValueEnum};
use picotag::format::ModelFile;
use serde::{Deserialize, Serialize};

use crate::compress::dev_sets;
use crate::data::load_split;
use crate::error::{Error, Result};
use crate::eval::ptag::eval_model_gated;
use crate::eval::unified_view;
use recipe::{LoadedRecipe, RecipeFile, TaskEntry};

/// The stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Train the teacher (multi-task, or one per task).
    Teacher,
    /// Distil the student (when the recipe has one).
    Student,
    /// Write the int8 `.ptag` (and an f32 one for the card's comparison).
    Compress,
    /// Dev figures of both files, has-slot gate off and on.
    Eval,
    /// Write the model card.
    Card,
}

const STAGES: [Stage; 5] = [
    Stage::Teacher,
    Stage::Student,
    Stage::Compress,
    Stage::Eval,
    Stage::Card,
];

/// `build` arguments.
#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// The recipe file (TOML; see recipes/README.md).
    pub recipe: PathBuf,
    /// Run only this stage (its inputs must exist). Repeatable.
    #[arg(long, value_enum)]
    pub only: Vec<Stage>,
    /// The folder of run folders (`DIR/NAME` holds the stages' work).
    #[arg(long, default_value = "runs")]
    pub runs: PathBuf,
    /// Write the model here instead of the recipe's `output`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Task data paths start here instead of the recipe's `data_root`.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// With per-task teachers (`teacher.per_task`): the teacher stage trains
    /// only this task's teacher and is not marked done (two processes can
    /// train two teachers at once). Repeatable.
    #[arg(long)]
    pub teacher_task: Vec<String>,
}

/// Where a build keeps its work.
pub struct BuildPaths {
    /// `runs/NAME`.
    pub run: PathBuf,
    /// The `.ptag` written.
    pub output: PathBuf,
    /// The f32 `.ptag` the card compares with.
    pub f32_model: PathBuf,
    /// The model card.
    pub card: PathBuf,
}

impl BuildPaths {
    fn new(r: &LoadedRecipe, a: &BuildArgs) -> BuildPaths {
        let run = a.runs.join(&r.file.name);
        let output = a.out.clone().unwrap_or_else(|| r.resolve(&r.file.output));
        let card = if output.file_name().is_some_and(|n| n == "model.ptag") {
            output.with_file_name("MODEL.md")
        } else {
            output.with_extension("md")
        };
        BuildPaths {
            f32_model: run.join("f32.ptag"),
            run,
            output,
            card,
        }
    }

    fn done(&self, s: Stage) -> PathBuf {
        self.run.join(format!("{}.done", stage_name(s)))
    }

    /// The run folder of the teacher of `task` (`teacher-TASK`), or of the
    /// multi-task teacher (`teacher`) when `task` is `None`.
    pub fn teacher(&self, task: Option<&str>) -> PathBuf {
        match task {
            Some(t) => self.run.join(format!("teacher-{t}")),
            None => self.run.join("teacher"),
        }
    }

    /// The run folder of the student's round `k`: `student` for the first
    /// (0), `student-rK` for warm restart `K`.
    pub fn student(&self, k: usize) -> PathBuf {
        match k {
            0 => self.run.join("student"),
            k => self.run.join(format!("student-r{k}")),
        }
    }

    /// The completion mark of the student's round `k`.
    pub fn round_done(&self, k: usize) -> PathBuf {
        self.student(k).join("round.done")
    }

    /// The checkpoint that gets compressed: the best of the student's last
    /// round, else the teacher's.
    pub fn final_checkpoint(&self, f: &RecipeFile) -> PathBuf {
        match &f.student {
            Some(s) => self.student(s.restarts.len()).join("best"),
            None => self.run.join("teacher").join("best"),
        }
    }
}

/// A stage's name, as `--only` spells it.
pub fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::Teacher => "teacher",
        Stage::Student => "student",
        Stage::Compress => "compress",
        Stage::Eval => "eval",
        Stage::Card => "card",
    }
}

/// What `STAGE.done` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageDone {
    /// Wall-clock seconds of the stage's last (completing) run.
    pub seconds: f64,
}

/// A building-block command's arguments, parsed as its subcommand would be.
#[derive(Debug, Parser)]
#[command(no_binary_name = true)]
struct Sub<A: Args> {
    #[command(flatten)]
    args: A,
}

fn parse<A: Args>(args: &[String]) -> Result<A> {
    Sub::<A>::try_parse_from(&args[1..])
        .map(|s| s.args)
        .map_err(|e| Error::Spec(format!("build: bad arguments for `{}`: {e}", args[0])))
}

/// Runs a building-block command given as arguments (the subcommand first).
fn run_command(args: &[String]) -> Result<()> {
    eprintln!("== picotag-quantize {}", args.join(" "));
    match args.first().map(String::as_str) {
        Some("train") => crate::train::args::run(&parse(args)?),
        Some("distill") => crate::distill::args::run(&parse(args)?),
        Some("compress") => crate::compress::args::run(&parse(args)?),
        Some("reencode") => crate::reencode::run(&parse(args)?),
        other => Err(Error::Spec(format!("build: no stage command {other:?}"))),
    }
}

/// Runs `build`.
pub fn run(a: &BuildArgs) -> Result<()> {
    run_for(a, &[])
}

/// Runs `build` for the recipes of `waiting` (canonical paths), whose
/// students start from this recipe's (`student.init_from`).
fn run_for(a: &BuildArgs, waiting: &[PathBuf]) -> Result<()> {
    let r = LoadedRecipe::load(&a.recipe, a.data.as_deref())?;
    if let Some(t) = a
        .teacher_task
        .iter()
        .find(|t| !r.file.teacher.per_task || !r.file.tasks.iter().any(|u| &u.name == *t))
    {
        return Err(Error::Spec(format!(
            "build --teacher-task {t}: {}",
            if r.file.teacher.per_task {
                "the recipe has no such task"
            } else {
                "only with teacher.per_task = true"
            }
        )));
    }
    let p = BuildPaths::new(&r, a);
    std::fs::create_dir_all(&p.run).map_err(|e| Error::io(&p.run, e))?;
    for stage in STAGES {
        if !a.only.is_empty() && !a.only.contains(&stage) {
            continue;
        }
        if stage == Stage::Student && r.file.student.is_none() {
            continue;
        }
        let done = p.done(stage);
        if a.only.is_empty() && done.is_file() && (stage != Stage::Student || rounds_done(&r, &p)) {
            eprintln!("== {}: done before ({})", stage_name(stage), done.display());
            continue;
        }
        // What comes after this stage was made from its old output.
        for later in STAGES.iter().filter(|&&s| s > stage) {
            let d = p.done(*later);
            if d.is_file() {
                std::fs::remove_file(&d).map_err(|e| Error::io(&d, e))?;
            }
        }
        let t0 = Instant::now();
        match stage {
            Stage::Teacher if r.file.teacher.per_task => {
                for t in &r.file.tasks {
                    if a.teacher_task.is_empty() || a.teacher_task.contains(&t.name) {
                        run_command(&teacher_args(&r, &p, Some(t))?)?;
                    }
                }
                if !a.teacher_task.is_empty() {
                    continue;
                }
            }
            Stage::Teacher => run_command(&teacher_args(&r, &p, None)?)?,
            Stage::Student => {
                for k in 0..=r.file.student.as_ref().map_or(0, |s| s.restarts.len()) {
                    let mark = p.round_done(k);
                    if mark.is_file() {
                        eprintln!("== student round {k}: done before ({})", mark.display());
                        continue;
                    }
                    let t = Instant::now();
                    run_command(&if k == 0 {
                        first_round_args(&r, &p, a, waiting)?
                    } else {
                        restart_args(&r, &p, k)?
                    })?;
                    let d = StageDone {
                        seconds: t.elapsed().as_secs_f64(),
                    };
                    crate::model::write_json(&mark, &d)?;
                }
            }
            Stage::Compress => compress(&r, &p)?,
            Stage::Eval => evaluate(&r, &p)?,
            Stage::Card => card::write(&r, &p)?,
        }
        let d = StageDone {
            seconds: t0.elapsed().as_secs_f64(),
        };
        crate::model::write_json(&done, &d)?;
    }
    summary(&r, &p)
}

/// Whether every round of the recipe's student (none without one) is marked
/// done: a restart added after the student stage finished makes it run again.
fn rounds_done(r: &LoadedRecipe, p: &BuildPaths) -> bool {
    r.file
        .student
        .as_ref()
        .is_none_or(|s| (0..=s.restarts.len()).all(|k| p.round_done(k).is_file()))
}

/// `train` arguments of the multi-task teacher (`task` `None`) or of one
/// task's teacher.
fn teacher_args(r: &LoadedRecipe, p: &BuildPaths, task: Option<&TaskEntry>) -> Result<Vec<String>> {
    let t = &r.file.teacher;
    let mut v: Vec<String> = vec!["train".into(), "--resume".into()];
    let out = p.teacher(task.map(|x| x.name.as_str()));
    v.extend(["--out".into(), out.display().to_string()]);
    match t.init.as_str() {
        "minilm" => v.extend(["--init".into(), minilm(r)?.display().to_string()]),
        "random" => {
            v.extend(["--init".into(), "random".into()]);
            let tok = tokenizer_file(r, p)?;
            v.extend(["--tokenizer".into(), tok.display().to_string()]);
            if let Some(s) = &t.shape {
                v.extend(shape_args(s));
            }
        }
        dir => v.extend([
            "--init".into(),
            r.resolve(Path::new(dir)).display().to_string(),
        ]),
    }
    let tasks = match task {
        Some(x) => std::slice::from_ref(x),
        None => &r.file.tasks[..],
    };
    for task in tasks {
        v.extend(["--task".into(), r.task_arg(task, t.domains, t.symbols)?]);
    }
    let epochs = task.and_then(|x| x.teacher_epochs).unwrap_or(t.epochs);
    let lr = task.and_then(|x| x.teacher_lr).unwrap_or(t.lr);
    v.extend([
        "--epochs".into(),
        epochs.to_string(),
        "--lr".into(),
        lr.to_string(),
        "--batch-size".into(),
        t.batch_size.to_string(),
        "--max-len".into(),
        t.max_len.to_string(),
        "--warmup".into(),
        t.warmup.to_string(),
        "--schedule".into(),
        t.schedule.clone(),
        "--aux".into(),
        if t.aux.is_empty() {
            "none".into()
        } else {
            t.aux.join(",")
        },
        "--aux-weight".into(),
        t.aux_weight.to_string(),
        "--seed".into(),
        t.seed.to_string(),
        "--save-every".into(),
        "100".into(),
    ]);
    if t.train_word_embeddings {
        v.push("--train-word-embeddings".into());
    }
    if let Some(n) = t.dev_limit {
        v.extend(["--dev-limit".into(), n.to_string()]);
    }
    Ok(v)
}

fn shape_args(s: &recipe::Shape) -> Vec<String> {
    vec![
        "--layers".into(),
        s.layers.to_string(),
        "--hidden".into(),
        s.hidden.to_string(),
        "--heads".into(),
        s.heads.to_string(),
        "--intermediate".into(),
        s.intermediate.to_string(),
    ]
}

fn student_args(r: &LoadedRecipe, p: &BuildPaths) -> Result<Vec<String>> {
    let Some(s) = &r.file.student else {
        return Err(Error::Spec("the recipe has no [student]".into()));
    };
    let mut v: Vec<String> = vec!["distill".into(), "--resume".into()];
    v.extend(["--out".into(), p.student(0).display().to_string()]);
    let main = r.init_teacher();
    v.extend([
        "--teacher".into(),
        p.teacher(main).join("best").display().to_string(),
    ]);
    for task in &r.file.tasks {
        v.extend(["--task".into(), r.task_arg(task, true, s.symbols)?]);
        if main.is_some_and(|m| m != task.name) {
            let best = p.teacher(Some(&task.name)).join("best");
            v.extend([
                "--task-teacher".into(),
                format!("{}={}", task.name, best.display()),
            ]);
        }
    }
    v.extend(shape_args(&s.shape));
    if !s.init_layers.is_empty() {
        let l: Vec<String> = s.init_layers.iter().map(usize::to_string).collect();
        v.extend(["--init-layers".into(), l.join(",")]);
    }
    v.extend(distill_settings(r, s, s.epochs, s.lr, s.seed));
    v.extend(teacher_cache_args(p));
    Ok(v)
}

/// Every student round of a recipe keeps its teachers' logits in one folder,
/// `runs/NAME/teacher-cache`: computed by the first round, read by the others.
fn teacher_cache_args(p: &BuildPaths) -> [String; 2] {
    [
        "--teacher-cache".into(),
        p.run.join("teacher-cache").display().to_string(),
    ]
}

/// `distill` arguments of the student's first round: from the teacher's
/// layers, or with `student.init_from` from that recipe's student.
fn first_round_args(
    r: &LoadedRecipe,
    p: &BuildPaths,
    a: &BuildArgs,
    waiting: &[PathBuf],
) -> Result<Vec<String>> {
    let Some(s) = &r.file.student else {
        return Err(Error::Spec("the recipe has no [student]".into()));
    };
    match init_from(r, a, waiting)? {
        Some(start) => warm_args(r, p, 0, &start, s.epochs, s.lr, s.seed),
        None => student_args(r, p),
    }
}

/// The checkpoint the first student round starts from with
/// `student.init_from`: that recipe's final student, built first (every
/// stage, under the same runs folder) when it is not there yet.
fn init_from(r: &LoadedRecipe, a: &BuildArgs, waiting: &[PathBuf]) -> Result<Option<PathBuf>> {
    let Some(from) = r.file.student.as_ref().and_then(|s| s.init_from.as_ref()) else {
        return Ok(None);
    };
    let path = r.resolve(from);
    let canonical = |p: &Path| std::fs::canonicalize(p).map_err(|e| Error::io(p, e));
    let (this, other_path) = (canonical(&r.path)?, canonical(&path)?);
    let mut chain = waiting.to_vec();
    chain.push(this);
    if chain.contains(&other_path) {
        return Err(Error::Spec(format!(
            "student.init_from: {} starts from a recipe that starts from it",
            path.display()
        )));
    }
    let other = LoadedRecipe::load(&path, a.data.as_deref())?;
    let start = BuildPaths::new(&other, a).final_checkpoint(&other.file);
    if !start.join("model.safetensors").is_file() {
        eprintln!("== student.init_from: building {} first", path.display());
        let first = BuildArgs {
            recipe: path.clone(),
            only: vec![],
            out: None,
            teacher_task: vec![],
            ..a.clone()
        };
        run_for(&first, &chain)?;
    }
    if !start.join("model.safetensors").is_file() {
        return Err(Error::Spec(format!(
            "student.init_from: {} left no student at {}",
            path.display(),
            start.display()
        )));
    }
    Ok(Some(start))
}

/// `distill` arguments of the student's warm restart `k` (1-based): the
/// previous round's best gives every tensor (layers, embeddings, heads); each
/// task learns from its teacher as in the first round.
fn restart_args(r: &LoadedRecipe, p: &BuildPaths, k: usize) -> Result<Vec<String>> {
    let Some(s) = &r.file.student else {
        return Err(Error::Spec("the recipe has no [student]".into()));
    };
    let Some(round) = s.restarts.get(k - 1) else {
        return Err(Error::Spec(format!("the recipe has no restart {k}")));
    };
    let start = p.student(k - 1).join("best");
    warm_args(r, p, k, &start, round.epochs, round.lr, s.seed + k as u64)
}

/// `distill` arguments of student round `k` started from every tensor of
/// checkpoint `start`, each task taught by its teacher.
fn warm_args(
    r: &LoadedRecipe,
    p: &BuildPaths,
    k: usize,
    start: &Path,
    epochs: usize,
    lr: f64,
    seed: u64,
) -> Result<Vec<String>> {
    let Some(s) = &r.file.student else {
        return Err(Error::Spec("the recipe has no [student]".into()));
    };
    let mut v: Vec<String> = vec!["distill".into(), "--resume".into()];
    v.extend(["--out".into(), p.student(k).display().to_string()]);
    v.extend(["--teacher".into(), start.display().to_string()]);
    for task in &r.file.tasks {
        v.extend(["--task".into(), r.task_arg(task, true, s.symbols)?]);
        let teacher = p.teacher(r.file.teacher.per_task.then_some(task.name.as_str()));
        v.extend([
            "--task-teacher".into(),
            format!("{}={}", task.name, teacher.join("best").display()),
        ]);
    }
    v.extend(shape_args(&recipe::Shape {
        intermediate: s.intermediate(k),
        ..s.shape.clone()
    }));
    let layers: Vec<String> = (0..s.shape.layers).map(|l| l.to_string()).collect();
    v.extend(["--init-layers".into(), layers.join(",")]);
    v.extend(distill_settings(r, s, epochs, lr, seed));
    v.extend(teacher_cache_args(p));
    Ok(v)
}

/// The `distill` settings a student round shares with the others.
fn distill_settings(
    r: &LoadedRecipe,
    s: &recipe::Student,
    epochs: usize,
    lr: f64,
    seed: u64,
) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    if let Some(k) = s.embedding_rank {
        v.extend(["--embedding-rank".into(), k.to_string()]);
    }
    if s.project_embeddings {
        v.push("--project-embeddings".into());
    }
    if s.train_word_embeddings {
        v.push("--train-word-embeddings".into());
    }
    v.extend([
        "--epochs".into(),
        epochs.to_string(),
        "--lr".into(),
        lr.to_string(),
        "--temperature".into(),
        s.temperature.to_string(),
        "--alpha-kd".into(),
        s.alpha_kd.to_string(),
        "--alpha-gold".into(),
        s.alpha_gold.to_string(),
        "--hidden-mse".into(),
        s.hidden_mse.to_string(),
        "--aux-weight".into(),
        s.aux_weight.to_string(),
        "--batch-size".into(),
        s.batch_size.to_string(),
        "--max-len".into(),
        r.file.teacher.max_len.to_string(),
        "--seed".into(),
        seed.to_string(),
        "--save-every".into(),
        "100".into(),
    ]);
    if let Some(n) = s.dev_limit {
        v.extend(["--dev-limit".into(), n.to_string()]);
    }
    v
}

/// The pretrained MiniLM folder, fetched by `scripts/fetch-teacher.sh`:
/// `$PICOTAG_TEACHER_DIR`, else `.cache/teacher/all-minilm-l6-v2` in the
/// current folder or in the recipe's folder or one above it (the checkout).
fn minilm(r: &LoadedRecipe) -> Result<PathBuf> {
    const REL: &str = ".cache/teacher/all-minilm-l6-v2";
    let found = |d: &Path| d.join("model.safetensors").is_file();
    if let Some(d) = std::env::var_os("PICOTAG_TEACHER_DIR").map(PathBuf::from) {
        return if found(&d) {
            Ok(d)
        } else {
            Err(Error::Spec(format!(
                "teacher.init = \"minilm\": no model in $PICOTAG_TEACHER_DIR = {}",
                d.display()
            )))
        };
    }
    let recipe_dir = r.resolve(Path::new(""));
    let mut candidates: Vec<PathBuf> = Vec::new();
    for d in std::iter::once(PathBuf::from(REL))
        .chain(recipe_dir.ancestors().take(3).map(|a| a.join(REL)))
    {
        if !candidates.contains(&d) {
            candidates.push(d);
        }
    }
    candidates.iter().find(|d| found(d)).cloned().ok_or_else(|| {
        Error::Spec(format!(
            "teacher.init = \"minilm\": no model in {} (run scripts/fetch-teacher.sh, or set PICOTAG_TEACHER_DIR)",
            candidates
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(" or ")
        ))
    })
}

/// The recipe's tokenizer as a `tokenizer.json` file (a `.ptag`'s is written
/// into the run folder).
fn tokenizer_file(r: &LoadedRecipe, p: &BuildPaths) -> Result<PathBuf> {
    let Some(t) = &r.file.teacher.tokenizer else {
        return Err(Error::Spec("teacher.tokenizer is missing".into()));
    };
    let t = r.resolve(t);
    if t.extension().is_some_and(|e| e == "ptag") {
        let f = ModelFile::open(&t, Default::default())?;
        let out = p.run.join("tokenizer.json");
        std::fs::write(&out, f.tokenizer_json()?).map_err(|e| Error::io(&out, e))?;
        Ok(out)
    } else {
        Ok(t)
    }
}

fn compress(r: &LoadedRecipe, p: &BuildPaths) -> Result<()> {
    let ck = p.final_checkpoint(&r.file);
    let c = &r.file.compress;
    let raw = p.run.join("model-with-aux.ptag");
    let mut v: Vec<String> = vec![
        "compress".into(),
        "--checkpoint".into(),
        ck.display().to_string(),
        "--out".into(),
        raw.display().to_string(),
        "--embeddings".into(),
        c.embeddings.clone(),
        "--reject-tpr".into(),
        c.reject_tpr.to_string(),
    ];
    if let Some(p) = c.max_positions {
        v.extend(["--max-positions".into(), p.to_string()]);
    }
    if c.int8_heads {
        v.push("--int8-heads".into());
    }
    run_command(&v)?;
    if let Some(dir) = p.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    if c.drop_aux {
        run_command(&[
            "reencode".into(),
            "--model".into(),
            raw.display().to_string(),
            "--out".into(),
            p.output.display().to_string(),
            "--drop-aux".into(),
        ])?;
    } else {
        std::fs::copy(&raw, &p.output).map_err(|e| Error::io(&p.output, e))?;
    }
    v = vec![
        "compress".into(),
        "--checkpoint".into(),
        ck.display().to_string(),
        "--out".into(),
        p.f32_model.display().to_string(),
        "--fp32".into(),
        "--no-eval".into(),
    ];
    run_command(&v)
}

/// Dev figures of one file on one task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskFigures {
    /// Task.
    pub task: String,
    /// Dev sentences.
    pub sentences: usize,
    /// Slot F1 (int8, gate off).
    pub int8_f1: f64,
    /// Slot F1 (int8, gate at 0.5: the runtime's default options).
    pub int8_f1_gate: f64,
    /// Slot F1 (f32, gate off).
    pub f32_f1: f64,
    /// Intent accuracy (int8, f32), for tasks with intents.
    pub intent: Option<(f64, f64)>,
}

/// Out-of-domain false slots: the dev sentences of one task through the
/// tasks of another domain (every slot they give is a false one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OodFigures {
    /// The task whose dev sentences were tagged.
    pub sentences_of: String,
    /// The tasks of the other domain whose slots were counted.
    pub through: Vec<String>,
    /// Sentences tagged.
    pub sentences: usize,
    /// Slots per 1,000 sentences, has-slot gate off.
    pub per_1000_gate_off: f64,
    /// Slots per 1,000 sentences, the runtime's default options (gate on).
    pub per_1000_gate_on: f64,
}

/// What the eval stage measures (`runs/NAME/eval.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalFigures {
    /// Dev figures per task.
    pub tasks: Vec<TaskFigures>,
    /// Every task's dev sentences through each other domain's tasks (tasks
    /// with a `domain` only).
    pub ood: Vec<OodFigures>,
}

fn evaluate(r: &LoadedRecipe, p: &BuildPaths) -> Result<()> {
    let file = ModelFile::open(&p.output, Default::default())?;
    let sets = dev_sets(file.meta(), &[])?;
    let mut tasks = Vec::new();
    for (task, data) in &sets {
        let view = unified_view(file.meta(), task)?;
        let data_s = load_split(data)?;
        let ev = |m: &Path, gate| eval_model_gated(m, task, data_s.clone(), view.as_ref(), gate);
        let (i8_off, i8_on, f32_off) = (
            ev(&p.output, None)?,
            ev(&p.output, Some(0.5))?,
            ev(&p.f32_model, None)?,
        );
        eprintln!(
            "{task}: dev F1 int8 {:.2} (gate on {:.2}), f32 {:.2}",
            100.0 * i8_off.f1,
            100.0 * i8_on.f1,
            100.0 * f32_off.f1
        );
        tasks.push(TaskFigures {
            task: task.clone(),
            sentences: i8_off.sentences,
            int8_f1: i8_off.f1,
            int8_f1_gate: i8_on.f1,
            f32_f1: f32_off.f1,
            intent: i8_off.intent_accuracy.zip(f32_off.intent_accuracy),
        });
    }
    let ood = ood_figures(r, &p.output, &sets)?;
    crate::model::write_json(&p.run.join("eval.json"), &EvalFigures { tasks, ood })
}

/// [`OodFigures`] of the int8 file for every (task, other domain) pair.
fn ood_figures(
    r: &LoadedRecipe,
    model: &Path,
    sets: &[(String, PathBuf)],
) -> Result<Vec<OodFigures>> {
    let domain_of = |task: &str| {
        r.file
            .tasks
            .iter()
            .find(|t| t.name == task)
            .and_then(|t| t.domain.as_deref())
    };
    let mut domains: Vec<&str> = r
        .file
        .tasks
        .iter()
        .filter_map(|t| t.domain.as_deref())
        .collect();
    domains.sort_unstable();
    domains.dedup();
    let mut out = Vec::new();
    for (task, data) in sets {
        let Some(own) = domain_of(task) else {
            continue;
        };
        let sentences = load_split(data)?;
        for d in domains.iter().filter(|d| **d != own) {
            let through: Vec<String> = r
                .file
                .tasks
                .iter()
                .filter(|t| t.domain.as_deref() == Some(d))
                .map(|t| t.name.clone())
                .collect();
            let rep = crate::eval::ood::false_slots(model, &through, &[], &sentences)?;
            eprintln!(
                "{task} dev through {}: {:.1} false slots / 1,000 (gate on {:.1})",
                through.join(","),
                rep.gate_off.per_1000,
                rep.gate_on.per_1000
            );
            out.push(OodFigures {
                sentences_of: task.clone(),
                through,
                sentences: rep.sentences,
                per_1000_gate_off: rep.gate_off.per_1000,
                per_1000_gate_on: rep.gate_on.per_1000,
            });
        }
    }
    Ok(out)
}

fn summary(r: &LoadedRecipe, p: &BuildPaths) -> Result<()> {
    let size = std::fs::metadata(&p.output).map(|m| m.len()).ok();
    eprintln!("== {}: {}", r.file.name, p.output.display());
    if let Some(n) = size {
        eprintln!(
            "   size {n} bytes ({:.2} MiB)",
            n as f64 / (1024.0 * 1024.0)
        );
    }
    if let Ok(figs) = card::read_eval(p) {
        for f in figs.tasks {
            eprintln!(
                "   {}: dev slot F1 {:.2} int8 ({:.2} with the gate), {:.2} f32{}",
                f.task,
                100.0 * f.int8_f1,
                100.0 * f.int8_f1_gate,
                100.0 * f.f32_f1,
                f.intent
                    .map(|(a, _)| format!(", intent {:.2}", 100.0 * a))
                    .unwrap_or_default()
            );
        }
    }
    for s in STAGES {
        if let Ok(d) = card::read_done(p, s) {
            eprintln!("   {:<8} {:>8.1} s", stage_name(s), d.seconds);
        }
    }
    if p.card.is_file() {
        eprintln!("   card {}", p.card.display());
    }
    Ok(())
}
