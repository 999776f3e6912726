//! `calibrate`: stores in a `.ptag` file each intent head's out-of-scope
//! ("none of these") threshold, measured on dev through the runtime, and the
//! dev scores when the file has none, without touching the weights (what
//! `compress --reject-tpr` does for a new file).

use std::path::PathBuf;

use clap::Args;
use picotag::format::{ModelFile, ModelWriter, OpenOptions};

use crate::compress::args::parse_dev_sets;
use crate::compress::{dev_scores, dev_sets, reject::calibrate};
use crate::error::{Error, Result};
use crate::recipe::{recipe_views, training_recipe};

/// `calibrate` arguments.
#[derive(Debug, Clone, Args)]
pub struct CalibrateArgs {
    /// The .ptag file to read.
    #[arg(long)]
    pub model: PathBuf,
    /// The .ptag file to write (may be `--model`).
    #[arg(long)]
    pub out: PathBuf,
    /// Dev set of a task, `NAME=PATH` (default: the recipe's). Repeatable.
    #[arg(long = "dev")]
    pub dev: Vec<String>,
    /// The share of in-scope dev utterances the threshold keeps.
    #[arg(long, default_value_t = 0.95)]
    pub tpr: f64,
}

/// Runs `calibrate`.
pub fn run(a: &CalibrateArgs) -> Result<()> {
    if !(a.tpr > 0.0 && a.tpr <= 1.0) {
        return Err(Error::Spec("--tpr must be in (0, 1]".into()));
    }
    let dev = parse_dev_sets(&a.dev)?;
    let f = ModelFile::open(&a.model, OpenOptions::FULL)?;
    let sets = dev_sets(f.meta(), &dev)?;
    let mut w = ModelWriter::from_file(&f)?;
    let th = calibrate(&mut w, &a.model, &sets, a.tpr)?;
    // The file's dev scores, when it carries none (e.g. after `reencode`).
    if !w.meta_mut().scores.contains_key("tasks") {
        let views = match training_recipe(w.meta_mut()) {
            Some(r) => recipe_views(&r)?,
            None => None,
        };
        w.meta_mut().scores = dev_scores(&a.model, &sets, views.as_ref())?;
    }
    if th.is_empty() {
        return Err(Error::Spec(format!(
            "{}: no task with an intent head and a dev set",
            a.model.display()
        )));
    }
    w.meta_mut().scores.insert(
        "out_of_scope".into(),
        serde_json::json!({"in_scope_dev_kept": a.tpr, "intent_threshold": th}),
    );
    drop(f);
    w.write(&a.out)?;
    eprintln!("wrote {}", a.out.display());
    Ok(())
}
