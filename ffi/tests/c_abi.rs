//! Builds the C example and the C tests with the system C compiler against the
//! header and the libraries cargo built for this very test run, and runs them:
//! natively, under valgrind (when installed), and the Python ctypes smoke test
//! (when python3 is there).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use picotag::testing::assets::missing;
use picotag::{TagOptions, Tagger};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// Where cargo put the libraries, and how to compile against them.
struct Toolchain {
    cc: String,
    /// `target/<profile>/deps`: the cdylib and staticlib of this build.
    deps: PathBuf,
    shared: PathBuf,
    static_lib: PathBuf,
}

/// The toolchain, or why the C tests cannot run here (a missing asset, see
/// [`missing`]).
fn toolchain() -> Result<&'static Toolchain, &'static str> {
    static TC: OnceLock<Result<Toolchain, String>> = OnceLock::new();
    TC.get_or_init(find_toolchain)
        .as_ref()
        .map_err(|e| e.as_str())
}

fn find_toolchain() -> Result<Toolchain, String> {
    if !cfg!(any(target_os = "linux", target_os = "macos")) {
        return Err("C tests run on Linux and macOS only".into());
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let machine = match Command::new(&cc).arg("-dumpmachine").output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => return Err(format!("no C compiler ({cc}) found")),
    };
    let arch = std::env::consts::ARCH;
    let arch_alias = if arch == "aarch64" { "arm64" } else { arch };
    if !machine.starts_with(arch) && !machine.starts_with(arch_alias) {
        return Err(format!(
            "{cc} targets {machine}, these tests run on {arch} (cross build)"
        ));
    }
    // The test binary is `target/<profile>/deps/c_abi-<hash>`; cargo built the
    // cdylib and staticlib of this crate into the same `deps` directory.
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let deps = exe
        .parent()
        .expect("test binary has a directory")
        .to_path_buf();
    let (so, a) = if cfg!(target_os = "macos") {
        ("libpicotag_ffi.dylib", "libpicotag_ffi.a")
    } else {
        ("libpicotag_ffi.so", "libpicotag_ffi.a")
    };
    let (shared, static_lib) = (deps.join(so), deps.join(a));
    for lib in [&shared, &static_lib] {
        assert!(
            lib.exists(),
            "{} is missing: cargo builds it (crate-type cdylib/staticlib) before this test",
            lib.display()
        );
    }
    Ok(Toolchain {
        cc,
        deps,
        shared,
        static_lib,
    })
}

