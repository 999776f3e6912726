//! The recipe file of `build` (TOML, `version = 1`): the tasks, the
//! teacher, the student, compression and the output. Unknown keys and bad
//! values are errors that name the key. Relative paths are relative to the
//! recipe file's folder; `data_root` (or `build --data DIR`) is the folder
//! task `data` paths start from. Field by field: `recipes/README.md`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The recipe format version this build reads.
pub const RECIPE_VERSION: u32 = 1;

/// A whole recipe file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeFile {
    /// Must be [`RECIPE_VERSION`].
    pub version: u32,
    /// The model's name: its run folder is `runs/NAME` (see `build --runs`).
    pub name: String,
    /// The `.ptag` file to write (its model card `MODEL.md`, or
    /// `NAME.md` for `NAME.ptag`, goes beside it).
    pub output: PathBuf,
    /// Where task `data` paths start (default: the recipe's folder);
    /// `build --data DIR` overrides it.
    #[serde(default)]
    pub data_root: Option<PathBuf>,
    /// The tasks (datasets), at least one.
    pub tasks: Vec<TaskEntry>,
    /// The teacher (one multi-task teacher, or one per task).
    pub teacher: Teacher,
    /// The distilled student; without it the teacher is compressed.
    #[serde(default)]
    pub student: Option<Student>,
    /// How the model file is written.
    #[serde(default)]
    pub compress: Compress,
}

/// One task: a dataset and how it trains.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskEntry {
    /// Task name (heads are named after it): letters, digits, `_`, `-`.
    pub name: String,
    /// A dataset folder (train and dev splits found by name), relative to `data_root`.
    #[serde(default)]
    pub data: Option<PathBuf>,
    /// Or the two splits (relative to `data_root`).
    #[serde(default)]
    pub train: Option<PathBuf>,
    /// Dev split (with `train`).
    #[serde(default)]
    pub dev: Option<PathBuf>,
    /// The data's format: `auto` (by name), `jsonl`, `iob` (`.tsv`), `slu`
    /// (`seq.in`/`seq.out`/`label` folders). Checked against what is found.
    #[serde(default)]
    pub format: Format,
    /// The kind of text (tasks of different domains teach each other's
    /// has-slot heads "no").
    #[serde(default)]
    pub domain: Option<String>,
    /// Train on the ASR form too: `off`, `both` (every sentence in both
    /// forms) or `aug` (one form of each sentence an epoch, drawn at random).
    #[serde(default)]
    pub asr: Asr,
    /// Loss weight.
    #[serde(default = "one")]
    pub weight: f32,
    /// Intents left out of training (out-of-scope measurements).
    #[serde(default)]
    pub hold_out: Vec<String>,
    /// Train on the first N sentences only (0: all).
    #[serde(default)]
    pub limit: usize,
    /// With `teacher.per_task`: epochs of this task's teacher (default
    /// `teacher.epochs`).
    #[serde(default)]
    pub teacher_epochs: Option<usize>,
    /// With `teacher.per_task`: peak learning rate of this task's teacher
    /// (default `teacher.lr`).
    #[serde(default)]
    pub teacher_lr: Option<f64>,
}

fn one() -> f32 {
    1.0
}

/// Data formats of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Recognised by the file names.
    #[default]
    Auto,
    /// `.jsonl`: text, character-offset spans, optional intent.
    Jsonl,
    /// IOB `.tsv`: a word and its label a line, blank lines between sentences.
    Iob,
    /// `seq.in`/`seq.out`/`label` folders.
    Slu,
}

/// ASR-form training of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Asr {
    /// The data as given.
    #[default]
    Off,
    /// Every sentence in both forms.
    Both,
    /// One form of each sentence per epoch, drawn at random.
    Aug,
}

