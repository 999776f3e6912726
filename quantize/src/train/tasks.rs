//! A recipe's tasks loaded and encoded: training windows, dev sentences,
//! label vocabularies, and each task's place in a unified slot head.

use picotag::decode::Scheme;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::asr::{asr_copies, asr_form, with_asr_copies};
use crate::data::encode::Tok;
use crate::data::labels::{detect_scheme, Vocab};
use crate::data::symbols::insert_symbols;
use crate::data::unified::{unify_with_domains, TaskView};
use crate::data::{has_intent_in, load_split};
use crate::error::{Error, Result};
use crate::eval::{prepare, EvalSentence};
use crate::model::heads::{heads_of_task, TaskHeads};
use crate::model::Model;
use crate::recipe::{Recipe, TaskRecipe};
use crate::train::batch::{examples, Example};

/// The form of a training sentence, when a task trains on one of several an
/// epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// As the data gives it.
    Given,
    /// Its ASR form (`asr=aug`).
    Asr,
    /// With symbols inserted (`symbols=R`).
    Symbols,
}

/// A task's data, ready to train on.
pub struct TaskData {
    /// The recipe entry.
    pub spec: TaskRecipe,
    /// Slot labels (piece level).
    pub slots: Vocab,
    /// Intent labels, when every training sentence has one.
    pub intents: Option<Vocab>,
    /// Tagging scheme.
    pub scheme: Scheme,
    /// Training windows.
    pub train: Vec<Example>,
    /// With `asr_augment` or `symbols`: per training window, its sentence
    /// and which form of it the window holds (see
    /// [`crate::train::plan::epoch_selection`]); else empty.
    pub train_forms: Vec<(u32, Form)>,
    /// Dev sentences.
    pub dev: Vec<EvalSentence>,
    /// Dev sentences in ASR form (empty unless the task has `asr`).
    pub dev_asr: Vec<EvalSentence>,
    /// With a unified head: the task's place in its labels (the training
    /// windows' slot indices are then unified ones).
    pub unified: Option<TaskView>,
}

impl TaskData {
    /// The heads this task trains and is scored with: its own, with the
    /// unified slot head in place of its own when there is one.
    pub fn heads(&self, model: &Model) -> Result<TaskHeads> {
        match &self.unified {
            None => Ok(model.task(&self.spec.name)?.clone()),
            Some(v) => {
                let slots = model.task(&v.head.task)?.slots;
                Ok(heads_of_task(&model.meta, &self.spec.name, slots))
            }
        }
    }
}

/// Mixed into the recipe's seed for the symbol-noise copies.
const SYMBOL_SEED: u64 = 0x5359_4D42_4F4C_5321;

/// Loads and encodes every task of the recipe.
pub fn load_tasks(r: &Recipe, tok: &Tok, dev_limit: Option<usize>) -> Result<Vec<TaskData>> {
    let mut out = Vec::new();
    for spec in &r.tasks {
        let mut train = load_split(&spec.train)?;
        train.retain(|s| !has_intent_in(s, &spec.hold_out));
        if spec.limit > 0 {
            train.truncate(spec.limit);
        }
        if spec.asr && !spec.asr_augment {
            train = with_asr_copies(train);
        }
        // Sentence and form of each training sentence (asr=aug, symbols).
        let mut forms: Vec<(u32, Form)> = Vec::new();
        let asr_aug = spec.asr && spec.asr_augment;
        if asr_aug || spec.symbols > 0.0 {
            let n = train.len();
            forms = (0..n as u32).map(|i| (i, Form::Given)).collect();
            if asr_aug {
                for (i, c) in asr_copies(&train) {
                    forms.push((i as u32, Form::Asr));
                    train.push(c);
                }
            }
            if spec.symbols > 0.0 {
                let mut rng = ChaCha8Rng::seed_from_u64(r.seed ^ SYMBOL_SEED);
                for i in 0..n {
                    let c = insert_symbols(&train[i], spec.symbols, &mut rng).sentence;
                    if c.words != train[i].words {
                        forms.push((i as u32, Form::Symbols));
                        train.push(c);
                    }
                }
            }
        }
        if train.is_empty() {
            return Err(Error::Spec(format!(
                "{}: no sentences",
                spec.train.display()
            )));
        }
        let encoded = train
            .iter()
            .map(|s| tok.encode(&s.words, r.max_len))
            .collect::<Result<Vec<_>>>()?;
        let piece_labels: Vec<Vec<String>> = train
            .iter()
            .zip(&encoded)
            .map(|(s, e)| e.piece_labels(&s.labels))
            .collect();
        let slots = Vocab::build(piece_labels.iter().flatten().map(String::as_str), Some("O"));
        let scheme = detect_scheme(slots.labels.iter().map(String::as_str));
        let intents = train
            .iter()
            .all(|s| s.intent.is_some())
            .then(|| Vocab::build(train.iter().filter_map(|s| s.intent.as_deref()), None));
        let mut ex = Vec::new();
        let mut train_forms = Vec::new();
        for (k, (s, e)) in train.iter().zip(&encoded).enumerate() {
            let before = ex.len();
            ex.extend(
                examples(s, e, &slots, intents.as_ref(), &spec.train)?
                    .into_iter()
                    .filter(|x| !x.pos.is_empty()),
            );
            if let Some(&f) = forms.get(k) {
                train_forms.extend(std::iter::repeat_n(f, ex.len() - before));
            }
        }
        let mut dev_s = load_split(&spec.dev)?;
        dev_s.retain(|s| !has_intent_in(s, &spec.hold_out));
        if let Some(n) = dev_limit {
            dev_s.truncate(n);
        }
        let dev_asr = if spec.asr {
            prepare(tok, dev_s.iter().map(asr_form).collect(), r.max_len)?
        } else {
            Vec::new()
        };
        let dev = prepare(tok, dev_s, r.max_len)?;
        out.push(TaskData {
            spec: spec.clone(),
            slots,
            intents,
            scheme,
            train: ex,
            train_forms,
            dev,
            dev_asr,
            unified: None,
        });
    }
    if let Some(map) = &r.unified {
        let own: Vec<(&str, &Vocab, Scheme)> = out
            .iter()
            .map(|t| (t.spec.name.as_str(), &t.slots, t.scheme))
            .collect();
        let views = unify_with_domains(map, &own, &r.domains())?;
        for (t, v) in out.iter_mut().zip(views) {
            for e in &mut t.train {
                for s in &mut e.slot {
                    *s = v.to_unified[*s as usize];
                }
            }
            t.unified = Some(v);
        }
    }
    Ok(out)
}
