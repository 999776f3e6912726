//! Loaders, task specs, sub-token alignment, windows and auxiliary labels.

mod common;

use picotag_quantize::data::asr::{asr_form, asr_word, with_asr_copies};
use picotag_quantize::data::encode::Tok;
use picotag_quantize::data::labels::derive_aux;
use picotag_quantize::data::{load_split, resolve_dataset, Sentence, TaskSpec};
use picotag_quantize::Error;

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn loads_both_formats_and_resolves_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let slu = common::write_slu(&tmp.path().join("slu"));
    let bio = common::write_bio(&tmp.path().join("bio"));
    let (tr, dv) = resolve_dataset(&slu).unwrap();
    assert!(tr.ends_with("train") && dv.ends_with("valid"));
    let s = load_split(&tr).unwrap();
    assert_eq!(s.len(), 6);
    assert_eq!(s[1].words.len(), 8);
    assert_eq!(s[1].intent.as_deref(), Some("flight"));
    let (tr, dv) = resolve_dataset(&bio).unwrap();
    assert!(tr.ends_with("train.tsv") && dv.ends_with("devel.tsv"));
    let b = load_split(&tr).unwrap();
    assert_eq!(b.len(), 4);
    assert_eq!(
        b[1].words,
        strs(&["breast", "cancer", "and", "migraine", "."])
    );
    assert_eq!(b[1].line, 8);
    assert_eq!(b[0].intent, None);
    let t = TaskSpec::parse(&format!("x={},weight=0.5", bio.display())).unwrap();
    assert_eq!((t.name.as_str(), t.weight), ("x", 0.5));
    let t = TaskSpec::parse(&format!("y=train={},dev={}", tr.display(), dv.display())).unwrap();
    assert_eq!(t.train, tr);
    assert!(TaskSpec::parse("noequals").is_err());
    assert!(TaskSpec::parse(&format!("z={},bogus=1", bio.display())).is_err());
}

fn line_of(e: Error) -> (String, usize, String) {
    match e {
        Error::Data { path, line, msg } => (path.display().to_string(), line, msg),
        other => panic!("expected a data error, got {other}"),
    }
}

#[test]
fn bad_data_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("bad.tsv");
    std::fs::write(&p, "a\tO\nb\tB-X\n\nc\tQ-X\n").unwrap();
    let (f, line, msg) = line_of(load_split(&p).unwrap_err());
    assert!(
        f.ends_with("bad.tsv") && line == 4 && msg.contains("Q-X"),
        "{f}:{line}: {msg}"
    );
    std::fs::write(&p, "a\tO\nlonely\n").unwrap();
    assert_eq!(line_of(load_split(&p).unwrap_err()).1, 2);
    std::fs::write(&p, b"a\tO\n\nb\xff\tO\n").unwrap();
    let (_, line, msg) = line_of(load_split(&p).unwrap_err());
    assert_eq!((line, msg.as_str()), (3, "invalid UTF-8"));

    let d = tmp.path().join("slu");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("seq.in"), "a b\nc d e\n").unwrap();
    std::fs::write(d.join("seq.out"), "O O\nO B-x\n").unwrap();
    let (f, line, msg) = line_of(load_split(&d).unwrap_err());
    assert!(
        f.ends_with("seq.out") && line == 2 && msg.contains("2 labels for 3 words"),
        "{msg}"
    );
    std::fs::write(d.join("seq.out"), "O O\nO B-x O\n").unwrap();
    std::fs::write(d.join("label"), "i\n").unwrap();
    let (f, _, _) = line_of(load_split(&d).unwrap_err());
    assert!(f.ends_with("label"));
    assert!(matches!(
        load_split(&tmp.path().join("nope")),
        Err(Error::Spec(_))
    ));
}

#[test]
fn pieces_follow_the_runtime_word_convention() {
    let tmp = tempfile::tempdir().unwrap();
    let tok = Tok::from_file(&common::write_tokenizer(tmp.path())).unwrap();
    // "il-2" is one data word but three pre-tokenizer pieces; "headaches" two sub-tokens.
    let words = strs(&["il-2", "for", "headaches"]);
    let enc = tok.encode(&words, 128).unwrap();
    assert_eq!(enc.piece_word, vec![0, 0, 0, 1, 2]);
    assert_eq!(enc.windows.len(), 1);
    let w = &enc.windows[0];
    assert_eq!(w.ids[0], tok.cls);
    assert_eq!(*w.ids.last().unwrap(), tok.sep);
    assert_eq!(w.first_pos, vec![1, 2, 3, 4, 5]);
    assert_eq!(w.ids.len(), 1 + 6 + 1, "headaches = headache ##s");
    let labels = strs(&["B-Chem", "O", "B-Dis"]);
    assert_eq!(
        enc.piece_labels(&labels),
        strs(&["B-Chem", "I-Chem", "I-Chem", "O", "B-Dis"])
    );
    assert_eq!(enc.piece_span_to_words(0, 3), (0, 1));
    // BIOES continuation stays well-formed.
    let bioes = strs(&["S-Chem", "O", "E-Dis"]);
    assert_eq!(
        enc.piece_labels(&bioes),
        strs(&["B-Chem", "I-Chem", "E-Chem", "O", "E-Dis"])
    );
    // Windows: at most 4 sub-tokens + [CLS]/[SEP]; nothing dropped.
    let long = strs(&[
        "fly", "from", "boston", "to", "denver", "on", "monday", "il-2",
    ]);
    let enc = tok.encode(&long, 6).unwrap();
    assert!(enc.windows.iter().all(|w| w.ids.len() <= 6));
    let covered: usize = enc.windows.iter().map(|w| w.first_pos.len()).sum();
    assert_eq!(covered, enc.piece_word.len());
    assert_eq!(enc.windows[1].first_piece, enc.windows[0].first_pos.len());
}

