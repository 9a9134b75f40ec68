# Sourced by up.sh, down.sh and the end-to-end tests: where a local TinXã keeps
# its data and which ports it uses. Every value can be overridden from the
# environment, so tests run a second copy beside the developer's.
export TINXA_HOME="${TINXA_HOME:-$PWD/data}"
export TINXA_MONGO_PORT="${TINXA_MONGO_PORT:-27017}"
export TINXA_VHOST="${TINXA_VHOST:-}"
export AMQP_URI="${AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/${TINXA_VHOST}}"
export MONGO_URI="${MONGO_URI:-mongodb://127.0.0.1:${TINXA_MONGO_PORT}/}"
export GATEWAY_PORT="${GATEWAY_PORT:-8000}"
export GATEWAY_BIND="${GATEWAY_BIND:-127.0.0.1:${GATEWAY_PORT}}"
export GRPC_PORT="${GRPC_PORT:-50051}"
export DEVICELINK_PUBLIC_PORT="${DEVICELINK_PUBLIC_PORT:-$GRPC_PORT}"
export TINXA_METRICS_BASE="${TINXA_METRICS_BASE:-9100}"
# the provincial hub, simulated on this machine for the demo commune (the sync agent's peer)
export SYNC_GRPC_PORT="${SYNC_GRPC_PORT:-50061}"
export HUB_TARGET="${HUB_TARGET:-127.0.0.1:${SYNC_GRPC_PORT}}"
export COMMUNE_ID="${COMMUNE_ID:-xuan-hung}"
export LOG_LEVEL="${LOG_LEVEL:-INFO}"
RUN_DIR="$TINXA_HOME/run"
LOG_DIR="$TINXA_HOME/log"

# name | metrics port offset | command (run from the repo root)
PROCESSES=(
  "tasks|2|.venv/bin/nameko run --config deploy/config/tasks.yaml services.tasks.service"
  "content|5|.venv/bin/nameko run --config deploy/config/content.yaml services.content.service"
  "telemetry|3|.venv/bin/nameko run --config deploy/config/telemetry.yaml services.telemetry.service"
  "telemetry-edge|4|.venv/bin/python -m services.telemetry.edge --config deploy/config/telemetry-edge.yaml"
  "broadcast|6|.venv/bin/nameko run --config deploy/config/broadcast.yaml services.broadcast.service"
  "training|7|.venv/bin/nameko run --config deploy/config/training.yaml services.training.service"
  "sync-hub|9|.venv/bin/python -m services.sync.hub --config deploy/config/sync-hub.yaml"
  "sync|10|.venv/bin/nameko run --config deploy/config/sync.yaml services.sync.service"
  "sync-agent|8|.venv/bin/python -m services.sync.agent --config deploy/config/sync-agent.yaml"
  "integration|11|.venv/bin/nameko run --config deploy/config/integration.yaml services.integration.service"
  "gateway|1|.venv/bin/nameko run --config deploy/config/gateway.yaml services.gateway.service"
)
