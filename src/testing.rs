//! Small random-weight models, for tests, examples and benches that must run
//! without a trained model. Their outputs are meaningless but deterministic:
//! they exercise every part of the runtime on real files. Behind the
//! `testing` feature; [`assets`] says how tests treat a missing asset.

pub mod assets;

use std::collections::BTreeMap;

use crate::error::Result;
use crate::format::{Architecture, HeadKind, HeadMeta, HeadRole, ModelMeta, ModelWriter, Pooling};

/// A deterministic pseudo-random generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[-a, a)`.
    pub fn uniform(&mut self, a: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        (2.0 * u - 1.0) * a
    }

    /// `n` values uniform in `[-a, a)`.
    pub fn vec(&mut self, n: usize, a: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(a)).collect()
    }
}

/// A `tokenizer.json` (BERT normalizer and pre-tokenizer, WordPiece) with a
/// tiny vocabulary: the special tokens, ASCII letters, digits and punctuation
/// (plain and `##`-continued) and a few whole words.
pub fn tiny_tokenizer_json() -> String {
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let chars: Vec<char> = ('a'..='z').chain('0'..='9').collect();
    vocab.extend(chars.iter().map(|c| c.to_string()));
    vocab.extend(".,!?'-:;/()\"&%$#@*+=<>[]_".chars().map(|c| c.to_string()));
    vocab.extend(chars.iter().map(|c| format!("##{c}")));
    for w in [
        "the",
        "to",
        "from",
        "flight",
        "flights",
        "book",
        "a",
        "table",
        "for",
        "two",
        "at",
        "pm",
        "i",
        "take",
        "mg",
        "of",
        "my",
        "play",
        "music",
        "weather",
        "in",
        "and",
        "with",
        "new",
        "york",
        "boston",
        "denver",
        "tomorrow",
        "morning",
        "ibuprofen",
        "migraine",
        "aspirin",
        "pain",
        "disease",
        "cancer",
        "show",
        "me",
        "what",
        "is",
        "##s",
        "##ing",
        "##ed",
    ] {
        if !vocab.iter().any(|v| v == w) {
            vocab.push(w.to_string());
        }
    }
    let map: serde_json::Map<String, serde_json::Value> = vocab
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), serde_json::Value::from(i)))
        .collect();
    serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": {"type": "BertNormalizer", "clean_text": true,
            "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100, "vocab": map}
    })
    .to_string()
}

/// Quantizes an `[n, k]` f32 matrix per output channel and adds it packed
/// for the kernels (`name`, `k4n16` int8) with its scales (`name.scale`, f32).
pub fn add_packed_i8(
    w: &mut ModelWriter,
    name: &str,
    n: usize,
    k: usize,
    values: &[f32],
) -> Result<()> {
    let (q, scales) = crate::kernels::quantize_weights_per_channel(values, n, k);
    let packed = crate::kernels::pack_k4n16(&q, n, k);
    w.add_i8(name, crate::format::Layout::K4n16, &[n, k], &packed)?;
    w.add_f32(&format!("{name}.scale"), &[n], &scales)
}

/// A task of a random model.
#[derive(Debug, Clone)]
pub struct RandomTask {
    /// Task name.
    pub name: String,
    /// Entity types of its slot head (BIO), empty for none.
    pub types: Vec<String>,
    /// Intent labels, empty for none.
    pub intents: Vec<String>,
    /// Whether to add a "has any slot" head.
    pub has_slot: bool,
}

/// What random model to build.
#[derive(Debug, Clone)]
pub struct RandomModel {
    /// Encoder shape (`vocab_size` is set from the tokenizer when 0).
    pub arch: Architecture,
    /// Tasks and their heads.
    pub tasks: Vec<RandomTask>,
    /// `tokenizer.json` text.
    pub tokenizer: String,
    /// Seed of the weights.
    pub seed: u64,
    /// Zero the position embeddings (each token's output then depends only
    /// on the tokens around it, not on where the window starts).
    pub zero_positions: bool,
    /// Store the encoder's Linear weights as packed int8 with per-channel
    /// f32 scales (what the fast path runs on), instead of f32.
    pub int8: bool,
}

impl RandomModel {
    /// A tiny model (2 layers, hidden 32) with a voice task (slots, intent,
    /// has-slot) and a health task (slots, has-slot) over the tiny tokenizer.
    pub fn tiny(seed: u64) -> RandomModel {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        RandomModel {
            arch: Architecture {
                vocab_size: 0,
                hidden: 32,
                layers: 2,
                heads: 4,
                intermediate: 64,
                max_positions: 64,
                type_vocab_size: 2,
                layer_norm_eps: 1e-12,
                embedding_rank: None,
            },
            tasks: vec![
                RandomTask {
                    name: "voice".into(),
                    types: s(&["city", "time"]),
                    intents: s(&["book_flight", "get_weather", "play_music"]),
                    has_slot: true,
                },
                RandomTask {
                    name: "health".into(),
                    types: s(&["Chemical", "Disease"]),
                    intents: vec![],
                    has_slot: true,
                },
            ],
            tokenizer: tiny_tokenizer_json(),
            seed,
            zero_positions: false,
            int8: false,
        }
    }

