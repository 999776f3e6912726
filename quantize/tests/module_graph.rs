//! The modules of `picotag-quantize` import each other without cycles: each
//! source file is a module, and `crate::…`, `super::…` and child-module paths
//! outside comments are its imports (resolved to the deepest module file they
//! name). A module's use of its own submodules does not count (`pub mod`, and
//! a parent calling its children), so `data::unified` importing `train` while
//! `train` imports `data::unified` is a cycle, `data` calling `data::slu`
//! while `data::slu` builds `data::Sentence`s is not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`train::step`; `` for the crate root) → source text.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                let mut sub = prefix.to_vec();
                sub.push(name);
                walk(&p, &sub, out);
            } else if p.extension().is_some_and(|e| e == "rs") && name != "main" {
                let mut path = prefix.to_vec();
                if !matches!(name.as_str(), "mod" | "lib") {
                    path.push(name);
                }
                out.insert(path.join("::"), std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut out,
    );
    out
}

/// The paths a module's code names (comments removed): `a::b::C` as `[a, b, C]`,
/// with `crate::`, `super::` and `self::` resolved against `module`, and
/// `a::{b, c::D}` as `a::b` and `a::c::D`.
fn named_paths(module: &str, text: &str) -> Vec<Vec<String>> {
    let own: Vec<String> = module
        .split("::")
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let is_path = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut raw: Vec<String> = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let starts_word = !code[..i].ends_with(is_path);
        let len = rest.find(|c: char| !is_path(c)).unwrap_or(rest.len());
        if !starts_word || len == 0 {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let path = &rest[..len];
        i += len;
        // `prefix::{a, b::C}`: one path per item of the group.
        if path.ends_with("::") && code[i..].starts_with('{') {
            if let Some(end) = code[i..].find('}') {
                for item in code[i + 1..i + end].split(',') {
                    let item = item.split(" as ").next().unwrap_or("").trim();
                    match item {
                        "" | "*" => {}
                        "self" => raw.push(path.trim_end_matches(':').to_string()),
                        _ => raw.push(format!("{path}{item}")),
                    }
                }
                i += end + 1;
                continue;
            }
        }
        raw.push(path.to_string());
    }
    raw.iter()
        .filter_map(|path| {
            let parts: Vec<String> = path
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            Some(match parts.first().map(String::as_str) {
                Some("crate") => parts[1..].to_vec(),
                Some("super") => {
                    let mut base = own.clone();
                    let mut k = 0;
                    while parts.get(k).is_some_and(|p| p == "super") {
                        base.pop();
                        k += 1;
                    }
                    base.extend(parts[k..].iter().cloned());
                    base
                }
                Some("self") => own.iter().chain(&parts[1..]).cloned().collect(),
                // A child module named directly (`use eigen::…` in `distill`).
                Some(_) if parts.len() > 1 => own.iter().chain(&parts).cloned().collect(),
                _ => return None,
            })
        })
        .collect()
}

/// Module → the other modules it imports.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules();
    mods.iter()
        .map(|(m, text)| {
            let deps = named_paths(m, text)
                .into_iter()
                .filter_map(|p| {
                    (1..=p.len())
                        .rev()
                        .map(|n| p[..n].join("::"))
                        .find(|cand| mods.contains_key(cand))
                })
                // A module may use its own submodules (`data` calls
                // `data::slu::load`, which builds `data::Sentence`s).
                .filter(|d| d != m && !d.is_empty() && !d.starts_with(&format!("{m}::")))
                .collect();
            (m.clone(), deps)
        })
        .collect()
}

/// A cycle of `g` (its modules in import order, first repeated last), if any.
fn find_cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(2) => return None,
            Some(1) => {
                let at = stack.iter().position(|s| s == m).unwrap_or(0);
                let mut c = stack[at..].to_vec();
                c.push(m.to_string());
                return Some(c);
            }
            _ => {}
        }
        state.insert(m.to_string(), 1);
        stack.push(m.to_string());
        for d in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, g, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    g.keys()
        .find_map(|m| visit(m, g, &mut state, &mut Vec::new()))
}

#[test]
fn modules_import_each_other_without_cycles() {
    let g = graph();
    // The walk found the tree and reads imports (guards against a vacuous pass).
    assert!(g.len() > 30, "{} modules", g.len());
    assert!(
        g["train::start"].contains("train::epochs"),
        "{:?}",
        g["train::start"]
    );
    assert!(
        g["distill::args"].contains("distill"),
        "{:?}",
        g["distill::args"]
    );
    if let Some(c) = find_cycle(&g) {
        panic!("import cycle: {}", c.join(" -> "));
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a", &["b"][..]),
        ("b", &["c"][..]),
        ("c", &["a"][..]),
        ("d", &[][..]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
    .collect();
    assert_eq!(find_cycle(&g).unwrap(), ["a", "b", "c", "a"]);
    assert_eq!(
        named_paths(
            "train::step",
            "use super::batch::Batch; // crate::eval\nuse crate::model::{self, heads::TaskHeads,\n Model};"
        ),
        [
            vec!["train", "batch", "Batch"],
            vec!["model"],
            vec!["model", "heads", "TaskHeads"],
            vec!["model", "Model"]
        ]
    );
}
