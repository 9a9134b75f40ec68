#!/usr/bin/env bash
# Installs and starts what TinXã needs on one machine (Debian 12, root or sudo):
# the virtualenv with the pinned Python packages, RabbitMQ with its management
# and MQTT plugins, Chromium and docker-compose (for the tests). Idempotent:
# `make up` and `make test` run it every time and it does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

MQTT_PORT="${TINXA_MQTT_PORT:-1884}"   # Mosquitto owns 1883 on these machines
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

# espeak-ng and ffmpeg: the content service's text-to-speech and audio encoding;
# fonts-dejavu-core: the training service's PDF certificates (Vietnamese glyphs)
fresh_prometheus=""; dpkg -s prometheus >/dev/null 2>&1 || fresh_prometheus=1
apt_install rabbitmq-server python3-venv espeak-ng ffmpeg fonts-dejavu-core ${TINXA_TEST_PACKAGES:-}
# `prometheus` (make test) is there for promtool only, but its postinst starts a Prometheus
# server on :9090 (and the recommended node exporter on :9100) wherever no policy-rc.d forbids
# it: a stray daemon holding compose's Prometheus port. On the run that installs it, stop and
# disable the package's own services (by their units/init scripts, nothing else).
if [ -n "$fresh_prometheus" ] && dpkg -s prometheus >/dev/null 2>&1; then
  for unit in prometheus prometheus-node-exporter; do
    if [ -d /run/systemd/system ]; then $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
    else $SUDO service "$unit" stop >/dev/null 2>&1 || true; fi
  done
fi

# Python: one virtualenv with the pinned requirements and the project itself.
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing Python packages"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements-dev.txt
fi
# gRPC stubs are generated, never committed; the project installs after them
make -s proto PYTHON=.venv/bin/python
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi

# RabbitMQ: running, with management (nameko's test fixtures) and MQTT (devices).
if ! rabbitmqctl -q status >/dev/null 2>&1; then
  log "starting RabbitMQ"
  $SUDO rabbitmq-server -detached
fi
$SUDO rabbitmqctl -q await_startup >/dev/null
conf=/etc/rabbitmq/rabbitmq.conf
if ! grep -q '^mqtt.listeners.tcp.default' "$conf" 2>/dev/null; then
  echo "mqtt.listeners.tcp.default = $MQTT_PORT" | $SUDO tee -a "$conf" >/dev/null
fi
enabled=$($SUDO rabbitmq-plugins list -e -m 2>/dev/null || true)
if ! grep -qx rabbitmq_mqtt <<<"$enabled"; then
  # the config file is read at boot only: tell the live node the port first
  $SUDO rabbitmqctl -q eval "application:load(rabbitmq_mqtt), application:set_env(rabbitmq_mqtt, tcp_listeners, [$MQTT_PORT])." >/dev/null
fi
if ! grep -qx rabbitmq_management <<<"$enabled" || ! grep -qx rabbitmq_mqtt <<<"$enabled"; then
  log "enabling RabbitMQ plugins: management, mqtt (port $MQTT_PORT)"
  $SUDO rabbitmq-plugins -q enable rabbitmq_management rabbitmq_mqtt >/dev/null
fi
for _ in $(seq 1 30); do
  curl -fsS -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1 && break
  sleep 1
done
log "ready"
