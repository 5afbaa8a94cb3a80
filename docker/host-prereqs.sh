#!/usr/bin/env bash
# Make this Debian host able to run `make compose-test`: a Docker engine, compose, debootstrap.
# Registries of images are not needed (docker/build-base-images.sh builds the bases locally).
set -euo pipefail
if docker info >/dev/null 2>&1 && command -v debootstrap >/dev/null \
   && { docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null; }; then
  exit 0
fi
if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
  echo "compose-test needs a running Docker engine, docker compose and debootstrap;" >&2
  echo "install them (as root on Debian: apt-get install docker.io docker-compose debootstrap)." >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-compose debootstrap >/dev/null
if ! docker info >/dev/null 2>&1; then
  (dockerd >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
fi
docker info >/dev/null
