# TinXã — the commands a developer and CI use. See README.md.
PYTHON ?= .venv/bin/python
PY := $(PYTHON)
PROTOS := $(shell find proto -name '*.proto' 2>/dev/null)

.PHONY: up down test proto bench logs status sim new-service

up:            ## install what is missing, start everything, seed Xuân Hưng, print the console URL
	bash deploy/local/up.sh

sim:           ## virtual devices of the demo commune over DeviceLink (SIM_ARGS="--devices 200 --drop-rate 2")
	bash deploy/local/sim.sh $(SIM_ARGS)

down:          ## stop what `make up` started (data stays in ./data)
	bash deploy/local/down.sh

test:          ## the whole test pyramid on the real broker, store, gRPC and Chromium
	TINXA_TEST_PACKAGES="chromium docker-compose libreoffice-writer-nogui poppler-utils fonts-liberation2 mosquitto-clients prometheus" bash deploy/local/setup.sh
	$(PY) -m pytest

proto:         ## generate Python stubs from proto/ into gen/ (a package-mirroring tree)
	rm -rf gen && mkdir -p gen
	$(PY) -m grpc_tools.protoc -I proto --python_out=gen --grpc_python_out=gen --pyi_out=gen $(PROTOS)
	find gen -type d -exec touch {}/__init__.py \;

bench:         ## throughput figures, as ratios to raw kombu publish measured in the same run
	bash deploy/local/setup.sh
	$(PY) bench/run.py

status:        ## which local processes are running
	@for f in data/run/*.pid; do [ -e "$$f" ] && { n=$$(basename $$f .pid); kill -0 $$(cat $$f) 2>/dev/null && echo "$$n: running" || echo "$$n: stopped"; }; done; true

logs:          ## follow the local processes' logs
	tail -F data/log/*.log

new-service:   ## a new nameko service from services/_template, wired into compose, k8s, Prometheus and `make up` (NAME=alerts)
	@test -n "$(NAME)" || { echo "usage: make new-service NAME=<name>  (lowercase letters, digits, single underscores)" >&2; exit 2; }
	$(PY) deploy/new_service.py "$(NAME)"
