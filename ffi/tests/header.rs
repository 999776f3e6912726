//! `include/picotag.h` must be what cbindgen generates from the current source.

use std::path::Path;

const REGENERATE: &str = "PICOTAG_BLESS=1 cargo test -p picotag-ffi --test header";

#[test]
fn header_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).unwrap();
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen could not generate the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();

    let path = dir.join("include/picotag.h");
    if std::env::var_os("PICOTAG_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        println!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let fresh = Path::new(env!("CARGO_TARGET_TMPDIR")).join("picotag.h");
        std::fs::write(&fresh, &generated).unwrap();
        panic!(
            "ffi/include/picotag.h is out of date with ffi/src.\n\
             Regenerate it with:\n    {REGENERATE}\n\
             and commit it. The generated header is at {}:\n    diff -u {} {}",
            fresh.display(),
            path.display(),
            fresh.display()
        );
    }
}
