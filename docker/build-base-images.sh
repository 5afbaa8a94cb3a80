#!/usr/bin/env bash
# Builds local stand-ins for the base images that docker/Dockerfile.* and docker-compose.yml
# name, from Debian packages with debootstrap, so the stack builds with no image registry at all
# (air-gapped labs, or this project's CI). Only a Debian package mirror is needed.
#
#   tps-base/python:3.11-bookworm   Debian's python3.11 + venv, the base of the api and worker
#   tps-base/redis:7                Debian's redis-server (7.0), runs the given command
#   tps-base/postgres:15            Debian's PostgreSQL 15, initialised from POSTGRES_* like the
#                                   official image, so POSTGRES_IMAGE=postgres:15 is a drop-in
#   tps-base/nginx:1.22             Debian's nginx, the TLS proxy of docker-compose.tls.yml
#
# Usage: docker/build-base-images.sh [--rebuild]   (needs root, debootstrap and a docker engine)
# An image that already exists is kept unless --rebuild is given.
set -euo pipefail

SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
WORK=${BASE_BUILD_DIR:-/var/tmp/tps-base-images}
REBUILD=0
[[ "${1:-}" == "--rebuild" ]] && REBUILD=1
HERE=$(cd "$(dirname "$0")" && pwd)

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# debootstrap one root filesystem with extra packages; the .deb cache is shared between images.
make_rootfs() {
  local dir=$1 packages=$2
  rm -rf "$dir"
  mkdir -p "$WORK/debs"
  debootstrap --variant=minbase --include="$packages" --cache-dir="$WORK/debs" \
    "$SUITE" "$dir" "$MIRROR" >"$dir.log" 2>&1 || { tail -20 "$dir.log"; return 1; }
  # Images are rebuilt, never upgraded in place: drop what only a running apt needs.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/usr/share/doc/* \
    "$dir"/usr/share/man/* "$dir"/usr/share/locale/*
  printf 'deb %s %s main\n' "$MIRROR" "$SUITE" >"$dir/etc/apt/sources.list"
}

import_rootfs() {
  local dir=$1 tag=$2; shift 2
  tar -C "$dir" --numeric-owner -c . | docker import "$@" - "$tag" >/dev/null
  echo "built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
}

build_python() {
  local tag=tps-base/python:3.11-bookworm dir=$WORK/python
  if have_image "$tag" && [[ $REBUILD == 0 ]]; then echo "have $tag"; return; fi
  # fonts-dejavu-core: the PDF reports print labels in any script (scoring/pdf_layout.py)
  make_rootfs "$dir" python3.11,python3.11-venv,python3-venv,ca-certificates,curl,libgomp1,tini,fonts-dejavu-core
  # A site behind a TLS-inspecting proxy needs its own CA inside the image for pip to work;
  # take the host's locally added CAs, as an air-gapped lab would add its mirror's.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$dir/usr/local/share/ca-certificates/"
    chroot "$dir" update-ca-certificates >/dev/null
  fi
  import_rootfs "$dir" "$tag" --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
}

build_redis() {
  local tag=tps-base/redis:7 dir=$WORK/redis
  if have_image "$tag" && [[ $REBUILD == 0 ]]; then echo "have $tag"; return; fi
  make_rootfs "$dir" redis-server,redis-tools
  mkdir -p "$dir/data" && chroot "$dir" chown redis:redis /data
  import_rootfs "$dir" "$tag" --change 'USER redis' --change 'WORKDIR /data' \
    --change 'VOLUME /data' --change 'EXPOSE 6379' --change 'CMD ["redis-server"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
}

build_postgres() {
  local tag=tps-base/postgres:15 dir=$WORK/postgres entry
  # The image carries postgres-entrypoint.sh: a changed script makes a new image.
  entry=$(sha256sum "$HERE/postgres-entrypoint.sh" | cut -c1-16)
  if have_image "$tag" && [[ $REBUILD == 0 ]] && [[ $(docker image inspect -f \
      '{{index .Config.Labels "tps.entrypoint"}}' "$tag") == "$entry" ]]; then
    echo "have $tag"; return
  fi
  make_rootfs "$dir" postgresql-15
  # The package made a cluster under /var/lib/postgresql/15/main; ours lives in PGDATA instead.
  rm -rf "$dir"/var/lib/postgresql/15 "$dir"/etc/postgresql/15
  install -m 0755 "$HERE/postgres-entrypoint.sh" "$dir/usr/local/bin/docker-entrypoint.sh"
  mkdir -p "$dir/var/lib/postgresql/data" "$dir/var/run/postgresql"
  chroot "$dir" chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
  import_rootfs "$dir" "$tag" --change 'USER postgres' --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'VOLUME /var/lib/postgresql/data' --change 'EXPOSE 5432' \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' --change 'CMD ["postgres"]' \
    --change "LABEL tps.entrypoint=$entry"
}

build_nginx() {
  local tag=tps-base/nginx:1.22 dir=$WORK/nginx
  if have_image "$tag" && [[ $REBUILD == 0 ]]; then echo "have $tag"; return; fi
  make_rootfs "$dir" nginx-light,ca-certificates
  rm -f "$dir"/etc/nginx/sites-enabled/* && ln -sf /dev/stderr "$dir/var/log/nginx/error.log"
  ln -sf /dev/stdout "$dir/var/log/nginx/access.log"
  import_rootfs "$dir" "$tag" --change 'EXPOSE 443' \
    --change 'CMD ["nginx", "-g", "daemon off;"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
}

command -v debootstrap >/dev/null || { echo "needs debootstrap (apt-get install debootstrap)"; exit 2; }
docker info >/dev/null 2>&1 || { echo "needs a running docker engine"; exit 2; }
mkdir -p "$WORK"
start=$(date +%s)
build_python
build_redis
build_postgres
build_nginx
echo "base images ready in $(( $(date +%s) - start )) s"