/// The teacher stage.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Teacher {
    /// `minilm` (all-MiniLM-L6-v2, fetched by `scripts/fetch-teacher.sh`
    /// into `$PICOTAG_TEACHER_DIR` or `.cache/teacher/all-minilm-l6-v2`),
    /// `random` (shape below), or a pretrained folder.
    pub init: String,
    /// With `random`: a `tokenizer.json`, or a `.ptag` file whose tokenizer is used.
    #[serde(default)]
    pub tokenizer: Option<PathBuf>,
    /// With `random`: the encoder's shape.
    #[serde(default)]
    pub shape: Option<Shape>,
    /// Epochs; 0: the teacher is the pretrained encoder with fresh heads,
    /// the layer source of a student trained on gold labels only.
    pub epochs: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Sentences per batch.
    #[serde(default = "batch")]
    pub batch_size: usize,
    /// Maximum sub-tokens per window.
    #[serde(default = "max_len")]
    pub max_len: usize,
    /// Warm-up fraction of the steps.
    #[serde(default = "warmup")]
    pub warmup: f64,
    /// `mixed` (all tasks' batches shuffled together) or `sequential`.
    #[serde(default = "mixed")]
    pub schedule: String,
    /// Auxiliary heads: any of `has_slot`, `mcls`, `mtcls`.
    #[serde(default)]
    pub aux: Vec<String>,
    /// Weight of the auxiliary losses.
    #[serde(default = "aux_weight")]
    pub aux_weight: f64,
    /// Train the word embeddings too (frozen by default).
    #[serde(default)]
    pub train_word_embeddings: bool,
    /// Seed.
    #[serde(default = "seed")]
    pub seed: u64,
    /// Symbol noise: also train on a copy of each sentence with emoji and
    /// punctuation inserted between its words at this rate per gap (gold
    /// `O`; one form of each sentence an epoch). 0: off.
    #[serde(default)]
    pub symbols: f64,
    /// Score at most N dev sentences per task after each epoch.
    #[serde(default)]
    pub dev_limit: Option<usize>,
    /// Whether the tasks' `domain`s reach the teacher (its has-slot heads
    /// then learn "no" from other domains' sentences); the student always
    /// gets them.
    #[serde(default = "yes")]
    pub domains: bool,
    /// One teacher per task (`runs/NAME/teacher-TASK`), each trained on its
    /// task alone; the student learns each task's batches from its task's
    /// teacher (`distill --task-teacher`). Needs a `[student]`.
    #[serde(default)]
    pub per_task: bool,
}

/// An encoder's shape.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    /// Layers.
    pub layers: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward size.
    pub intermediate: usize,
}

fn batch() -> usize {
    32
}
fn max_len() -> usize {
    128
}
fn warmup() -> f64 {
    0.06
}
fn mixed() -> String {
    "mixed".into()
}
fn aux_weight() -> f64 {
    0.1
}
fn seed() -> u64 {
    42
}

/// The student stage.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Student {
    /// The student's shape.
    pub shape: Shape,
    /// Teacher layers (0-based) the student's layers start from (same sizes).
    #[serde(default)]
    pub init_layers: Vec<usize>,
    /// Factorize the word embeddings at this rank.
    #[serde(default)]
    pub embedding_rank: Option<usize>,
    /// With a smaller hidden size: start from the teacher's embeddings, PCA-projected.
    #[serde(default)]
    pub project_embeddings: bool,
    /// Train the word embeddings.
    #[serde(default)]
    pub train_word_embeddings: bool,
    /// Epochs.
    pub epochs: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Softmax temperature of the distillation term.
    #[serde(default = "temperature")]
    pub temperature: f64,
    /// Weight of the distillation (KL) term.
    #[serde(default = "half")]
    pub alpha_kd: f64,
    /// Weight of the gold-label term.
    #[serde(default = "half")]
    pub alpha_gold: f64,
    /// Weight of the hidden-state MSE (0: off).
    #[serde(default)]
    pub hidden_mse: f64,
    /// Weight of the auxiliary losses.
    #[serde(default = "aux_weight")]
    pub aux_weight: f64,
    /// Sentences per batch.
    #[serde(default = "batch")]
    pub batch_size: usize,
    /// Seed.
    #[serde(default = "seed")]
    pub seed: u64,
    /// Symbol noise: also train on a copy of each sentence with emoji and
    /// punctuation inserted between its words at this rate per gap (gold
    /// `O`; one form of each sentence an epoch). 0: off.
    #[serde(default)]
    pub symbols: f64,
    /// Score at most N dev sentences per task after each epoch.
    #[serde(default)]
    pub dev_limit: Option<usize>,
    /// With `teacher.per_task`: the task whose teacher gives the student's
    /// layers and embeddings (default: the first task).
    #[serde(default)]
    pub init_teacher: Option<String>,
    /// Start the first round from the final student of another recipe (a
    /// path relative to this file; built first, under the same runs folder,
    /// when its student is not there):
    /// every tensor, as a warm restart does, taught by this recipe's
    /// teachers. Instead of `init_layers`, `init_teacher` and
    /// `project_embeddings`.
    #[serde(default)]
    pub init_from: Option<PathBuf>,
    /// Warm restarts: each round starts from the previous round's best
    /// (layers, embeddings, heads) and distils again from the same teachers
    /// on a fresh warm-up and decay (`runs/NAME/student-rK`).
    #[serde(default)]
    pub restarts: Vec<Restart>,
}

