#!/usr/bin/env bash
# Builds the real Kubernetes control plane the end-to-end tests run against —
# kube-apiserver, etcd, plus kubectl and helm — from the Go module proxy, and
# caches each under ${XDG_CACHE_HOME:-~/.cache}/sg-tightener/bin/<name>-<version>/.
# A tool is rebuilt only when it is missing or its wrapper module
# (hack/tools/*/go.mod, go.sum) or build flags changed, so a warm run is ~0 s.
#
#   scripts/build-control-plane.sh                 # all four
#   scripts/build-control-plane.sh etcd helm       # just these
#   scripts/build-control-plane.sh --print-paths   # build if needed, print NAME=PATH lines
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

ALL_TOOLS=(kube-apiserver etcd kubectl helm)

# Wrapper module directory and Go package of each tool.
tool_module() {
  case $1 in
    kube-apiserver | kubectl) printf '%s\n' "$SGT_TOOLS_SRC/kubernetes" ;;
    etcd) printf '%s\n' "$SGT_TOOLS_SRC/etcd" ;;
    helm) printf '%s\n' "$SGT_TOOLS_SRC/helm" ;;
  esac
}
tool_package() {
  case $1 in
    kube-apiserver) printf '%s\n' k8s.io/kubernetes/cmd/kube-apiserver ;;
    kubectl) printf '%s\n' k8s.io/kubernetes/cmd/kubectl ;;
    etcd) printf '%s\n' go.etcd.io/etcd/server/v3 ;;
    helm) printf '%s\n' helm.sh/helm/v3/cmd/helm ;;
  esac
}

# Version stamps the upstream release builds set; without them
# `kubectl version` says v0.0.0-master and helm assumes a v1.20 cluster.
tool_ldflags() {
  local v major minor flags="-s -w" pkg
  case $1 in
    kube-apiserver | kubectl)
      v=$KUBE_VERSION
      major=${v#v}
      major=${major%%.*}
      minor=${v#v*.}
      minor=${minor%%.*}
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
        flags+=" -X $pkg.gitTreeState=clean"
      done
      ;;
    helm)
      # As helm's own Makefile: its k8s default is derived from the client-go it uses.
      local cg
      cg=$(module_version "$SGT_TOOLS_SRC/helm" k8s.io/client-go)
      minor=${cg#v0.}
      minor=${minor%%.*}
      flags+=" -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
      flags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
      for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
        flags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
      done
      ;;
  esac
  printf '%s\n' "$flags"
}

# Identity of a build: the module's pins, the flags and the Go version.
build_stamp() {
  local mod
  mod=$(tool_module "$1")
  {
    cat "$mod/go.mod" "$mod/go.sum"
    tool_ldflags "$1"
    go env GOVERSION GOOS GOARCH
  } | sha256sum | cut -c1-16
}

check_go() {
  command -v go >/dev/null 2>&1 ||
    die "'go' is not on PATH: install Go >= 1.26 (it builds kube-apiserver, etcd, kubectl and helm)"
  local v minor
  v=$(GOTOOLCHAIN=local go env GOVERSION) # go1.26.8
  minor=${v#go1.}
  minor=${minor%%.*}
  if ! [[ $v == go1.* && $minor =~ ^[0-9]+$ ]] || ((minor < 26)); then
    die "$v is too old: the pinned kube-apiserver/etcd/helm modules need Go >= 1.26"
  fi
}

# download_modules DIR: fetch what DIR/go.sum pins; one clear line when the proxy is unreachable.
download_modules() {
  local dir=$1 out
  if ! out=$(cd "$dir" && go mod download 2>&1); then
    die "cannot fetch Go modules for $(basename "$dir") (GOPROXY=$(go env GOPROXY)): $(printf '%s\n' "$out" | tail -n1)"
  fi
}

build_tool() {
  local name=$1 dest dir stamp tmp start
  dest=$(tool_path "$name")
  dir=$(dirname "$dest")
  stamp=$(build_stamp "$name")
  if [[ -x $dest && -f $dir/.stamp && $(<"$dir/.stamp") == "$stamp" ]]; then
    log "$name $(tool_version "$name"): cached at $dest"
    return 0
  fi
  log "$name $(tool_version "$name"): building (several minutes on 2 cores when the Go build cache is cold)…"
  download_modules "$(tool_module "$name")"
  start=$SECONDS
  tmp=$(mktemp -d "$SGT_BIN_CACHE/.build-$name.XXXXXX")
  if ! (cd "$(tool_module "$name")" &&
    CGO_ENABLED=0 go build -trimpath -ldflags "$(tool_ldflags "$name")" \
      -o "$tmp/$name" "$(tool_package "$name")"); then
    rm -rf "$tmp"
    die "building $name failed (see the go output above)"
  fi
  chmod 755 "$tmp"
  printf '%s\n' "$stamp" >"$tmp/.stamp"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  log "$name $(tool_version "$name"): built in $((SECONDS - start)) s -> $dest"
}

print_paths() {
  local name var
  for name in "${ALL_TOOLS[@]}"; do
    var=${name^^}
    printf '%s=%s\n' "${var//-/_}" "$(tool_path "$name")"
  done
}

main() {
  local print=0 tools=() name
  for name in "$@"; do
    case $name in
      --print-paths) print=1 ;;
      -h | --help)
        sed -n '2,11p' "$0"
        return 0
        ;;
      kube-apiserver | etcd | kubectl | helm) tools+=("$name") ;;
      *) die "unknown argument '$name' (tools: ${ALL_TOOLS[*]}, or --print-paths)" ;;
    esac
  done
  ((${#tools[@]})) || tools=("${ALL_TOOLS[@]}")

  check_go
  # Never let a go.mod line silently download a different Go toolchain, nor
  # let the build rewrite the committed go.mod/go.sum.
  export GOTOOLCHAIN=local GOFLAGS=-mod=readonly GOWORK=off
  mkdir -p "$SGT_BIN_CACHE"
  # Several test runs may start at once: one builder at a time.
  exec 9>"$SGT_BIN_CACHE/.lock"
  flock 9
  for name in "${tools[@]}"; do
    build_tool "$name"
  done
  ((print == 0)) || print_paths
}

main "$@"
