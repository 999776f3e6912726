//! libFuzzer entry point; the body is [`picotag_fuzz::utterance::run`], which the
//! corpus-replay tests call too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| picotag_fuzz::utterance::run(data));
