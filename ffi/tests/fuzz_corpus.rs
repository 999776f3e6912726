//! Replays the committed seeds of the C ABI fuzz target
//! (`fuzz/seeds/c_abi/`) through its body (`fuzz/src/c_abi.rs`, the file the
//! fuzz crate builds), plus every pointer/length/options mode on a few texts.

#[path = "../../fuzz/src/c_abi.rs"]
mod c_abi;
#[path = "../../fuzz/src/check.rs"]
mod check;
#[path = "../../fuzz/src/models.rs"]
#[allow(dead_code)]
mod models;

use std::path::PathBuf;

#[test]
fn c_abi_seeds_replay() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/c_abi");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "C ABI seeds missing");
    for path in files {
        println!("{}", path.display());
        c_abi::run(&std::fs::read(&path).unwrap());
    }
}

#[test]
fn every_mode_on_hostile_texts() {
    let texts: [&[u8]; 6] = [
        b"book a flight from boston to denver",
        b"",
        b"a\0b\0c",
        "caf\u{e9} \u{5e9}\u{5dc}\u{5d5}\u{5dd} \u{1f600}".as_bytes(),
        b"\xff\xfe\xc3",
        b"\xe2\x82",
    ];
    for text in texts {
        for flags in 0..=255u8 {
            for cut in [0u8, 1, 3, 0x2d, 255] {
                let mut data = vec![flags, cut];
                data.extend_from_slice(text);
                c_abi::run(&data);
            }
        }
    }
}
