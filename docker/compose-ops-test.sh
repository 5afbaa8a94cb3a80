#!/usr/bin/env bash
# The operations checks of docker-compose.yml (`make compose-ops-test`), on a project name and
# image tags of their own, so a production stack on this host is never touched:
#  1. `ps`, `logs`, `down` with no variable set; the cpu profile builds no CUDA image
#  2. the API on 127.0.0.1 only, HTTPS through the nginx proxy with a self-signed certificate;
#     Redis maxmemory with noeviction; log rotation and CPU/memory limits on every container
#  3. two CPU workers sharing one data directory score 10 jobs, each exactly once
#  4. backup, then a restore into a fresh stack: every slide, job, key and result is back
#  5. a database password that does not match the volume's is named as such
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
PY=${PY:-.venv/bin/python}
COMPOSE=(docker compose)
docker compose version >/dev/null 2>&1 || COMPOSE=(docker-compose)
WORK=$(mktemp -d)
export COMPOSE_PROJECT_NAME=tps-ops-test COMPOSE_PROFILES=cpu
export COMPOSE_FILE=docker-compose.yml:docker-compose.tls.yml:docker-compose.shared-data.yml
export TPS_API_IMAGE=tps-api:ops-test TPS_WORKER_CPU_IMAGE=tps-worker-cpu:ops-test
export TPS_WORKER_IMAGE=tps-worker:ops-test TPS_API_PORT=18100 TPS_TLS_PORT=18443
export TPS_TLS_BIND=127.0.0.1 TPS_DB_PASSWORD_FILE=$WORK/secrets/db TPS_TLS_CERT=$WORK/secrets/tls.crt
export TPS_TLS_KEY=$WORK/secrets/tls.key TPS_SHARED_DATA_DIR=$WORK/shared TPS_MODEL_DIR=$WORK/models
export TPS_MODEL_FILE=markers.onnx TPS_WORKER_CPUS=1 TPS_WORKER_MEMORY=3g
API=http://127.0.0.1:$TPS_API_PORT
HTTPS=https://localhost:$TPS_TLS_PORT
compose() { "${COMPOSE[@]}" "$@"; }
step() { echo "[$(( $(date +%s) - start )) s] $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
json() { $PY -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

cleanup() {
  local rc=$?
  [[ $rc != 0 ]] && { compose logs --tail=30 || true; }
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  docker run --rm -v "$WORK:/w" tps-base/python:3.11-bookworm rm -rf /w/shared >/dev/null 2>&1 || true
  rm -rf "$WORK"
  echo "compose-ops-test $([[ $rc == 0 ]] && echo PASSED || echo FAILED) in $(( $(date +%s) - start )) s"
}
trap cleanup EXIT

step "host prerequisites and base images"
docker/host-prereqs.sh
docker/build-base-images.sh

step "1. compose commands without any variable set"
for command in ps "logs --tail=1" down; do
  env -i PATH="$PATH" HOME="$HOME" "${COMPOSE[@]}" -p tps-ops-test $command >/dev/null \
    || fail "docker compose $command needs variables"
done
step "build (cpu profile)"
compose build api worker-cpu
docker image inspect "$TPS_WORKER_IMAGE" >/dev/null 2>&1 && fail "the cpu profile built the GPU image"
compose config --services | grep -qx worker || fail "no GPU worker service"
ort_cpu=$(docker run --rm --entrypoint python3 "$TPS_WORKER_CPU_IMAGE" -c \
  "import onnxruntime; print(onnxruntime.__version__)")
ort_gpu=$(grep -oP '^onnxruntime-gpu==\K[^ ]+' requirements/gpu.txt)
[[ $ort_cpu == "$ort_gpu" ]] || fail "CPU image onnxruntime $ort_cpu, GPU lock $ort_gpu"

step "model, slide, secrets, a self-signed certificate"
mkdir -p "$WORK/models" "$WORK/secrets" "$WORK/shared"
$PY -c "from pathlib import Path; from tests.marker_model import build_marker_model; build_marker_model(Path('$WORK/models/markers.onnx'))"
.venv/bin/tps synth slide --out "$WORK/slide.tiff" --width 1024 --height 1024 --tps 35 --seed 5 --style markers >/dev/null
$PY -c "import secrets; print(secrets.token_urlsafe(24))" >"$TPS_DB_PASSWORD_FILE"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout "$TPS_TLS_KEY" \
  -out "$TPS_TLS_CERT" -addext subjectAltName=DNS:localhost 2>/dev/null
chmod -R a+rX "$WORK"
chown 10001:10001 "$WORK/shared"  # the containers' tps user writes the shared directory

step "2. up: two workers on one shared data directory, TLS in front"
compose up -d --no-build --scale worker-cpu=2
for _ in $(seq 120); do curl -fsS "$API/healthz" >/dev/null 2>&1 && break; sleep 1; done
[[ $(compose port api 8000) == 127.0.0.1:* ]] || fail "the API is not bound to 127.0.0.1"
curl -fsS --cacert "$TPS_TLS_CERT" "$HTTPS/healthz" >/dev/null || fail "no HTTPS through the proxy"
curl -fsS "$HTTPS/healthz" >/dev/null 2>&1 && fail "an untrusted certificate was accepted"
[[ $(compose exec -T redis redis-cli config get maxmemory-policy | tail -1) == noeviction* ]] \
  || fail "Redis evicts"
[[ $(compose exec -T redis redis-cli config get maxmemory | tail -1 | tr -d '\r') != 0 ]] \
  || fail "Redis has no maxmemory"
for id in $(compose ps -q); do
  docker inspect -f '{{.Name}} {{.HostConfig.LogConfig.Config}} {{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}' "$id" \
    | grep -Eq 'max-file:5 max-size:20m\] [1-9][0-9]* [1-9]' || fail "no log rotation or limits: $id"
done
KEY=$(compose exec -T api tps keys create --lab ops-test | tail -1 | tr -d '\r')

step "3. 10 jobs on two workers"
SLIDE=$(curl -fsS --cacert "$TPS_TLS_CERT" -X PUT "$HTTPS/v1/slides" -H "X-API-Key: $KEY" \
  -H "X-Filename: slide.tiff" -H "Content-Type: application/octet-stream" \
  --data-binary "@$WORK/slide.tiff" | json "d['id']")
JOBS=()
for _ in $(seq 10); do
  JOBS+=("$(curl -fsS -X POST "$API/v1/jobs" -H "X-API-Key: $KEY" -H "Content-Type: application/json" \
    -d "{\"slide_id\": \"$SLIDE\"}" | json "d['id']")")
done
for job in "${JOBS[@]}"; do
  for _ in $(seq 300); do
    state=$(curl -fsS "$API/v1/jobs/$job" -H "X-API-Key: $KEY" | json "d['state'], d['attempts']")
    [[ $state == succeeded* || $state == failed* ]] && break
    sleep 1
  done
  [[ $state == "succeeded 1" ]] || fail "job $job: $state"
done
for worker in $(compose ps -q worker-cpu); do docker logs "$worker" 2>&1; done >"$WORK/workers.log"
$PY - "$WORK/workers.log" "${JOBS[@]}" <<'PYEOF'
import re, sys
log, jobs = open(sys.argv[1]).read(), sys.argv[2:]
done = re.findall(r"Task tps\.score_job\[[^\]]+\] succeeded", log)
print(f"{len(done)} scorings logged for {len(jobs)} jobs")
assert len(done) == len(jobs), "a job was scored more than once, or not at all"
PYEOF
busy=0
for worker in $(compose ps -q worker-cpu); do
  docker logs "$worker" 2>&1 | grep -q "score_job.*succeeded" && busy=$((busy + 1))
done
[[ $busy == 2 ]] || fail "only $busy worker(s) scored: the data directory is not shared"
curl -fsS "$API/v1/jobs/${JOBS[0]}/result" -H "X-API-Key: $KEY" >"$WORK/result.before"

step "4. backup, then restore into a fresh stack"
docker/backup.sh "$WORK/backup"
compose down -v >/dev/null 2>&1
docker run --rm -v "$WORK:/w" tps-base/python:3.11-bookworm sh -c 'rm -rf /w/shared/* /w/shared/.??*' || true
docker/restore.sh "$WORK/backup"
compose up -d --no-build
for _ in $(seq 120); do curl -fsS "$API/healthz" >/dev/null 2>&1 && break; sleep 1; done
for job in "${JOBS[@]}"; do
  [[ $(curl -fsS "$API/v1/jobs/$job" -H "X-API-Key: $KEY" | json "d['state']") == succeeded ]] \
    || fail "job $job is not back"
done
curl -fsS "$API/v1/slides/$SLIDE" -H "X-API-Key: $KEY" >/dev/null || fail "the slide is not back"
curl -fsS "$API/v1/jobs/${JOBS[0]}/result" -H "X-API-Key: $KEY" >"$WORK/result.after"
cmp -s "$WORK/result.before" "$WORK/result.after" || fail "the result differs after the restore"

step "5. a password that does not match the volume's"
$PY -c "import secrets; print(secrets.token_urlsafe(24))" >"$TPS_DB_PASSWORD_FILE"
compose up -d --no-build --force-recreate api >/dev/null 2>&1 || true
for _ in $(seq 60); do
  compose logs api 2>&1 | grep -q "does not match the one the volume was created with" && break
  sleep 1
done
compose logs api 2>&1 | grep -q "does not match the one the volume was created with" \
  || fail "a wrong password is not named"
step "all operations checks passed"
