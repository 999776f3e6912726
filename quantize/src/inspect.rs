//! `inspect`: a readable summary of a `.ptag` model file.

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;
use picotag::format::{HeadKind, ModelFile};

use crate::error::Result;

/// `inspect` arguments.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// The .ptag file.
    pub model: PathBuf,
}

/// Runs `inspect`.
pub fn run(a: &InspectArgs) -> Result<()> {
    let f = ModelFile::open(&a.model, Default::default())?;
    print!("{}", crate::inspect::describe(&f));
    Ok(())
}

/// Architecture, heads and labels, tensor table, total size and stored dev
/// scores of `file`, as text.
pub fn describe(file: &ModelFile) -> String {
    let m = file.meta();
    let a = &m.architecture;
    let mut s = String::new();
    // Writing into a String cannot fail.
    let _ = writeln!(
        s,
        "model: {}",
        if m.name.is_empty() { "-" } else { &m.name }
    );
    let _ = writeln!(
        s,
        "architecture: {} layers, hidden {}, {} heads, FFN {}, vocab {}, {} positions, {} token types, eps {:e}{}",
        a.layers,
        a.hidden,
        a.heads,
        a.intermediate,
        a.vocab_size,
        a.max_positions,
        a.type_vocab_size,
        a.layer_norm_eps,
        a.embedding_rank
            .map(|r| format!(", word embeddings factorized at rank {r}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "format version {}; tokenizer: {} bytes of tokenizer.json{}",
        file.version(),
        m.tokenizer.len(),
        if file.version() >= 2 {
            " (without its vocabulary, which is a binary table)"
        } else {
            ""
        }
    );
    let mut tasks: Vec<&str> = Vec::new();
    for h in &m.heads {
        if !tasks.contains(&h.task.as_str()) {
            tasks.push(&h.task);
        }
    }
    let _ = writeln!(s, "tasks ({}): {}", tasks.len(), tasks.join(", "));
    let _ = writeln!(s, "heads ({}):", m.heads.len());
    for h in &m.heads {
        let kind = match h.kind {
            HeadKind::Token => "token".to_string(),
            HeadKind::Sentence => format!("sentence, {:?} pooling", h.pooling).to_lowercase(),
        };
        let _ = writeln!(
            s,
            "  {} [task {}, {kind}, role {:?}, {} labels{}]: {}",
            h.name,
            h.task,
            h.role,
            h.labels.len(),
            h.reject_below
                .map(|t| format!(", out of scope below {t:.4}"))
                .unwrap_or_default(),
            h.labels.join(" ")
        );
    }
    let _ = writeln!(s, "tensors ({}):", file.tensors().len());
    let w = file
        .tensors()
        .iter()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        s,
        "  {:<w$}  {:<5}  {:<9}  {:<14}  {:>10}",
        "name", "dtype", "layout", "shape", "bytes"
    );
    let mut by_dtype = std::collections::BTreeMap::<String, u64>::new();
    for t in file.tensors() {
        let dtype = format!("{:?}", t.dtype).to_lowercase();
        let layout = format!("{:?}", t.layout).to_lowercase();
        *by_dtype.entry(dtype.clone()).or_default() += t.length;
        let _ = writeln!(
            s,
            "  {:<w$}  {dtype:<5}  {layout:<9}  {:<14}  {:>10}",
            t.name,
            format!("{:?}", t.shape),
            t.length
        );
    }
    let tensor_bytes: u64 = by_dtype.values().sum();
    let parts: Vec<String> = by_dtype.iter().map(|(d, b)| format!("{d} {b}")).collect();
    let _ = writeln!(s, "tensor bytes: {tensor_bytes} ({})", parts.join(", "));
    let _ = writeln!(
        s,
        "total size: {} bytes ({:.2} MiB)",
        file.file_len(),
        file.file_len() as f64 / (1024.0 * 1024.0)
    );
    if let Some(c) = m.provenance.get("compression") {
        let _ = writeln!(s, "compression: {c}");
    }
    let _ = write!(s, "{}", scores(m));
    s
}

/// The stored dev scores: split, mean F1, and F1 / intent accuracy per task.
fn scores(m: &picotag::format::ModelMeta) -> String {
    let mut s = String::new();
    if m.scores.is_empty() {
        let _ = writeln!(s, "dev scores: none stored");
        return s;
    }
    let get = |k: &str| m.scores.get(k).map(|v| v.to_string()).unwrap_or("-".into());
    let _ = writeln!(
        s,
        "dev scores (split {}, mean F1 {}):",
        get("split").trim_matches('"'),
        m.scores
            .get("mean_f1")
            .and_then(|v| v.as_f64())
            .map(|x| format!("{:.2}", 100.0 * x))
            .unwrap_or("-".into())
    );
    if let Some(serde_json::Value::Object(tasks)) = m.scores.get("tasks") {
        for (t, r) in tasks {
            let pct = |k: &str| r.get(k).and_then(|v| v.as_f64()).map(|x| 100.0 * x);
            let _ = writeln!(
                s,
                "  {t}: F1 {}{}",
                pct("f1").map(|x| format!("{x:.2}")).unwrap_or("-".into()),
                pct("intent_accuracy")
                    .map(|x| format!("  intent acc {x:.2}"))
                    .unwrap_or_default()
            );
        }
    }
    s
}
