#!/usr/bin/env bash
# The device simulator against the local stack (`make up` first):
#   sim.sh [--background] [--devices N] [other `simulator run` options]
# --devices N registers virtual devices SIM-0001… beyond the demo fleet when N
# is larger than it. Devices without a credential are provisioned with the
# codes the seed wrote; credentials are kept in $TINXA_HOME/sim.
set -euo pipefail
cd "$(dirname "$0")/../.."
source deploy/local/env.sh
background=0; devices=""; rest=()
while [ $# -gt 0 ]; do
  case "$1" in
    --background) background=1 ;;
    --devices) devices="$2"; shift ;;
    *) rest+=("$1") ;;
  esac
  shift
done
SIM_DIR="$TINXA_HOME/sim"
mkdir -p "$SIM_DIR" "$RUN_DIR" "$LOG_DIR"
if [ -n "$devices" ]; then
  PYTHONWARNINGS=ignore .venv/bin/python deploy/local/seed.py --fleet "$devices"
fi
.venv/bin/python -m services.telemetry.simulator provision --target "127.0.0.1:$GRPC_PORT" \
  --codes "$SIM_DIR/codes.json" --out "$SIM_DIR/credentials.json" --allow-failures
run=(.venv/bin/python -m services.telemetry.simulator run --target "127.0.0.1:$GRPC_PORT"
     --credentials "$SIM_DIR/credentials.json" --log-dir "$SIM_DIR" ${TINXA_VHOST:+--mqtt-vhost "$TINXA_VHOST"} ${rest[@]+"${rest[@]}"})
if [ "$background" = 1 ]; then
  nohup "${run[@]}" >>"$LOG_DIR/simulator.log" 2>&1 &
  echo $! >"$RUN_DIR/simulator.pid"
else
  exec "${run[@]}"
fi
