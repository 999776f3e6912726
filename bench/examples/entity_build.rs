//! How long an app takes to build an entity set of 100,000 values, with the
//! system allocator as an app links picotag (`picotag-quantize entities`
//! measures the same set inside the tool, whose allocator, mimalloc, returns
//! freed memory to the OS and makes that figure vary by 3×).
//!
//! ```sh
//! cargo run --release -p picotag-bench --example entity_build -- models/default.ptag
//! ```
//! Prints the build time of each of 5 builds in ms, the median and the
//! set's heap bytes, as JSON. The values are those of `picotag-quantize
//! entities`: two to four words of a 50,000-word vocabulary over the
//! model's first eight slot types.

use std::time::Instant;

use picotag::{EntitySet, Tagger};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or("models/default.ptag".into());
    let tagger = Tagger::open(&path)?;
    let types: Vec<String> = EntitySet::new(&tagger)
        .types()
        .take(8)
        .map(str::to_string)
        .collect();
    if types.is_empty() {
        return Err("the model has no slot types".into());
    }
    let word = |i: u64| format!("w{:x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 50_000);
    let values: Vec<(String, String)> = (0..100_000u64)
        .map(|i| {
            let v: Vec<String> = (0..2 + i % 3).map(|j| word(i * 7 + j)).collect();
            (types[i as usize % types.len()].clone(), v.join(" "))
        })
        .collect();
    let (mut ms, mut heap) = (Vec::new(), 0);
    for _ in 0..5 {
        let t = Instant::now();
        let mut set = EntitySet::new(&tagger);
        for (ty, v) in &values {
            set.add(ty, v)?;
        }
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        heap = std::hint::black_box(&set).heap_bytes();
    }
    let mut sorted = ms.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({"values": values.len(), "build_ms": ms, "median_ms": sorted[2], "heap_bytes": heap})
    );
    Ok(())
}
