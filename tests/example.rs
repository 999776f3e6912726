//! The `tag` example, run as a user would, on a random-weight model.

mod common;

use common::example;

use std::process::Command;

#[test]
fn tag_example_prints_one_json_object_per_utterance() {
    let tmp = common::TempDir::new("example");
    let model = tmp.path().join("random.ptag");
    common::write_random_model(&model, 3);
    let out = common::run_ok(
        Command::new(example("tag"))
            .args(["--model", model.to_str().unwrap(), "--all-slots"])
            .args(["book a flight to boston tomorrow", "Café 東京"]),
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["text"], "Café 東京");
    assert_eq!(lines[0]["intents"].as_array().unwrap().len(), 1);
    for l in &lines {
        let text = l["text"].as_str().unwrap();
        for s in l["slots"].as_array().unwrap() {
            let (a, b) = (
                s["start"].as_u64().unwrap() as usize,
                s["end"].as_u64().unwrap() as usize,
            );
            assert_eq!(s["text"].as_str().unwrap(), &text[a..b]);
        }
    }
    // stdin, one utterance per line.
    let mut child = Command::new(example("tag"))
        .args(["--model", model.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"one\ntwo three\n\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 3);
}

#[test]
fn tag_example_explains_a_missing_model() {
    let out = Command::new(example("tag"))
        .args(["--model", "/nonexistent/model.ptag", "hello"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open model /nonexistent/model.ptag"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}
