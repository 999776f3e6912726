//! The public API on small random-weight models.

mod common;

use std::sync::Arc;

use picotag::format::Architecture;
use picotag::testing::RandomModel;
use picotag::{EntitySet, Error, IntentThreshold, PunctuationWords, TagOptions, Tagger};

fn tiny() -> Tagger {
    Tagger::from_bytes(&RandomModel::tiny(5).to_bytes().unwrap()).unwrap()
}

fn all_slots() -> TagOptions {
    TagOptions {
        has_slot_threshold: None,
        ..TagOptions::default()
    }
}

#[test]
fn tagger_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tagger>();
}

#[test]
fn empty_and_blank_inputs_give_an_empty_tagging() {
    let t = tiny();
    for text in ["", " ", "\t\n  ", "\u{200b}", "\u{0}\u{1}"] {
        let r = t.tag_utterance_with(text, &all_slots()).unwrap();
        assert!(r.is_empty(), "{text:?} gave {r:?}");
    }
}

#[test]
fn slots_are_exact_slices_of_non_ascii_input() {
    let t = tiny();
    let inputs = [
        "Café à Zürich, naïve façade",
        "東京から大阪まで 新幹線",
        "play 🎵 music 👩‍👩‍👧 now 🇫🇷",
        "x\u{301}y\u{302}\u{303} combining",
        "مرحبا بالعالم hello שלום",
        "book a flight from boston to new york tomorrow morning at 8 pm",
    ];
    let mut n = 0;
    for text in inputs {
        let r = t.tag_utterance_with(text, &all_slots()).unwrap();
        for s in &r.slots {
            assert!(s.start < s.end && s.end <= text.len());
            assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
            assert_eq!(s.text, &text[s.start..s.end]);
            assert!((0.0..=1.0).contains(&s.score));
            n += 1;
        }
        assert_eq!(r.intents.len(), 1);
    }
    assert!(n > 10, "the random model should produce slots ({n})");
}

/// Symbol words in the input (not skipped): the default symbol rules, and
/// the same options keeping every slot.
fn symbol_rule_and_keep() -> (TagOptions, TagOptions) {
    let rule = TagOptions {
        skip_symbol_words: false,
        ..all_slots()
    };
    let keep = TagOptions {
        keep_symbol_slots: true,
        ..rule.clone()
    };
    (rule, keep)
}

#[test]
fn slots_made_only_of_symbols_are_dropped_unless_kept() {
    let t = tiny();
    let inputs = [
        "play 🎵 some jazz 🎷 please",
        "What's the weather in Paris?!",
        "!! ?! ... 🎉 (book) a flight - now … ☀️ ✈️ :) 76 %",
        "boston 🍕 , ; : denver 👍🏽 ❤️ tomorrow !",
    ];
    let symbol_only =
        |text: &str, s: &picotag::Slot| !text[s.start..s.end].chars().any(char::is_alphanumeric);
    let (rule, keep) = symbol_rule_and_keep();
    let (mut kept, mut others) = (0, 0);
    for text in inputs {
        let with_rule = t.tag_utterance_with(text, &rule).unwrap();
        assert!(
            with_rule.slots.iter().all(|s| !symbol_only(text, s)),
            "{text:?}: {:?}",
            with_rule.slots
        );
        let without = t.tag_utterance_with(text, &keep).unwrap();
        kept += without
            .slots
            .iter()
            .filter(|s| symbol_only(text, s))
            .count();
        // The rule drops those slots and nothing else.
        let rest: Vec<_> = without
            .slots
            .iter()
            .filter(|s| !symbol_only(text, s))
            .collect();
        others += rest.len();
        assert_eq!(rest, with_rule.slots.iter().collect::<Vec<_>>(), "{text:?}");
        assert_eq!(without.intents, with_rule.intents);
    }
    // The random heads label symbols too: the rule had work to do.
    assert!(kept > 0 && others > 0, "kept {kept}, others {others}");
}

#[test]
fn a_slot_ends_at_a_symbol_its_task_never_had_in_a_slot() {
    // The slot heads of the random model, told that their task's training
    // slots held "&" and no other symbol.
    let mut w = RandomModel::tiny(5).writer().unwrap();
    for h in &mut w.meta_mut().heads {
        if h.role == picotag::format::HeadRole::Slots {
            h.span_symbols = Some(vec!["&".into()]);
        }
    }
    let t = Tagger::from_bytes(&w.to_bytes().unwrap()).unwrap();
    for punctuation_words in [PunctuationWords::Keep, PunctuationWords::Skip] {
        let (rule, keep) = symbol_rule_and_keep();
        let rule = TagOptions {
            punctuation_words,
            ..rule
        };
        let keep = TagOptions {
            punctuation_words,
            ..keep
        };
        slots_end_at_foreign_symbols(&t, &rule, &keep);
    }
}

