//! CRD layer: reusable OpenAPI schemas for validated strings (regions, ids, CIDRs, ports,
//! durations, hashes), used through `#[schemars(schema_with = "…")]`. Depends on schemars only.
//!
//! Simple shapes are OpenAPI `pattern`s (free for the API server); checks a pattern cannot express
//! well (CIDR arithmetic, port ranges) are CEL rules with a message. Every string and list that a CEL
//! rule reads carries `maxLength` / `maxItems`, so the API server's CEL cost estimate stays within
//! its budget. The API server prefixes each message with the field's path
//! (`spec.evidence.excludeSources[0]: Invalid value: …`), so messages need not repeat it.

use schemars::{json_schema, Schema, SchemaGenerator};

/// AWS region names: `af-south-1`, `us-gov-west-1`, `cn-north-1`, `eu-central-2`.
pub const REGION_PATTERN: &str = "^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$";
/// AWS account ids: exactly twelve digits.
pub const ACCOUNT_ID_PATTERN: &str = "^[0-9]{12}$";
/// IAM role ARNs in any partition, with an optional path.
pub const ROLE_ARN_PATTERN: &str =
    "^arn:aws(-cn|-us-gov|-iso|-iso-[a-z])?:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}$";
/// Security-group ids: `sg-` and 8 or 17 lowercase hex digits.
pub const GROUP_ID_PATTERN: &str = "^sg-([0-9a-f]{8}|[0-9a-f]{17})$";
/// VPC ids: `vpc-` and 8 or 17 lowercase hex digits.
pub const VPC_ID_PATTERN: &str = "^vpc-([0-9a-f]{8}|[0-9a-f]{17})$";
/// Go-style durations in whole hours, minutes and seconds: `72h`, `15m`, `1h30m`.
pub const DURATION_PATTERN: &str = "^([0-9]{1,6}(h|m|s))+$";
/// Organizations parents: the root (`r-…`) or an organizational unit (`ou-…-…`).
pub const PARENT_ID_PATTERN: &str = "^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[0-9a-z]{8,32})$";
/// IAM role names (no path).
pub const ROLE_NAME_PATTERN: &str = "^[A-Za-z0-9_+=,.@-]{1,64}$";
/// STS external ids (2–1224 characters: the length is `minLength`/`maxLength`, because the API
/// server's Go regular expressions allow repeat counts up to 1000 only).
pub const EXTERNAL_ID_PATTERN: &str = "^[A-Za-z0-9_+=,.@:/-]+$";
/// S3 bucket names (the general-purpose rules, without the dotted-IP exclusion).
pub const BUCKET_PATTERN: &str = "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$";
/// CloudWatch Logs group names.
pub const LOG_GROUP_PATTERN: &str = "^[.\\-_/#A-Za-z0-9]{1,512}$";
/// A flow log's `LogFormat`: `${field}` names separated by single spaces.
pub const LOG_FORMAT_PATTERN: &str = "^\\$\\{[a-z0-9-]+\\}( \\$\\{[a-z0-9-]+\\})*$";
/// Characters EC2 accepts in a rule description (the break-glass reason goes into one).
pub const DESCRIPTION_PATTERN: &str = "^[A-Za-z0-9. _:/()#,@\\[\\]+=&;{}!$*-]+$";

/// Longest IPv4 CIDR text: `255.255.255.255/32`.
const CIDR_MAX_LENGTH: u32 = 18;

/// CEL: an IPv4 CIDR with a prefix of 0–32 and valid octets.
const CIDR_RULE: &str = "isCIDR(self) && cidr(self).ip().family() == 4";
const CIDR_MESSAGE: &str =
    "must be an IPv4 CIDR: four octets 0-255 and a prefix length 0-32, such as 10.0.0.0/16";
/// CEL: the host bits after the prefix are zero (what EC2 stores and returns).
const CIDR_NETWORK_RULE: &str = "!isCIDR(self) || cidr(self).masked() == cidr(self)";
const CIDR_NETWORK_MESSAGE: &str =
    "must be a network address with zero host bits, such as 10.0.0.0/16 rather than 10.0.0.1/16";

/// A required-shape string with a regular expression.
fn pattern(pattern: &str, max_length: u32) -> Schema {
    json_schema!({ "type": "string", "pattern": pattern, "maxLength": max_length })
}

