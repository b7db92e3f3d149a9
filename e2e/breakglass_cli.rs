//! e2e: `sg-tightener extend`, break-glass for when the cluster is down, against moto with the
//! default credential chain (the environment's test credentials) and the configured endpoint:
//! a dry run changes nothing, `--yes` adds the rules and writes a manifest, `--revoke` removes
//! exactly what the manifest added, bad input exits 2 with one line.

use crate::support::binary::operator_binary;
use crate::support::breakglass::{World, PREFIX};
use crate::support::env;
use crate::support::tools::ToolOutput;
use serde_json::Value;
use sg_tightener::config::ControllerConfig;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Runs `sg-tightener extend args…` with only the environment's AWS variables and a config
/// pointing at moto.
async fn extend(dir: &Path, args: &[&str]) -> ToolOutput {
    let mut config = ControllerConfig::default();
    config.aws.endpoint_url = env().moto_url.clone();
    let config_path = dir.join("controller.yaml");
    std::fs::write(&config_path, serde_yaml::to_string(&config).expect("yaml")).expect("config");
    let command = format!("sg-tightener extend {}", args.join(" "));
    let output = tokio::process::Command::new(operator_binary())
        .arg("extend")
        .args(args)
        .arg("--config")
        .arg(&config_path)
        .current_dir(dir)
        .env_clear()
        .envs(env().child_vars())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run `{command}`: {e}"));
    ToolOutput {
        command,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn json(output: &ToolOutput) -> Value {
    serde_json::from_str(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", output.transcript()))
}

#[tokio::test]
async fn extend_adds_with_yes_only_writes_a_manifest_and_revokes_exactly_that() {
    let w = World::new("bge-cli").await;
    let [a, b] = w.groups.clone();
    w.authorise(&a, 443, &[("10.5.0.0/16", "there before")])
        .await;
    let before = w.described(&a).await;
    let dir = env().scratch_dir(&crate::support::names::unique_name("extend"));
    let groups = format!("{a},{b}");
    let common = [
        "--region",
        &env().region,
        "--role-arn",
        &w.account.role_arn,
        "--groups",
        &groups,
        "--cidrs",
        "10.4.0.0/16",
        "10.5.0.0/16",
        "--ports",
        "tcp:443",
        "--reason",
        "DC down INC-9",
    ];
    let dry = extend(&dir, &common).await.expect_success();
    assert_eq!(json(&dry)["applied"], false);
    assert_eq!(w.described(&a).await, before, "a dry run changes nothing");

    let manifest: PathBuf = dir.join("inc-9.json");
    let mut yes = common.to_vec();
    yes.extend([
        "--yes",
        "--manifest",
        manifest.to_str().expect("utf-8 path"),
    ]);
    let added = json(&extend(&dir, &yes).await.expect_success());
    assert_eq!(
        added["groups"][0]["added"],
        serde_json::json!(["tcp:443 10.4.0.0/16"]),
        "{added:#}"
    );
    assert_eq!(
        added["groups"][1]["added"].as_array().map(Vec::len),
        Some(2)
    );
    let rule = format!("tcp:443 10.4.0.0/16 ({PREFIX}: DC down INC-9)");
    assert!(w.described(&a).await.contains(&rule));
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).expect("manifest"))
            .expect("manifest JSON");
    assert_eq!(written, added, "the manifest is what was printed");

    let path = manifest.to_str().expect("utf-8 path");
    extend(&dir, &["--revoke", path]).await.expect_success();
    assert!(
        w.rules(&a).await.contains("tcp:443 10.4.0.0/16"),
        "without --yes nothing goes"
    );
    extend(&dir, &["--revoke", path, "--yes"])
        .await
        .expect_success();
    assert_eq!(
        w.described(&a).await,
        before,
        "exactly what it added is gone"
    );
    assert!(w.rules(&b).await.is_empty());
}

#[tokio::test]
async fn extend_refuses_bad_input_with_one_line_and_exit_2() {
    let dir = env().scratch_dir(&crate::support::names::unique_name("extend-bad"));
    let region = env().region.clone();
    let base = |cidr: &'static str, group: &'static str, port: &'static str| {
        vec![
            "--region".to_owned(),
            region.clone(),
            "--groups".into(),
            group.into(),
            "--cidrs".into(),
            cidr.into(),
            "--ports".into(),
            port.into(),
            "--reason".into(),
            "x".into(),
        ]
    };
    let cases = [
        (base("10.0.0.0/8", "sg-12345678", "tcp:443"), "10.0.0.0/8"),
        (base("0.0.0.0/0", "sg-12345678", "tcp:443"), "0.0.0.0/0"),
        (base("10.4.0.0/16", "sg-1", "tcp:443"), "sg-1"),
        (base("10.4.0.0/16", "sg-12345678", "tcp:99999"), "tcp:99999"),
    ];
    for (args, value) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = extend(&dir, &args).await;
        assert_eq!(out.code, Some(2), "{}", out.transcript());
        assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.transcript());
        assert!(out.stderr.contains(value), "{}", out.transcript());
    }
}
