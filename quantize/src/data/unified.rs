//! One label space over datasets with disjoint label sets: the `--type-map`
//! file, the unified slot labels, and what each dataset annotates in them.
//!
//! A type map names the unified task and merges equivalent types:
//!
//! ```json
//! { "task": "slots",
//!   "types": { "bc5cdr:Disease": "Disease", "ncbi:Disease": "Disease",
//!              "atis:city_name": "city", "snips:city": "city" } }
//! ```
//!
//! A type not in `types` keeps its name. Two datasets' types may share a
//! unified name only when the map says so for both, so nothing merges by
//! accident of spelling.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use picotag::decode::{Scheme, Tag};
use serde::{Deserialize, Serialize};

use super::labels::Vocab;
use crate::error::{read_text, Error, Result};

fn default_task() -> String {
    "slots".to_string()
}

/// The `--type-map` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeMap {
    /// Name of the unified task and of its slot head.
    #[serde(default = "default_task")]
    pub task: String,
    /// `DATASET_TASK:TYPE` → unified type.
    #[serde(default)]
    pub types: BTreeMap<String, String>,
}

impl TypeMap {
    /// Reads a type map (JSON).
    pub fn load(path: &Path) -> Result<TypeMap> {
        let text = read_text(path)?;
        serde_json::from_str(&text).map_err(|e| Error::json(path, e))
    }
}

/// The unified slot head: its labels and scheme.
#[derive(Debug, Clone, PartialEq)]
pub struct UnifiedHead {
    /// Task (and head) name.
    pub task: String,
    /// Labels, `O` first.
    pub labels: Vocab,
    /// Tagging scheme (that of every dataset).
    pub scheme: Scheme,
}

/// One dataset's place in the unified label space.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    /// The unified head (the same for every dataset).
    pub head: UnifiedHead,
    /// The dataset's types → unified types.
    pub rename: BTreeMap<String, String>,
    /// The unified types the dataset annotates.
    pub annotated: BTreeSet<String>,
    /// Index of each of the dataset's own labels in the unified labels.
    pub to_unified: Vec<u32>,
    /// Over the unified labels: 1 where a gold `O` of this dataset allows the
    /// label (`O` and every label of a type the dataset does not annotate), else 0.
    pub o_set: Vec<f32>,
}

impl TaskView {
    /// The unified form of one of the dataset's labels (`B-Disease` → `B-Disease`,
    /// `B-city_name` → `B-city`); `O` and unknown types are kept as they are.
    pub fn unify_label(&self, label: &str) -> String {
        rename_label(&self.rename, label)
    }
}

/// `label` with its type renamed by `rename` (kept when not in it).
fn rename_label(rename: &BTreeMap<String, String>, label: &str) -> String {
    match Tag::parse(label) {
        Some(t) if !t.kind.is_empty() => match rename.get(t.kind) {
            Some(u) => format!("{}{u}", &label[..label.len() - t.kind.len()]),
            None => label.to_string(),
        },
        _ => label.to_string(),
    }
}

/// The entity type of a label (`None` for `O`).
fn type_of(label: &str) -> Option<&str> {
    Tag::parse(label).map(|t| t.kind).filter(|k| !k.is_empty())
}

