//! Domain layer (pure): break-glass rules from explicit CIDRs or rejected flows, AWS service prefixes.