/// One warm restart of the student (`[[student.restarts]]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restart {
    /// Epochs of this round.
    pub epochs: usize,
    /// Its peak learning rate.
    pub lr: f64,
    /// The FFN width from this round on (none: the previous round's): each
    /// layer keeps the previous round's units of most weight
    /// (`‖w_in‖ · ‖w_out‖`) and the round trains the narrower network.
    #[serde(default)]
    pub intermediate: Option<usize>,
}

impl Student {
    /// The FFN width of round `k` (0: the first round; `k`: restart `k`).
    pub fn intermediate(&self, k: usize) -> usize {
        self.restarts[..k.min(self.restarts.len())]
            .iter()
            .rev()
            .find_map(|r| r.intermediate)
            .unwrap_or(self.shape.intermediate)
    }
}

fn temperature() -> f64 {
    2.0
}
fn half() -> f64 {
    0.5
}

/// The compression stage.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compress {
    /// Embedding tables: `i8`, `i4` (the word table int4, positions int8) or `f16`.
    #[serde(default = "i8")]
    pub embeddings: String,
    /// Keep the first N rows of the position table (none: all).
    #[serde(default)]
    pub max_positions: Option<usize>,
    /// Store the heads' weights int8 per row.
    #[serde(default)]
    pub int8_heads: bool,
    /// Leave out the auxiliary training heads (never run by the runtime).
    #[serde(default = "yes")]
    pub drop_aux: bool,
    /// Calibrate the out-of-scope threshold of intent heads to keep this
    /// share of the in-scope dev utterances (0: none).
    #[serde(default = "tpr")]
    pub reject_tpr: f64,
}

impl Default for Compress {
    fn default() -> Self {
        Compress {
            embeddings: i8(),
            max_positions: None,
            int8_heads: false,
            drop_aux: true,
            reject_tpr: tpr(),
        }
    }
}

fn i8() -> String {
    "i8".into()
}
fn yes() -> bool {
    true
}
fn tpr() -> f64 {
    0.95
}

/// A recipe read from its file, with its paths resolved.
#[derive(Debug, Clone)]
pub struct LoadedRecipe {
    /// The recipe.
    pub file: RecipeFile,
    /// Its text (copied into the model card).
    pub text: String,
    /// Its path.
    pub path: PathBuf,
    /// The folder task paths start from.
    pub data_root: PathBuf,
}

impl LoadedRecipe {
    /// Reads and checks a recipe file; `data_root` replaces the recipe's.
    pub fn load(path: &Path, data_root: Option<&Path>) -> Result<LoadedRecipe> {
        let text = crate::error::read_text(path)?;
        let file: RecipeFile = toml::from_str(&text)
            .map_err(|e| Error::Spec(format!("{}: {}", path.display(), e.to_string().trim())))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let data_root = match data_root {
            Some(d) => d.to_path_buf(),
            None => dir.join(file.data_root.clone().unwrap_or_default()),
        };
        let r = LoadedRecipe {
            file,
            text,
            path: path.to_path_buf(),
            data_root,
        };
        r.check()?;
        Ok(r)
    }

