//! e2e: end-to-end tests against a real kube-apiserver + etcd and moto_server, the operator
//! binary as a process (DESIGN §10). Run through `make e2e`; how to add a scenario: docs/testing.md.

mod support;

mod athena;
mod aws;
mod breakglass;
mod breakglass_cli;
mod breakglass_flows;
mod breakglass_invalid;
mod breakglass_refcount;
mod chart;
mod chart_access;
mod chart_audit;
mod compaction;
mod crds;
mod operator;
mod orgscan;
mod orgscan_faults;
mod samples;
mod tightening;
mod tightening_athena;
mod tightening_claims;
mod tightening_crash;
mod tightening_diagnose;
mod tightening_evidence;
mod tightening_formats;
mod tightening_guards;
mod tightening_leader;
mod tightening_limits;
mod tightening_readmit;
mod tightening_revert;
mod tightening_shared;
