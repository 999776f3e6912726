//! `reencode`: rewrites a `.ptag` file in the current format version with
//! the same tensors, byte for byte (e.g. a version-1 file, whose tokenizer
//! is JSON text, into version 2 with a prebuilt vocabulary table).

use std::path::PathBuf;

use clap::Args;
use picotag::format::{HeadRole, ModelFile, ModelWriter, OpenOptions};

use crate::error::{Error, Result};

/// `reencode` arguments.
#[derive(Debug, Clone, Args)]
pub struct ReencodeArgs {
    /// The .ptag file to read (any version this build reads).
    #[arg(long)]
    pub model: PathBuf,
    /// The .ptag file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Leave out the auxiliary training heads (role `aux`: never run by the
    /// runtime) and their tensors.
    #[arg(long)]
    pub drop_aux: bool,
}

/// Runs `reencode`: the input is checked whole first; the output is read
/// back and compared with it tensor by tensor and, on every vocabulary
/// entry, token by token.
pub fn run(a: &ReencodeArgs) -> Result<()> {
    let f = ModelFile::open(&a.model, OpenOptions::FULL)?;
    let mut w = ModelWriter::from_file(&f)?;
    let mut dropped = Vec::new();
    if a.drop_aux {
        w.retain_heads(|h| {
            let keep = h.role != HeadRole::Aux;
            if !keep {
                dropped.push(h.name.clone());
            }
            keep
        });
    }
    w.write(&a.out)?;

    let g = ModelFile::open(&a.out, OpenOptions::FULL)?;
    let mut kept = 0;
    for t in f.tensors() {
        let Ok(u) = g.tensor(&t.name) else { continue };
        if (u.dtype, u.layout, &u.shape) != (t.dtype, t.layout, &t.shape)
            || g.bytes_of(u) != f.bytes_of(t)
        {
            return Err(Error::Spec(format!("reencode: tensor {} differs", t.name)));
        }
        kept += 1;
    }
    if kept != g.tensors().len() {
        return Err(Error::Spec("reencode: the output has other tensors".into()));
    }
    let (old, new) = (f.tokenizer()?, g.tokenizer()?);
    let v: serde_json::Value = serde_json::from_str(&f.tokenizer_json()?)
        .map_err(|e| Error::Spec(format!("reencode: tokenizer: {e}")))?;
    let words: Vec<&str> = v["model"]["vocab"]
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    // Every vocabulary entry as a word, and runs of them as one word.
    for chunk in words.chunks(16) {
        let text = chunk.join(" ") + " " + &chunk.concat();
        if old.tokenize(&text)? != new.tokenize(&text)? {
            return Err(Error::Spec(format!(
                "reencode: the tokenizers differ on {text:?}"
            )));
        }
    }
    eprintln!(
        "wrote {} (format version {}, {} bytes; {} had {} bytes){}",
        a.out.display(),
        g.version(),
        g.file_len(),
        a.model.display(),
        f.file_len(),
        if dropped.is_empty() {
            String::new()
        } else {
            format!("; left out the aux heads {}", dropped.join(", "))
        }
    );
    Ok(())
}
