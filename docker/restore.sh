#!/usr/bin/env bash
# Restore a backup made by docker/backup.sh into a stack, typically a fresh one on a new host:
# the database is replaced (pg_restore --clean), the data directory gets the backup's files.
#   docker/restore.sh /backups/tps-2026-11-30
# Same compose settings as the stack (COMPOSE_FILE, COMPOSE_PROFILES, COMPOSE_PROJECT_NAME, the
# database password file: the stack's own, not the backup's). The API and the workers are
# stopped meanwhile; start them again with `docker compose up -d`, which migrates a backup of
# an older release to this one (tps db upgrade, on the API's start).
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:?usage: docker/restore.sh BACKUP_FOLDER}
COMPOSE=(docker compose)
docker compose version >/dev/null 2>&1 || COMPOSE=(docker-compose)
( cd "$src" && sha256sum --quiet -c SHA256SUMS ) || { echo "$src is damaged or incomplete" >&2; exit 1; }
"${COMPOSE[@]}" up -d postgres
for _ in $(seq 60); do
  "${COMPOSE[@]}" exec -T postgres pg_isready -U tps -d tps >/dev/null 2>&1 && break
  sleep 1
done
# Nothing may write while the database and the files are replaced.
"${COMPOSE[@]}" stop api worker worker-cpu >/dev/null 2>&1 || true
"${COMPOSE[@]}" exec -T postgres pg_restore -U tps -d tps --clean --if-exists --no-owner \
  --single-transaction <"$src/tps.pgdump"
"${COMPOSE[@]}" run --rm --no-deps -T --entrypoint sh api -c \
  'find /data -mindepth 1 -delete && tar -C /data -xf -' <"$src/data.tar"
echo "restored $src; start the stack: docker compose up -d (with your profile)"
