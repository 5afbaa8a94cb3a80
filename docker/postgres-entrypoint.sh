#!/bin/sh
# Entry point of the local PostgreSQL stand-in (docker/build-base-images.sh). It honours the
# same variables as the official image (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA),
# so either image serves docker-compose.yml. It runs as the postgres user, never as root.
set -eu
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then  # a Docker secret, as the official image reads it
  [ -s "$POSTGRES_PASSWORD_FILE" ] || { echo "no password in $POSTGRES_PASSWORD_FILE" >&2; exit 78; }
  POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
fi
if [ "${1:-}" = "postgres" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE must be set}"
  user=${POSTGRES_USER:-postgres}
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  db=${POSTGRES_DB:-$user}
  if [ "$db" != "postgres" ]; then
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    createdb --username="$user" "$db"
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  echo "initialised $PGDATA for user $user, database $db"
fi
exec "$@"
