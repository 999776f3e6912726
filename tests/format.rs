//! The `.ptag` format: round trip, and rejection of damaged or hostile files.

use std::path::Path;

use picotag::format::{Architecture, ModelFile, ModelWriter, OpenOptions, HEADER_LEN};
use picotag::testing::{RandomModel, Rng};
use picotag::{Error, Tagger};

/// A very small model (hidden 8, 1 layer) so that exhaustive damage tests are quick.
fn small() -> RandomModel {
    let mut m = RandomModel::tiny(7);
    m.arch = Architecture {
        vocab_size: 0,
        hidden: 8,
        layers: 1,
        heads: 2,
        intermediate: 16,
        max_positions: 16,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        embedding_rank: None,
    };
    m
}

const NO_CHECKSUM: OpenOptions = OpenOptions::UNCHECKED;

#[test]
fn round_trip_keeps_metadata_and_tensors() {
    let spec = RandomModel::tiny(3);
    let writer = spec.writer().unwrap();
    let bytes = writer.to_bytes().unwrap();
    let file = ModelFile::from_bytes(&bytes, OpenOptions::default()).unwrap();
    assert_eq!(file.meta().heads, spec.heads());
    assert_eq!(file.meta().architecture.hidden, 32);
    assert_eq!(file.version(), 2);
    // The vocabulary went to its table and comes back whole.
    let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
    assert!(json(&file.meta().tokenizer)["model"].get("vocab").is_none());
    assert_eq!(json(&file.tokenizer_json().unwrap()), json(&spec.tokenizer));
    // Every tensor is 64-byte aligned in the file and reads back bit-exact.
    let mut w2 = ModelWriter::new(file.meta().clone());
    w2.meta_mut().tokenizer = file.tokenizer_json().unwrap();
    for t in file.tensors() {
        assert_eq!(t.offset % 64, 0, "{}", t.name);
        w2.add_raw(&t.name, t.dtype, t.layout, &t.shape, file.bytes_of(t))
            .unwrap();
    }
    assert_eq!(w2.to_bytes().unwrap(), bytes);
    assert_eq!(
        ModelWriter::from_file(&file).unwrap().to_bytes().unwrap(),
        bytes
    );
    // f32 / f16 / i8 tensors and views.
    let mut w = ModelWriter::new(file.meta().clone());
    w.add_f32("a", &[2, 3], &[1.0, -2.0, 3.5, 0.0, 1e-3, 7.0])
        .unwrap();
    w.add_f16("b", &[3], &[1.0, -2.0, 0.5]).unwrap();
    w.add_i8("c", Default::default(), &[2, 2], &[1, -1, 127, -127])
        .unwrap();
    let f = ModelFile::from_bytes(&w.to_bytes().unwrap(), OpenOptions::default()).unwrap();
    assert_eq!(f.f32s(f.tensor("a").unwrap()).unwrap()[2], 3.5);
    assert_eq!(f.f16s(f.tensor("b").unwrap()).unwrap()[2].to_f32(), 0.5);
    assert_eq!(f.i8s(f.tensor("c").unwrap()).unwrap(), &[1, -1, 127, -127]);
    assert!(f.f32s(f.tensor("b").unwrap()).is_err(), "dtype is checked");
    assert!(f.tensor("missing").is_err());
    assert_eq!(
        f.version(),
        2,
        "a file without int4 tensors stays version 2"
    );
    // int4: rows of 3 values take 2 bytes; the file becomes version 3.
    assert!(
        w.add_i4("d", &[2, 3], &[0x1f; 3]).is_err(),
        "length checked"
    );
    w.add_i4("d", &[2, 3], &[0x1f, 0x07, 0x98, 0x00]).unwrap();
    let f = ModelFile::from_bytes(&w.to_bytes().unwrap(), OpenOptions::default()).unwrap();
    assert_eq!(f.version(), 3);
    assert_eq!(
        f.i4s(f.tensor("d").unwrap()).unwrap(),
        &[0x1f, 0x07, 0x98, 0x00]
    );
    assert!(f.i8s(f.tensor("d").unwrap()).is_err(), "dtype is checked");
}

