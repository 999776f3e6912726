//! What a large entity set costs: build time, memory, latency.

use std::sync::Arc;
use std::time::Instant;

use picotag::{EntitySet, TagOptions, Tagger, Tagging};
use serde::Serialize;

use crate::error::{Error, Result};

/// The measured cost.
#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    /// Values in the set.
    pub values: usize,
    /// Median time to build it, ms.
    pub build_ms: f64,
    /// Heap bytes the set holds.
    pub heap_bytes: usize,
    /// Median time to tag one 12-word utterance without a set, ms.
    pub latency_ms_without: f64,
    /// The same with the set.
    pub latency_ms_with: f64,
    /// Utterances timed.
    pub utterances: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `n` synthetic values (two to four words of a 50,000-word vocabulary)
/// spread over the model's first eight types: (type, value).
fn values(tagger: &Tagger, n: usize) -> Result<Vec<(String, String)>> {
    let types: Vec<String> = EntitySet::new(tagger)
        .types()
        .take(8)
        .map(str::to_string)
        .collect();
    if types.is_empty() {
        return Err(Error::Model("the model has no slot types".into()));
    }
    let word = |i: u64| format!("w{:x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 50_000);
    Ok((0..n as u64)
        .map(|i| {
            let v: Vec<String> = (0..2 + i % 3).map(|j| word(i * 7 + j)).collect();
            (types[i as usize % types.len()].clone(), v.join(" "))
        })
        .collect())
}

/// The set of `values` (what the build time measures: the app's strings
/// exist already).
fn build(tagger: &Tagger, values: &[(String, String)]) -> Result<EntitySet> {
    let mut set = EntitySet::new(tagger);
    for (ty, v) in values {
        set.add(ty, v)?;
    }
    Ok(set)
}

/// Measures a set of `n` values on `utterances` (12 words each), `rounds`
/// interleaved rounds (without, with), medians of per-utterance means.
pub fn measure(tagger: &Tagger, n: usize, utterances: &[String], rounds: usize) -> Result<Cost> {
    let mut builds = Vec::new();
    let mut set = None;
    let values = values(tagger, n)?;
    for _ in 0..3 {
        let t = Instant::now();
        let s = build(tagger, &values)?;
        builds.push(t.elapsed().as_secs_f64() * 1e3);
        set = Some(s);
    }
    let set = Arc::new(set.ok_or_else(|| Error::Model("no set built".into()))?);
    // Every word of every utterance is normalized and looked up in the set.
    let plain = TagOptions::default();
    let with = TagOptions {
        entities: Some(set.clone()),
        ..TagOptions::default()
    };
    let mut out = Tagging::default();
    let mut time = |o: &TagOptions| -> Result<f64> {
        let t = Instant::now();
        for u in utterances {
            tagger.tag_utterance_into(u, o, &mut out)?;
        }
        Ok(t.elapsed().as_secs_f64() * 1e3 / utterances.len().max(1) as f64)
    };
    time(&plain)?;
    time(&with)?;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        a.push(time(&plain)?);
        b.push(time(&with)?);
    }
    Ok(Cost {
        values: set.len(),
        build_ms: median(builds),
        heap_bytes: set.heap_bytes(),
        latency_ms_without: median(a),
        latency_ms_with: median(b),
        utterances: utterances.len(),
    })
}
