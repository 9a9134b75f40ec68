# One image for every TinXã process; docker-compose.yml and k8s/ give each its command.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
# Compilers and make only here (wheel-less dependencies, `make proto`); the runtime stage has none.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY . .
# The gRPC stubs (gen/, not in git) are generated here, as `make proto` does in a checkout.
RUN make proto PYTHON=python \
 && pip install -e . \
 && python -m compileall -q /app

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    HOME=/tmp
# the content service speaks (espeak-ng, Vietnamese voice) and encodes audio (ffmpeg);
# the training service's certificates use the DejaVu fonts (Vietnamese diacritics)
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng ffmpeg fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 tinxa \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin tinxa
# Same paths as in the build stage: the editable install points at /app.
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER 10001:10001
# gateway HTTP, DeviceLink gRPC, ProvinceSync gRPC, metrics of gateway/tasks/telemetry/telemetry-edge/content/
# broadcast/training/sync-agent/sync-hub/sync.
EXPOSE 8000 50051 50061 9101 9102 9103 9104 9105 9106 9107 9108 9109 9110 9111
# No CMD of our own: docker-compose.yml and k8s/ name the process to run.
