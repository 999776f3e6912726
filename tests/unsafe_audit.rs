//! Every `unsafe` block and `unsafe impl` in the workspace (runtime, kernels,
//! C ABI, offline tools, fuzz targets, tests, benches, examples) carries a
//! `// SAFETY:` comment: on its line, or in the comment block right above the
//! statement it belongs to; every `unsafe fn` has a `# Safety` section in its
//! doc comment stating its contract.

use std::path::{Path, PathBuf};

/// Folders of the checkout that hold Rust sources.
const ROOTS: [&str; 9] = [
    "src", "kernels", "ffi", "quantize", "onnx", "fuzz", "bench", "examples", "tests",
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

/// Whether the code declares an `unsafe fn` (also `unsafe extern "C" fn`),
/// as opposed to naming an `unsafe fn(..)` pointer type.
fn declares_unsafe_fn(code: &str) -> bool {
    let norm = code.split_whitespace().collect::<Vec<_>>().join(" ");
    ["unsafe fn ", "unsafe extern \"C\" fn "].iter().any(|pat| {
        norm.match_indices(pat).any(|(i, _)| {
            let before = norm[..i].chars().next_back();
            let after = norm[i + pat.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && after.is_some_and(|c| c.is_alphabetic() || c == '_')
        })
    })
}

/// Line numbers (1-based) of `unsafe fn` declarations whose doc comment (the
/// `///` lines above it, attributes skipped) has no `# Safety` heading.
fn undocumented_fns(source: &str) -> Vec<usize> {
    let lines: Vec<&str> = source.lines().collect();
    let mut bad = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with("//") || !declares_unsafe_fn(code(line)) {
            continue;
        }
        let mut documented = false;
        for l in lines[..i].iter().rev().map(|l| l.trim()) {
            if l.starts_with("///") {
                if l.trim_start_matches('/').trim() == "# Safety" {
                    documented = true;
                    break;
                }
            } else if !l.starts_with("#[") && !l.starts_with("//") {
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
fn the_fn_audit_finds_what_it_should() {
    let ok = "/// Does it.\n///\n/// # Safety\n/// The CPU has AVX2.\n#[target_feature(enable = \"avx2\")]\nunsafe fn f() {}";
    assert!(undocumented_fns(ok).is_empty());
    assert!(undocumented_fns("/// # Safety\n/// x\npub unsafe extern \"C\" fn f() {}").is_empty());
    assert_eq!(undocumented_fns("/// Does it.\nunsafe fn f() {}"), vec![2]);
    assert_eq!(
        undocumented_fns("/// # Safety\n/// x\nfn g() {}\n#[inline]\npub(crate) unsafe fn f() {}"),
        vec![5]
    );
    assert_eq!(undocumented_fns("unsafe extern \"C\" fn f() {}"), vec![1]);
    assert!(undocumented_fns("/// calls an unsafe fn somewhere\nfn f() {}").is_empty());
    assert!(undocumented_fns("let p: unsafe fn() = f;").is_empty());
}

#[test]
fn every_unsafe_fn_has_a_safety_section() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for r in ROOTS {
        rust_files(&root.join(r), &mut files);
    }
    let this = Path::new(file!()).file_name().unwrap();
    let (mut fns, mut missing) = (0, Vec::new());
    for f in &files {
        if f.file_name() == Some(this) {
            continue;
        }
        let src = std::fs::read_to_string(f).unwrap();
        fns += src
            .lines()
            .filter(|l| !l.trim_start().starts_with("//") && declares_unsafe_fn(code(l)))
            .count();
        for n in undocumented_fns(&src) {
            missing.push(format!("{}:{n}", f.strip_prefix(root).unwrap().display()));
        }
    }
    println!("{fns} unsafe fns in {} files", files.len());
    assert!(fns > 0, "no unsafe fn found: the scan is broken");
    assert!(
        missing.is_empty(),
        "unsafe fn without a # Safety doc section:\n{}",
        missing.join("\n")
    );
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
