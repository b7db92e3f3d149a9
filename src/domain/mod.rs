//! Domain layer (pure): the deciding core. Depends on std, ipnet, serde, jiff (as data), sha2,
//! thiserror and flate2 only — never on kube, aws-sdk, tokio or the clock (time is passed in).

pub mod breakglass;
pub mod cidr;
pub mod conditions;
pub mod evidence;
pub mod flowlog;
pub mod network;
pub mod plan;
pub mod risk;
pub mod rules;
pub mod snapshot;
pub mod tightening;