/// Builds the unified labels from each dataset's `(task name, labels, scheme)`,
/// in task order. Fails on a scheme mismatch, a map entry naming an unknown
/// task or type, a unified name shared without the map saying so, or a
/// unified task named like a dataset task.
pub fn unify(map: &TypeMap, tasks: &[(&str, &Vocab, Scheme)]) -> Result<Vec<TaskView>> {
    let bad = |m: String| Error::Spec(format!("--type-map: {m}"));
    if map.task.is_empty() || map.task.contains(['.', ' ']) {
        return Err(bad(format!(
            "task name {:?} must be non-empty, without '.' or spaces",
            map.task
        )));
    }
    if tasks.iter().any(|(n, _, _)| *n == map.task) {
        return Err(bad(format!(
            "the unified task {:?} has the name of a dataset task",
            map.task
        )));
    }
    if let Some((_, _, s)) = tasks.iter().find(|(_, _, s)| *s != tasks[0].2) {
        return Err(bad(format!(
            "datasets use different tagging schemes ({:?} and {s:?})",
            tasks[0].2
        )));
    }
    let types: Vec<BTreeSet<&str>> = tasks
        .iter()
        .map(|(_, v, _)| v.labels.iter().filter_map(|l| type_of(l)).collect())
        .collect();
    for (key, to) in &map.types {
        let (task, ty) = key
            .split_once(':')
            .ok_or_else(|| bad(format!("key {key:?} is not TASK:TYPE")))?;
        let i = tasks
            .iter()
            .position(|(n, _, _)| *n == task)
            .ok_or_else(|| bad(format!("{key:?}: no task {task:?}")))?;
        if !types[i].contains(ty) {
            return Err(bad(format!("{key:?}: task {task} has no type {ty:?}")));
        }
        if to.is_empty() || to.contains(char::is_whitespace) {
            return Err(bad(format!("{key:?}: bad unified type {to:?}")));
        }
    }
    // Unified type of each (task, type), and who claims each unified name.
    let mut renames: Vec<BTreeMap<String, String>> = Vec::new();
    let mut owners: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    for ((name, _, _), tys) in tasks.iter().zip(&types) {
        let mut r = BTreeMap::new();
        for ty in tys {
            let explicit = map.types.get(&format!("{name}:{ty}"));
            let to = explicit.cloned().unwrap_or_else(|| ty.to_string());
            owners
                .entry(to.clone())
                .or_default()
                .push((format!("{name}:{ty}"), explicit.is_some()));
            r.insert(ty.to_string(), to);
        }
        renames.push(r);
    }
    for (to, who) in &owners {
        if who.len() > 1 && who.iter().any(|(_, explicit)| !explicit) {
            let names: Vec<&str> = who.iter().map(|(k, _)| k.as_str()).collect();
            return Err(bad(format!(
                "{names:?} would all be type {to:?}: map each of them explicitly to merge them"
            )));
        }
    }
    let all: Vec<String> = tasks
        .iter()
        .zip(&renames)
        .flat_map(|((_, v, _), r)| v.labels.iter().map(|l| rename_label(r, l)))
        .collect();
    let labels = Vocab::build(all.iter().map(String::as_str), Some("O"));
    let head = UnifiedHead {
        task: map.task.clone(),
        labels,
        scheme: tasks.first().map_or(Scheme::Bio, |t| t.2),
    };
    let mut out = Vec::new();
    for ((_, v, _), rename) in tasks.iter().zip(renames) {
        let annotated: BTreeSet<String> = rename.values().cloned().collect();
        let to_unified = v
            .labels
            .iter()
            .map(|l| {
                let u = rename_label(&rename, l);
                head.labels.index(&u).ok_or_else(|| {
                    Error::Spec(format!("label {u:?} missing from the unified head"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let o_set = head
            .labels
            .labels
            .iter()
            .map(|l| match type_of(l) {
                None => 1.0,
                Some(t) if annotated.contains(t) => 0.0,
                Some(_) => 1.0,
            })
            .collect();
        out.push(TaskView {
            head: head.clone(),
            rename,
            annotated,
            to_unified,
            o_set,
        });
    }
    Ok(out)
}

/// Narrows each dataset's `o_set` by domain: a type annotated only by tasks of
/// other domains is known to be absent from this dataset's text (the premise
/// of the gate negatives), so a gold `O` here rules it out. `domains[i]` is
/// the domain of `views[i]`; a dataset without one keeps its set, and a type
/// annotated by a task without a domain stays allowed.
pub fn exclude_other_domains(views: &mut [TaskView], domains: &[Option<&str>]) {
    let labels = match views.first() {
        Some(v) => v.head.labels.labels.clone(),
        None => return,
    };
    for i in 0..views.len() {
        let Some(mine) = domains[i] else { continue };
        for (l, label) in labels.iter().enumerate() {
            let Some(ty) = type_of(label) else { continue };
            let foreign = views
                .iter()
                .zip(domains)
                .filter(|(v, _)| v.annotated.contains(ty))
                .all(|(_, d)| d.is_some_and(|d| d != mine));
            if foreign {
                views[i].o_set[l] = 0.0;
            }
        }
    }
}

/// [`unify`] with the tasks' domains applied ([`exclude_other_domains`]):
/// `domains[i]` is the domain of `tasks[i]`.
pub fn unify_with_domains(
    map: &TypeMap,
    tasks: &[(&str, &Vocab, Scheme)],
    domains: &[Option<&str>],
) -> Result<Vec<TaskView>> {
    let mut views = unify(map, tasks)?;
    exclude_other_domains(&mut views, domains);
    Ok(views)
}
