//! IAM: the policies in `config/iam/` grant every AWS operation the operator calls — and no
//! action nobody needs — and the list of calls (`sg_tightener::aws::operations`) cannot go stale:
//! every SDK operation called in `src/aws/` must be in it.

mod support;

use serde_json::Value;
use sg_tightener::aws::operations::{operation_name, Operation, Policy, CALLED, PLANNED};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn policy_actions(policy: Policy) -> BTreeSet<String> {
    let path = support::repo_root().join("config/iam").join(policy.file());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let document: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(document["Version"], "2012-10-17", "{}", path.display());
    let mut actions = BTreeSet::new();
    for statement in document["Statement"].as_array().expect("Statement") {
        assert_eq!(statement["Effect"], "Allow", "{}", path.display());
        match &statement["Action"] {
            Value::String(action) => {
                actions.insert(action.clone());
            }
            Value::Array(list) => {
                actions.extend(list.iter().filter_map(Value::as_str).map(str::to_owned))
            }
            other => panic!("{}: Action {other}", path.display()),
        }
    }
    for action in &actions {
        assert!(
            !action.contains('*'),
            "{}: wildcard action {action}",
            path.display()
        );
    }
    actions
}

const POLICIES: [Policy; 3] = [Policy::ReadOnly, Policy::Write, Policy::AssumeRoles];

#[test]
fn every_policy_grants_its_operations_actions_and_nothing_else() {
    let needed: Vec<&Operation> = CALLED.iter().chain(PLANNED).collect();
    for policy in POLICIES {
        let granted = policy_actions(policy);
        let wanted: BTreeSet<String> = needed
            .iter()
            .filter(|op| op.policy == policy)
            .flat_map(|op| op.iam.iter().map(|a| (*a).to_owned()))
            .collect();
        let missing: Vec<_> = wanted.difference(&granted).collect();
        assert!(
            missing.is_empty(),
            "config/iam/{} lacks {missing:?}",
            policy.file()
        );
        let extra: Vec<_> = granted.difference(&wanted).collect();
        assert!(
            extra.is_empty(),
            "config/iam/{} grants {extra:?}, which no operation in src/aws/operations.rs needs",
            policy.file()
        );
    }
    let write = policy_actions(Policy::Write);
    assert!(
        write
            .iter()
            .all(|a| a.starts_with("ec2:Authorize") || a.starts_with("ec2:Revoke")),
        "the write policy only changes security-group ingress: {write:?}"
    );
}

#[test]
fn the_trust_policies_name_the_operator_and_its_service_account() {
    let read = |name: &str| -> Value {
        let path = support::repo_root().join("config/iam").join(name);
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    };
    let cross = read("trust-cross-account.json");
    assert_eq!(cross["Statement"][0]["Action"], "sts:AssumeRole");
    assert_eq!(
        cross["Statement"][0]["Condition"]["StringEquals"]["sts:RoleSessionName"],
        sg_tightener::aws::clients::SESSION_NAME,
        "the session name the operator uses"
    );
    let irsa = read("trust-irsa.json");
    assert_eq!(
        irsa["Statement"][0]["Action"],
        "sts:AssumeRoleWithWebIdentity"
    );
    let sub = &irsa["Statement"][0]["Condition"]["StringEquals"]["OIDC_PROVIDER:sub"];
    assert_eq!(
        sub, "system:serviceaccount:sg-tightener:sg-tightener",
        "the chart's default ServiceAccount"
    );
    let pod_identity = read("trust-pod-identity.json");
    assert_eq!(
        pod_identity["Statement"][0]["Principal"]["Service"],
        "pods.eks.amazonaws.com"
    );
}

/// Every `aws-sdk-*` crate's operations (`src/operation/<snake_case>/` in its source), found
/// through `cargo metadata`.
fn sdk_operations() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--manifest-path",
        ])
        .arg(support::repo_root().join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let mut services = BTreeMap::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().unwrap_or_default();
        let Some(sdk) = name.strip_prefix("aws-sdk-") else {
            continue;
        };
        let manifest = PathBuf::from(package["manifest_path"].as_str().expect("manifest_path"));
        let dir = manifest.parent().expect("crate dir").join("src/operation");
        let operations: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter_map(|file| file.strip_suffix(".rs").map(str::to_owned).or(Some(file)))
            .collect();
        services.insert(sdk.to_owned(), operations);
    }
    services
}

/// `.method()` calls in `text`, test modules cut off.
fn method_calls(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let call = regex::Regex::new(r"\.([a-z][a-z0-9_]*)\(\)").unwrap();
    call.captures_iter(code).map(|c| c[1].to_owned()).collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if path.is_dir() && name != "tests" && name != "fake" {
            rust_files(&path, out);
        } else if name.ends_with(".rs") && name != "fake.rs" && name != "tests.rs" {
            out.push(path);
        }
    }
}

#[test]
fn every_sdk_operation_called_in_src_aws_is_listed() {
    let services = sdk_operations();
    assert!(
        services.contains_key("ec2") && services["ec2"].contains("describe_security_groups"),
        "{:?}",
        services.keys()
    );
    let mut files = Vec::new();
    rust_files(&support::repo_root().join("src/aws"), &mut files);
    let mut found = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // The SDK crates this file names; a method counts when one of them has that operation.
        let named: Vec<&String> = services
            .keys()
            .filter(|sdk| text.contains(&format!("aws_sdk_{sdk}")))
            .collect();
        for method in method_calls(&text) {
            for sdk in named.iter().filter(|sdk| services[**sdk].contains(&method)) {
                found.insert((
                    sdk.to_string(),
                    operation_name(&method),
                    file.display().to_string(),
                ));
            }
        }
    }
    assert!(found.len() >= 10, "the scan finds too little: {found:?}");
    for (sdk, operation, file) in &found {
        let listed = CALLED
            .iter()
            .any(|op| op.sdk == sdk && op.name == operation);
        assert!(
            listed,
            "{file} calls {sdk} {operation}, which is not in CALLED in src/aws/operations.rs \
             (add it there and its IAM actions to config/iam/)"
        );
        let planned = PLANNED
            .iter()
            .any(|op| op.sdk == sdk && op.name == operation);
        assert!(
            !planned,
            "{sdk} {operation} is called now: move it from PLANNED to CALLED"
        );
    }
}
