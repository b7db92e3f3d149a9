# End-to-end test environment (docs/test-environment.md). Included by Makefile.
# TESTENV_DIR picks which environment testenv-up/-down act on (default:
# .cache/testenv/default); several can run side by side.
TESTENV_DIR ?= $(CURDIR)/.cache/testenv/default

.PHONY: tools testenv-up testenv-down testenv-env smoke

## tools: build + cache kube-apiserver, etcd, kubectl, helm; create the moto venv
tools:
	scripts/build-control-plane.sh
	scripts/moto-venv.sh

## testenv-up: start etcd + kube-apiserver + moto on 127.0.0.1 (env file: $(TESTENV_DIR)/env)
testenv-up: tools
	scripts/testenv.sh up --dir $(TESTENV_DIR)

## testenv-down: stop that environment
testenv-down:
	scripts/testenv.sh down --dir $(TESTENV_DIR)

## testenv-env: print `export` lines for it (eval "$$(make -s testenv-env)")
testenv-env:
	@scripts/testenv.sh env --dir $(TESTENV_DIR)

## smoke: prove a private environment works (CRD+CEL, SSA, helm, moto), then tear it down
smoke: tools
	scripts/smoke-testenv.sh