#[test]
fn writer_rejects_inconsistent_tensors() {
    let mut w = small().writer().unwrap();
    assert!(w.add_f32("x", &[2, 2], &[1.0; 3]).is_err());
    assert!(
        w.add_f32("embeddings.LayerNorm.weight", &[8], &[1.0; 8])
            .is_err(),
        "duplicate"
    );
    assert!(w.add_f32("z", &[0], &[]).is_err());
    assert!(
        w.add_i8("p", picotag::format::Layout::K4n16, &[3, 5], &[0; 15])
            .is_err(),
        "packed length is padded"
    );
    w.add_i8("p", picotag::format::Layout::K4n16, &[3, 5], &[0; 16 * 8])
        .unwrap();
}

#[test]
fn open_from_path_and_bytes_agree() {
    let bytes = small().to_bytes().unwrap();
    let dir = std::env::temp_dir().join(format!("picotag-format-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.ptag");
    std::fs::write(&path, &bytes).unwrap();
    let a = Tagger::open(&path).unwrap();
    let b = Tagger::from_bytes(&bytes).unwrap();
    let text = "book a flight to boston";
    assert_eq!(
        a.tag_utterance(text).unwrap(),
        b.tag_utterance(text).unwrap()
    );
    assert!(matches!(
        Tagger::open(dir.join("nope.ptag")),
        Err(Error::Io { .. })
    ));
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(Tagger::open(&path), Err(Error::Format(_))));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_truncation_is_rejected() {
    let bytes = small().to_bytes().unwrap();
    for len in 0..bytes.len() {
        for opts in [OpenOptions::default(), NO_CHECKSUM] {
            match Tagger::from_bytes_with(&bytes[..len], opts) {
                Err(Error::Format(_)) => {}
                other => panic!("truncation to {len} gave {other:?}"),
            }
        }
    }
    // Appended bytes too.
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Tagger::from_bytes(&longer).is_err());
}

/// Where the tensor data starts (header bytes 56..64).
fn data_offset(b: &[u8]) -> usize {
    u64::from_le_bytes(b[56..64].try_into().unwrap()) as usize
}

#[test]
fn every_bit_flip_is_caught_by_the_checksum() {
    let bytes = small().to_bytes().unwrap();
    let data = data_offset(&bytes);
    let mut rng = Rng::new(11);
    for round in 0..3000 {
        let mut b = bytes.clone();
        // Every other flip before the data, where the default open checks.
        let span = if round % 2 == 0 { data } else { b.len() };
        let i = (rng.next_u64() % span as u64) as usize;
        b[i] ^= 1 << (rng.next_u64() % 8);
        match Tagger::from_bytes_with(&b, OpenOptions::FULL) {
            Err(Error::Format(_)) => {}
            other => panic!("flip at byte {i} gave {other:?}"),
        }
        if i < data && !(72..80).contains(&i) {
            assert!(
                matches!(Tagger::from_bytes(&b), Err(Error::Format(_))),
                "flip at byte {i} before the data passed the default open"
            );
        } else {
            // In the weights (or the whole-file checksum field): the default
            // open does not read them, `verify` does.
            let t = Tagger::from_bytes(&b).expect("the default open skips the weights");
            assert!(matches!(t.verify(), Err(Error::Format(_))), "byte {i}");
        }
    }
    Tagger::from_bytes(&bytes).unwrap().verify().unwrap();
}

