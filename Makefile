# sg-tightener — the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: test unit lint bench demo fmt

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

# tools, testenv-up, testenv-down, testenv-env, smoke: the e2e test environment
include mk/testenv.mk