/// A list of strings with a per-item schema.
fn list_of(items: Schema, max_items: u32) -> Schema {
    json_schema!({ "type": "array", "items": items, "maxItems": max_items })
}

/// `region`: an AWS region name.
pub fn region(_: &mut SchemaGenerator) -> Schema {
    pattern(REGION_PATTERN, 32)
}

/// `regions`: one to forty AWS region names.
pub fn regions(_: &mut SchemaGenerator) -> Schema {
    let mut schema = list_of(pattern(REGION_PATTERN, 32), 40);
    schema.insert("minItems".into(), 1.into());
    schema.insert("x-kubernetes-list-type".into(), "set".into());
    schema
}

/// `accountId`: twelve digits.
pub fn account_id(_: &mut SchemaGenerator) -> Schema {
    pattern(ACCOUNT_ID_PATTERN, 12)
}

/// `accounts`: up to 1000 account ids, no duplicates.
pub fn account_ids(_: &mut SchemaGenerator) -> Schema {
    let mut schema = list_of(pattern(ACCOUNT_ID_PATTERN, 12), 1000);
    schema.insert("x-kubernetes-list-type".into(), "set".into());
    schema
}

/// `roleArn`: an IAM role ARN.
pub fn role_arn(_: &mut SchemaGenerator) -> Schema {
    pattern(ROLE_ARN_PATTERN, 600)
}

/// `roleName`: an IAM role name.
pub fn role_name(_: &mut SchemaGenerator) -> Schema {
    pattern(ROLE_NAME_PATTERN, 64)
}

/// `externalId`: an STS external id.
pub fn external_id(_: &mut SchemaGenerator) -> Schema {
    let mut schema = pattern(EXTERNAL_ID_PATTERN, 1224);
    schema.insert("minLength".into(), 2.into());
    schema
}

/// `groupIds` / `groups.ids`: up to 100 security-group ids, no duplicates.
pub fn group_ids(_: &mut SchemaGenerator) -> Schema {
    let mut schema = list_of(pattern(GROUP_ID_PATTERN, 20), 100);
    schema.insert("x-kubernetes-list-type".into(), "set".into());
    schema
}

/// `groups.vpcIds`: up to 50 VPC ids, no duplicates.
pub fn vpc_ids(_: &mut SchemaGenerator) -> Schema {
    let mut schema = list_of(pattern(VPC_ID_PATTERN, 21), 50);
    schema.insert("x-kubernetes-list-type".into(), "set".into());
    schema
}

/// `groups.tags`: up to 50 tag key/value pairs, all of which a group must carry.
pub fn tags(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "maxProperties": 50,
        "additionalProperties": { "type": "string", "maxLength": 256 }
    })
}

/// One IPv4 CIDR in network form, checked with the Kubernetes CEL `cidr` library.
pub fn cidr(_: &mut SchemaGenerator) -> Schema {
    cidr_schema()
}

fn cidr_schema() -> Schema {
    json_schema!({
        "type": "string",
        "maxLength": CIDR_MAX_LENGTH,
        "x-kubernetes-validations": [
            { "rule": CIDR_RULE, "message": CIDR_MESSAGE },
            { "rule": CIDR_NETWORK_RULE, "message": CIDR_NETWORK_MESSAGE }
        ]
    })
}

/// A list of up to 200 IPv4 CIDRs, no duplicates.
pub fn cidrs(_: &mut SchemaGenerator) -> Schema {
    let mut schema = list_of(cidr_schema(), 200);
    schema.insert("x-kubernetes-list-type".into(), "set".into());
    schema
}

/// Break-glass CIDRs: one to 60, never `0.0.0.0/0` (the controller also enforces the configured
/// `breakGlass.broadestPrefix`).
pub fn breakglass_cidrs(_: &mut SchemaGenerator) -> Schema {
    let mut item = cidr_schema();
    let rules = item
        .get_mut("x-kubernetes-validations")
        .and_then(|rules| rules.as_array_mut())
        .expect("cidr schema has rules");
    rules.push(serde_json::json!({
        "rule": "!isCIDR(self) || cidr(self).prefixLength() > 0",
        "message": "0.0.0.0/0 is never allowed in a break-glass rule"
    }));
    let mut schema = list_of(item, 60);
    schema.insert("minItems".into(), 1.into());
    schema.insert("x-kubernetes-list-type".into(), "set".into());
    schema
}