    /// The heads this model will have.
    pub fn heads(&self) -> Vec<HeadMeta> {
        let mut heads = Vec::new();
        for t in &self.tasks {
            if !t.types.is_empty() {
                let mut labels = vec!["O".to_string()];
                for ty in &t.types {
                    labels.push(format!("B-{ty}"));
                    labels.push(format!("I-{ty}"));
                }
                heads.push(HeadMeta {
                    name: t.name.clone(),
                    task: t.name.clone(),
                    kind: HeadKind::Token,
                    role: HeadRole::Slots,
                    labels,
                    scheme: Some(crate::decode::Scheme::Bio),
                    pooling: Pooling::Cls,
                    reject_below: None,
                    span_symbols: None,
                    punctuation_share: None,
                });
            }
            if !t.intents.is_empty() {
                heads.push(HeadMeta {
                    name: format!("{}.intent", t.name),
                    task: t.name.clone(),
                    kind: HeadKind::Sentence,
                    role: HeadRole::Intent,
                    labels: t.intents.clone(),
                    scheme: None,
                    pooling: Pooling::Cls,
                    reject_below: None,
                    span_symbols: None,
                    punctuation_share: None,
                });
            }
            if t.has_slot {
                heads.push(HeadMeta {
                    name: format!("{}.bcls", t.name),
                    task: t.name.clone(),
                    kind: HeadKind::Sentence,
                    role: HeadRole::HasSlot,
                    labels: vec!["no".into(), "yes".into()],
                    scheme: None,
                    pooling: Pooling::Cls,
                    reject_below: None,
                    span_symbols: None,
                    punctuation_share: None,
                });
            }
        }
        heads
    }

    /// Writes the model into a [`ModelWriter`] (f32 weights).
    pub fn writer(&self) -> Result<ModelWriter> {
        let mut arch = self.arch.clone();
        if arch.vocab_size == 0 {
            arch.vocab_size = crate::tokenize::Tokenizer::from_json(&self.tokenizer)?.vocab_size();
        }
        let heads = self.heads();
        let mut provenance = BTreeMap::new();
        provenance.insert(
            "note".into(),
            serde_json::Value::from("random weights, for tests only"),
        );
        let mut w = ModelWriter::new(ModelMeta {
            name: "random".into(),
            architecture: arch.clone(),
            heads: heads.clone(),
            tokenizer: self.tokenizer.clone(),
            provenance,
            scores: BTreeMap::new(),
        });
        let mut rng = Rng::new(self.seed);
        let h = arch.hidden;
        let int8 = self.int8;
        let lin = |w: &mut ModelWriter, rng: &mut Rng, p: &str, n: usize, k: usize| -> Result<()> {
            let a = (3.0 / k as f32).sqrt();
            let values = rng.vec(n * k, a);
            if int8 {
                add_packed_i8(w, &format!("{p}.weight"), n, k, &values)?;
            } else {
                w.add_f32(&format!("{p}.weight"), &[n, k], &values)?;
            }
            w.add_f32(&format!("{p}.bias"), &[n], &rng.vec(n, 0.1))
        };
        let norm = |w: &mut ModelWriter, rng: &mut Rng, p: &str| -> Result<()> {
            let g: Vec<f32> = rng.vec(h, 0.2).iter().map(|v| 1.0 + v).collect();
            w.add_f32(&format!("{p}.weight"), &[h], &g)?;
            w.add_f32(&format!("{p}.bias"), &[h], &rng.vec(h, 0.1))
        };
        match arch.embedding_rank {
            None => w.add_f32(
                "embeddings.word_embeddings.weight",
                &[arch.vocab_size, h],
                &rng.vec(arch.vocab_size * h, 1.0),
            )?,
            Some(r) => {
                w.add_f32(
                    "embeddings.word_embeddings.weight",
                    &[arch.vocab_size, r],
                    &rng.vec(arch.vocab_size * r, 1.0),
                )?;
                w.add_f32(
                    "embeddings.word_embeddings.projection",
                    &[h, r],
                    &rng.vec(h * r, (3.0 / r as f32).sqrt()),
                )?;
            }
        }
        let pos = if self.zero_positions {
            vec![0.0; arch.max_positions * h]
        } else {
            rng.vec(arch.max_positions * h, 0.5)
        };
        w.add_f32(
            "embeddings.position_embeddings.weight",
            &[arch.max_positions, h],
            &pos,
        )?;
        w.add_f32(
            "embeddings.token_type_embeddings.weight",
            &[arch.type_vocab_size, h],
            &rng.vec(arch.type_vocab_size * h, 0.1),
        )?;
        norm(&mut w, &mut rng, "embeddings.LayerNorm")?;
        for i in 0..arch.layers {
            let p = format!("encoder.layer.{i}");
            for m in ["query", "key", "value"] {
                lin(&mut w, &mut rng, &format!("{p}.attention.self.{m}"), h, h)?;
            }
            lin(
                &mut w,
                &mut rng,
                &format!("{p}.attention.output.dense"),
                h,
                h,
            )?;
            norm(&mut w, &mut rng, &format!("{p}.attention.output.LayerNorm"))?;
            lin(
                &mut w,
                &mut rng,
                &format!("{p}.intermediate.dense"),
                arch.intermediate,
                h,
            )?;
            lin(
                &mut w,
                &mut rng,
                &format!("{p}.output.dense"),
                h,
                arch.intermediate,
            )?;
            norm(&mut w, &mut rng, &format!("{p}.output.LayerNorm"))?;
        }
        for head in &heads {
            let n = head.labels.len();
            w.add_f32(
                &format!("heads.{}.weight", head.name),
                &[n, h],
                &rng.vec(n * h, 1.0),
            )?;
            w.add_f32(&format!("heads.{}.bias", head.name), &[n], &rng.vec(n, 0.5))?;
        }
        Ok(w)
    }

    /// The model file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.writer()?.to_bytes()
    }
}