    /// A path of the recipe, relative to its folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        self.path.parent().unwrap_or(Path::new(".")).join(p)
    }

    /// The error of a bad value of `key`.
    fn bad(&self, key: &str, msg: &str) -> Result<()> {
        Err(Error::Spec(format!(
            "{}: `{key}`: {msg}",
            self.path.display()
        )))
    }

    fn check(&self) -> Result<()> {
        let bad = |key: &str, msg: &str| self.bad(key, msg);
        let f = &self.file;
        if f.version != RECIPE_VERSION {
            return bad(
                "version",
                &format!(
                    "this build reads version {RECIPE_VERSION}, not {}",
                    f.version
                ),
            );
        }
        let name_ok = |n: &str| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !name_ok(&f.name) {
            return bad("name", "letters, digits, '_' and '-' only");
        }
        if f.output.extension().is_none_or(|e| e != "ptag") {
            return bad("output", "must end in .ptag");
        }
        if f.tasks.is_empty() {
            return bad("tasks", "at least one [[tasks]] entry");
        }
        for (i, t) in f.tasks.iter().enumerate() {
            let key = |k: &str| format!("tasks[{i}].{k}");
            if !name_ok(&t.name) {
                return bad(&key("name"), "letters, digits, '_' and '-' only");
            }
            if f.tasks[..i].iter().any(|u| u.name == t.name) {
                return bad(&key("name"), &format!("{:?} twice", t.name));
            }
            match (&t.data, &t.train, &t.dev) {
                (Some(_), None, None) | (None, Some(_), Some(_)) => {}
                _ => return bad(&key("data"), "give `data`, or both `train` and `dev`"),
            }
            if !(t.weight > 0.0 && t.weight.is_finite()) {
                return bad(&key("weight"), "must be a positive number");
            }
        }
        let t = &f.teacher;
        match t.init.as_str() {
            "random" if t.tokenizer.is_none() || t.shape.is_none() => {
                return bad(
                    "teacher.init",
                    "`random` needs teacher.tokenizer and [teacher.shape]",
                )
            }
            "random" => {}
            _ if t.shape.is_some() => return bad("teacher.shape", "only with init = \"random\""),
            _ => {}
        }
        let gold_only = f
            .student
            .as_ref()
            .is_some_and(|s| s.alpha_kd == 0.0 && s.hidden_mse == 0.0);
        if t.epochs == 0 && !gold_only {
            return bad(
                "teacher.epochs",
                "at least 1 (0 only for a [student] with alpha_kd = 0 and hidden_mse = 0)",
            );
        }
        if t.lr.is_nan() || t.lr <= 0.0 {
            return bad("teacher.lr", "must be positive");
        }
        if !["mixed", "sequential"].contains(&t.schedule.as_str()) {
            return bad("teacher.schedule", "`mixed` or `sequential`");
        }
        if let Some(a) = t
            .aux
            .iter()
            .find(|a| !["has_slot", "mcls", "mtcls"].contains(&a.as_str()))
        {
            return bad(
                "teacher.aux",
                &format!("unknown head {a:?} (has_slot, mcls, mtcls)"),
            );
        }
        if let Some(s) = &f.student {
            if s.epochs == 0 {
                return bad("student.epochs", "at least 1");
            }
            if s.lr.is_nan() || s.lr <= 0.0 {
                return bad("student.lr", "must be positive");
            }
            if !s.init_layers.is_empty() && s.init_layers.len() != s.shape.layers {
                return bad("student.init_layers", "one teacher layer per student layer");
            }
            if s.init_from.is_some()
                && (!s.init_layers.is_empty() || s.init_teacher.is_some() || s.project_embeddings)
            {
                return bad(
                    "student.init_from",
                    "instead of init_layers, init_teacher and project_embeddings \
                     (the student starts from that recipe's student)",
                );
            }
            for (i, k) in s.restarts.iter().enumerate() {
                if k.epochs == 0 {
                    return bad(&format!("student.restarts[{i}].epochs"), "at least 1");
                }
                if k.lr.is_nan() || k.lr <= 0.0 {
                    return bad(&format!("student.restarts[{i}].lr"), "must be positive");
                }
                if let Some(n) = k.intermediate {
                    if n == 0 || n > s.intermediate(i) {
                        return bad(
                            &format!("student.restarts[{i}].intermediate"),
                            "between 1 and the previous round's FFN width",
                        );
                    }
                }
            }
            if !s.restarts.is_empty() && s.hidden_mse != 0.0 {
                return bad(
                    "student.restarts",
                    "only with hidden_mse = 0 (a restart learns from the teachers' outputs)",
                );
            }
        }
        self.check_per_task()?;
        if !["i8", "i4", "f16"].contains(&f.compress.embeddings.as_str()) {
            return bad("compress.embeddings", "`i8`, `i4` or `f16`");
        }
        let rate_ok = |r: f64| (0.0..=1.0).contains(&r);
        if !rate_ok(f.teacher.symbols) {
            return bad("teacher.symbols", "a rate in [0, 1]");
        }
        if f.student.as_ref().is_some_and(|s| !rate_ok(s.symbols)) {
            return bad("student.symbols", "a rate in [0, 1]");
        }
        if !rate_ok(f.compress.reject_tpr) {
            return bad("compress.reject_tpr", "in [0, 1]");
        }
        Ok(())
    }

    /// The keys of per-task teachers (`teacher.per_task`,
    /// `tasks[i].teacher_epochs`, `tasks[i].teacher_lr`, `student.init_teacher`).
    fn check_per_task(&self) -> Result<()> {
        let bad = |key: &str, msg: &str| self.bad(key, msg);
        let f = &self.file;
        let per_task = f.teacher.per_task;
        for (i, t) in f.tasks.iter().enumerate() {
            match t.teacher_epochs {
                Some(_) if !per_task => {
                    return bad(
                        &format!("tasks[{i}].teacher_epochs"),
                        "only with teacher.per_task = true",
                    )
                }
                Some(0) => return bad(&format!("tasks[{i}].teacher_epochs"), "at least 1"),
                _ => {}
            }
            match t.teacher_lr {
                Some(_) if !per_task => {
                    return bad(
                        &format!("tasks[{i}].teacher_lr"),
                        "only with teacher.per_task = true",
                    )
                }
                Some(lr) if lr.is_nan() || lr <= 0.0 => {
                    return bad(&format!("tasks[{i}].teacher_lr"), "must be positive")
                }
                _ => {}
            }
        }
        let init = f.student.as_ref().and_then(|s| s.init_teacher.as_deref());
        if let Some(n) = init {
            if !per_task {
                return bad("student.init_teacher", "only with teacher.per_task = true");
            }
            if !f.tasks.iter().any(|t| t.name == n) {
                return bad("student.init_teacher", &format!("no task {n:?}"));
            }
        }
        if per_task {
            match &f.student {
                None => return bad("teacher.per_task", "needs a [student] to learn from them"),
                Some(s) if s.hidden_mse != 0.0 => {
                    return bad(
                        "student.hidden_mse",
                        "0 with per-task teachers (each task has its own teacher's layers)",
                    )
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The task whose teacher starts the student (`student.init_teacher`,
    /// else the first task); with per-task teachers only.
    pub fn init_teacher(&self) -> Option<&str> {
        if !self.file.teacher.per_task {
            return None;
        }
        let named = self
            .file
            .student
            .as_ref()
            .and_then(|s| s.init_teacher.as_deref());
        named.or_else(|| self.file.tasks.first().map(|t| t.name.as_str()))
    }

    /// The `--task` argument of task `t` for `train`/`distill` (`domain`:
    /// with the task's domain; `symbols`: the symbol-noise rate, 0 for none).
    pub fn task_arg(&self, t: &TaskEntry, domain: bool, symbols: f64) -> Result<String> {
        let root = &self.data_root;
        let mut s = match (&t.data, &t.train, &t.dev) {
            (Some(d), _, _) => format!("{}={}", t.name, root.join(d).display()),
            (None, Some(tr), Some(dv)) => format!(
                "{}=train={},dev={}",
                t.name,
                root.join(tr).display(),
                root.join(dv).display()
            ),
            _ => unreachable!("checked on load"),
        };
        let spec = crate::data::TaskSpec::parse(&s)?;
        let found = detect_format(&spec.train);
        if t.format != Format::Auto && found != Some(t.format) {
            return Err(Error::Spec(format!(
                "{}: tasks `{}`: format = {:?}, but {} is {}",
                self.path.display(),
                t.name,
                t.format,
                spec.train.display(),
                found.map_or("of no known format".to_string(), |f| format!("{f:?}"))
            )));
        }
        if found.is_none() {
            return Err(Error::Spec(format!(
                "{}: tasks `{}`: {} is of no known format (a .jsonl or .tsv file, or a seq.in/seq.out folder)",
                self.path.display(),
                t.name,
                spec.train.display()
            )));
        }
        if let Some(d) = t.domain.as_ref().filter(|_| domain) {
            s += &format!(",domain={d}");
        }
        match t.asr {
            Asr::Off => {}
            Asr::Both => s += ",asr=1",
            Asr::Aug => s += ",asr=aug",
        }
        if t.weight != 1.0 {
            s += &format!(",weight={}", t.weight);
        }
        if !t.hold_out.is_empty() {
            s += &format!(",hold-out={}", t.hold_out.join("+"));
        }
        if t.limit > 0 {
            s += &format!(",limit={}", t.limit);
        }
        if symbols > 0.0 {
            s += &format!(",symbols={symbols}");
        }
        Ok(s)
    }
}

/// The format of a split by its name and contents.
pub fn detect_format(p: &Path) -> Option<Format> {
    if p.is_dir() {
        p.join("seq.in").is_file().then_some(Format::Slu)
    } else if p.extension().is_some_and(|e| e == "jsonl") {
        Some(Format::Jsonl)
    } else if p.is_file() {
        Some(Format::Iob)
    } else {
        None
    }
}
