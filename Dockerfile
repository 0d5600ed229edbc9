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

# Every manifest and the lock file, each crate's targets as empty files: the dependencies
# are compiled against this in a layer of their own, which is rebuilt only when a manifest
# or the lock file changes, not on every change to the code. The layer is keyed on what
# this stage leaves, which does not change with the code, however many crates there are.
FROM ${BUILD_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN find . -type f ! -name Cargo.toml ! -name Cargo.lock -delete \
    && for manifest in $(find . -name Cargo.toml); do \
           crate=$(dirname "$manifest"); \
           mkdir -p "$crate/src" && touch "$crate/src/lib.rs"; \
           sed -n 's/^path = "\(.*\)"/\1/p' "$manifest" | while read -r target; do \
               mkdir -p "$crate/$(dirname "$target")" && echo 'fn main() {}' > "$crate/$target"; \
           done; \
       done \
    && echo 'fn main() {}' > src/main.rs

FROM ${BUILD_IMAGE} AS build
ARG CLEAVE_BINARY=
WORKDIR /src
COPY --from=manifests /src ./
RUN if [ -z "$CLEAVE_BINARY" ]; then \
        cargo build --release --locked --bin cleave \
        && find . -mindepth 1 -maxdepth 1 ! -name target -exec rm -rf {} +; \
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
