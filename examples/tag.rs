//! Tags utterances with a picotag model and prints one JSON object per line.
//!
//! ```text
//! cargo run --release --example tag -- "book a table for two at 8 pm"
//! echo "i take 200 mg of ibuprofen" | cargo run --release --example tag
//! cargo run --release --example tag -- --model models/default.ptag --tasks atis,snips "..."
//! cargo run --release --example tag -- --entities my-values.json "add qzx to my chill playlist"
//! ```

use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use picotag::{TagOptions, Tagger};

/// The shipped model of this checkout, found from any working directory.
const DEFAULT_MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/default.ptag");

const USAGE: &str =
    "usage: tag [--model PATH] [--tasks a,b] [--all-slots] [--entities FILE] [UTTERANCE...]
  Tags each UTTERANCE (or each line of stdin when none is given) and prints
  one JSON object per utterance: {\"text\", \"slots\", \"intents\"}.
  --model PATH   model file; default: $PICOTAG_MODEL when set, else the
                 shipped model beside this crate,
                 ";
const USAGE_END: &str = "
  --tasks a,b    run only these tasks
  --all-slots    do not silence tasks whose has-slot head says no
  --entities FILE  inject values: a JSON object of task/type -> list of
                 values, e.g. {\"snips/artist\": [\"Qzx Vorlumbrane\"]}
  A stdin line that is not UTF-8 (or fails to tag) is reported on stderr
  with its line number and skipped; the exit status is then 1.";

#[derive(serde::Serialize)]
struct Line<'a> {
    text: &'a str,
    slots: &'a [picotag::Slot],
    intents: &'a [picotag::Intent],
}

struct Args {
    /// The model and where its path came from (for error messages).
    model: (PathBuf, &'static str),
    tasks: Option<Vec<String>>,
    all_slots: bool,
    entities: Option<PathBuf>,
    texts: Vec<String>,
}

/// An argument as UTF-8, or an error naming it (with its invalid bytes
/// replaced) and its position.
fn utf8(arg: OsString, position: usize) -> Result<String, String> {
    arg.into_string().map_err(|a| {
        format!(
            "argument {position} is not valid UTF-8: {:?}",
            a.to_string_lossy()
        )
    })
}

fn parse_args(argv: impl IntoIterator<Item = OsString>) -> Result<Args, String> {
    let mut model = None;
    let mut tasks = None;
    let mut all_slots = false;
    let mut entities = None;
    let mut texts = Vec::new();
    let mut it = argv.into_iter().enumerate().map(|(i, a)| (i + 1, a));
    let mut only_texts = false;
    while let Some((i, a)) = it.next() {
        if only_texts {
            texts.push(utf8(a, i)?);
            continue;
        }
        match a.to_str() {
            // A path may be any bytes the OS allows.
            Some("--model") => {
                let (_, p) = it.next().ok_or("--model needs a path")?;
                model = Some(PathBuf::from(p));
            }
            Some("--tasks") => {
                let (j, v) = it.next().ok_or("--tasks needs a list")?;
                let v = utf8(v, j)?;
                tasks = Some(v.split(',').map(|s| s.trim().to_string()).collect());
            }
            Some("--all-slots") => all_slots = true,
            Some("--entities") => {
                let (_, p) = it.next().ok_or("--entities needs a file")?;
                entities = Some(PathBuf::from(p));
            }
            Some("-h" | "--help") => return Err(String::new()),
            Some("--") => only_texts = true,
            Some(s) if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => texts.push(utf8(a, i)?),
        }
    }
    let model = match model {
        Some(p) => (p, "--model"),
        None => match std::env::var_os("PICOTAG_MODEL").filter(|p| !p.is_empty()) {
            Some(p) => (PathBuf::from(p), "$PICOTAG_MODEL"),
            None => (PathBuf::from(DEFAULT_MODEL), "the default"),
        },
    };
    Ok(Args {
        model,
        tasks,
        all_slots,
        entities,
        texts,
    })
}

/// The entity set of a JSON file `{"task/type": ["value", ...], ...}`.
fn load_entities(tagger: &Tagger, path: &std::path::Path) -> Result<picotag::EntitySet, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read entities {}: {e}", path.display()))?;
    let map: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_str(&text)
        .map_err(|e| {
            format!(
                "entities {}: expected {{\"task/type\": [\"value\", ...]}}: {e}",
                path.display()
            )
        })?;
    let mut set = picotag::EntitySet::new(tagger);
    for (ty, values) in &map {
        for v in values {
            set.add(ty, v)
                .map_err(|e| format!("entities {}: {e}", path.display()))?;
        }
    }
    Ok(set)
}

/// Why one utterance produced no line.
enum Failure {
    /// The utterance could not be tagged: reported, the run goes on.
    Tag(String),
    /// Stdout is closed or failing: the run ends.
    Write(String),
}

/// Tags `text` and writes its JSON line.
fn tag_one(tagger: &Tagger, text: &str, out: &mut impl Write) -> Result<(), Failure> {
    let t = tagger
        .tag_utterance(text)
        .map_err(|e| Failure::Tag(e.to_string()))?;
    let line = Line {
        text,
        slots: &t.slots,
        intents: &t.intents,
    };
    let json = serde_json::to_string(&line).map_err(|e| Failure::Tag(e.to_string()))?;
    writeln!(out, "{json}").map_err(|e| Failure::Write(format!("writing stdout: {e}")))
}

/// Tags each line of `input`. A line that is not UTF-8 or fails to tag is
/// reported on stderr with its number and skipped; returns how many were.
fn tag_lines(tagger: &Tagger, input: impl BufRead, out: &mut impl Write) -> Result<usize, String> {
    let mut skipped = 0;
    for (n, line) in input.split(b'\n').enumerate() {
        let mut bytes = line.map_err(|e| format!("reading stdin: {e}"))?;
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        let problem = match std::str::from_utf8(&bytes) {
            Ok(text) => match tag_one(tagger, text, out) {
                Ok(()) => continue,
                Err(Failure::Write(e)) => return Err(e),
                Err(Failure::Tag(e)) => e,
            },
            Err(e) => format!("not valid UTF-8 ({e})"),
        };
        eprintln!("error: stdin line {}: {problem}; skipped", n + 1);
        skipped += 1;
    }
    Ok(skipped)
}

fn run(args: Args) -> Result<ExitCode, String> {
    let (path, from) = &args.model;
    let tagger = Tagger::open(path).map_err(|e| {
        format!(
            "cannot open model {} ({from}): {e}\n\
             (give --model PATH or set PICOTAG_MODEL; the shipped model is models/default.ptag)",
            path.display()
        )
    })?;
    let entities = match &args.entities {
        Some(p) => Some(std::sync::Arc::new(load_entities(&tagger, p)?)),
        None => None,
    };
    let options = TagOptions {
        tasks: args.tasks,
        entities,
        has_slot_threshold: if args.all_slots {
            None
        } else {
            TagOptions::default().has_slot_threshold
        },
        ..TagOptions::default()
    };
    let tagger = tagger.with_options(options).map_err(|e| e.to_string())?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.texts.is_empty() {
        let skipped = tag_lines(&tagger, std::io::stdin().lock(), &mut out)?;
        if skipped > 0 {
            return Ok(ExitCode::FAILURE);
        }
    } else {
        for t in &args.texts {
            tag_one(&tagger, t, &mut out).map_err(|(Failure::Tag(e) | Failure::Write(e))| e)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match parse_args(std::env::args_os().skip(1)).and_then(run) {
        Ok(code) => code,
        Err(e) if e.is_empty() => {
            println!("{USAGE}{DEFAULT_MODEL}{USAGE_END}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
