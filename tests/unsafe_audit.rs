//! Every `unsafe` block and `unsafe impl` in the workspace (runtime, C ABI,
//! offline tools, fuzz targets, tests, benches, examples) carries a
//! `// SAFETY:` comment: on its line, or in the comment block right above the
//! statement it belongs to.

use std::path::{Path, PathBuf};

/// Folders of the checkout that hold Rust sources.
const ROOTS: [&str; 8] = [
    "src", "ffi", "quantize", "onnx", "fuzz", "benches", "examples", "tests",
];
/// How far above an `unsafe` line its comment may be.
const MAX_LOOKBACK: usize = 12;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        if p.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a line, without a trailing `//` comment (good enough for
/// this purpose: `//` inside string literals is rare next to `unsafe`).
fn code(line: &str) -> &str {
    line.find("//").map_or(line, |i| &line[..i])
}

/// Whether the code opens an unsafe block or is an `unsafe impl`.
fn opens_unsafe(code: &str) -> bool {
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '{'))
        .filter(|w| !w.is_empty())
        .collect();
    code.contains("unsafe {")
        || code.trim_end().ends_with("unsafe")
        || words.windows(2).any(|w| w[0] == "unsafe" && w[1] == "impl")
}

/// Line numbers (1-based) of unsafe blocks without a `SAFETY:` comment.
fn undocumented(source: &str) -> Vec<usize> {
    let lines: Vec<&str> = source.lines().collect();
    let mut bad = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !opens_unsafe(code(line)) {
            continue;
        }
        let mut documented = false;
        for j in (i.saturating_sub(MAX_LOOKBACK)..=i).rev() {
            let l = lines[j].trim();
            if l.contains("SAFETY:") {
                documented = true;
                break;
            }
            // Stop at the end of the previous statement or item.
            let c = code(l).trim_end();
            if j < i && (l.is_empty() || c.ends_with(';') || c.ends_with('{') || c.ends_with('}')) {
                break;
            }
        }
        if !documented {
            bad.push(i + 1);
        }
    }
    bad
}

#[test]
fn the_audit_finds_what_it_should() {
    assert!(undocumented("// SAFETY: fine\nlet x = unsafe { f() };").is_empty());
    assert!(
        undocumented("let v = 1;\n// SAFETY: a\n// b\nlet x =\n    unsafe { f() };").is_empty()
    );
    assert!(undocumented("f(); // SAFETY: here\nunsafe impl Send for X {}").is_empty());
    assert_eq!(undocumented("let a = 1;\nlet x = unsafe { f() };"), vec![2]);
    assert_eq!(
        undocumented("// SAFETY: for a\nlet a = unsafe { f() };\nlet b = unsafe { g() };"),
        vec![3]
    );
    assert_eq!(undocumented("unsafe impl Sync for X {}"), vec![1]);
    assert!(undocumented("/// Not unsafe at all: unsafe { in a comment").is_empty());
}

#[test]
fn every_unsafe_block_has_a_safety_comment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for r in ROOTS {
        rust_files(&root.join(r), &mut files);
    }
    let this = Path::new(file!()).file_name().unwrap();
    let mut missing = Vec::new();
    let mut blocks = 0;
    for f in &files {
        if f.file_name() == Some(this) {
            continue;
        }
        let src = std::fs::read_to_string(f).unwrap();
        blocks += src.lines().filter(|l| opens_unsafe(code(l))).count();
        for n in undocumented(&src) {
            missing.push(format!("{}:{n}", f.strip_prefix(root).unwrap().display()));
        }
    }
    println!("{blocks} unsafe blocks/impls in {} files", files.len());
    assert!(blocks > 0, "no unsafe found: the scan is broken");
    assert!(
        missing.is_empty(),
        "unsafe without a // SAFETY: comment:\n{}",
        missing.join("\n")
    );
}
