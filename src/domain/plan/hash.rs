//! Domain layer (pure): canonical hashing — SHA-256 over JSON with sorted keys and no whitespace,
//! so the same value always gives the same hash (plan `hash`, `snapshotHash`, `inputsHash`).

use super::model::Plan;
use crate::domain::rules::ingress_rules;
use crate::domain::snapshot::SecurityGroup;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `value` as canonical JSON: object keys sorted, no insignificant whitespace.
pub fn canonical_json<T: Serialize>(value: &T) -> String {
    let value = serde_json::to_value(value).expect("plain data always serialises to JSON");
    let mut out = String::new();
    write_canonical(&value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (k, (key, item)) in entries.into_iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Lower-case hex SHA-256 of `value`'s canonical JSON. Use it for `inputsHash` over the spec
/// fields a plan depends on.
pub fn hash_canonical<T: Serialize>(value: &T) -> String {
    hex::encode(Sha256::digest(canonical_json(value).as_bytes()))
}

/// The hash of the live ingress rules of `groups`: per group (sorted by id) its rule strings,
/// sorted. Order of groups, permissions and ranges as AWS returns them does not matter;
/// descriptions and egress rules do not count. Recompute it from a fresh describe to detect a
/// stale plan.
pub fn snapshot_hash(groups: &[SecurityGroup]) -> String {
    let mut entries: Vec<(String, Vec<String>)> = groups
        .iter()
        .map(|group| {
            let mut rules: Vec<String> = match ingress_rules(group) {
                Ok(rules) => rules.iter().map(ToString::to_string).collect(),
                Err(_) => group.ip_permissions.iter().map(canonical_json).collect(),
            };
            rules.sort();
            (group.group_id.clone(), rules)
        })
        .collect();
    entries.sort();
    hash_canonical(&entries)
}

/// The hash a plan is approved by: its groups, summary and `snapshotHash` — never `generatedAt`,
/// `inputsHash` or `approveCommand` — so re-planning unchanged inputs keeps an approval valid.
pub fn plan_hash(plan: &Plan) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Content<'a> {
        snapshot_hash: &'a str,
        summary: &'a super::model::PlanSummary,
        groups: &'a [super::model::GroupPlan],
    }
    hash_canonical(&Content {
        snapshot_hash: &plan.snapshot_hash,
        summary: &plan.summary,
        groups: &plan.groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::{IpPermission, IpRange};
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let value = json!({"b": 1, "a": {"d": [1, {"z": 0, "y": 1}], "c": "x"}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":"x","d":[1,{"y":1,"z":0}]},"b":1}"#
        );
    }

    #[test]
    fn equal_values_hash_equal_and_different_values_do_not() {
        assert_eq!(
            hash_canonical(&json!({"a": 1, "b": 2})),
            hash_canonical(&json!({"b": 2, "a": 1}))
        );
        assert_ne!(
            hash_canonical(&json!({"a": 1})),
            hash_canonical(&json!({"a": 2}))
        );
        assert_eq!(hash_canonical(&json!(null)).len(), 64);
    }

    fn group(id: &str, cidrs: &[&str]) -> SecurityGroup {
        let ranges = cidrs
            .iter()
            .map(|c| IpRange {
                cidr_ip: c.to_string(),
                description: Some(format!("d {c}")),
            })
            .collect();
        let perm = IpPermission {
            ip_protocol: "tcp".into(),
            from_port: Some(443),
            to_port: Some(443),
            ip_ranges: ranges,
            ..Default::default()
        };
        SecurityGroup {
            group_id: id.into(),
            ip_permissions: vec![perm],
            ..Default::default()
        }
    }

    #[test]
    fn the_snapshot_hash_ignores_order_and_descriptions_but_not_rules() {
        let a = [
            group("sg-1", &["10.0.0.0/16", "10.4.0.0/16"]),
            group("sg-2", &["10.8.0.0/16"]),
        ];
        let mut b = [
            group("sg-2", &["10.8.0.0/16"]),
            group("sg-1", &["10.4.0.0/16", "10.0.0.0/16"]),
        ];
        b[1].ip_permissions[0].ip_ranges[0].description = None;
        assert_eq!(snapshot_hash(&a), snapshot_hash(&b));
        let c = [
            group("sg-1", &["10.0.0.0/16", "10.4.0.0/17"]),
            group("sg-2", &["10.8.0.0/16"]),
        ];
        assert_ne!(snapshot_hash(&a), snapshot_hash(&c));
    }

    #[test]
    fn the_plan_hash_ignores_timestamps_and_the_approve_command() {
        let mut plan = Plan {
            snapshot_hash: "s".into(),
            ..Default::default()
        };
        let before = plan_hash(&plan);
        plan.generated_at = Some("2025-01-01T00:00:00Z".into());
        plan.approve_command = Some("kubectl patch …".into());
        plan.inputs_hash = "i".into();
        assert_eq!(plan_hash(&plan), before);
        plan.snapshot_hash = "t".into();
        assert_ne!(plan_hash(&plan), before);
    }
}