#[test]
fn auxiliary_labels_from_slot_labels() {
    let pl = strs(&["B-a", "I-a", "O", "B-b", "I-b", "I-b", "B-c", "O"]);
    // pieces 0,1 are one data word; 3..6 span two words; 6 one word.
    let pw = [0, 0, 1, 2, 3, 3, 4, 5];
    let a = derive_aux(&pl, &pw);
    assert_eq!((a.has_slot, a.mcls), (1, 3));
    assert_eq!(a.mtcls, vec![2, 2, 0, 1, 1, 1, 2, 0]);
    let a = derive_aux(&strs(&["O", "O"]), &[0, 1]);
    assert_eq!((a.has_slot, a.mcls, a.mtcls), (0, 0, vec![0, 0]));
    // ill-formed: I- after O still opens an entity.
    let a = derive_aux(&strs(&["I-x", "O", "I-y", "I-y"]), &[0, 1, 2, 3]);
    assert_eq!((a.has_slot, a.mcls, a.mtcls), (1, 2, vec![2, 0, 1, 1]));
}

fn sentence(words: &[&str], labels: &[&str]) -> Sentence {
    Sentence {
        words: strs(words),
        labels: strs(labels),
        intent: None,
        line: 1,
    }
}

#[test]
fn asr_form_lowercases_strips_punctuation_and_repairs_labels() {
    assert_eq!(asr_word("IL-2"), "il-2");
    assert_eq!(asr_word("Crohn's"), "crohn's");
    assert_eq!(asr_word("(BRCA1)"), "brca1");
    assert_eq!(asr_word("--"), "");
    assert_eq!(asr_word("end."), "end");
    assert_eq!(asr_word("0.5%"), "0.5");
    assert_eq!(asr_word("-x,"), "x");
    // A removed word inside an entity keeps one entity; a removed first word
    // moves B- to the next word; an O word between two entities of one type
    // leaves two entities (B- B-), never one.
    let s = sentence(
        &[
            "Breast", "/", "Ovarian", "Cancer", ",", "\"", "HNPCC", "(", "x", ")", ".",
        ],
        &[
            "B-D", "O", "B-D", "I-D", "O", "B-D", "I-D", "O", "O", "O", "O",
        ],
    );
    let a = asr_form(&s);
    assert_eq!(
        a.words,
        strs(&["breast", "ovarian", "cancer", "hnpcc", "x"])
    );
    assert_eq!(a.labels, strs(&["B-D", "B-D", "I-D", "B-D", "O"]));
    let s = sentence(
        &["Ataxia", "-", "telangiectasia", "."],
        &["B-D", "I-D", "I-D", "O"],
    );
    let a = asr_form(&s);
    assert_eq!(a.words, strs(&["ataxia", "telangiectasia"]));
    assert_eq!(a.labels, strs(&["B-D", "I-D"]));
    // BIOES: losing the end or the start of an entity keeps it well-formed;
    // an entity of punctuation only vanishes.
    let s = sentence(
        &["(", "IL", "-", ")", "x", "%"],
        &["B-C", "I-C", "I-C", "E-C", "O", "S-C"],
    );
    let a = asr_form(&s);
    assert_eq!(a.words, strs(&["il", "x"]));
    assert_eq!(a.labels, strs(&["S-C", "O"]));
    // Training copies: only the sentences whose ASR form differs, after the originals.
    let plain = sentence(&["no", "change"], &["O", "O"]);
    let all = with_asr_copies(vec![plain.clone(), s.clone()]);
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], plain);
    assert_eq!(all[2].words, strs(&["il", "x"]));
    // The task option.
    let tmp = tempfile::tempdir().unwrap();
    let (tr, dv) = (tmp.path().join("t.tsv"), tmp.path().join("d.tsv"));
    let arg = format!("ncbi=train={},dev={},asr=1", tr.display(), dv.display());
    assert!(TaskSpec::parse(&arg).unwrap().asr);
    let arg = format!("ncbi=train={},dev={}", tr.display(), dv.display());
    assert!(!TaskSpec::parse(&arg).unwrap().asr);
    assert!(TaskSpec::parse(&format!("{arg},asr=maybe")).is_err());
}
