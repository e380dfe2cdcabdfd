# syntax=docker/dockerfile:1

# agentstream worker image.
#   docker build -t agentstream .
#   docker run --rm agentstream worker agents.echo:app
#
# Two stages: the builder resolves and installs everything into a virtualenv at
# /opt/venv; the runtime stage copies only that venv, so compilers, pip caches
# and the source tree never reach the final image. Both stages use the same
# base image, so the venv's interpreter paths stay valid after the copy.

ARG PYTHON_IMAGE=python:3.11-slim

# --------------------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# The pinned dependencies ship manylinux wheels for x86_64; the compiler is only
# a fallback for platforms without wheels (e.g. some arm64 builds), and it stays
# in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# pyproject.toml declares readme = "README.md", so hatchling needs it to build.
COPY pyproject.toml README.md constraints.txt ./
COPY streams/ streams/
COPY agents/ agents/
COPY schemas/ schemas/
COPY config/ config/

# Non-editable install: the packages land in the venv's site-packages.
RUN pip install --no-cache-dir -c constraints.txt .

# --------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

# Fixed, unprivileged uid/gid so mounted volumes have predictable ownership.
RUN groupadd --system --gid 10001 agentstream \
 && useradd --system --uid 10001 --gid agentstream \
        --home-dir /app --no-create-home --shell /usr/sbin/nologin agentstream \
 && mkdir -p /app \
 && chown agentstream:agentstream /app

COPY --from=builder /opt/venv /opt/venv

# faust keeps its data directory (<app id>-data) relative to the working
# directory, so it must be writable by the runtime user.
WORKDIR /app
# Numeric so runtimes enforcing runAsNonRoot can verify it.
USER 10001:10001

# The worker's /metrics, /healthz and /readyz (AGENTSTREAM_WEB_PORT).
EXPOSE 6066

ENTRYPOINT ["agentstream"]
CMD ["worker", "agents.echo:app"]
