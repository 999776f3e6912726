//! libFuzzer entry point; the body is [`picotag_fuzz::c_abi::run`], which the
//! corpus-replay tests call too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| picotag_fuzz::c_abi::run(data));
