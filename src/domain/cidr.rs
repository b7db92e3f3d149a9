//! Domain layer (pure): CIDR collapse, force-fit, RFC 1918 home blocks, address counting.
