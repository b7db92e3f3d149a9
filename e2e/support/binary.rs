//! e2e support: a private snapshot of the `sg-tightener` binary this test was built with. Cargo's
//! `target/debug/sg-tightener` is replaced by every build sharing the target directory (other
//! checkouts too), so the tests hard-link it once at start — later builds cannot change the
//! snapshot — and check that it was built from this checkout.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The binary `cargo test --test e2e` built (its uplifted copy in the target directory).
const BUILT: &str = env!("CARGO_BIN_EXE_sg-tightener");

/// The snapshot all operators of this process run, made on first use.
pub fn operator_binary() -> &'static Path {
    static SNAPSHOT: OnceLock<PathBuf> = OnceLock::new();
    SNAPSHOT.get_or_init(snapshot)
}

fn snapshot() -> PathBuf {
    let built = Path::new(BUILT);
    let dir = built
        .parent()
        .expect("the binary lives in a directory")
        .join("e2e-bin");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    remove_stale(&dir);
    let own = dir.join(format!("sg-tightener-{}", std::process::id()));
    let _ = std::fs::remove_file(&own);
    // A hard link keeps this inode even when cargo replaces `BUILT`; copy across file systems.
    if std::fs::hard_link(built, &own).is_err() {
        std::fs::copy(built, &own).unwrap_or_else(|e| {
            panic!("cannot copy {} to {}: {e}", built.display(), own.display())
        });
    }
    check_built_here(&own);
    own
}

/// Snapshots of test processes that are gone (only ours: named after a pid, in our directory).
fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("sg-tightener-") else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The debug info of a dev build names the directory it was compiled in (`DW_AT_comp_dir`,
/// NUL-terminated). Without this checkout's path the binary came from another checkout's build
/// that finished between ours and this test's start: running it would test other code.
fn check_built_here(binary: &Path) {
    let bytes =
        std::fs::read(binary).unwrap_or_else(|e| panic!("cannot read {}: {e}", binary.display()));
    let needle = format!("\0{}\0", env!("CARGO_MANIFEST_DIR"));
    assert!(
        memchr::memmem::find(&bytes, needle.as_bytes()).is_some(),
        "{BUILT} was not built from {}: another checkout sharing CARGO_TARGET_DIR rebuilt it \
         since cargo last linked it here (or it has no debug info). Run the tests through cargo \
         (`make e2e`, `cargo test --test e2e`: cargo re-links it first) or with a private \
         CARGO_TARGET_DIR",
        env!("CARGO_MANIFEST_DIR"),
    );
}
