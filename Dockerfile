# syntax=docker/dockerfile:1.7
#
# One image for every BrainStream service. compose.yaml picks the process per
# service with `command:` (python -m ingest_svc, ..., brainstream provision).
#
#   docker build -t brainstream:latest .
#   docker run --rm brainstream:latest                      # brainstream --help

ARG PYTHON_VERSION=3.11

# ---------------------------------------------------------------------------
# builder: resolve nothing, install exactly what uv.lock says into /app/.venv
# ---------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS builder

# Pinned to the uv that wrote uv.lock (lock revision must be understood).
ARG UV_VERSION=0.13.8
RUN --mount=type=cache,target=/root/.cache/pip \
    PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
    pip install "uv==${UV_VERSION}"

# - bytecode is compiled once here, not on every container start
# - copy (not hardlink) out of the cache mount, which is gone after each RUN
# - use the image's interpreter, never a downloaded one, so the venv's
#   /usr/local/bin/python3 links stay valid in the runtime stage
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# 1) Third-party dependencies only: this layer is rebuilt only when a
#    pyproject.toml or uv.lock changes, not on every source edit.
COPY pyproject.toml uv.lock ./
COPY contracts/pyproject.toml    contracts/
COPY infra/pyproject.toml        infra/
COPY ingest-svc/pyproject.toml   ingest-svc/
COPY resolve-svc/pyproject.toml  resolve-svc/
COPY acquire-svc/pyproject.toml  acquire-svc/
COPY library-svc/pyproject.toml  library-svc/
COPY gateway/pyproject.toml      gateway/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --all-packages --no-install-workspace --no-editable

# 2) The workspace members themselves (whole member folders, so a readme or
#    license named in a pyproject is there too; tests are in .dockerignore),
#    built as wheels and installed non-editable: the runtime stage needs
#    /app/.venv and nothing else.
COPY contracts    contracts
COPY infra        infra
COPY ingest-svc   ingest-svc
COPY resolve-svc  resolve-svc
COPY acquire-svc  acquire-svc
COPY library-svc  library-svc
COPY gateway      gateway
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --all-packages --no-editable

# ---------------------------------------------------------------------------
# runtime
# ---------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS runtime

# ffmpeg: acquire-svc uses it, and yt-dlp needs it to extract/merge audio.
# Unpinned on purpose: the Debian release is fixed by the base image and
# rebuilding picks up its security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

# Fixed uid/gid so named volumes keep the same owner across rebuilds. Home is
# /data, the one writable place, so tools that keep a cache under ~ can.
ARG APP_UID=10001
ARG APP_GID=10001
RUN groupadd --system --gid "${APP_GID}" brainstream \
    && useradd --system --uid "${APP_UID}" --gid brainstream \
        --home-dir /data --no-create-home --shell /usr/sbin/nologin brainstream \
    && mkdir -p /data/music \
    && chown -R brainstream:brainstream /data

# The virtualenv stays root-owned: the services only read it.
COPY --from=builder /app/.venv /app/.venv

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/data \
    BRAINSTREAM_DATA_DIR=/data

WORKDIR /app
# Numeric, so runtimes that check for a non-root uid can verify it.
USER ${APP_UID}:${APP_GID}

# Every service keeps its local state under BRAINSTREAM_DATA_DIR. Declared
# after the mkdir/chown so a fresh named volume mounted here starts out owned
# by the brainstream user, with the music folder (BRAINSTREAM_MUSIC_DIR's
# default) already there for a read-only reader such as Navidrome.
VOLUME ["/data"]

# The gateway's HTTP port (BRAINSTREAM_HTTP_PORT, bound on BRAINSTREAM_HTTP_HOST).
EXPOSE 8080

# No service is baked in; compose.yaml sets `command:` for each one.
CMD ["brainstream", "--help"]
