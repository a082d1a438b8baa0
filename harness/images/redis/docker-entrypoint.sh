#!/bin/sh
# Entrypoint of harness-local/redis:7 -- mirrors the official redis image's entrypoint
# (github.com/docker-library/redis): `docker run IMAGE [redis-server] [file.conf] [--opt val ...]`,
# runs redis-server as user redis (exec, so it is PID 1 and gets docker's signals).
# The official image compiles redis with protected mode off; Debian's redis-server has it on,
# which refuses connections arriving through `-p` port mappings. So unless protected-mode is
# set on the command line or in the given config file, `--protected-mode no` is appended.
set -e

# `docker run IMAGE --port 7000` or `docker run IMAGE /path/redis.conf` mean redis-server ...
case "$1" in -*|*.conf) set -- redis-server "$@" ;; esac

if [ "$1" = redis-server ]; then
	if [ "$(id -u)" = 0 ]; then
		find . \! -user redis -exec chown redis '{}' +
		exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
	fi
	configured=
	for arg in "$@"; do
		case "$arg" in --protected-mode) configured=1 ;; esac
		if [ -r "$arg" ] && [ -f "$arg" ] && grep -qiE '^[[:space:]]*protected-mode[[:space:]]' "$arg"; then configured=1; fi
	done
	[ -n "$configured" ] || set -- "$@" --protected-mode no
	[ "$(umask)" != 0022 ] || umask 0077
fi

exec "$@"
