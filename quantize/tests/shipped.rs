//! `inspect` on the shipped model shows the tasks its card declares, and the
//! file does not grow past its current size class (8.36 MiB; the product's
//! 8 MB budget is not met yet, as `models/default.md` says).

use std::path::Path;
use std::process::Command;

#[test]
fn inspect_shows_the_shipped_models_tasks() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default.ptag");
    let out = Command::new(env!("CARGO_BIN_EXE_picotag-quantize"))
        .arg("inspect")
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("tasks (4): atis, snips, bc5cdr, ncbi"),
        "{text}"
    );
    for head in ["atis.intent", "snips.intent", "bc5cdr.bcls", "ncbi.bcls"] {
        assert!(
            text.contains(&format!("  {head} [task ")),
            "no head {head}:\n{text}"
        );
    }
    assert!(text.contains("i8"), "no int8 tensor:\n{text}");
    let bytes = std::fs::metadata(&model).unwrap().len();
    assert!(bytes <= 9 << 20, "models/default.ptag is {bytes} bytes");
}
