# syntax=docker/dockerfile:1
# The sg-tightener controller image: a locked release build, then a minimal runtime — distroless
# "cc" (glibc, libgcc, CA roots for AWS and the API server; no shell, no package manager) running
# as uid/gid 65532, as the Helm chart's podSecurityContext expects.
#
#   docker build -t REGISTRY/sg-tightener:0.1.0 .        (or: make image IMAGE=REGISTRY/sg-tightener:0.1.0)
#
# The builder's Debian (bookworm) matches the runtime's (debian12), so the binary's glibc is there.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
# `make release`: the same command, kept equal by tests/image.rs. --locked builds exactly the
# dependency versions in Cargo.lock that CI tested.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin sg-tightener \
    && install -D -m 0755 target/release/sg-tightener /out/sg-tightener

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/sg-tightener /usr/local/bin/sg-tightener
USER 65532:65532
# /metrics, /healthz, /readyz (the chart's http.port).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sg-tightener"]
CMD ["run", "--config", "/etc/sg-tightener/controller.yaml"]
