//! Domain layer (pure): flow-log record parsing (v2 default and custom header formats), streaming and aggregating.
