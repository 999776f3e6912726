//! Tags utterances with a picotag model and prints one JSON object per line.
//!
//! ```text
//! cargo run --release --example tag -- "book a table for two at 8 pm"
//! echo "i take 200 mg of ibuprofen" | cargo run --release --example tag
//! cargo run --release --example tag -- --model models/default.ptag --tasks atis,snips "..."
//! ```

use std::io::{BufRead, Write};
use std::process::ExitCode;

use picotag::{TagOptions, Tagger};

const USAGE: &str = "usage: tag [--model PATH] [--tasks a,b] [--all-slots] [UTTERANCE...]
  Tags each UTTERANCE (or each line of stdin when none is given) and prints
  one JSON object per utterance: {\"text\", \"slots\", \"intents\"}.
  --model PATH   model file (default models/default.ptag)
  --tasks a,b    run only these tasks
  --all-slots    do not silence tasks whose has-slot head says no";

#[derive(serde::Serialize)]
struct Line<'a> {
    text: &'a str,
    slots: &'a [picotag::Slot],
    intents: &'a [picotag::Intent],
}

struct Args {
    model: String,
    tasks: Option<Vec<String>>,
    all_slots: bool,
    texts: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        model: "models/default.ptag".into(),
        tasks: None,
        all_slots: false,
        texts: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--model" => args.model = it.next().ok_or("--model needs a path")?,
            "--tasks" => {
                let v = it.next().ok_or("--tasks needs a list")?;
                args.tasks = Some(v.split(',').map(|s| s.trim().to_string()).collect());
            }
            "--all-slots" => args.all_slots = true,
            "-h" | "--help" => return Err(String::new()),
            "--" => args.texts.extend(it.by_ref()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => args.texts.push(a),
        }
    }
    Ok(args)
}

fn run(args: Args) -> Result<(), String> {
    let tagger = Tagger::open(&args.model).map_err(|e| {
        format!(
            "cannot open model {}: {e}\n(see README.md: the default model is models/default.ptag)",
            args.model
        )
    })?;
    let options = TagOptions {
        tasks: args.tasks,
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
    let mut tag = |text: &str| -> Result<(), String> {
        let t = tagger.tag_utterance(text).map_err(|e| e.to_string())?;
        let line = Line {
            text,
            slots: &t.slots,
            intents: &t.intents,
        };
        let json = serde_json::to_string(&line).map_err(|e| e.to_string())?;
        writeln!(out, "{json}").map_err(|e| e.to_string())
    };
    if args.texts.is_empty() {
        for line in std::io::stdin().lock().lines() {
            tag(&line.map_err(|e| format!("reading stdin: {e}"))?)?;
        }
    } else {
        for t in &args.texts {
            tag(t)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse_args().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
