//! `examples/compare.rs` runs end to end on a small random model and prints
//! the documented JSON fields (no timing is asserted).

use std::path::PathBuf;
use std::process::Command;

/// The `compare` example binary `cargo test` built next to this test's binary.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn compare_prints_the_documented_json() {
    let dir = std::env::temp_dir().join(format!("picotag-test-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("random.ptag");
    // The random-weight demo model of the runtime's `examples/random_model.rs`.
    picotag::testing::RandomModel::tiny(4)
        .writer()
        .and_then(|w| w.write(&model))
        .unwrap();
    let out = Command::new(example("compare"))
        .args([
            "--model",
            model.to_str().unwrap(),
            "--json",
            "--limit",
            "12",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = v["utterances"].as_u64().unwrap();
    assert!((1..=12).contains(&n));
    for k in [
        "picotag_p50_us",
        "picotag_p99_us",
        "tract_p50_us",
        "speedup_vs_tract",
    ] {
        assert!(v[k].as_f64().unwrap() > 0.0, "{k} in {v}");
    }
    assert!(v["picotag_p99_us"].as_f64() >= v["picotag_p50_us"].as_f64());
    assert!(v["rss_after_first_kb"].as_u64().unwrap() > 0);
    let size = std::fs::metadata(&model).unwrap().len();
    assert_eq!(v["model_bytes"].as_u64().unwrap(), size);
    assert_eq!(v.as_object().unwrap().len(), 7);
    let _ = std::fs::remove_dir_all(&dir);
}
