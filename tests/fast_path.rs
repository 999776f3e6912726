//! The fast int8 encoder against the reference path, on every instruction set.

use picotag::encoder::{fast, reference, EncoderRef};
use picotag::format::{Architecture, ModelFile, OpenOptions};
use picotag::kernels::Isa;
use picotag::testing::RandomModel;
use picotag::tokenize::Tokenizer;
use picotag::{Backend, TagOptions, Tagger};

fn int8_model(hidden: usize, heads: usize, intermediate: usize, seed: u64) -> Vec<u8> {
    let mut m = RandomModel::tiny(seed);
    m.arch = Architecture {
        hidden,
        heads,
        intermediate,
        layers: 2,
        ..m.arch
    };
    m.int8 = true;
    m.to_bytes().unwrap()
}

const TEXTS: &[&str] = &[
    "book a flight from boston to new york tomorrow morning",
    "i take 200 mg of aspirin for my migraine",
    "what is the weather in denver",
    "play music",
    "a",
];

fn ids(tok: &Tokenizer, text: &str) -> Vec<u32> {
    let t = tok.tokenize(text).unwrap();
    let mut ids = vec![tok.cls_id()];
    ids.extend(&t.ids);
    ids.push(tok.sep_id());
    ids
}

#[test]
fn fast_path_matches_the_reference_within_int8_error() {
    // Shapes with hidden and FFN sizes that are not multiples of the blocks,
    // and heads of 8, 10, 32 and 40 values (attention's blocks are 16 wide).
    for (hidden, heads, inter) in [
        (32, 4, 64),
        (40, 4, 90),
        (24, 3, 52),
        (64, 2, 96),
        (40, 1, 40),
    ] {
        let bytes = int8_model(hidden, heads, inter, 21);
        let file = ModelFile::from_bytes(&bytes, OpenOptions::default()).unwrap();
        let enc = EncoderRef::bind(&file).unwrap();
        assert!(fast::supports(&file, &enc));
        let tok = file.tokenizer().unwrap();
        for text in TEXTS {
            let ids = ids(&tok, text);
            let r = reference::forward(&file, &enc, &ids, &vec![true; ids.len()]).unwrap();
            let mut scalar = Vec::new();
            fast::forward(&file, &enc, Isa::Scalar, &ids, &mut scalar).unwrap();
            // LayerNorm outputs are O(1): int8 activations keep them within a few 1e-2.
            let max = r
                .iter()
                .zip(&scalar)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            let (mut num, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
            for (a, b) in r.iter().zip(&scalar) {
                num += (*a as f64) * (*b as f64);
                na += (*a as f64).powi(2);
                nb += (*b as f64).powi(2);
            }
            let cos = num / (na.sqrt() * nb.sqrt());
            println!("h={hidden} {text:?}: max |fast - reference| = {max:.4}, cosine {cos:.6}");
            assert!(max < 0.15 && cos > 0.999, "max {max}, cosine {cos}");
            // Every SIMD path gives the scalar path's result bit for bit: the
            // int8 GEMMs are exact, and the f32 loops compiled for a vector
            // unit (kernels::with_vector_isa) round as the scalar build does
            // (their multiply-adds are fused on every path).
            for isa in Isa::available() {
                let mut out = Vec::new();
                fast::forward(&file, &enc, isa, &ids, &mut out).unwrap();
                let same = out
                    .iter()
                    .zip(&scalar)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(
                    same && out.len() == scalar.len(),
                    "{isa:?} differs from scalar"
                );
            }
        }
    }
}

#[test]
fn tagger_picks_the_fast_path_for_int8_files_only() {
    let int8 = Tagger::from_bytes(&int8_model(32, 4, 64, 3)).unwrap();
    assert!(matches!(int8.backend(), Backend::Fast(_)));
    let f32_model = Tagger::from_bytes(&RandomModel::tiny(3).to_bytes().unwrap()).unwrap();
    assert_eq!(f32_model.backend(), Backend::Reference);
    assert!(f32_model.with_backend(Backend::Fast(Isa::Scalar)).is_err());
}

#[test]
fn fast_and_reference_taggers_mostly_agree() {
    let bytes = int8_model(32, 4, 64, 5);
    let fast = Tagger::from_bytes(&bytes).unwrap();
    let reference = Tagger::from_bytes(&bytes)
        .unwrap()
        .with_backend(Backend::Reference)
        .unwrap();
    let opts = TagOptions {
        has_slot_threshold: None,
        ..TagOptions::default()
    };
    let (mut same, mut total) = (0, 0);
    for text in TEXTS {
        let a = fast.tag_utterance_with(text, &opts).unwrap();
        let b = reference.tag_utterance_with(text, &opts).unwrap();
        let key = |t: &picotag::Tagging| -> Vec<(String, String, usize, usize)> {
            t.slots
                .iter()
                .map(|s| (s.task.to_string(), s.label.to_string(), s.start, s.end))
                .collect()
        };
        let (ka, kb) = (key(&a), key(&b));
        total += kb.len();
        same += kb.iter().filter(|s| ka.contains(s)).count();
        for (x, y) in a.intents.iter().zip(&b.intents) {
            assert!((x.score - y.score).abs() < 0.05 || x.label != y.label);
        }
    }
    println!("{same} of {total} reference slots found by the fast path");
    assert!(same * 10 >= total * 9, "{same} of {total}");
}
