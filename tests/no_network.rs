//! The runtime compiles in no HTTP client or TLS stack.

use std::process::Command;

#[test]
fn runtime_dependency_tree_has_no_network_crates() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "picotag",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).unwrap();
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(crates.contains(&"memmap2"), "sanity: the tree was read");
    for banned in [
        "reqwest",
        "hyper",
        "ureq",
        "native-tls",
        "rustls",
        "openssl",
        "hf-hub",
        "curl",
    ] {
        assert!(
            !crates.contains(&banned),
            "{banned} is in the runtime's dependency tree"
        );
    }
}