/// A scratch directory for one test, removed when the test passes.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("picotag-ffi-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes the random test model, and a truncated copy; returns their paths.
    fn models(&self) -> (PathBuf, PathBuf) {
        let bytes = picotag::testing::RandomModel::tiny(7).to_bytes().unwrap();
        let (model, truncated) = (self.0.join("model.ptag"), self.0.join("truncated.ptag"));
        std::fs::write(&model, &bytes).unwrap();
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        (model, truncated)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn show(cmd: &Command, out: &Output) -> String {
    format!(
        "{cmd:?}\n-- exit: {}\n-- stdout:\n{}\n-- stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "failed: {}", show(cmd, &out));
    out
}

enum Link {
    Shared,
    Static,
}

/// Compiles `src` (relative to `ffi/`) into `out` against the header and the
/// chosen library.
fn compile(tc: &Toolchain, src: &str, out: &Path, link: Link) {
    let mut cmd = Command::new(&tc.cc);
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .arg("-I")
        .arg(Path::new(MANIFEST_DIR).join("include"))
        .arg(Path::new(MANIFEST_DIR).join(src))
        .arg("-o")
        .arg(out);
    match link {
        Link::Shared => {
            assert!(tc.shared.exists());
            cmd.arg("-L")
                .arg(&tc.deps)
                .arg("-lpicotag_ffi")
                .arg(format!("-Wl,-rpath,{}", tc.deps.display()));
        }
        Link::Static => {
            cmd.arg(&tc.static_lib);
            // `rustc --print native-static-libs` for the std of these targets.
            if cfg!(target_os = "macos") {
                cmd.args(["-lSystem", "-lc", "-lm"]);
            } else {
                cmd.args(["-lgcc_s", "-lutil", "-lrt", "-ldl", "-lm", "-lc"]);
            }
        }
    }
    cmd.arg("-lpthread");
    run(&mut cmd);
}

macro_rules! toolchain_or_skip {
    () => {
        match toolchain() {
            Ok(tc) => tc,
            Err(why) => return missing("a native C toolchain", why),
        }
    };
}

fn has(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn c_tests_pass_against_the_shared_library_also_under_valgrind() {
    let tc = toolchain_or_skip!();
    let dir = Scratch::new("shared");
    let (model, truncated) = dir.models();
    let exe = dir.0.join("test_ffi");
    compile(tc, "tests/c/test_ffi.c", &exe, Link::Shared);
    let out = run(Command::new(&exe).arg(&model).arg(&truncated));
    print!("{}", String::from_utf8_lossy(&out.stdout));

    if !has("valgrind") {
        return missing("valgrind", "scripts/setup.sh installs it");
    }
    let mut cmd = Command::new("valgrind");
    cmd.args(["--leak-check=full", "--error-exitcode=1"])
        .arg(&exe)
        .arg(&model)
        .arg(&truncated);
    let out = run(&mut cmd);
    let log = String::from_utf8_lossy(&out.stderr);
    let summary: Vec<&str> = log
        .lines()
        .filter(|l| {
            [
                "ERROR SUMMARY",
                "definitely lost",
                "indirectly lost",
                "possibly lost",
                "in use at exit",
                "All heap blocks",
            ]
            .iter()
            .any(|k| l.contains(k))
        })
        .collect();
    println!("valgrind:\n{}", summary.join("\n"));
    assert!(
        log.contains("ERROR SUMMARY: 0 errors from 0 contexts"),
        "valgrind found errors: {}",
        show(&cmd, &out)
    );
}

#[test]
fn c_tests_pass_against_the_static_library() {
    let tc = toolchain_or_skip!();
    let dir = Scratch::new("static");
    let (model, truncated) = dir.models();
    let exe = dir.0.join("test_ffi_static");
    compile(tc, "tests/c/test_ffi.c", &exe, Link::Static);
    let out = run(Command::new(&exe).arg(&model).arg(&truncated));
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn c_example_prints_what_the_rust_api_finds() {
    let tc = toolchain_or_skip!();
    let dir = Scratch::new("example");
    let (model, _) = dir.models();
    let exe = dir.0.join("tag");
    compile(tc, "examples/tag.c", &exe, Link::Shared);

    let texts = [
        "book a flight from boston to denver tomorrow morning",
        "i take 200 mg of ibuprofen for my migraine",
        "caf\u{e9} \u{1F600} weather in new york",
    ];
    let tagger = Tagger::open(&model).unwrap();
    for (args, opts) in [
        (vec![], TagOptions::default()),
        (
            vec!["--all-slots"],
            TagOptions {
                has_slot_threshold: None,
                ..TagOptions::default()
            },
        ),
        (
            vec!["--all-slots", "--tasks", "health"],
            TagOptions {
                tasks: Some(vec!["health".into()]),
                has_slot_threshold: None,
                ..TagOptions::default()
            },
        ),
    ] {
        let mut want = String::new();
        for text in texts {
            let t = tagger.tag_utterance_with(text, &opts).unwrap();
            want += &format!("{text}\n");
            for s in &t.slots {
                want += &format!(
                    "slot   {} {} [{},{}) \"{}\" {:.4}\n",
                    s.task, s.label, s.start, s.end, s.text, s.score
                );
            }
            for i in &t.intents {
                want += &format!("intent {} {} {:.4}\n", i.task, i.label, i.score);
            }
        }
        let out = run(Command::new(&exe)
            .arg("--model")
            .arg(&model)
            .args(&args)
            .args(texts));
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "tag {args:?}");
    }

    let out = Command::new(&exe)
        .args(["--model", "/nonexistent/model.ptag", "play"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PICOTAG_STATUS_IO") && err.contains("/nonexistent/model.ptag"),
        "{err}"
    );
}

#[test]
fn python_ctypes_smoke_test() {
    let tc = toolchain_or_skip!();
    if !has("python3") {
        return missing("python3", "scripts/setup.sh installs it");
    }
    let dir = Scratch::new("python");
    let (model, _) = dir.models();
    let out = run(Command::new("python3")
        .arg(Path::new(MANIFEST_DIR).join("tests/python/smoke.py"))
        .arg(&tc.shared)
        .arg(&model));
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn pkg_config_template_links_the_example() {
    let tc = toolchain_or_skip!();
    if !has("pkg-config") {
        return missing("pkg-config", "scripts/setup.sh installs it");
    }
    let dir = Scratch::new("pkgconfig");
    let template = std::fs::read_to_string(Path::new(MANIFEST_DIR).join("picotag.pc.in")).unwrap();
    let pc = template
        .replace("@PREFIX@", "/usr/local")
        .replace("@VERSION@", env!("CARGO_PKG_VERSION"));
    std::fs::write(dir.0.join("picotag.pc"), pc).unwrap();
    // The build tree is not an install tree: point the variables at it.
    let out = run(Command::new("pkg-config")
        .env("PKG_CONFIG_PATH", &dir.0)
        .arg(format!("--define-variable=libdir={}", tc.deps.display()))
        .arg(format!(
            "--define-variable=includedir={MANIFEST_DIR}/include"
        ))
        .args(["--cflags", "--libs", "picotag"]));
    let flags = String::from_utf8(out.stdout).unwrap();
    assert!(flags.contains("-lpicotag_ffi"), "{flags}");
    let exe = dir.0.join("tag");
    run(Command::new(&tc.cc)
        .arg(Path::new(MANIFEST_DIR).join("examples/tag.c"))
        .args(flags.split_whitespace())
        .arg(format!("-Wl,-rpath,{}", tc.deps.display()))
        .arg("-o")
        .arg(&exe));
    let out = Command::new(&exe)
        .args(["--model", "/nonexistent/model.ptag", "play"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}
