# syntax=docker/dockerfile:1

# agentstream image: the workers and the gateway/console.
#   docker build -t agentstream .
#   docker run --rm agentstream worker agents.support:app
#   docker run --rm -p 8080:8080 -e AGENTSTREAM_GATEWAY__HOST=0.0.0.0 agentstream console
#
# Two stages: the builder resolves and installs everything into a virtualenv at
# /opt/venv; the runtime stage copies only that venv, so compilers, pip caches
# and the source tree never reach the final image. Both stages use the same
# base image, so the venv's interpreter paths stay valid after the copy.
#
# No HEALTHCHECK: one image runs several commands (a worker serves /healthz and
# /readyz on AGENTSTREAM_WEB_PORT, the gateway serves HTTP on its own port), and
# Kubernetes ignores HEALTHCHECK anyway; docker-compose.yml and the manifests in
# deploy/k8s declare the probes per process.

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
# Dependencies first: pyproject.toml's list, pinned by constraints.txt (which also
# pins the dev tools; they only constrain and are not installed). This layer is
# reused as long as neither file changes, whatever happens to the source.
COPY pyproject.toml constraints.txt ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
 && pip install --no-cache-dir -c constraints.txt -r /tmp/requirements.txt

# pyproject.toml declares readme = "README.md", so the build needs it.
COPY README.md ./
COPY streams/ streams/
COPY agents/ agents/
COPY schemas/ schemas/
COPY config/ config/

# Non-editable install: the packages (with the shipped data under agents/) land in
# the venv's site-packages. --no-deps: everything was installed, pinned, above.
# Then what the runtime never uses goes: the test suites that numpy, scipy,
# scikit-learn and matplotlib ship (about 75 MB; importable `testing` modules
# stay) and pip itself. Everything is byte-compiled here, so a read-only root
# filesystem costs nothing at start.
RUN pip install --no-cache-dir --no-deps -c constraints.txt . \
 && find /opt/venv/lib -type d -name tests -prune -exec rm -rf {} + \
 && pip uninstall -q -y pip setuptools \
 && python -m compileall -q /opt/venv/lib

# --------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

# tini as PID 1: it forwards SIGTERM to the process and reaps children
# (`worker --workers N` starts N). The gateway installs no SIGTERM handler, and a
# PID 1 without one ignores SIGTERM: it would only stop at the SIGKILL after the
# grace period.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

# Fixed, unprivileged uid/gid so mounted volumes have predictable ownership.
RUN groupadd --system --gid 10001 agentstream \
 && useradd --system --uid 10001 --gid agentstream \
        --home-dir /app --no-create-home --shell /usr/sbin/nologin agentstream \
 && mkdir -p /app \
 && chown agentstream:agentstream /app

COPY --from=builder /opt/venv /opt/venv

# What the processes write: the L3 cache's SQLite file under .agentstream/ in the
# working directory (AGENTSTREAM_CACHE__L3_URL), and faust's data directory and
# jieba's dictionary cache under /tmp. With a read-only root filesystem, mount
# writable volumes on /app and /tmp (deploy/k8s does).
WORKDIR /app
# Numeric so runtimes enforcing runAsNonRoot can verify it.
USER 10001:10001

# A worker's /metrics, /healthz and /readyz (AGENTSTREAM_WEB_PORT); the gateway's
# HTTP port (AGENTSTREAM_GATEWAY__PORT).
EXPOSE 6066 8080

ENTRYPOINT ["/usr/bin/tini", "--", "agentstream"]
CMD ["worker", "agents.echo:app"]
