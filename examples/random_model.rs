//! Writes a small random-weight model (for trying the runtime without a
//! trained model): `cargo run --example random_model -- out.ptag [seed]`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: random_model OUT.ptag [SEED]");
        return ExitCode::FAILURE;
    };
    let seed = match args.next().map(|s| s.parse::<u64>()) {
        None => 1,
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            eprintln!("bad seed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let parent = std::path::Path::new(&path).parent();
    if let Some(dir) = parent.filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("error: cannot create {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    }
    match picotag::testing::RandomModel::tiny(seed)
        .writer()
        .and_then(|w| w.write(&path))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
