//! Damaged model files: truncations of the header and metadata, random
//! byte and bit corruptions over the whole file. With both checksums on every
//! damage is rejected with `Error::Format`; with them off, damage in the
//! structure is rejected or harmless, and damage in the weights still gives
//! a result, never a panic.

#[path = "../fuzz/src/check.rs"]
mod check;
#[path = "../fuzz/src/models.rs"]
#[allow(dead_code)]
mod models;

use std::path::Path;

use picotag::format::{seal, CHECKSUM_RANGE, HEADER_LEN, HEAD_CHECKSUM_RANGE};
use picotag::testing::Rng;
use picotag::{Error, OpenOptions, TagOptions, Tagger};

const CHECKED: OpenOptions = OpenOptions::FULL;
const UNCHECKED: OpenOptions = OpenOptions::UNCHECKED;
const PROBES: [&str; 2] = [
    "book a flight from boston to denver",
    "i take 200 mg of aspirin",
];

/// A section of the file: `offset..offset + len`, from the header.
#[derive(Debug, Clone, Copy)]
struct Section {
    offset: usize,
    len: usize,
}

fn u64_at(b: &[u8], at: usize) -> usize {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize
}

/// The metadata, tensor table, data and vocabulary sections of a valid
/// file (the vocabulary empty in version 1).
fn sections(b: &[u8]) -> [Section; 4] {
    [24, 40, 56, 80].map(|at| Section {
        offset: u64_at(b, at),
        len: u64_at(b, at + 8),
    })
}

fn expect_format(r: Result<Tagger, Error>, what: &str) {
    match r {
        Err(Error::Format(_)) => {}
        Err(e) => panic!("{what}: wrong error kind {e:?}"),
        Ok(_) => panic!("{what}: accepted"),
    }
}

/// Tags the probes: no panic, well-formed spans (a damaged tokenizer may
/// return an error instead).
fn probe(t: &Tagger) {
    let all = TagOptions {
        has_slot_threshold: None,
        ..Default::default()
    };
    for text in PROBES {
        // Damaged weights may also make the network non-finite: an error.
        if let Ok(r) = t.tag_utterance_with(text, &all) {
            check::check_tagging(text, &r);
        }
    }
}

/// Every truncation inside the header, metadata, tensor table and
/// vocabulary (`step` 1) or a sample of them, with the checksums on and off.
fn truncations(bytes: &[u8], step: usize) -> usize {
    let [_, _, data, _] = sections(bytes);
    let structure_end = data.offset;
    let mut n = 0;
    let mut len = 0;
    while len < structure_end {
        for opts in [CHECKED, UNCHECKED] {
            expect_format(
                Tagger::from_bytes_with(&bytes[..len], opts),
                &format!("truncated to {len}"),
            );
        }
        n += 1;
        len += if len < HEADER_LEN { 1 } else { step };
    }
    n
}

/// Every shorter length of the metadata, tensor-table and vocabulary
/// sections written into the header (the section cut short inside an intact
/// file), checksums off so that the parser itself must notice.
fn shortened_sections(bytes: &[u8], step: usize) -> usize {
    let mut n = 0;
    let [meta, table, _, vocab] = sections(bytes);
    for (at, s) in [(32, meta), (48, table), (88, vocab)] {
        let mut len = 0;
        while len < s.len {
            let mut b = bytes.to_vec();
            b[at..at + 8].copy_from_slice(&(len as u64).to_le_bytes());
            expect_format(
                Tagger::from_bytes_with(&b, UNCHECKED),
                &format!("section length at {at} cut to {len}"),
            );
            n += 1;
            len += step;
        }
    }
    n
}

/// Damage of one kind at a random place.
fn corrupt(bytes: &mut [u8], rng: &mut Rng, region: std::ops::Range<usize>) -> usize {
    let span = region.end - region.start;
    let i = region.start + (rng.next_u64() % span as u64) as usize;
    match rng.next_u64() % 3 {
        0 => bytes[i] ^= 1 << (rng.next_u64() % 8),
        1 => bytes[i] = bytes[i].wrapping_add(1 + (rng.next_u64() % 255) as u8),
        _ => {
            // A burst of up to 16 random bytes.
            let end = (i + 1 + (rng.next_u64() % 16) as usize).min(region.end);
            for b in &mut bytes[i..end] {
                *b = rng.next_u64() as u8;
            }
        }
    }
    i
}

/// Writes the checksums of the damaged file, so that what follows the
/// checksum checks is what is tested.
fn reseal(b: &mut [u8]) {
    let data = u64_at(b, 56).clamp(HEADER_LEN, b.len());
    let (head, whole) = seal(b, data);
    // Version 1 has no head checksum (its bytes are reserved, zero).
    if b[8..12] != 1u32.to_le_bytes() {
        b[HEAD_CHECKSUM_RANGE].copy_from_slice(&head.to_le_bytes());
    }
    b[CHECKSUM_RANGE].copy_from_slice(&whole.to_le_bytes());
}

