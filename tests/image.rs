//! The controller image: the Dockerfile builds with exactly the command `make release` runs (a
//! locked release build of the `sg-tightener` binary), from a Cargo.lock that is current, on a
//! toolchain no older than the crate's rust-version, into a runtime that runs as the chart's
//! user on the chart's port. No container runtime is needed: the Dockerfile is read as text.

mod support;

use std::process::Command;

fn read(relative: &str) -> String {
    std::fs::read_to_string(support::repo_root().join(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
fn instructions() -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read("Dockerfile").lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => current.push_str(&format!("{} ", part.trim())),
            None => {
                current.push_str(trimmed);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

fn make_dry_run(target: &str) -> String {
    let output = Command::new("make")
        .args(["-s", "-n", target, "CARGO=cargo"])
        .current_dir(support::repo_root())
        .output()
        .expect("make runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[test]
fn the_dockerfile_builds_with_the_command_make_release_runs() {
    let release = make_dry_run("release");
    assert_eq!(release, "cargo build --release --locked --bin sg-tightener");
    let run = instructions()
        .into_iter()
        .find(|i| i.starts_with("RUN ") && i.contains("cargo build"))
        .expect("a RUN with cargo build");
    let command = run
        .split("&&")
        .find(|part| part.contains("cargo build"))
        .map(|part| {
            let from = part.find("cargo build").unwrap_or(0);
            part[from..]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    assert_eq!(
        command, release,
        "the Dockerfile's build differs from `make release`"
    );
    assert!(
        make_dry_run("image").starts_with("docker build -t sg-tightener:"),
        "make image builds the Dockerfile"
    );
}

#[test]
fn the_lock_file_is_current_so_a_locked_build_succeeds() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--locked",
            "--offline",
            "--format-version",
            "1",
            "--no-deps",
        ])
        .current_dir(support::repo_root())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "Cargo.lock is not current, so `cargo build --locked` in the image fails: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_builder_toolchain_is_at_least_the_crates_rust_version() {
    let arg = instructions()
        .into_iter()
        .find_map(|i| i.strip_prefix("ARG RUST_VERSION=").map(str::to_owned))
        .expect("ARG RUST_VERSION");
    let manifest: toml_like::Manifest = toml_like::read(&read("Cargo.toml"));
    let version = |text: &str| -> Vec<u32> {
        text.split('.')
            .map(|n| n.parse().expect("number"))
            .collect()
    };
    assert!(
        version(&arg) >= version(&manifest.rust_version),
        "the image builds with Rust {arg}, the crate needs {}",
        manifest.rust_version
    );
}

#[test]
fn the_runtime_runs_as_the_charts_user_on_the_charts_port() {
    let all = instructions();
    let last_from = all
        .iter()
        .rposition(|i| i.starts_with("FROM "))
        .expect("FROM");
    let runtime = &all[last_from..];
    assert!(
        runtime[0].contains("distroless/cc"),
        "a minimal runtime with CA roots: {}",
        runtime[0]
    );
    let values: serde_yaml::Value =
        serde_yaml::from_str(&read("charts/sg-tightener/values.yaml")).unwrap();
    let uid = values["podSecurityContext"]["runAsUser"]
        .as_u64()
        .expect("runAsUser");
    let gid = values["podSecurityContext"]["runAsGroup"]
        .as_u64()
        .expect("runAsGroup");
    assert!(
        runtime.contains(&format!("USER {uid}:{gid}")),
        "{runtime:?}"
    );
    let port = values["http"]["port"].as_u64().expect("http.port");
    assert!(runtime.contains(&format!("EXPOSE {port}")), "{runtime:?}");
    assert!(
        runtime
            .iter()
            .any(|i| i == "ENTRYPOINT [\"/usr/local/bin/sg-tightener\"]"),
        "{runtime:?}"
    );
}

#[test]
fn the_build_context_keeps_every_cargo_target_and_leaves_out_build_state() {
    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_end_matches('/').to_owned())
        .collect();
    for needed in ["src", "Cargo.toml", "Cargo.lock", "benches", "tests", "e2e"] {
        assert!(
            !ignored.iter().any(|i| i == needed),
            "{needed} is needed by cargo (targets in Cargo.toml)"
        );
    }
    for state in ["target", ".git", ".cache"] {
        assert!(
            ignored.iter().any(|i| i == state),
            ".dockerignore lacks {state}"
        );
    }
}

/// Just enough of Cargo.toml: `rust-version`.
mod toml_like {
    pub struct Manifest {
        pub rust_version: String,
    }

    pub fn read(text: &str) -> Manifest {
        let rust_version = text
            .lines()
            .find_map(|l| l.strip_prefix("rust-version = "))
            .map(|v| v.trim_matches('"').to_owned())
            .expect("rust-version in Cargo.toml");
        Manifest { rust_version }
    }
}
