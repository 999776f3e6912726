//! Training and evaluation data: loaders, task specs, sub-token alignment.

pub mod asr;
pub mod encode;
pub mod jsonl;
pub mod labels;
pub mod slu;
pub mod symbols;
pub mod tsv;
pub mod unified;

use std::path::{Path, PathBuf};

use picotag::decode::Tag;

use crate::error::{Error, Result};

/// One labelled sentence (utterance) as the data gives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sentence {
    /// The words.
    pub words: Vec<String>,
    /// One BIO/BIOES label per word.
    pub labels: Vec<String>,
    /// The intent, when the data has intents.
    pub intent: Option<String>,
    /// 1-based line of the sentence in its file (first word for `.tsv`).
    pub line: usize,
}

impl Sentence {
    /// A sentence from space-separated words and labels (no intent, line 1),
    /// as tests write them.
    pub fn spaced(words: &str, labels: &str) -> Sentence {
        Sentence {
            words: words.split(' ').map(str::to_string).collect(),
            labels: labels.split(' ').map(str::to_string).collect(),
            intent: None,
            line: 1,
        }
    }
}

/// Checks that `label` is `O` or `B-/I-/E-/S-/L-/U-` followed by a type.
pub fn check_label(label: &str) -> std::result::Result<(), String> {
    match Tag::parse(label) {
        Some(_) => Ok(()),
        None => Err(format!("label {label:?} is outside the BIO/BIOES scheme")),
    }
}

/// Whether any intent of `s` (`a#b` labels hold several) is in `held_out`.
pub fn has_intent_in(s: &Sentence, held_out: &[String]) -> bool {
    s.intent
        .as_deref()
        .is_some_and(|i| i.split('#').any(|p| held_out.iter().any(|h| h == p)))
}

/// Loads one split: a `.jsonl` file (see [`jsonl`]), an IOB `.tsv` file or
/// a `seq.in`/`seq.out`/`label` folder.
pub fn load_split(path: &Path) -> Result<Vec<Sentence>> {
    if path.is_dir() {
        if path.join("seq.in").is_file() {
            slu::load(path)
        } else {
            Err(Error::Spec(format!(
                "{}: a folder split must hold seq.in and seq.out",
                path.display()
            )))
        }
    } else if path.is_file() && path.extension().is_some_and(|e| e == "jsonl") {
        jsonl::load(path)
    } else if path.is_file() {
        tsv::load(path)
    } else {
        Err(Error::Spec(format!(
            "{}: no such file or folder",
            path.display()
        )))
    }
}

const TRAIN_NAMES: &[&str] = &["train.tsv", "train.jsonl", "train.txt", "train"];
const DEV_NAMES: &[&str] = &[
    "devel.tsv",
    "dev.tsv",
    "valid.tsv",
    "devel.jsonl",
    "dev.jsonl",
    "valid.jsonl",
    "devel.txt",
    "dev.txt",
    "valid.txt",
    "valid",
    "dev",
    "devel",
];

fn find_in(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| dir.join(n)).find(|p| p.exists())
}

/// Finds the train and dev splits of a dataset folder
/// (`train.tsv`/`devel.tsv`, or `train/`/`valid/`, and the usual variants).
pub fn resolve_dataset(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let train = find_in(dir, TRAIN_NAMES).ok_or_else(|| {
        Error::Spec(format!(
            "{}: no train split (looked for {})",
            dir.display(),
            TRAIN_NAMES.join(", ")
        ))
    })?;
    let dev = find_in(dir, DEV_NAMES).ok_or_else(|| {
        Error::Spec(format!(
            "{}: no dev split (looked for {})",
            dir.display(),
            DEV_NAMES.join(", ")
        ))
    })?;
    Ok((train, dev))
}

