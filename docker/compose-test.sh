#!/usr/bin/env bash
# End-to-end check of docker-compose.yml on this machine, CPU worker profile: build the images,
# start redis, postgres, api and worker, create a key, upload a synthetic `markers` slide through
# the API, score it, compare the result with the slide's truth, tear everything down.
# The model is the hand-built marker model (tests/marker_model.py), which finds markers exactly,
# so the check is exact. Too slow for every CI run (image builds): run it with `make compose-test`.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
PY=${PY:-.venv/bin/python}
COMPOSE=(docker compose)
docker compose version >/dev/null 2>&1 || COMPOSE=(docker-compose)
# A project name and image tags of its own: a production stack on this host is never touched.
export COMPOSE_PROJECT_NAME=tps-compose-test
export TPS_API_IMAGE=tps-api:compose-test TPS_WORKER_CPU_IMAGE=tps-worker-cpu:compose-test
export TPS_API_BIND=127.0.0.1 TPS_API_PORT=${TPS_API_PORT:-18000}
WORK=$(mktemp -d)
export TPS_DB_PASSWORD_FILE=$WORK/db-password
$PY -c "import secrets; print(secrets.token_hex(16))" >"$TPS_DB_PASSWORD_FILE"
export TPS_MODEL_DIR=$WORK/models TPS_MODEL_FILE=markers.onnx
API=http://127.0.0.1:$TPS_API_PORT
compose() { "${COMPOSE[@]}" --profile cpu "$@"; }
step() { echo "[$(( $(date +%s) - start )) s] $*"; }

cleanup() {
  local rc=$?
  if [[ $rc != 0 ]]; then compose logs --tail=40 || true; fi
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$WORK"
  echo "compose-test $([[ $rc == 0 ]] && echo PASSED || echo FAILED) in $(( $(date +%s) - start )) s"
}
trap cleanup EXIT

step "host prerequisites"
docker/host-prereqs.sh
step "base images"
docker/build-base-images.sh
step "model and slide"
mkdir -p "$TPS_MODEL_DIR"
$PY -c "from pathlib import Path; from tests.marker_model import build_marker_model; build_marker_model(Path('$TPS_MODEL_DIR/markers.onnx'))"
chmod -R a+rX "$WORK"
.venv/bin/tps synth slide --out "$WORK/slide.tiff" --width 3000 --height 2000 --tps 35 --seed 11 --style markers
step "build"
compose build --quiet api worker-cpu
step "up"
compose up -d --no-build redis postgres api worker-cpu
for _ in $(seq 120); do curl -fsS "$API/healthz" >/dev/null 2>&1 && break; sleep 1; done
curl -fsS "$API/readyz"; echo
KEY=$(compose exec -T api tps keys create --lab compose-test | tail -1)
step "upload"
SLIDE=$(curl -fsS -X PUT "$API/v1/slides" -H "X-API-Key: $KEY" -H "X-Filename: slide.tiff" \
  -H "Content-Type: application/octet-stream" --data-binary "@$WORK/slide.tiff" \
  | $PY -c "import json, sys; print(json.load(sys.stdin)['id'])")
JOB=$(curl -fsS -X POST "$API/v1/jobs" -H "X-API-Key: $KEY" -H "Content-Type: application/json" \
  -d "{\"slide_id\": \"$SLIDE\"}" | $PY -c "import json, sys; print(json.load(sys.stdin)['id'])")
step "job $JOB on slide $SLIDE"
state=queued
for _ in $(seq 300); do
  state=$(curl -fsS "$API/v1/jobs/$JOB" -H "X-API-Key: $KEY" \
    | $PY -c "import json, sys; j = json.load(sys.stdin); print(j['state'], j['progress']['done'], j['progress']['total'], j['error'] or '')")
  [[ $state == succeeded* || $state == failed* ]] && break
  sleep 1
done
step "job: $state"
[[ $state == succeeded* ]]
curl -fsS "$API/v1/jobs/$JOB/result" -H "X-API-Key: $KEY" >"$WORK/result.json"
$PY - "$WORK/result.json" "$WORK/slide.truth.json" <<'PYEOF'
import json, sys
result, truth = (json.load(open(p)) for p in sys.argv[1:3])
counts = result.get("counts") or result["cells"]
print(f"result: TPS {result['tps']:.3f}, counts {counts}")
print(f"truth:  TPS {truth['tps']:.3f}, counts {truth['counts']}")
assert {k: counts[k] for k in truth["counts"]} == truth["counts"], "counts differ from truth"
assert abs(result["tps"] - truth["tps"]) < 1e-6, "TPS differs from truth"
print("result matches the truth exactly")
PYEOF
