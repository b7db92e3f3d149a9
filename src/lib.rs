//! sg-tightener: replaces broad private-range security-group ingress rules with the tightest
//! blocks that VPC flow logs prove are in use.
//!
//! Layering (each file's `//!` line names its layer):
//! - [`domain`] is pure: plain data in, plain data out. No kube, no aws-sdk, no tokio, no clock
//!   (time is passed in). Everything that decides lives here.
//! - [`crd`] holds the Kubernetes resource types only.
//! - [`aws`] holds ports (traits speaking domain types) and the adapters on aws-sdk-*.
//! - [`controller`] runs one reconciler per kind: observe (I/O) → decide (domain) → act (I/O) → report.
//! - [`cli`] holds the offline commands, which run the domain on local files.
//! - [`report`] writes findings as CSV, XLSX and streamed JSON (OrgRiskScan and `classify`).
//! - [`config`] is the controller configuration (pure, except loading the file).
//! - [`metrics`], [`telemetry`] and [`http`] are the operator's telemetry: Prometheus registry,
//!   logs, and the `/healthz` `/readyz` `/metrics` server; [`error`] reports error chains.

pub mod aws;
pub mod cli;
pub mod config;
pub mod controller;
pub mod crd;
pub mod domain;
pub mod error;
pub mod http;
pub mod metrics;
pub mod report;
pub mod telemetry;