/// A task given on the command line:
/// `NAME=DIR[,weight=λ][,asr=1|aug][,domain=D][,hold-out=I1+I2][,limit=N][,symbols=R]` or
/// `NAME=train=PATH,dev=PATH[,…]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    /// Task name (head names derive from it).
    pub name: String,
    /// Training split.
    pub train: PathBuf,
    /// Development split.
    pub dev: PathBuf,
    /// Loss weight λ.
    pub weight: f32,
    /// Also train on the ASR form of each sentence, and score dev in that form too
    /// (see [`asr`]).
    pub asr: bool,
    /// With `asr`: each epoch trains on one form of each sentence, drawn at
    /// random (`asr=aug`), instead of on both (`asr=1`).
    pub asr_augment: bool,
    /// The kind of text the task's data is (`domain=NAME`). Tasks of different
    /// domains annotate disjoint text, so a sentence of one is a negative
    /// example ("no slot") for the has-slot head of the other.
    pub domain: Option<String>,
    /// Intents left out of training and of the training-time dev scores
    /// (`hold-out=I1+I2`): a sentence goes when any of its intents (`a#b`
    /// labels hold several) is one of them. For measuring out-of-scope
    /// rejection on intents the model never saw.
    pub hold_out: Vec<String>,
    /// Train on the first N sentences only (`limit=N`; 0: all).
    pub limit: usize,
    /// Symbol noise (`symbols=R`, 0 < R ≤ 1): also train on a copy of each
    /// sentence with emoji and punctuation inserted between its words with
    /// probability R per gap (gold `O`); each epoch trains on one form of
    /// each sentence. 0: off.
    pub symbols: f64,
}

impl TaskSpec {
    /// Parses a `--task` argument, resolving dataset folders.
    pub fn parse(s: &str) -> Result<TaskSpec> {
        let bad = |m: &str| Error::Spec(format!("--task {s:?}: {m}"));
        let (name, rest) = s.split_once('=').ok_or_else(|| bad("expected NAME=PATH"))?;
        let name = name.trim();
        if name.is_empty() || name.contains(['.', ' ']) {
            return Err(bad("task name must be non-empty, without '.' or spaces"));
        }
        let (mut dir, mut train, mut dev, mut weight, mut asr) = (None, None, None, 1.0f32, false);
        let (mut domain, mut asr_augment, mut hold_out, mut limit) = (None, false, Vec::new(), 0);
        let mut symbols = 0.0f64;
        for item in rest.split(',') {
            match item.split_once('=') {
                Some(("train", p)) => train = Some(PathBuf::from(p)),
                Some(("dev", p)) => dev = Some(PathBuf::from(p)),
                Some(("weight", w)) => {
                    weight = w.parse().map_err(|_| bad("weight must be a number"))?
                }
                Some(("asr", v)) => {
                    (asr, asr_augment) = match v {
                        "1" | "true" | "yes" => (true, false),
                        "aug" => (true, true),
                        "0" | "false" | "no" => (false, false),
                        _ => return Err(bad("asr must be 1, aug or 0")),
                    }
                }
                Some(("domain", d)) if !d.trim().is_empty() => domain = Some(d.trim().to_string()),
                Some(("limit", v)) => {
                    limit = v.parse().map_err(|_| bad("limit must be a whole number"))?
                }
                Some(("symbols", v)) => {
                    symbols = v
                        .parse()
                        .ok()
                        .filter(|r| (0.0..=1.0).contains(r))
                        .ok_or_else(|| bad("symbols must be a rate in [0, 1]"))?
                }
                Some(("hold-out", v)) => {
                    hold_out = v.split('+').map(|i| i.trim().to_string()).collect();
                    if hold_out.iter().any(String::is_empty) {
                        return Err(bad("hold-out must name intents joined by '+'"));
                    }
                }
                Some((k, _)) => return Err(bad(&format!("unknown key {k:?}"))),
                None => dir = Some(PathBuf::from(item)),
            }
        }
        let (train, dev) = match (dir, train, dev) {
            (Some(d), None, None) => resolve_dataset(&d)?,
            (None, Some(t), Some(v)) => (t, v),
            _ => return Err(bad("give either a dataset folder or both train= and dev=")),
        };
        Ok(TaskSpec {
            name: name.to_string(),
            train,
            dev,
            weight,
            asr,
            asr_augment,
            domain,
            hold_out,
            limit,
            symbols,
        })
    }
}
