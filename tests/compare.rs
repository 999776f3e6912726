//! `examples/compare.rs` runs end to end on a small random model and prints
//! the documented JSON fields (no timing is asserted).

mod common;

use common::example;

use std::process::Command;

#[test]
fn compare_prints_the_documented_json() {
    let tmp = common::TempDir::new("compare");
    let model = tmp.path().join("random.ptag");
    common::write_random_model(&model, 4);
    let out = common::run_ok(Command::new(example("compare")).args([
        "--model",
        model.to_str().unwrap(),
        "--json",
        "--limit",
        "12",
    ]));
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
}
