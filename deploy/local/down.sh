#!/usr/bin/env bash
# `make down`: stop what `make up` started, by pid file. Data stays in $TINXA_HOME.
set -uo pipefail
cd "$(dirname "$0")/../.."
source deploy/local/env.sh
[ -d "$RUN_DIR" ] || exit 0
for pid_file in "$RUN_DIR"/*.pid; do
  [ -e "$pid_file" ] || continue
  name=$(basename "$pid_file" .pid)
  [ "$name" = mongo ] && continue
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "[down] stopped $name"
  fi
  rm -f "$pid_file"
done
if [ -f "$RUN_DIR/mongo.pid" ]; then
  .venv/bin/nx-27017 --stop --pid-file "$RUN_DIR/mongo.pid" >/dev/null 2>&1 || true
  pid=$(cat "$RUN_DIR/mongo.pid" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -TERM "$pid"
  rm -f "$RUN_DIR/mongo.pid"
  echo "[down] stopped nx-27017"
fi