#[test]
fn version_1_files_still_open_and_reencode_to_the_same_tagger() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/model_bytes");
    let texts = [
        "book a flight from boston to denver tomorrow morning",
        "i take 200 mg of ibuprofen for my migraine",
        "Weather in NEW YORK?",
    ];
    for name in ["small-f32.ptag", "small-int8.ptag"] {
        let v1 = std::fs::read(seeds.join(name)).unwrap();
        assert_eq!(v1[8..12], 1u32.to_le_bytes(), "{name} is a version-1 file");
        let file = ModelFile::from_bytes(&v1, OpenOptions::default()).unwrap();
        assert_eq!(file.version(), 1);
        let v2 = ModelWriter::from_file(&file).unwrap().to_bytes().unwrap();
        assert_eq!(v2[8..12], 2u32.to_le_bytes());
        let (old, new) = (
            Tagger::from_bytes(&v1).unwrap(),
            Tagger::from_bytes(&v2).unwrap(),
        );
        for text in texts {
            assert_eq!(
                old.tokenizer().tokenize(text).unwrap(),
                new.tokenizer().tokenize(text).unwrap()
            );
            assert_eq!(
                old.tag_utterance(text).unwrap(),
                new.tag_utterance(text).unwrap(),
                "{name}: {text}"
            );
        }
        // A version-1 file has only the whole-file checksum: the default
        // open checks it.
        let mut d = v1.clone();
        let last = d.len() - 1;
        d[last] ^= 1;
        assert!(matches!(Tagger::from_bytes(&d), Err(Error::Format(_))));
        assert!(Tagger::from_bytes_with(&d, NO_CHECKSUM).is_ok());
    }
    // A version this build does not know: a clear error.
    for v in [0u32, 4, 99] {
        let mut b = small().to_bytes().unwrap();
        b[8..12].copy_from_slice(&v.to_le_bytes());
        match Tagger::from_bytes_with(&b, NO_CHECKSUM) {
            Err(Error::Format(m)) => assert!(
                m.contains(&format!("unsupported format version {v}")) && m.contains("reencode"),
                "{m}"
            ),
            other => panic!("version {v}: {other:?}"),
        }
    }
}

#[test]
fn corruption_without_checksum_never_panics() {
    let bytes = small().to_bytes().unwrap();
    let mut rng = Rng::new(12);
    let (mut rejected, mut accepted) = (0, 0);
    for round in 0..3000 {
        let mut b = bytes.clone();
        // Mostly in the header and metadata, where the structure lives.
        let span = if round % 2 == 0 {
            2048.min(b.len())
        } else {
            b.len()
        };
        for _ in 0..1 + rng.next_u64() % 3 {
            let i = (rng.next_u64() % span as u64) as usize;
            b[i] = rng.next_u64() as u8;
        }
        match Tagger::from_bytes_with(&b, NO_CHECKSUM) {
            Err(Error::Format(_)) => rejected += 1,
            Err(e) => panic!("unexpected error kind {e:?}"),
            Ok(t) => {
                accepted += 1;
                // Damaged weights may give odd labels, but never a panic.
                let _ = t.tag_utterance("book a flight from boston to denver");
            }
        }
    }
    assert!(
        rejected > 0 && accepted > 0,
        "{rejected} rejected, {accepted} accepted"
    );
}

/// Replaces `from` by `to` (same length) in the file and re-opens it without
/// the checksum, so that validation past the checksum is what is tested.
fn patched(bytes: &[u8], from: &str, to: &str) -> Result<Tagger, Error> {
    assert_eq!(from.len(), to.len());
    let pos = bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap_or_else(|| panic!("{from} not in file"));
    let mut b = bytes.to_vec();
    b[pos..pos + to.len()].copy_from_slice(to.as_bytes());
    Tagger::from_bytes_with(&b, NO_CHECKSUM)
}

fn assert_format_err(r: Result<Tagger, Error>, what: &str) {
    match r {
        Err(Error::Format(msg)) => println!("{what}: {msg}"),
        other => panic!("{what}: expected a format error, got {other:?}"),
    }
}

