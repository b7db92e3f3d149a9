# sg-tightener — the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: test unit lint e2e lint-e2e bench bench-cli demo fmt crds chart release image measure-orgscan measure-evidence

## test: everything CI runs — formatting, lints, unit + property tests, end-to-end tests, and
## the demo (so the README's first command cannot break unnoticed)
test: lint unit e2e demo

unit:
	$(CARGO) test --all-targets

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

## e2e: end-to-end tests in a private test environment (started, then always torn down;
## SGT_TESTENV_DIR=<dir of a running one> shares it instead). See docs/testing.md.
# Built before the environment starts: a compile error, or a wait for the target directory's
# lock, does not keep three servers idling.
e2e: tools lint-e2e
	$(CARGO) test --test e2e --no-run
	scripts/with-testenv.sh $(CARGO) test --test e2e

## lint-e2e: clippy on e2e/ (`test = false` keeps it out of `clippy --all-targets`)
lint-e2e:
	$(CARGO) clippy --test e2e --test measure_orgscan --test measure_evidence -- -D warnings

## measure-orgscan: an OrgRiskScan of 50 accounts x 2 regions in moto; prints scan time, AWS
## calls per account and the operator's peak RSS (numbers for the README, no timed assertion)
measure-orgscan: tools
	$(CARGO) test --test measure_orgscan --no-run
	scripts/with-testenv.sh $(CARGO) test --test measure_orgscan -- --nocapture

## measure-evidence: 1, 20 and 100 tightenings on one central bucket of 30 daily objects in
## moto; prints time until all are planned, GetObject/ListObjectsV2 calls and the operator's peak
## RSS (numbers for the README, no timed assertion); MEASURE_FLAGS=--release for the release operator
measure-evidence: tools
	$(CARGO) test $(MEASURE_FLAGS) --test measure_evidence --no-run
	scripts/with-testenv.sh $(CARGO) test $(MEASURE_FLAGS) --test measure_evidence -- --nocapture

## bench: criterion benchmarks (collapse scaling, flow-log parse throughput, Parquet read
## throughput, `analyse` beside zcat), after the evidence fleet measurement (measure-evidence)
bench: measure-evidence
	$(CARGO) bench --bench collapse --bench flowlog_parse --bench flowlog_parquet --bench cli_analyse

## bench-cli: `analyse` on 3 M generated gzip records beside `zcat` (a table), then criterion on
## 300 k; scripts/time-analyse.sh FILE.gz does the same for a real file with the release binary
bench-cli:
	$(CARGO) bench --bench cli_analyse

fmt:
	$(CARGO) fmt

## demo: the main job end to end on local defaults (see README)
demo: tools
	$(CARGO) build
	scripts/demo-offline.sh
	scripts/with-testenv.sh scripts/demo-operator.sh

## crds: regenerate crds/ and charts/sg-tightener/crds/ from the Rust types in src/crd/
crds:
	SG_TIGHTENER_WRITE_CRDS=1 $(CARGO) test --test crd_sync

## chart: helm lint + helm template of charts/sg-tightener (HELM=path/to/helm, default: helm on PATH)
HELM ?= helm
chart:
	$(HELM) lint charts/sg-tightener
	$(HELM) template sg-tightener charts/sg-tightener --namespace sg-tightener > /dev/null
	$(HELM) template sg-tightener charts/sg-tightener --namespace sg-tightener \
		--set metrics.serviceMonitor.enabled=true --set config.leaderElection.enabled=false > /dev/null

## release: the binary the image ships — a locked release build (the Dockerfile runs this command)
release:
	$(CARGO) build --release --locked --bin sg-tightener

## image: the controller image (needs docker or another BuildKit builder; IMAGE=registry/name:tag)
IMAGE ?= sg-tightener:$(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
DOCKER ?= docker
image:
	$(DOCKER) build -t $(IMAGE) .

# tools, testenv-up, testenv-down, testenv-env, smoke: the e2e test environment
include mk/testenv.mk
