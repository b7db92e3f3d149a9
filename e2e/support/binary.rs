//! e2e: the `sg-tightener` binary the operator scenarios run, and a check that it — and this
//! test executable — hold this checkout's code and no other's.
//!
//! Why: checkouts that share a `CARGO_TARGET_DIR` and have the same dependency graph get the same
//! artifact names (cargo's metadata hash does not include the checkout's path), and cargo takes
//! an artifact another checkout built as fresh when our sources are older than it. So
//! `target/debug/sg-tightener` — and even the library linked into the tests — may be another
//! checkout's build. A dev build's debug info names the directory each crate was compiled in
//! (NUL-terminated `DW_AT_comp_dir`), which tells them apart.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The binary `cargo test --test e2e` built (its uplifted copy in the target directory).
const BUILT: &str = env!("CARGO_BIN_EXE_sg-tightener");
/// This checkout.
const CHECKOUT: &str = env!("CARGO_MANIFEST_DIR");

/// The snapshot every operator of this process runs: a hard link made on first use (a later
/// build replacing `BUILT` cannot change it), checked to be this checkout's build.
pub fn operator_binary() -> &'static Path {
    static SNAPSHOT: OnceLock<PathBuf> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let snapshot = snapshot();
        check_built_here(&snapshot);
        snapshot
    })
}

/// Checks, once per process, that this test executable holds this checkout's code only.
pub fn check_test_executable() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        check_built_here(&std::env::current_exe().expect("the test executable's path"));
    });
}

fn snapshot() -> PathBuf {
    let built = Path::new(BUILT);
    let dir = built.parent().expect("a directory").join("e2e-bin");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    remove_stale(&dir);
    let own = dir.join(format!("sg-tightener-{}", std::process::id()));
    let _ = std::fs::remove_file(&own);
    if std::fs::hard_link(built, &own).is_err() {
        std::fs::copy(built, &own).unwrap_or_else(|e| {
            panic!("cannot copy {} to {}: {e}", built.display(), own.display())
        });
    }
    own
}

/// Snapshots of test processes that are gone (named after their pid, in our directory only).
fn remove_stale(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name.strip_prefix("sg-tightener-").unwrap_or_default();
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Panics unless `binary` was compiled (in part) in this checkout and in no other checkout of
/// sg-tightener that exists on this machine.
fn check_built_here(binary: &Path) {
    let bytes =
        std::fs::read(binary).unwrap_or_else(|e| panic!("cannot read {}: {e}", binary.display()));
    let dirs = compile_dirs(&bytes);
    let others: Vec<&String> = dirs
        .iter()
        .filter(|d| d.as_str() != CHECKOUT && is_sg_tightener_checkout(d))
        .collect();
    let mut problems = Vec::new();
    if !others.is_empty() {
        problems.push(format!(
            "holds code compiled in another checkout: {others:?}"
        ));
    }
    if !dirs.contains(CHECKOUT) {
        problems.push(format!(
            "holds no code compiled in {CHECKOUT} (or has no debug info)"
        ));
    }
    assert!(
        problems.is_empty(),
        "{} {}. Checkouts sharing CARGO_TARGET_DIR with the same dependencies share artifact \
         names, and cargo takes the other checkout's build as fresh when our sources are older. \
         Rebuild here (`touch src/lib.rs src/main.rs`, rerun) or use a private CARGO_TARGET_DIR.",
        binary.display(),
        problems.join("; ")
    );
}

/// NUL-terminated absolute paths in the binary that may be compile directories: not source
/// files, not the toolchain's or the registry's.
fn compile_dirs(bytes: &[u8]) -> BTreeSet<String> {
    let mut dirs = BTreeSet::new();
    for at in memchr::memmem::find_iter(bytes, b"\0/") {
        let start = at + 1;
        let window = &bytes[start..bytes.len().min(start + 256)];
        let Some(len) = memchr::memchr(0, window) else {
            continue;
        };
        let Ok(text) = std::str::from_utf8(&window[..len]) else {
            continue;
        };
        let skipped = [
            "/rustc/",
            "/rust/",
            "/usr/",
            "/root/.cargo/",
            "/root/.rustup/",
        ];
        if text.len() > 1
            && !text.contains(['\n', ' '])
            && !skipped.iter().any(|p| text.starts_with(p))
            && Path::new(text).extension().is_none()
        {
            dirs.insert(text.to_owned());
        }
    }
    dirs
}

fn is_sg_tightener_checkout(dir: &str) -> bool {
    std::fs::read_to_string(Path::new(dir).join("Cargo.toml"))
        .is_ok_and(|manifest| manifest.contains("name = \"sg-tightener\""))
}