/// No slot of `t` under `rule` holds a symbol but "&"; under `keep` some do.
fn slots_end_at_foreign_symbols(t: &Tagger, rule: &TagOptions, keep: &TagOptions) {
    let inputs = [
        "play cookie & cream ! please , now",
        "book a flight - from boston ; to denver ! tomorrow ( morning )",
        "r&b , jazz & soul ? rock ... pop !",
        "add rock & roll : to my playlist !! today",
    ];
    let (mut across_kept, mut amp) = (0, 0);
    for text in inputs {
        let with_rule = t.tag_utterance_with(text, rule).unwrap();
        for s in &with_rule.slots {
            // No symbol but "&" anywhere in a slot.
            assert!(
                s.text
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == ' ' || c == '&'),
                "{text:?}: {s:?}"
            );
            amp += usize::from(s.text.contains('&'));
        }
        let without = t.tag_utterance_with(text, keep).unwrap();
        across_kept += without
            .slots
            .iter()
            .filter(|s| {
                s.text
                    .chars()
                    .any(|c| !c.is_alphanumeric() && c != ' ' && c != '&')
            })
            .count();
        assert_eq!(without.intents, with_rule.intents);
    }
    // The random heads run slots across symbols: the rule had work to do,
    // and "&" stayed inside slots.
    assert!(across_kept > 0 && amp > 0, "{across_kept} {amp}");
}

#[test]
fn symbol_words_are_left_out_of_the_input() {
    let t = tiny();
    let d = TagOptions::default();
    assert!(d.skip_symbol_words && d.punctuation_words == PunctuationWords::ByTask);
    let all_out = TagOptions {
        punctuation_words: PunctuationWords::Skip,
        ..all_slots()
    };
    // (noisy, clean, options under which the network sees the clean text)
    let cases = [
        (
            "play 🎵 some jazz 🎷🎷 please",
            "play some jazz please",
            all_slots(),
        ),
        (
            "i take 200 mg of ibuprofen 💊 for my migraine ©",
            "i take 200 mg of ibuprofen for my migraine",
            all_slots(),
        ),
        (
            "🎉 book a flight !! from boston ✈️ to denver … tomorrow :)",
            "book a flight from boston to denver tomorrow",
            all_out.clone(),
        ),
        (
            "what's the weather in paris?!",
            "what s the weather in paris",
            all_out.clone(),
        ),
    ];
    // Each slot as its words without the symbol words.
    let words = |text: &str, r: &picotag::Tagging| -> Vec<(String, String)> {
        r.slots
            .iter()
            .map(|s| {
                let mut w = Vec::new();
                picotag::tokenize::pre_tokenize(&text[s.start..s.end], |a, b| {
                    let x = &text[s.start..s.end][a..b];
                    if !picotag::decode::is_symbol_word(x) {
                        w.push(x.to_string());
                    }
                });
                (s.label.to_string(), w.join(" "))
            })
            .collect()
    };
    let mut slots = 0;
    for (noisy, clean, opts) in cases {
        let a = t.tag_utterance_with(noisy, &opts).unwrap();
        let b = t.tag_utterance_with(clean, &opts).unwrap();
        // The network saw the same sub-tokens: the same slots and intents.
        assert_eq!(words(noisy, &a), words(clean, &b), "{noisy:?}");
        assert_eq!(a.intents, b.intents, "{noisy:?}");
        for s in &a.slots {
            assert_eq!(s.text, noisy[s.start..s.end]);
        }
        slots += a.slots.len();
        // Not skipped, they change what the network sees.
        let kept = TagOptions {
            skip_symbol_words: false,
            ..all_slots()
        };
        assert_ne!(t.tag_utterance_with(noisy, &kept).unwrap(), a, "{noisy:?}");
    }
    assert!(slots > 0);
    // Punctuation stays in the input by default; emoji only: nothing to tag.
    let p = t
        .tag_utterance_with("book , a flight", &all_slots())
        .unwrap();
    let q = t.tag_utterance_with("book a flight", &all_slots()).unwrap();
    assert_ne!(p.intents, q.intents);
    let r = t.tag_utterance_with("🎉 ✈️ 🎵🎷", &all_slots()).unwrap();
    assert!(r.is_empty(), "{r:?}");
    let r = t.tag_utterance_with("🎉 !! ✈️ …", &all_out).unwrap();
    assert!(r.is_empty(), "{r:?}");
}

