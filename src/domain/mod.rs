//! Domain layer (pure): the deciding core. Depends on std, ipnet, serde, thiserror, flate2 only.

pub mod cidr;
pub mod rules;
