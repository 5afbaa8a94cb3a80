#!/usr/bin/env bash
# `make lock`: the hashed lock files, regenerated from pyproject.toml with pip-tools.
#   runtime.txt  the API and the CPU worker (onnxruntime)
#   gpu.txt      the GPU worker: runtime.txt with onnxruntime-gpu (and its CUDA wheels) in place
#                of onnxruntime, at the same version
#   dev.txt      runtime.txt plus the dev and train extras, torch itself left out: the venv
#                takes torch from requirements/torch.txt (a local CPU wheel here), its
#                dependencies from this lock
# Pins already in a lock are kept unless pyproject.toml needs otherwise; LOCK_UPGRADE=1 moves
# every package to its newest allowed release. gpu.txt and dev.txt are constrained by
# runtime.txt, so a package has one version in every image and venv.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
TOOLS=.venv/pip-tools
PIP_TOOLS=pip-tools==7.6.2
if [[ ! -x $TOOLS/bin/pip-compile ]]; then
  $PY -m venv "$TOOLS"
  "$TOOLS/bin/pip" install --quiet "$PIP_TOOLS"
fi
export CUSTOM_COMPILE_COMMAND="make lock"
# Locked against the package index itself (hashes from its listing), not a local mirror; the
# find-links folder stays, where the CPU build of torch may lie (dev.txt then needs no CUDA).
export PIP_CONFIG_FILE=/dev/null
flags=(--quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links)
[[ ${LOCK_UPGRADE:-0} == 1 ]] && flags+=(--upgrade)
compile() { "$TOOLS/bin/pip-compile" "${flags[@]}" "$@" pyproject.toml requirements/bookworm.in; }

compile -o requirements/runtime.txt
compile --extra gpu --unsafe-package onnxruntime -c requirements/runtime.txt -o requirements/gpu.txt
compile --extra dev --extra train --unsafe-package torch -c requirements/runtime.txt \
  -c requirements/torch.txt -o requirements/dev.txt

# CPU and GPU workers must run the same onnxruntime: one release, two builds.
cpu=$(grep -oP '^onnxruntime==\K[^ ]+' requirements/runtime.txt)
gpu=$(grep -oP '^onnxruntime-gpu==\K[^ ]+' requirements/gpu.txt)
if [[ $cpu != "$gpu" ]]; then
  echo "onnxruntime $cpu (CPU) but onnxruntime-gpu $gpu: pin both to one release in pyproject.toml" >&2
  exit 1
fi
echo "locked: $(grep -c '^[a-z0-9]' requirements/runtime.txt) runtime, $(grep -c '^[a-z0-9]' \
  requirements/gpu.txt) gpu, $(grep -c '^[a-z0-9]' requirements/dev.txt) dev packages; onnxruntime $cpu"