/// CEL: `ports` (a CEL string expression that matched `[0-9]{1,5}(-[0-9]{1,5})?`) runs from low to
/// high and its high end is at most 65535 (for a single port both ends are the port).
fn port_range_rule(ports: &str) -> String {
    let parts = format!("{ports}.split('-')");
    let high = format!("int({parts}[size({parts}) - 1])");
    format!("int({parts}[0]) <= {high} && {high} <= 65535")
}

const PORT_RANGE_MESSAGE: &str = "ports must be 0-65535 and a range must run from low to high";

/// Break-glass port specs: `all`, `icmp`, `tcp:P`, `tcp:A-B`, `udp:P`, `udp:A-B`.
pub fn port_specs(_: &mut SchemaGenerator) -> Schema {
    let shape = "^(tcp|udp):[0-9]{1,5}(-[0-9]{1,5})?$";
    let rule = format!(
        "!self.matches('{shape}') || ({})",
        port_range_rule("self.split(':')[1]")
    );
    let item = json_schema!({
        "type": "string",
        "maxLength": 15,
        "pattern": "^(all|icmp|(tcp|udp):[0-9]{1,5}(-[0-9]{1,5})?)$",
        "x-kubernetes-validations": [{
            "rule": rule,
            "message": format!("{PORT_RANGE_MESSAGE}, such as tcp:8000-8100")
        }]
    });
    let mut schema = list_of(item, 20);
    schema.insert("minItems".into(), 1.into());
    schema.insert("x-kubernetes-list-type".into(), "set".into());
    schema
}

/// Destination-port filters of the rejected-flow mode: `443` or `8000-8100`.
pub fn port_filters(_: &mut SchemaGenerator) -> Schema {
    let shape = "^[0-9]{1,5}(-[0-9]{1,5})?$";
    let rule = format!("!self.matches('{shape}') || ({})", port_range_rule("self"));
    let item = json_schema!({
        "type": "string",
        "maxLength": 11,
        "pattern": shape,
        "x-kubernetes-validations": [{
            "rule": rule,
            "message": format!("{PORT_RANGE_MESSAGE}, such as 8000-8100")
        }]
    });
    let mut schema = list_of(item, 20);
    schema.insert("x-kubernetes-list-type".into(), "set".into());
    schema
}

/// A duration such as `72h`, `15m` or `1h30m`.
pub fn duration(_: &mut SchemaGenerator) -> Schema {
    pattern(DURATION_PATTERN, 32)
}

/// `approved`: empty, or the 64 lowercase hex digits of `status.plan.hash`.
pub fn plan_hash(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "maxLength": 64,
        "x-kubernetes-validations": [{
            "rule": "self == '' || self.matches('^[0-9a-f]{64}$')",
            "message": "approved must be empty or the 64 lowercase hex digits of status.plan.hash"
        }]
    })
}

/// `parentId`: an Organizations root or OU id.
pub fn parent_id(_: &mut SchemaGenerator) -> Schema {
    pattern(PARENT_ID_PATTERN, 70)
}

/// An S3 bucket name.
pub fn bucket(_: &mut SchemaGenerator) -> Schema {
    pattern(BUCKET_PATTERN, 63)
}

/// A CloudWatch Logs group name.
pub fn log_group(_: &mut SchemaGenerator) -> Schema {
    pattern(LOG_GROUP_PATTERN, 512)
}

/// A flow log's custom `LogFormat` (`${srcaddr} ${dstaddr} …`).
pub fn log_format(_: &mut SchemaGenerator) -> Schema {
    pattern(LOG_FORMAT_PATTERN, 2000)
}

/// The break-glass `reason`: required, EC2-description characters only.
pub fn reason(_: &mut SchemaGenerator) -> Schema {
    let mut schema = pattern(DESCRIPTION_PATTERN, 200);
    schema.insert("minLength".into(), 1.into());
    schema
}

/// `status.conditions`: a list map keyed by `type` (one entry per condition type).
pub fn conditions(generator: &mut SchemaGenerator) -> Schema {
    let item = generator.subschema_for::<crate::domain::conditions::Condition>();
    json_schema!({
        "type": "array",
        "items": item,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"]
    })
}
