//! The `picotag-quantize` command.

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = picotag_quantize::cli::Cli::parse();
    if let Err(e) = picotag_quantize::cli::run(cli) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
