#!/bin/sh
# The `tps` command of the api and worker images (first on PATH, before /opt/venv/bin/tps): it
# checks the configuration, says in one line what is missing or wrong, then runs the real one.
# Being the command rather than the entry point, it also serves `docker compose exec api tps
# keys create`. docker-compose.yml sets no required variable with `${VAR:?}`, so `docker
# compose ps`, `logs` and `down` work on a host without them; a missing setting stops `up`
# here instead, with the reason in `docker compose logs`.
set -eu

fail() { echo "tps: $*" >&2; exit 78; }  # 78: EX_CONFIG, the configuration is wrong

# The database password comes from a file (a Docker secret), never from the environment.
if [ -z "${TPS_DATABASE_URL:-}" ] && [ -n "${TPS_DB_PASSWORD_FILE:-}" ]; then
  [ -s "$TPS_DB_PASSWORD_FILE" ] || fail "no database password in $TPS_DB_PASSWORD_FILE: write" \
    "one to the file TPS_DB_PASSWORD_FILE names on the host (see README, Scaling out)"
  TPS_DATABASE_URL=$(python3 -c 'import sys, urllib.parse
password = open(sys.argv[1]).read().strip()
print("postgresql+psycopg://%s:%s@%s/%s" % (sys.argv[2], urllib.parse.quote(password, safe=""),
      sys.argv[3], sys.argv[4]))' "$TPS_DB_PASSWORD_FILE" "${TPS_DB_USER:-tps}" \
    "${TPS_DB_HOST:-postgres:5432}" "${TPS_DB_NAME:-tps}")
  export TPS_DATABASE_URL
fi

if [ "${1:-}" = serve ] || [ "${1:-}" = worker ] && [ -n "${TPS_MODEL_PATH:-}" ] \
    && [ ! -f "$TPS_MODEL_PATH" ]; then
  fail "no model at $TPS_MODEL_PATH: set TPS_MODEL_DIR to the host folder holding it and" \
    "TPS_MODEL_FILE to its name (default: the repository's models/default.onnx)"
fi

# A volume keeps the password PostgreSQL was first started with; a changed secret file is not
# applied to it. Say so, instead of a start-up that fails on every restart with no reason.
if [ -n "${TPS_DATABASE_URL:-}" ]; then
  python3 - <<'PYEOF' || exit $?
import os, sys, time
import psycopg
url = os.environ["TPS_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://", 1)
deadline = time.monotonic() + 120
while True:
    try:
        psycopg.connect(url, connect_timeout=5).close()
        break
    except psycopg.OperationalError as exc:
        if "password authentication failed" in str(exc):
            print("tps: the database password does not match the one the volume was created "
                  "with. PostgreSQL keeps the password of its first start; a new secret file "
                  "is not applied to an existing volume. Put the old password back in the "
                  "file, or set the new one inside the database (docker compose exec postgres "
                  "psql -U tps -c \"ALTER USER tps PASSWORD '...'\"), then restart.",
                  file=sys.stderr)
            sys.exit(78)
        if time.monotonic() > deadline:
            print(f"tps: PostgreSQL did not answer within 120 s: {exc}", file=sys.stderr)
            sys.exit(1)
        time.sleep(2)
PYEOF
fi
exec /opt/venv/bin/tps "$@"
