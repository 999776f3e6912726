//! Command-line interface: the subcommands, each with its arguments next to
//! its module.

use clap::{Parser, Subcommand};

use crate::bench::BenchArgs;
use crate::compress::args::CompressArgs;
use crate::distill::args::DistillArgs;
use crate::error::Result;
use crate::eval::args::{ConflictsArgs, EvalArgs, OodArgs, RejectArgs, SymbolNoiseArgs};
use crate::export_onnx::ExportOnnxArgs;
use crate::inspect::InspectArgs;
use crate::train::args::TrainArgs;

/// Trains, evaluates and compresses picotag models.
#[derive(Debug, Parser)]
#[command(name = "picotag-quantize", version, args_override_self = true)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Build a model from a recipe file: teacher, student, compression,
    /// evaluation and model card, each stage resumable.
    Build(crate::build::BuildArgs),
    /// Train (or resume) a multi-task teacher.
    Train(TrainArgs),
    /// Task-adaptive pre-training: continue the encoder's masked language
    /// modelling on the tasks' own text; writes a folder `train --init` takes.
    Adapt(crate::adapt::AdaptArgs),
    /// Distil a teacher checkpoint into a smaller student (resumable like `train`).
    Distill(DistillArgs),
    /// Evaluate a checkpoint or a .ptag model on labelled data.
    Eval(EvalArgs),
    /// Measure training throughput (tokens/s) on random batches.
    Bench(BenchArgs),
    /// Compress a checkpoint into a `.ptag` model file (int8 by default).
    Compress(CompressArgs),
    /// Print a `.ptag` file's architecture, heads, tensors, size and scores.
    Inspect(InspectArgs),
    /// Write a `.ptag` model as an ONNX graph (f32).
    ExportOnnx(ExportOnnxArgs),
    /// Store each intent head's out-of-scope threshold, calibrated on dev, in a `.ptag` file.
    Calibrate(crate::calibrate::CalibrateArgs),
    /// Rewrite a `.ptag` model in the current format version, same weights.
    Reencode(crate::reencode::ReencodeArgs),
    /// Count the slots some tasks of a `.ptag` model invent on out-of-domain
    /// sentences, with the has-slot gate off and on.
    Ood(OodArgs),
    /// Measure out-of-scope rejection: how well the intent's probability
    /// (and other scores) tell held-out intents and other sets from in-scope
    /// dev utterances (AUROC, FPR at a TPR).
    Reject(RejectArgs),
    /// Score a `.ptag` model on dev sets with random emoji and punctuation
    /// inserted as extra words (gold `O`), with and without the runtime's
    /// rule that drops slots made only of symbols.
    SymbolNoise(SymbolNoiseArgs),
    /// Measure entity injection on the dev sets: recall on unseen values,
    /// F1 with distractors injected, and the cost of a large set.
    Entities(crate::entities::EntitiesArgs),
    /// Count where the slot heads of a checkpoint disagree about the same
    /// words (overlapping spans of two heads) on some sentences.
    Conflicts(ConflictsArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Build(a) => crate::build::run(&a),
        Cmd::Train(a) => crate::train::args::run(&a),
        Cmd::Adapt(a) => crate::adapt::run(&a),
        Cmd::Distill(a) => crate::distill::args::run(&a),
        Cmd::Eval(a) => crate::eval::args::run_eval(&a),
        Cmd::Bench(a) => crate::bench::run(&a),
        Cmd::Compress(a) => crate::compress::args::run(&a),
        Cmd::Inspect(a) => crate::inspect::run(&a),
        Cmd::ExportOnnx(a) => crate::export_onnx::run(&a),
        Cmd::Ood(a) => crate::eval::args::run_ood(&a),
        Cmd::Conflicts(a) => crate::eval::args::run_conflicts(&a),
        Cmd::Reencode(a) => crate::reencode::run(&a),
        Cmd::Calibrate(a) => crate::calibrate::run(&a),
        Cmd::Entities(a) => crate::entities::run(&a),
        Cmd::Reject(a) => crate::eval::args::run_reject(&a),
        Cmd::SymbolNoise(a) => crate::eval::args::run_symbol_noise(&a),
    }
}
