//! `picotag-quantize export-onnx`: writes a graph tract loads, and `--check`
//! compares it with the runtime's reference path.
#![cfg(feature = "onnx")]

use std::process::Command;

use picotag::testing::RandomModel;

fn tool() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picotag-quantize"))
}

#[test]
fn export_onnx_writes_a_graph_that_passes_its_check() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("m.ptag");
    let mut m = RandomModel::tiny(5);
    m.int8 = true;
    std::fs::write(&model, m.to_bytes().unwrap()).unwrap();
    let onnx = tmp.path().join("m.onnx");
    let out = tool()
        .args(["export-onnx", "--check", "1e-4", "--model"])
        .arg(&model)
        .arg("--out")
        .arg(&onnx)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("max |tract - reference|"), "{stdout}");
    let bytes = std::fs::read(&onnx).unwrap();
    assert!(picotag_onnx::check::load_tract(&bytes).is_ok());
}

#[test]
fn export_onnx_check_fails_on_an_impossible_tolerance() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("m.ptag");
    std::fs::write(&model, RandomModel::tiny(6).to_bytes().unwrap()).unwrap();
    let out = tool()
        .args(["export-onnx", "--check=-1", "--model"])
        .arg(&model)
        .arg("--out")
        .arg(tmp.path().join("m.onnx"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("logits differ"));
}
