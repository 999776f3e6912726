//! The JSONL loader: text, character-offset spans and intents, and the
//! errors a user gets for bad records (with the line).

use picotag_quantize::data::jsonl::parse_line;
use picotag_quantize::data::{load_split, resolve_dataset};
use picotag_quantize::Error;

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn spans_become_bio_labels_over_the_runtimes_words() {
    let s = parse_line(
        r#"{"text": "Book a table for two at 8 pm, in Zürich!", "spans": [{"start": 17, "end": 20, "label": "party_size"}, {"start": 24, "end": 28, "label": "time"}, {"start": 33, "end": 39, "label": "city"}], "intent": "BookRestaurant", "id": 7}"#,
        3,
    )
    .unwrap();
    assert_eq!(
        s.words,
        strs(&["Book", "a", "table", "for", "two", "at", "8", "pm", ",", "in", "Zürich", "!"])
    );
    assert_eq!(
        s.labels,
        strs(&[
            "O",
            "O",
            "O",
            "O",
            "B-party_size",
            "O",
            "B-time",
            "I-time",
            "O",
            "O",
            "B-city",
            "O"
        ])
    );
    assert_eq!((s.intent.as_deref(), s.line), (Some("BookRestaurant"), 3));
    // Offsets count characters, not bytes: "é" is one.
    let s = parse_line(
        r#"{"text": "café 🎵 jazz", "spans": [{"start": 7, "end": 11, "label": "genre"}]}"#,
        1,
    )
    .unwrap();
    assert_eq!(s.labels, strs(&["O", "O", "B-genre"]));
    assert_eq!(s.intent, None);
    // No spans; spaces at a span's edges are fine.
    let s = parse_line(r#"{"text": "hello there"}"#, 1).unwrap();
    assert_eq!(s.labels, strs(&["O", "O"]));
    let s = parse_line(
        r#"{"text": "fly to new york", "spans": [{"start": 6, "end": 15, "label": "to"}]}"#,
        1,
    )
    .unwrap();
    assert_eq!(s.labels, strs(&["O", "O", "B-to", "I-to"]));
}

#[test]
fn bad_records_say_what_is_wrong() {
    let err = |line: &str| parse_line(line, 1).unwrap_err();
    let cases = [
        (r#"{"text": "a b""#, "not a JSON object"),
        (r#"[1, 2]"#, "not a JSON object"),
        (r#"{"spans": []}"#, "no \"text\""),
        (r#"{"text": 5}"#, "\"text\" must be a string"),
        (r#"{"text": "   "}"#, "empty \"text\""),
        (r#"{"text": "a b", "intent": 3}"#, "\"intent\" must be"),
        (
            r#"{"text": "a b", "spans": {}}"#,
            "\"spans\" must be an array",
        ),
        (
            r#"{"text": "a b", "spans": [{"start": 0, "end": 9, "label": "x"}]}"#,
            "out of range",
        ),
        (
            r#"{"text": "a b", "spans": [{"start": 2, "end": 2, "label": "x"}]}"#,
            "out of range",
        ),
        (
            r#"{"text": "a b", "spans": [{"start": -1, "end": 1, "label": "x"}]}"#,
            "\"start\" must be",
        ),
        (
            r#"{"text": "a b", "spans": [{"start": 0, "end": 1}]}"#,
            "\"label\" must be",
        ),
        (
            r#"{"text": "a b", "spans": [{"start": 0, "end": 1, "label": "x y"}]}"#,
            "\"label\" must be",
        ),
        (
            r#"{"text": "new york city", "spans": [{"start": 0, "end": 8, "label": "a"}, {"start": 4, "end": 13, "label": "b"}]}"#,
            "overlap",
        ),
        (
            r#"{"text": "boston", "spans": [{"start": 1, "end": 6, "label": "x"}]}"#,
            "start is inside the word \"boston\"",
        ),
        (
            r#"{"text": "boston", "spans": [{"start": 0, "end": 3, "label": "x"}]}"#,
            "end is inside the word \"boston\"",
        ),
        (
            r#"{"text": "a  b", "spans": [{"start": 1, "end": 3, "label": "x"}]}"#,
            "holds no word",
        ),
    ];
    for (line, want) in cases {
        let e = err(line);
        assert!(e.contains(want), "{line}: {e:?} lacks {want:?}");
    }
}

#[test]
fn jsonl_files_load_as_splits_with_line_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    std::fs::create_dir_all(&dir).unwrap();
    let good = "{\"text\": \"play jazz\", \"spans\": [{\"start\": 5, \"end\": 9, \"label\": \"genre\"}], \"intent\": \"PlayMusic\"}\n\n{\"text\": \"weather in paris\", \"spans\": [{\"start\": 11, \"end\": 16, \"label\": \"city\"}], \"intent\": \"GetWeather\"}\n";
    std::fs::write(dir.join("train.jsonl"), good).unwrap();
    std::fs::write(dir.join("dev.jsonl"), good).unwrap();
    let (train, dev) = resolve_dataset(&dir).unwrap();
    assert!(train.ends_with("train.jsonl") && dev.ends_with("dev.jsonl"));
    let s = load_split(&train).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].line, s[1].line), (1, 3));
    assert_eq!(s[1].labels, strs(&["O", "O", "B-city"]));
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, format!("{good}{{\"text\": \"x\", \"spans\": [{{\"start\": 0, \"end\": 4, \"label\": \"y\"}}]}}\n")).unwrap();
    match load_split(&bad).unwrap_err() {
        Error::Data { path, line, msg } => {
            assert!(path.ends_with("bad.jsonl"));
            assert_eq!(line, 4);
            assert!(msg.contains("out of range"), "{msg}");
        }
        e => panic!("expected a data error, got {e}"),
    }
}