#[test]
fn tokenizer_words_map_back_to_the_input() {
    let t = tiny();
    let text = "Café, Zürich! 東京 🎉 naïve";
    let tok = t.tokenizer().tokenize(text).unwrap();
    let words: Vec<&str> = tok.words.iter().map(|w| &text[w.start..w.end]).collect();
    assert_eq!(
        words,
        ["Café", ",", "Zürich", "!", "東", "京", "🎉", "naïve"]
    );
    for w in &tok.words {
        assert!(w.first_token < tok.ids.len());
    }
}

#[test]
fn tasks_can_be_listed_and_restricted() {
    let t = tiny();
    let tasks = t.tasks();
    assert_eq!(
        tasks.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["voice", "health"]
    );
    assert_eq!(tasks[0].intent_labels.len(), 3);
    assert!(tasks[1].intent_labels.is_empty() && tasks[1].has_slot_head);
    let text = "book a flight from boston to new york tomorrow morning";
    let only_health = TagOptions {
        tasks: Some(vec!["health".into()]),
        ..all_slots()
    };
    let r = t.tag_utterance_with(text, &only_health).unwrap();
    assert!(!r.slots.is_empty());
    assert!(r.slots.iter().all(|s| &*s.task == "health"));
    assert!(r.intents.is_empty(), "health has no intent head");
    let bad = TagOptions {
        tasks: Some(vec!["nope".into()]),
        ..TagOptions::default()
    };
    assert!(matches!(
        t.tag_utterance_with(text, &bad),
        Err(Error::InvalidArgument(_))
    ));
    assert!(tiny().with_options(bad).is_err());
}

#[test]
fn has_slot_heads_silence_their_task() {
    let t = tiny();
    let text = "book a flight from boston to new york tomorrow morning";
    let loud = t.tag_utterance_with(text, &all_slots()).unwrap();
    assert!(!loud.slots.is_empty());
    let strict = TagOptions {
        has_slot_threshold: Some(1.01),
        ..TagOptions::default()
    };
    let quiet = t.tag_utterance_with(text, &strict).unwrap();
    assert!(quiet.slots.is_empty());
    // A silenced task does not apply: its intent goes too (every task of the
    // tiny model has a has-slot head); with the gate off, intents stay.
    assert!(!loud.intents.is_empty());
    assert!(quiet.intents.is_empty(), "{:?}", quiet.intents);
    let min_score = TagOptions {
        min_slot_score: 0.9,
        ..all_slots()
    };
    let confident = t.tag_utterance_with(text, &min_score).unwrap();
    assert!(confident.slots.iter().all(|s| s.score >= 0.9));
    assert!(confident.slots.len() <= loud.slots.len());
}

#[test]
fn intents_below_the_threshold_are_out_of_scope() {
    let text = "book a flight from boston to new york tomorrow morning";
    let with = |th: IntentThreshold, t: &Tagger| {
        let o = TagOptions {
            intent_threshold: th,
            ..all_slots()
        };
        t.tag_utterance_with(text, &o).unwrap()
    };
    // A model without calibrated thresholds never rejects by default.
    let t = tiny();
    let open = with(IntentThreshold::Off, &t);
    assert_eq!(open.intents.len(), 1);
    let score = open.intents[0].score;
    assert_eq!(with(IntentThreshold::Model, &t), open);
    // Rejection drops the intent and keeps the slots.
    let rejected = with(IntentThreshold::Fixed(score + 1e-4), &t);
    assert!(rejected.intents.is_empty());
    assert_eq!(rejected.slots, open.slots);
    assert_eq!(with(IntentThreshold::Fixed(score), &t), open);
    // The model's own threshold (stored with the intent head) is the default.
    let mut m = RandomModel::tiny(5).writer().unwrap();
    for h in &mut m.meta_mut().heads {
        if h.role == picotag::format::HeadRole::Intent {
            h.reject_below = Some(score + 1e-4);
        }
    }
    let calibrated = Tagger::from_bytes(&m.to_bytes().unwrap()).unwrap();
    assert!(with(IntentThreshold::Model, &calibrated).intents.is_empty());
    assert!(calibrated.tag_utterance(text).unwrap().intents.is_empty());
    assert_eq!(with(IntentThreshold::Off, &calibrated), open);
}

