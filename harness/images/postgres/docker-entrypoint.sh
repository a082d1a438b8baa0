#!/usr/bin/env bash
# Entrypoint of harness-local/pgvector:pg18 -- the subset of the official postgres image's
# docker-entrypoint.sh (github.com/docker-library/postgres) that the harness relies on:
#   POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless
#   POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_DB (default $POSTGRES_USER),
#   POSTGRES_HOST_AUTH_METHOD (default scram-sha-256), POSTGRES_INITDB_ARGS,
#   PGDATA (default /var/lib/postgresql/data), /docker-entrypoint-initdb.d/*.sql|*.sh.
# `docker run IMAGE [postgres] [-c name=value ...]` ends in `exec postgres ...` as user
# postgres, so postgres is PID 1 and receives docker's signals directly.
set -Eeuo pipefail

# `docker run IMAGE -c fsync=off` means `docker run IMAGE postgres -c fsync=off`
if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
# anything else (bash, psql, ...) runs as is
if [ "$1" != postgres ]; then exec "$@"; fi

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
if [ "$(id -u)" = 0 ]; then
	# PGDATA may be a fresh volume or tmpfs owned by root: initdb wants postgres:postgres 0700
	mkdir -p "$PGDATA"
	chown postgres:postgres "$PGDATA"
	chmod 0700 "$PGDATA"
	exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	export POSTGRES_USER="${POSTGRES_USER:-postgres}"
	export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
	auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
	pwfile=()
	if [ -n "${POSTGRES_PASSWORD:-}" ]; then
		pwfile=(--pwfile=/dev/stdin)
	elif [ "$auth" != trust ]; then
		echo >&2 'error: database is uninitialized and POSTGRES_PASSWORD is not set;'
		echo >&2 '       set it (-e POSTGRES_PASSWORD=...) or use -e POSTGRES_HOST_AUTH_METHOD=trust'
		exit 1
	fi
	# shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is word-split on purpose, like upstream
	printf '%s\n' "${POSTGRES_PASSWORD:-}" | initdb --username="$POSTGRES_USER" "${pwfile[@]}" \
		-E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-}
	echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
	echo "host all all all $auth" >>"$PGDATA/pg_hba.conf"

	# temporary socket-only server to create the database and run init scripts
	pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
	export PGUSER="$POSTGRES_USER"  # for init scripts
	psql=(psql -v ON_ERROR_STOP=1 -X -q --no-password)
	if [ "$POSTGRES_DB" != postgres ]; then
		"${psql[@]}" --dbname=postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
	fi
	shopt -s nullglob
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh) echo "running $f"; bash "$f" ;;
			*.sql) echo "running $f"; "${psql[@]}" --dbname="$POSTGRES_DB" -f "$f" ;;
			*) echo "ignoring $f" ;;
		esac
	done
	pg_ctl -D "$PGDATA" -m fast -w stop
	echo 'PostgreSQL init process complete; ready for start up.'
fi

exec "$@"