#[test]
fn hostile_tables_and_metadata_are_rejected() {
    let bytes = small().to_bytes().unwrap();
    assert_format_err(patched(&bytes, "PTAG", "PTAX"), "magic");
    // Header fields: huge section offsets.
    let mut b = bytes.clone();
    b[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_format_err(Tagger::from_bytes_with(&b, NO_CHECKSUM), "meta offset");
    let mut b = bytes.clone();
    b[64..72].copy_from_slice(&(u64::MAX - 10).to_le_bytes());
    assert_format_err(
        Tagger::from_bytes_with(&b, NO_CHECKSUM),
        "data length overflow",
    );
    let mut b = bytes.clone();
    b[8] = 9;
    assert_format_err(Tagger::from_bytes_with(&b, NO_CHECKSUM), "version");
    let mut b = bytes.clone();
    b[HEADER_LEN - 1] = 1;
    assert_format_err(Tagger::from_bytes_with(&b, NO_CHECKSUM), "reserved");
    // Tensor table: wrong shapes, unknown dtype, offsets out of range, misaligned.
    assert_format_err(
        patched(&bytes, "\"shape\":[16,8]", "\"shape\":[16,9]"),
        "length vs shape",
    );
    assert_format_err(
        patched(&bytes, "\"dtype\":\"f32\"", "\"dtype\":\"f64\""),
        "dtype",
    );
    assert_format_err(
        patched(&bytes, "\"offset\":0,", "\"offset\":1,"),
        "misaligned",
    );
    // Tensor names: a missing encoder tensor.
    assert_format_err(
        patched(
            &bytes,
            "embeddings.LayerNorm.bias",
            "embeddings.LayerNorm.bia_",
        ),
        "missing tensor",
    );
    // Metadata: architecture disagreeing with the tensors, bad labels, bad JSON.
    assert_format_err(patched(&bytes, "\"hidden\":8", "\"hidden\":9"), "hidden");
    assert_format_err(patched(&bytes, "\"layers\":1", "\"layers\":2"), "layers");
    assert_format_err(patched(&bytes, "\"heads\":2", "\"heads\":3"), "heads");
    assert_format_err(patched(&bytes, "\"B-city\"", "\"X-city\""), "label");
    assert_format_err(
        patched(&bytes, "\"architecture\"", "\"architecturf\""),
        "json",
    );
    assert_format_err(
        patched(&bytes, "\\\"model\\\":{", "\\\"model\\\":["),
        "tokenizer json",
    );
    // A vocabulary without [CLS].
    let mut w =
        ModelWriter::from_file(&ModelFile::from_bytes(&bytes, NO_CHECKSUM).unwrap()).unwrap();
    let json = w.meta_mut().tokenizer.replace("\"[CLS]\"", "\"[CLX]\"");
    w.meta_mut().tokenizer = json;
    assert_format_err(
        Tagger::from_bytes(&w.to_bytes().unwrap()),
        "tokenizer without [CLS]",
    );
    // The vocabulary table: its sizes, its id width, a section cut short.
    let vocab = u64::from_le_bytes(bytes[80..88].try_into().unwrap()) as usize;
    let vocab_len = u64::from_le_bytes(bytes[88..96].try_into().unwrap());
    assert!(vocab >= HEADER_LEN && vocab_len > 16);
    for (at, v, what) in [
        (0, 1u32 << 30, "key count"),
        (4, 0, "block size"),
        (8, 3, "id width"),
        (12, 1, "key stream length"),
        (16, u32::MAX, "first block offset"),
    ] {
        let mut b = bytes.clone();
        b[vocab + at..vocab + at + 4].copy_from_slice(&v.to_le_bytes());
        assert_format_err(Tagger::from_bytes_with(&b, NO_CHECKSUM), what);
    }
    let mut b = bytes.clone();
    b[88..96].copy_from_slice(&(vocab_len - 1).to_le_bytes());
    assert_format_err(
        Tagger::from_bytes_with(&b, NO_CHECKSUM),
        "vocabulary cut short",
    );
    let mut b = bytes.clone();
    b[80..88].copy_from_slice(&(data_offset(&bytes) as u64).to_le_bytes());
    assert_format_err(
        Tagger::from_bytes_with(&b, NO_CHECKSUM),
        "vocabulary in the data",
    );
}