#[test]
fn tagging_serializes_to_json() {
    let t = tiny();
    let r = t
        .tag_utterance_with("to boston tomorrow", &all_slots())
        .unwrap();
    let v: serde_json::Value = serde_json::to_value(&r).unwrap();
    assert!(v["slots"].is_array() && v["intents"].is_array());
    if let Some(s) = v["slots"].as_array().unwrap().first() {
        for k in ["task", "label", "start", "end", "text", "score"] {
            assert!(s.get(k).is_some(), "{k}");
        }
    }
}

/// A model whose outputs at a word depend on that word alone (no layers, no
/// position embeddings), so windowed and unwindowed tagging must agree exactly.
fn context_free(max_positions: usize) -> Tagger {
    let mut m = RandomModel::tiny(9);
    m.arch = Architecture {
        layers: 0,
        max_positions,
        ..m.arch
    };
    m.zero_positions = true;
    Tagger::from_bytes(&m.to_bytes().unwrap()).unwrap()
}

fn long_text(words: usize) -> String {
    let vocab = [
        "book", "a", "flight", "to", "boston", "aspirin", "pain", "new", "york", "zq",
    ];
    (0..words)
        .map(|i| vocab[(i * 7 + i / 3) % vocab.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn long_inputs_are_windowed_not_truncated() {
    let small = context_free(16); // 14 sub-tokens per window
    let big = context_free(512);
    let text = long_text(150);
    let a = small.tag_utterance_with(&text, &all_slots()).unwrap();
    let b = big.tag_utterance_with(&text, &all_slots()).unwrap();
    assert_eq!(a.slots, b.slots);
    assert!(
        a.slots.last().unwrap().end > text.len() - 20,
        "the tail is tagged"
    );
    // A contextual model also tags the whole of a long input.
    let t = tiny();
    let text = long_text(400);
    let r = t.tag_utterance_with(&text, &all_slots()).unwrap();
    assert!(r.slots.iter().any(|s| s.start > text.len() * 3 / 4));
    assert_eq!(r.intents.len(), 1);
}

#[test]
fn a_long_input_gives_the_spans_of_its_pieces() {
    let small = context_free(16);
    // A separator word that no head tags, so spans cannot run across pieces.
    let sep = [
        "the", "of", "me", "is", "what", "and", "in", "with", "at", "for", "my",
    ]
    .into_iter()
    .find(|w| {
        small
            .tag_utterance_with(w, &all_slots())
            .unwrap()
            .slots
            .is_empty()
    })
    .expect("a word tagged O by every head");
    let pieces: Vec<String> = (0..12).map(|i| long_text(5 + i % 4)).collect();
    let mut text = String::new();
    let mut expected = Vec::new();
    for p in &pieces {
        if !text.is_empty() {
            text.push_str(&format!(" {sep} "));
        }
        let off = text.len();
        for mut s in small.tag_utterance_with(p, &all_slots()).unwrap().slots {
            s.start += off;
            s.end += off;
            expected.push(s);
        }
        text.push_str(p);
    }
    let got = small.tag_utterance_with(&text, &all_slots()).unwrap().slots;
    assert_eq!(got, expected);
}

#[test]
fn threads_share_one_tagger() {
    let t = Arc::new(tiny());
    let texts: Vec<String> = (0..16).map(|i| long_text(3 + i * 5)).collect();
    let expected: Vec<_> = texts
        .iter()
        .map(|x| t.tag_utterance_with(x, &all_slots()).unwrap())
        .collect();
    let handles: Vec<_> = (0..4)
        .map(|k| {
            let t = Arc::clone(&t);
            let texts = texts.clone();
            std::thread::spawn(move || {
                (0..texts.len())
                    .map(|i| {
                        let i = (i + k * 5) % texts.len();
                        (i, t.tag_utterance_with(&texts[i], &all_slots()).unwrap())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        for (i, r) in h.join().unwrap() {
            assert_eq!(r, expected[i]);
        }
    }
}

/// The tiny model with its voice task trained on text without punctuation
/// (share 0.01) and its health task on text with (0.2).
fn tiny_by_task() -> Tagger {
    let mut w = RandomModel::tiny(5).writer().unwrap();
    for h in &mut w.meta_mut().heads {
        h.punctuation_share = Some(if h.task == "voice" { 0.01 } else { 0.2 });
    }
    Tagger::from_bytes(&w.to_bytes().unwrap()).unwrap()
}

#[test]
fn each_task_sees_punctuation_as_its_training_text_had_it() {
    use PunctuationWords::{ByTask, Keep, Skip};
    let t = tiny_by_task();
    let only = |task: &str, punctuation_words| TagOptions {
        tasks: Some(vec![task.into()]),
        punctuation_words,
        ..all_slots()
    };
    let tag = |text: &str, o: &TagOptions| t.tag_utterance_with(text, o).unwrap();
    let texts = [
        "book a flight , from boston ! to denver ?",
        "i take 200 mg ( aspirin ) for my migraine .",
        "r&b , jazz & soul ? rock ... pop !",
        "play music",
    ];
    let mut differs = 0;
    for text in texts {
        let voice = tag(text, &only("voice", Skip));
        let health = tag(text, &only("health", Keep));
        // By task, each task gives what it gives alone on its own view of
        // the input, in the order of one pass.
        assert_eq!(tag(text, &only("voice", ByTask)), voice, "{text:?}");
        assert_eq!(tag(text, &only("health", ByTask)), health, "{text:?}");
        let both = tag(text, &all_slots());
        let mut slots: Vec<_> = voice.slots.iter().chain(&health.slots).cloned().collect();
        slots.sort_by_key(|s| (s.start, s.end, usize::from(&*s.task == "health")));
        assert_eq!(both.slots, slots, "{text:?}");
        let intents: Vec<_> = voice
            .intents
            .iter()
            .chain(&health.intents)
            .cloned()
            .collect();
        assert_eq!(both.intents, intents, "{text:?}");
        // The voice task's view is the text without its punctuation words.
        let plain: Vec<&str> = text
            .split(' ')
            .filter(|w| !w.chars().all(|c| c.is_ascii_punctuation()))
            .collect();
        assert_eq!(
            voice.intents,
            tag(&plain.join(" "), &only("voice", Skip)).intents
        );
        differs += usize::from(tag(text, &only("voice", Keep)) != voice);
    }
    assert!(
        differs >= 2,
        "punctuation should change the voice task ({differs})"
    );
    // With the gate on, the voice task is decided on the text with its
    // punctuation first: silenced there, it runs no second pass.
    let mut silenced = 0;
    for gate in [0.2, 0.5, 0.8, 0.95, 0.99, 0.999] {
        let gated = |task: &str, punctuation_words| TagOptions {
            has_slot_threshold: Some(gate),
            ..only(task, punctuation_words)
        };
        for text in texts {
            let health = tag(text, &gated("health", Keep));
            let voice_first = tag(text, &gated("voice", Keep));
            // The random model has no out-of-scope threshold: a voice task
            // that is not silenced has an intent.
            let voice = if voice_first.intents.is_empty() {
                silenced += 1;
                voice_first
            } else {
                tag(text, &gated("voice", Skip))
            };
            let both = tag(
                text,
                &TagOptions {
                    has_slot_threshold: Some(gate),
                    ..TagOptions::default()
                },
            );
            let mut slots: Vec<_> = voice.slots.iter().chain(&health.slots).cloned().collect();
            slots.sort_by_key(|s| (s.start, s.end, usize::from(&*s.task == "health")));
            assert_eq!(both.slots, slots, "{text:?} {gate}");
            assert_eq!(both.intents, voice.intents, "{text:?} {gate}");
        }
    }
    assert!(silenced > 0 && silenced < 24, "{silenced}");
    // A model without the shares (older files) shows every task punctuation.
    let old = tiny();
    for text in texts {
        let keep = TagOptions {
            punctuation_words: Keep,
            ..all_slots()
        };
        assert_eq!(
            old.tag_utterance_with(text, &all_slots()).unwrap(),
            old.tag_utterance_with(text, &keep).unwrap()
        );
    }
}

#[test]
fn an_entity_value_with_punctuation_matches_a_task_that_does_not_see_it() {
    let t = tiny_by_task();
    let mut set = EntitySet::new(&t);
    set.add("voice/city", "boston , new york").unwrap();
    set.add("voice/time", "!!").unwrap();
    let opts = TagOptions {
        tasks: Some(vec!["voice".into()]),
        entities: Some(Arc::new(set)),
        entity_bonus: 60.0,
        ..all_slots()
    };
    let text = "fly , to ( boston , new york ) !! tomorrow";
    let r = t.tag_utterance_with(text, &opts).unwrap();
    let city: Vec<&str> = r
        .slots
        .iter()
        .filter(|s| &*s.label == "city")
        .map(|s| s.text.as_str())
        .collect();
    assert!(city.contains(&"boston , new york"), "{r:?}");
    // A value made only of punctuation has nothing left to raise.
    assert!(r.slots.iter().all(|s| !s.text.starts_with('!')), "{r:?}");
}
