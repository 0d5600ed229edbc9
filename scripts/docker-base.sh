#!/usr/bin/env bash
# Makes a Debian base image out of Debian's packages alone, for machines whose Docker
# engine reaches no container registry: debootstrap into a folder, then `docker import`.
# The Dockerfile builds on it with
#   docker build --build-arg BUILD_IMAGE=cleave-base:bookworm \
#                --build-arg RUNTIME_IMAGE=cleave-base:bookworm \
#                --build-arg CLEAVE_BINARY=target/release/cleave -t cleave .
#
# Usage: scripts/docker-base.sh [IMAGE]   (default cleave-base:bookworm; needs root)
# Environment: SUITE (default bookworm), MIRROR (default http://deb.debian.org/debian),
# FORCE=1 to make the image again when it already exists.
set -euo pipefail

image=${1:-cleave-base:bookworm}
suite=${SUITE:-bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$image" >/dev/null 2>&1 && [ -z "${FORCE:-}" ]; then
    echo "$image already exists (FORCE=1 makes it again)"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "debootstrap needs root: run this script as root" >&2
    exit 1
fi
command -v debootstrap >/dev/null || {
    echo "debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 1
}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

debootstrap --variant=minbase "$suite" "$root" "$mirror"
# What a runtime image never reads: package lists and caches, documentation, manuals.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*

tar --numeric-owner -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$image"
docker image ls "$image"
