//! Controller layer: the names and commands a change shows the user — the approve and revert
//! commands, the manifest ConfigMap's name, the description on authorised rules. All pure.

use crate::crd::short_hash;

/// The exact command that approves `hash` of the resource `short_name` (`sgt`, `sgc`) `name`.
pub fn approve_command(short_name: &str, namespace: &str, name: &str, hash: &str) -> String {
    format!(
        "kubectl -n {namespace} patch {short_name} {name} --type merge -p '{{\"spec\":{{\"approved\":\"{hash}\"}}}}'"
    )
}

/// The exact command that requests a revert.
pub fn revert_command(short_name: &str, namespace: &str, name: &str) -> String {
    format!(
        "kubectl -n {namespace} patch {short_name} {name} --type merge -p '{{\"spec\":{{\"revert\":true}}}}'"
    )
}

/// The manifest ConfigMap's name: `<short>-<name>-<hash12>`, cut to 253 characters.
pub fn manifest_name(short_name: &str, name: &str, plan_hash: &str) -> String {
    let suffix = format!("-{}", short_hash(plan_hash));
    let room = 253 - short_name.len() - 1 - suffix.len();
    let name: String = name.chars().take(room).collect();
    format!("{short_name}-{name}{suffix}")
}

/// The description put on every rule an apply authorises.
pub fn rule_description(plan_hash: &str) -> String {
    format!("sg-tightener {}", short_hash(plan_hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_commands() {
        let hash = "0123456789abcdef".repeat(4);
        assert_eq!(manifest_name("sgt", "web", &hash), "sgt-web-0123456789ab");
        assert_eq!(manifest_name("sgc", "web", &hash), "sgc-web-0123456789ab");
        assert!(manifest_name("sgt", &"n".repeat(300), &hash).len() <= 253);
        assert_eq!(
            approve_command("sgt", "payments", "web", &hash),
            format!("kubectl -n payments patch sgt web --type merge -p '{{\"spec\":{{\"approved\":\"{hash}\"}}}}'")
        );
        assert_eq!(
            revert_command("sgc", "payments", "web"),
            "kubectl -n payments patch sgc web --type merge -p '{\"spec\":{\"revert\":true}}'"
        );
        assert_eq!(rule_description(&hash), "sg-tightener 0123456789ab");
    }
}
