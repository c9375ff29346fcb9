#!/usr/bin/env bash
# Build a Python base image from Debian's own packages, for sites where no container registry can be
# reached (so `FROM python:3.12-slim` cannot be pulled). Needs root, debootstrap and a Debian mirror
# (or a local mirror/proxy of one). The result stands in for the slim image:
#
#   deploy/base-image/build.sh                      # -> loadcluster/base:bookworm
#   docker build --build-arg BASE_IMAGE=loadcluster/base:bookworm -t loadcluster:dev .
#
# Settings (environment): BASE_IMAGE (tag to create), DEBIAN_SUITE (bookworm), DEBIAN_MIRROR
# (http://deb.debian.org/debian), CA_BUNDLE (host CA bundle copied in, default Debian's path: HTTPS
# through a site's TLS proxy, e.g. pip during `docker build`, then trusts what the host trusts).
set -euo pipefail

BASE_IMAGE=${BASE_IMAGE:-${1:-loadcluster/base:bookworm}}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

for tool in debootstrap docker tar; do
    command -v "$tool" >/dev/null || { echo "build.sh: '$tool' not found (apt-get install -y debootstrap docker.io)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "build.sh: debootstrap needs root" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "build.sh: no Docker engine answers (start dockerd)" >&2; exit 1; }

rootfs=$(mktemp -d /tmp/loadcluster-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

echo "build.sh: debootstrap $DEBIAN_SUITE from $DEBIAN_MIRROR (about a minute)"
# python3-venv brings ensurepip's wheels, so `python3 -m venv` works without python3-pip.
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$rootfs.log" 2>&1 \
    || { echo "build.sh: debootstrap failed; last lines of $rootfs.log:" >&2; tail -20 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"

if [ -f "$CA_BUNDLE" ]; then
    cp "$CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
fi
# What a runtime image does not need: package caches, docs, manuals.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/tmp/*

tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    - "$BASE_IMAGE" >/dev/null
echo "build.sh: $BASE_IMAGE ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
