//! Test assets that do not live in the checkout: the pretrained teacher, the
//! training data beside it, a C toolchain. A test that needs one runs with it;
//! without it the test skips with the reason printed, except where a missing
//! asset must fail, so that a green run means every test was checked: under
//! CI (`CI` set) and with `PICOTAG_REQUIRE_ASSETS=1`.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether a missing asset fails the test: `CI` or `PICOTAG_REQUIRE_ASSETS`
/// set to anything but empty, `0` or `false`.
pub fn assets_required() -> bool {
    let set = |k: &str| std::env::var(k).is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"));
    set("CI") || set("PICOTAG_REQUIRE_ASSETS")
}

/// Reports that the asset `what` is missing (`how`: how to get it): panics
/// when [`assets_required`], else prints that the test skipped. The caller
/// returns afterwards.
#[track_caller]
pub fn missing(what: impl Display, how: impl Display) {
    if assets_required() {
        panic!("missing test asset: {what} ({how}); CI or PICOTAG_REQUIRE_ASSETS requires it");
    }
    eprintln!(
        "skipped: {what} is missing ({how}); set PICOTAG_REQUIRE_ASSETS=1 to make this a failure"
    );
}

/// The checkout's root (the `picotag` crate's folder).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The pretrained teacher's folder (`model.safetensors`, `config.json`,
/// `tokenizer.json`), fetched by `scripts/fetch-teacher.sh` (which honours
/// `PICOTAG_TEACHER_DIR`); `None`, reported by [`missing`], when it cannot be had.
#[track_caller]
pub fn teacher_dir() -> Option<PathBuf> {
    let script = repo_root().join("scripts/fetch-teacher.sh");
    let why = match Command::new("bash").arg(&script).output() {
        Ok(o) if o.status.success() => {
            let out = String::from_utf8_lossy(&o.stdout);
            match out.lines().last().map(|l| PathBuf::from(l.trim())) {
                Some(dir) if dir.join("model.safetensors").is_file() => return Some(dir),
                _ => format!("the script printed no teacher folder: {out:?}"),
            }
        }
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
        Err(e) => e.to_string(),
    };
    missing(
        "the pretrained teacher all-MiniLM-L6-v2",
        format!(
            "scripts/fetch-teacher.sh failed: {why}; run it by hand, or point \
             PICOTAG_TEACHER_DIR at a fetched copy"
        ),
    );
    None
}

/// `rel` in the training data, `../shared/data` beside the checkout;
/// `None`, reported by [`missing`], when it is not there.
#[track_caller]
pub fn data_path(rel: &str) -> Option<PathBuf> {
    let p = repo_root().join("../shared/data").join(rel);
    if p.exists() {
        return Some(p);
    }
    missing(
        p.display(),
        "the training data: ../shared/data beside the checkout",
    );
    None
}
