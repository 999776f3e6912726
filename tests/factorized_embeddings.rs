//! Factorized word embeddings (`architecture.embedding_rank`): the runtime must
//! give exactly what the same network with the product `A · Pᵀ` stored as an
//! ordinary embedding table gives.

use picotag::encoder::{fast, reference, EncoderRef};
use picotag::format::{Architecture, ModelFile, ModelWriter, OpenOptions};
use picotag::kernels::Isa;
use picotag::testing::RandomModel;
use picotag::{Error, Tagger};

const RANK: usize = 4;

fn factorized(int8: bool) -> Vec<u8> {
    let mut m = RandomModel::tiny(21);
    m.arch = Architecture {
        embedding_rank: Some(RANK),
        layers: 2,
        ..m.arch
    };
    m.int8 = int8;
    m.to_bytes().unwrap()
}

/// The same network with the word embeddings multiplied out.
fn multiplied_out(file: &ModelFile) -> Vec<u8> {
    let mut meta = file.meta().clone();
    meta.tokenizer = file.tokenizer_json().unwrap();
    meta.architecture.embedding_rank = None;
    let (v, h) = (meta.architecture.vocab_size, meta.architecture.hidden);
    let a = file
        .f32s(file.tensor("embeddings.word_embeddings.weight").unwrap())
        .unwrap();
    let p = file
        .f32s(
            file.tensor("embeddings.word_embeddings.projection")
                .unwrap(),
        )
        .unwrap();
    let mut e = vec![0.0f32; v * h];
    for t in 0..v {
        for j in 0..h {
            e[t * h + j] = (0..RANK).map(|k| a[t * RANK + k] * p[j * RANK + k]).sum();
        }
    }
    let mut w = ModelWriter::new(meta);
    for t in file.tensors() {
        match t.name.as_str() {
            "embeddings.word_embeddings.projection" => {}
            "embeddings.word_embeddings.weight" => w.add_f32(&t.name, &[v, h], &e).unwrap(),
            _ => w
                .add_raw(&t.name, t.dtype, t.layout, &t.shape, file.bytes_of(t))
                .unwrap(),
        }
    }
    w.to_bytes().unwrap()
}

fn ids(vocab: usize) -> Vec<u32> {
    (0..9).map(|i| ((i * 7 + 3) % vocab) as u32).collect()
}

#[test]
fn factorized_embeddings_equal_the_multiplied_out_table() {
    for int8 in [false, true] {
        let fact = ModelFile::from_bytes(&factorized(int8), OpenOptions::default()).unwrap();
        let full = ModelFile::from_bytes(&multiplied_out(&fact), OpenOptions::default()).unwrap();
        let ids = ids(fact.meta().architecture.vocab_size);
        let mask = vec![true; ids.len()];
        let ef = EncoderRef::bind(&fact).unwrap();
        let eu = EncoderRef::bind(&full).unwrap();
        let a = reference::forward(&fact, &ef, &ids, &mask).unwrap();
        let b = reference::forward(&full, &eu, &ids, &mask).unwrap();
        let diff = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(diff < 1e-4, "reference path, int8={int8}: max diff {diff}");
        if int8 {
            let mut x = Vec::new();
            let mut y = Vec::new();
            fast::forward(&fact, &ef, Isa::Scalar, &ids, &mut x).unwrap();
            fast::forward(&full, &eu, Isa::Scalar, &ids, &mut y).unwrap();
            let diff = x
                .iter()
                .zip(&y)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f32::max);
            assert!(diff < 1e-3, "fast path: max diff {diff}");
        }
    }
}

#[test]
fn tagger_runs_a_factorized_model() {
    let t = Tagger::from_bytes(&factorized(true)).unwrap();
    assert_eq!(t.meta().architecture.embedding_rank, Some(RANK));
    t.tag_utterance("book a flight to boston").unwrap();
}

#[test]
fn bad_factorizations_are_rejected() {
    let file = ModelFile::from_bytes(&factorized(false), OpenOptions::default()).unwrap();
    let rebuild = |rank: Option<usize>, drop_projection: bool| {
        let mut meta = file.meta().clone();
        meta.tokenizer = file.tokenizer_json().unwrap();
        meta.architecture.embedding_rank = rank;
        let mut w = ModelWriter::new(meta);
        for t in file.tensors() {
            if drop_projection && t.name == "embeddings.word_embeddings.projection" {
                continue;
            }
            w.add_raw(&t.name, t.dtype, t.layout, &t.shape, file.bytes_of(t))
                .unwrap();
        }
        Tagger::from_bytes(&w.to_bytes().unwrap())
    };
    let hidden = file.meta().architecture.hidden;
    for (rank, drop, what) in [
        (Some(RANK), true, "missing projection"),
        (Some(RANK + 1), false, "rank disagrees with the tensors"),
        (Some(0), false, "rank 0"),
        (Some(hidden + 1), false, "rank above hidden"),
        (None, false, "table of rank columns without a rank"),
    ] {
        match rebuild(rank, drop) {
            Err(Error::Format(_)) => {}
            other => panic!(
                "{what}: expected a format error, got {:?}",
                other.map(|_| ())
            ),
        }
    }
}
