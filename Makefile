# sg-tightener — the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: test unit lint bench demo fmt crds

## test: everything CI runs — formatting, lints, unit + property tests
test: lint unit

unit:
	$(CARGO) test --all-targets

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

## bench: criterion benchmarks (collapse scaling, flow-log parse throughput)
bench:
	$(CARGO) bench --bench collapse --bench flowlog_parse

fmt:
	$(CARGO) fmt

## crds: regenerate crds/ and charts/sg-tightener/crds/ from the Rust types in src/crd/
crds:
	SG_TIGHTENER_WRITE_CRDS=1 $(CARGO) test --test crd_sync
