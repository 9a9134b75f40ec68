#!/usr/bin/env bash
# `make up`: install what is missing, start RabbitMQ, the embedded store
# (nx-27017) and every service and edge, seed the demo commune, print the URL.
# Processes are started in the background with pid files; `make down` stops them.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/local/setup.sh
source deploy/local/env.sh
mkdir -p "$RUN_DIR" "$LOG_DIR" "$TINXA_HOME/mongo"
log() { printf '\033[1m[up]\033[0m %s\n' "$*"; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if [ -n "$TINXA_VHOST" ]; then
  rabbitmqctl -q add_vhost "$TINXA_VHOST" 2>/dev/null || true
  rabbitmqctl -q set_permissions -p "$TINXA_VHOST" guest '.*' '.*' '.*' >/dev/null
fi

if ! alive "$RUN_DIR/mongo.pid"; then
  log "starting nx-27017 on port $TINXA_MONGO_PORT (data in $TINXA_HOME/mongo)"
  .venv/bin/nx-27017 -d --data-dir "$TINXA_HOME/mongo" -p "$TINXA_MONGO_PORT" \
    --log-file "$LOG_DIR/mongo.log" --pid-file "$RUN_DIR/mongo.pid"
fi
.venv/bin/python - <<PY
import time, pymongo
client = pymongo.MongoClient("$MONGO_URI", serverSelectionTimeoutMS=500)
for _ in range(100):
    try:
        client.admin.command("ping"); break
    except pymongo.errors.PyMongoError:
        time.sleep(0.2)
else:
    raise SystemExit("nx-27017 did not answer; see $LOG_DIR/mongo.log")
PY

secret_file="$TINXA_HOME/gateway-secret"
if [ -z "${GATEWAY_SECRET_KEY:-}" ]; then
  [ -f "$secret_file" ] || (umask 077; .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))' > "$secret_file")
  export GATEWAY_SECRET_KEY="$(cat "$secret_file")"
fi
# the demo commune's token at the local hub (hub_admin prints it once; kept with the data)
token_file="$TINXA_HOME/sync-token"
if [ -z "${SYNC_TOKEN:-}" ]; then
  if [ ! -s "$token_file" ]; then
    (umask 077; PYTHONWARNINGS=ignore .venv/bin/python -m services.sync.hub_admin add-commune "$COMMUNE_ID" "Xuân Hưng" \
       2>/dev/null > "$token_file" \
     || PYTHONWARNINGS=ignore .venv/bin/python -m services.sync.hub_admin rotate-token "$COMMUNE_ID" 2>/dev/null > "$token_file")
  fi
  export SYNC_TOKEN="$(cat "$token_file")"
fi
# signs certificates' verification codes: kept with the data, so codes stay valid across restarts
certificate_file="$TINXA_HOME/certificate-secret"
if [ -z "${CERTIFICATE_SECRET:-}" ]; then
  [ -f "$certificate_file" ] || (umask 077; .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))' > "$certificate_file")
  export CERTIFICATE_SECRET="$(cat "$certificate_file")"
fi

for entry in "${PROCESSES[@]}"; do
  IFS='|' read -r name offset command <<<"$entry"
  pid_file="$RUN_DIR/$name.pid"
  if alive "$pid_file"; then continue; fi
  log "starting $name"
  METRICS_PORT=$((TINXA_METRICS_BASE + offset)) nohup $command >>"$LOG_DIR/$name.log" 2>&1 &
  echo $! >"$pid_file"
done

healthy() {
  local name=$1 offset=$2
  alive "$RUN_DIR/$name.pid" || { echo "$name exited; last lines of $LOG_DIR/$name.log:"; tail -20 "$LOG_DIR/$name.log"; exit 1; }
  curl -fsS "http://127.0.0.1:$((TINXA_METRICS_BASE + offset))/healthz" >/dev/null 2>&1
}
for entry in "${PROCESSES[@]}"; do
  IFS='|' read -r name offset _ <<<"$entry"
  for i in $(seq 1 150); do
    healthy "$name" "$offset" && break
    [ "$i" -eq 150 ] && { echo "$name is not healthy after 30 s; see $LOG_DIR/$name.log"; exit 1; }
    sleep 0.2
  done
done
for i in $(seq 1 150); do
  curl -fsS "http://$GATEWAY_BIND/healthz" >/dev/null 2>&1 && break
  [ "$i" -eq 150 ] && { echo "gateway HTTP is not answering; see $LOG_DIR/gateway.log"; exit 1; }
  sleep 0.2
done

log "seeding the demo commune"
PYTHONWARNINGS=ignore .venv/bin/python deploy/local/seed.py
if [ "${TINXA_SIMULATOR:-1}" = 1 ] && ! alive "$RUN_DIR/simulator.pid"; then
  log "starting the device simulator (the demo commune's fleet; TINXA_SIMULATOR=0 to skip)"
  bash deploy/local/sim.sh --background
fi
log "TinXã is running. Console: http://$GATEWAY_BIND/   (stop with: make down)"
