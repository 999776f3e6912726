//! The `tag` example, run as a user would, on a random-weight model.

mod common;

use common::example;

use std::path::Path;
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

#[cfg(unix)]
#[test]
fn tag_example_rejects_a_non_utf8_argument_without_panicking() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = common::TempDir::new("example-utf8");
    let model = tmp.path().join("random.ptag");
    common::write_random_model(&model, 3);
    let out = Command::new(example("tag"))
        .args(["--model", model.to_str().unwrap(), "fine"])
        .arg(std::ffi::OsStr::from_bytes(b"caf\xe9"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("argument 4 is not valid UTF-8"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn tag_example_reports_a_bad_stdin_line_and_goes_on() {
    let tmp = common::TempDir::new("example-stdin");
    let model = tmp.path().join("random.ptag");
    common::write_random_model(&model, 3);
    let mut child = Command::new(example("tag"))
        .args(["--model", model.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"one\r\nbad \xff\xfe line\nthree four\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    // The run goes on but says, through its status, that a line was skipped.
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stdin line 2: not valid UTF-8"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let texts: Vec<String> = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["text"].to_string())
        .collect();
    assert_eq!(texts, ["\"one\"", "\"three four\""]);
}

#[test]
fn tag_example_finds_the_shipped_model_from_any_directory() {
    let tmp = common::TempDir::new("example-cwd");
    let out = common::run_ok(
        Command::new(example("tag"))
            .current_dir(tmp.path())
            .env_remove("PICOTAG_MODEL")
            .arg("book a flight to boston"),
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["text"], "book a flight to boston");
    // The shipped model, not a random one: its ATIS head finds the city.
    assert!(
        line["slots"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["text"] == "boston"),
        "{line}"
    );
}

#[test]
fn tag_example_reads_picotag_model() {
    let tmp = common::TempDir::new("example-env");
    let model = tmp.path().join("random.ptag");
    common::write_random_model(&model, 3);
    common::run_ok(
        Command::new(example("tag"))
            .env("PICOTAG_MODEL", &model)
            .args(["--all-slots", "hello"]),
    );
    let out = Command::new(example("tag"))
        .env("PICOTAG_MODEL", "/nonexistent/env.ptag")
        .arg("hello")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open model /nonexistent/env.ptag ($PICOTAG_MODEL)"),
        "{err}"
    );
    // --model wins over the variable.
    common::run_ok(
        Command::new(example("tag"))
            .env("PICOTAG_MODEL", "/nonexistent/env.ptag")
            .args(["--model", model.to_str().unwrap(), "hello"]),
    );
}

#[test]
fn tag_example_help_says_where_the_model_comes_from() {
    let out = common::run_ok(Command::new(example("tag")).arg("--help"));
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("$PICOTAG_MODEL"), "{help}");
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.ptag");
    assert!(help.contains(default.to_str().unwrap()), "{help}");
}

#[test]
fn tag_example_injects_entities_from_a_json_file() {
    let tmp = common::TempDir::new("example-entities");
    let values = tmp.path().join("values.json");
    std::fs::write(&values, r#"{"snips/artist": ["Qzx Vorlumbrane"]}"#).unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.ptag");
    let text = "add Qzx Vorlumbrane to my workout playlist";
    let out = common::run_ok(
        Command::new(example("tag"))
            .args(["--model", model.to_str().unwrap()])
            .args(["--entities", values.to_str().unwrap(), text]),
    );
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    let slots = line["slots"].as_array().unwrap();
    assert!(
        slots
            .iter()
            .any(|s| s["label"] == "artist" && s["text"] == "Qzx Vorlumbrane"),
        "{slots:?}"
    );
    // A type the model does not have, or a file that is not the format: a clear error.
    for (json, want) in [
        (r#"{"snips/painter": ["x"]}"#, "unknown entity type"),
        (r#"["x"]"#, "expected {\"task/type\""),
    ] {
        std::fs::write(&values, json).unwrap();
        let out = Command::new(example("tag"))
            .args(["--model", model.to_str().unwrap()])
            .args(["--entities", values.to_str().unwrap(), text])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{err}");
    }
}
