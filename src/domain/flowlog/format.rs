//! Domain layer (pure): flow-log record formats — the v2 default field list and custom formats
//! named by a header line — reduced to the column roles the parser needs.

use super::FlowLogError;

/// The fields of the default (version 2) format, in order.
pub const DEFAULT_V2_FIELDS: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
];

/// The field names of a `LogFormat` (`${version} ${srcaddr}` → `version`, `srcaddr`), in order.
pub fn log_format_fields(text: &str) -> impl Iterator<Item = &str> {
    text.split_ascii_whitespace().map(|field| {
        field
            .strip_prefix("${")
            .and_then(|f| f.strip_suffix('}'))
            .unwrap_or(field)
    })
}

/// What a column means to the parser. Columns the parser does not need are `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Src = 0,
    Dst,
    PktSrc,
    PktDst,
    Interface,
    DstPort,
    Protocol,
    Start,
    End,
    Action,
    Status,
    Other,
}

/// Number of roles that carry a value (every role but `Other`).
pub(crate) const ROLES: usize = Role::Other as usize;

impl Role {
    /// The role of a field named as in a log format (`pkt-srcaddr`) or as a Parquet or Athena
    /// column (`pkt_srcaddr`: AWS writes the same names with underscores there).
    pub(crate) fn of(name: &str) -> Role {
        if name.contains('_') {
            return Role::of(&name.replace('_', "-"));
        }
        match name {
            "srcaddr" => Role::Src,
            "dstaddr" => Role::Dst,
            "pkt-srcaddr" => Role::PktSrc,
            "pkt-dstaddr" => Role::PktDst,
            "interface-id" => Role::Interface,
            "dstport" => Role::DstPort,
            "protocol" => Role::Protocol,
            "start" => Role::Start,
            "end" => Role::End,
            "action" => Role::Action,
            "log-status" => Role::Status,
            _ => Role::Other,
        }
    }
}

/// A record format: the role of each column, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    roles: Vec<Role>,
}

impl Default for Format {
    fn default() -> Self {
        Format::from_fields(DEFAULT_V2_FIELDS.iter().copied())
            .expect("the v2 default format is complete")
    }
}

impl Format {
    /// The default (version 2) format, used when a stream has no header line (CloudWatch Logs).
    pub fn default_v2() -> Format {
        Format::default()
    }

    /// A format from field names in column order (`srcaddr`, `pkt-dstaddr`, …). Unknown names are
    /// kept as columns the parser ignores. Fails when an address, `dstport` or `protocol` is missing.
    pub fn from_fields<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Format, FlowLogError> {
        let format = Format {
            roles: names.into_iter().map(Role::of).collect(),
        };
        let missing: Vec<&'static str> = [
            (format.has(Role::Src) || format.has(Role::PktSrc), "srcaddr"),
            (format.has(Role::Dst) || format.has(Role::PktDst), "dstaddr"),
            (format.has(Role::DstPort), "dstport"),
            (format.has(Role::Protocol), "protocol"),
        ]
        .into_iter()
        .filter_map(|(present, name)| (!present).then_some(name))
        .collect();
        if missing.is_empty() {
            Ok(format)
        } else {
            Err(FlowLogError::MissingFields { missing })
        }
    }

    /// A format from a flow log's `LogFormat` as EC2 reports it (`${version} ${srcaddr} …`);
    /// bare field names are accepted too.
    pub fn from_log_format(text: &str) -> Result<Format, FlowLogError> {
        Format::from_fields(log_format_fields(text))
    }

    /// True when this is the default (version 2) format.
    pub fn is_default_v2(&self) -> bool {
        *self == Format::default()
    }

    /// A format from a header line (field names separated by spaces).
    pub fn from_header(line: &str) -> Result<Format, FlowLogError> {
        Format::from_fields(line.split_ascii_whitespace())
    }

    /// True when `line` is a header line: it names a source and a destination address field.
    /// Record lines never contain these words (their values are addresses or `-`).
    pub fn is_header(line: &[u8]) -> bool {
        let mut source = false;
        let mut destination = false;
        for token in super::record::tokens(line) {
            source |= token == b"srcaddr" || token == b"pkt-srcaddr";
            destination |= token == b"dstaddr" || token == b"pkt-dstaddr";
        }
        source && destination
    }

    /// Number of columns a record must have.
    pub fn width(&self) -> usize {
        self.roles.len()
    }

    /// True when the format has `start` (and so can be selected by time).
    pub fn has_start(&self) -> bool {
        self.has(Role::Start)
    }

    /// True when the format has `action` (and so can be selected by ACCEPT/REJECT).
    pub fn has_action(&self) -> bool {
        self.has(Role::Action)
    }

    pub(crate) fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub(crate) fn roles(&self) -> &[Role] {
        &self.roles
    }
}