#[derive(Debug, Default)]
struct Tally {
    rejected: usize,
    accepted: usize,
    weights_accepted: usize,
}

/// `rounds` random corruptions: each rejected with the checksum on; with it
/// off (and resealed), rejected with `Error::Format` or opened and tagged
/// without panicking — always opened when only weight bytes changed.
fn corruptions(bytes: &[u8], rounds: usize, seed: u64) -> Tally {
    let [_, _, data, _] = sections(bytes);
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    for round in 0..rounds {
        let mut b = bytes.to_vec();
        // Half the rounds in the weights, half anywhere.
        let region = if round % 2 == 0 {
            data.offset..data.offset + data.len
        } else {
            0..b.len()
        };
        let at = corrupt(&mut b, &mut rng, region);
        if b == bytes {
            continue;
        }
        expect_format(
            Tagger::from_bytes_with(&b, CHECKED),
            &format!("damage at {at} with the checksum on"),
        );
        let in_weights = (data.offset..data.offset + data.len).contains(&at);
        for resealed in [false, true] {
            if resealed {
                reseal(&mut b);
            }
            match Tagger::from_bytes_with(&b, UNCHECKED) {
                Ok(t) => {
                    tally.accepted += 1;
                    tally.weights_accepted += usize::from(in_weights);
                    probe(&t);
                }
                Err(Error::Format(_)) if !in_weights => tally.rejected += 1,
                Err(e) => panic!("damage at {at} (weights: {in_weights}): {e:?}"),
            }
        }
    }
    tally
}

#[test]
fn every_structure_truncation_is_rejected() {
    for int8 in [false, true] {
        let bytes = models::small(21, int8).to_bytes().unwrap();
        let n = truncations(&bytes, 1);
        let m = shortened_sections(&bytes, 1);
        println!("int8 {int8}: {n} truncations, {m} shortened sections rejected");
        assert!(n > HEADER_LEN && m > 0);
    }
}

#[test]
fn random_corruptions_are_rejected_or_harmless() {
    for (int8, seed) in [(false, 1), (true, 2)] {
        let bytes = models::small(22, int8).to_bytes().unwrap();
        let t = corruptions(&bytes, 1500, seed);
        println!("int8 {int8}: {t:?}");
        // Both outcomes occur: the test exercises the parser and the weights.
        assert!(t.rejected > 100 && t.weights_accepted > 100, "{t:?}");
    }
}

#[test]
fn damaged_checksum_field_is_rejected() {
    let bytes = models::small(23, true).to_bytes().unwrap();
    for i in CHECKSUM_RANGE.chain(HEAD_CHECKSUM_RANGE) {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            expect_format(Tagger::from_bytes_with(&b, CHECKED), "checksum field");
            // The field is not read without the check: the file opens.
            assert!(Tagger::from_bytes_with(&b, UNCHECKED).is_ok());
        }
    }
}

/// The fuzz finding of 2026-11-22: weights damaged so that an intent logit
/// becomes infinite. Opened without the checksum check, tagging must fail
/// with a format error, not return a score of `-inf`.
#[test]
fn non_finite_network_output_is_an_error() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds/model_bytes/damaged-neg-inf-intent.ptag");
    let bytes = std::fs::read(&path).unwrap();
    expect_format(Tagger::from_bytes_with(&bytes, CHECKED), "damaged seed");
    let t = Tagger::from_bytes_with(&bytes, UNCHECKED).expect("opens unchecked");
    let all = TagOptions {
        has_slot_threshold: None,
        ..Default::default()
    };
    let errors = PROBES
        .iter()
        .filter(|text| match t.tag_utterance_with(text, &all) {
            Err(Error::Format(m)) => m.contains("non-finite"),
            Err(e) => panic!("wrong error kind {e:?}"),
            Ok(r) => {
                check::check_tagging(text, &r);
                false
            }
        })
        .count();
    assert!(errors > 0, "the damaged weights were not noticed");
}

/// The shipped model, when present: sampled truncations and corruptions.
#[test]
fn shipped_model_damage_sampled() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.ptag");
    let Ok(bytes) = std::fs::read(&path) else {
        return picotag::testing::assets::missing(
            path.display(),
            "git checkout models/default.ptag",
        );
    };
    let n = truncations(&bytes, 997);
    let m = shortened_sections(&bytes, 4099);
    let t = corruptions(&bytes, 200, 3);
    println!("default.ptag: {n} truncations, {m} shortened sections, {t:?}");
    assert!(t.weights_accepted > 0);
}
