#!/usr/bin/env bash
# Back up a running stack into a new folder: the job database (pg_dump, custom format) and the
# data directory (slides, results) as a tar. Keys, labs, slides' records, jobs and results are
# all in these two; Redis holds only the queue, which the reconciler rebuilds from the database.
#   docker/backup.sh /backups/tps-$(date +%F)
# Run it with the same compose settings as the stack (COMPOSE_FILE, COMPOSE_PROFILES,
# COMPOSE_PROJECT_NAME, the .env file). The database goes first: a job that finishes during the
# copy has its files in the tar and is scored again after a restore, never the other way round.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:?usage: docker/backup.sh NEW_FOLDER}
COMPOSE=(docker compose)
docker compose version >/dev/null 2>&1 || COMPOSE=(docker-compose)
[[ -e $dest ]] && { echo "$dest exists: give a new folder" >&2; exit 1; }
mkdir -p "$dest"
"${COMPOSE[@]}" exec -T postgres pg_dump -U tps -d tps --format=custom >"$dest/tps.pgdump"
# Any container that mounts /data will do; the api is always there.
"${COMPOSE[@]}" exec -T api tar -C /data -cf - . >"$dest/data.tar"
"${COMPOSE[@]}" exec -T api tps db current >"$dest/revision.txt" 2>&1 || true
( cd "$dest" && sha256sum tps.pgdump data.tar >SHA256SUMS )
echo "backup in $dest: $(du -sh "$dest" | cut -f1) (database $(du -h "$dest/tps.pgdump" | cut -f1))"
