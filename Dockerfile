# cleave's image: one binary that runs every module (`--role=all`, the default) or one
# module per container (`--role=orders`).
#
#   docker build -t cleave .
#
# Offline, where no registry can be reached: make a Debian base from Debian's packages,
# build the binary on the host (Debian 12, the same glibc), and let the image take it:
#
#   scripts/docker-base.sh                 # makes cleave-base:bookworm
#   cargo build --release --locked
#   docker build -t cleave \
#     --build-arg BUILD_IMAGE=cleave-base:bookworm \
#     --build-arg RUNTIME_IMAGE=cleave-base:bookworm \
#     --build-arg CLEAVE_BINARY=target/release/cleave .
#
# Only the classic builder is assumed (no BuildKit syntax). It runs every stage, so the
# build stage skips cargo altogether when CLEAVE_BINARY names a binary built on the host.

ARG BUILD_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${BUILD_IMAGE} AS build
ARG CLEAVE_BINARY=
WORKDIR /src

# Dependencies first, compiled against empty crates in a layer of their own: it is
# rebuilt only when a manifest or the lock file changes, not on every change to the code.
COPY Cargo.toml Cargo.lock ./
COPY modules/platform/Cargo.toml modules/platform/
COPY modules/users/Cargo.toml modules/users/
COPY modules/users/api/Cargo.toml modules/users/api/
COPY modules/orders/Cargo.toml modules/orders/
COPY modules/orders/api/Cargo.toml modules/orders/api/
COPY modules/payments/Cargo.toml modules/payments/
COPY modules/payments/api/Cargo.toml modules/payments/api/
RUN if [ -z "$CLEAVE_BINARY" ]; then \
        for crate in modules/platform modules/users modules/users/api modules/orders \
                     modules/orders/api modules/payments modules/payments/api .; do \
            mkdir -p "$crate/src" && touch "$crate/src/lib.rs"; \
        done \
        && echo 'fn main() {}' > src/main.rs \
        && mkdir -p tests/acceptance benches \
        && touch tests/acceptance/main.rs benches/boundary.rs benches/orders_throughput.rs \
        && cargo build --release --locked --bin cleave \
        && rm -rf src modules/*/src modules/*/api/src tests benches; \
    fi

COPY . .
# The copied sources may be older than the empty crates built above: touch them so that
# cargo compiles them for real.
RUN if [ -n "$CLEAVE_BINARY" ]; then \
        install -m 0755 "$CLEAVE_BINARY" /usr/local/bin/cleave; \
    else \
        find src modules -name '*.rs' -exec touch {} + \
        && cargo build --release --locked --bin cleave \
        && install -m 0755 target/release/cleave /usr/local/bin/cleave; \
    fi

FROM ${RUNTIME_IMAGE}
COPY --from=build /usr/local/bin/cleave /usr/local/bin/cleave
# A fixed numeric user, not root; it needs no entry in /etc/passwd. The data folder is
# made here, owned by that user, so that a new named volume mounted on it is too.
RUN mkdir -p /data && chown 10001:10001 /data
USER 10001:10001
ENV CLEAVE_DATA_DIR=/data \
    CLEAVE_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
# `cleave probe` asks this container's own /readyz: the image needs no curl.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["cleave", "probe"]
ENTRYPOINT ["cleave"]
