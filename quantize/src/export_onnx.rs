//! The `export-onnx` command: a `.ptag` model as an ONNX graph (f32), with
//! an optional check of tract's logits against the runtime's reference path.

use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, Result};

/// `export-onnx` arguments.
#[derive(Debug, Clone, Args)]
pub struct ExportOnnxArgs {
    /// The .ptag file.
    #[arg(long)]
    pub model: PathBuf,
    /// The .onnx file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Also run the graph with tract on a few sentences of both domains and
    /// fail unless its logits match the runtime's reference path within this
    /// absolute tolerance (e.g. 1e-4).
    #[arg(long)]
    pub check: Option<f32>,
}

/// Runs `export-onnx`.
#[cfg(feature = "onnx")]
pub fn run(a: &ExportOnnxArgs) -> Result<()> {
    let f = picotag::format::ModelFile::open(&a.model, Default::default())?;
    picotag_onnx::write(&f, &a.out)?;
    eprintln!("wrote {}", a.out.display());
    if let Some(tol) = a.check {
        use picotag_onnx::check::{encode_texts, max_abs_diff, CHECK_SENTENCES};
        let diff = max_abs_diff(&f, &encode_texts(&f, CHECK_SENTENCES)?)?;
        println!(
            "max |tract - reference| over {} sentences, every head: {diff:e}",
            CHECK_SENTENCES.len()
        );
        // A NaN difference fails too.
        if diff.is_nan() || diff > tol {
            return Err(Error::Spec(format!(
                "export-onnx --check: logits differ by {diff:e} (> {tol:e})"
            )));
        }
    }
    Ok(())
}

/// `export-onnx` without the `onnx` feature.
#[cfg(not(feature = "onnx"))]
pub fn run(_: &ExportOnnxArgs) -> Result<()> {
    Err(Error::Spec(
        "export-onnx: this build has no ONNX support (build with the `onnx` feature)".into(),
    ))
}
