# ops-bot image.
#
#   bash scripts/build-base-image.sh        # once: opsbot/debian-base:bookworm-pg15 (debootstrap, cached)
#   docker build --network host -t ops-bot .
#
# Where a registry serves images, build on an official one instead, pinned by its release name
# (never a floating tag: `python:3.11-slim` moved from bookworm to trixie, and pg_dump with it):
#   docker build --build-arg BASE_IMAGE=python:3.11-slim-bookworm --build-arg BASE_PACKAGES=1 -t ops-bot .
# (BASE_PACKAGES=1 apt-installs postgresql-client, git, make and tini, which that image lacks.)
#
# Build arguments:
#   BASE_IMAGE           the base, pinned by release (default: the debootstrap one above)
#   PG_MAJOR             the stack's Postgres major version: the build fails if pg_dump is older
#   PIP_INDEX_URL        a package index to install from (a company mirror), PIP_EXTRA_INDEX_URL too
#   CA_BUNDLE_PEM        extra CA certificates (PEM text) for pip behind a TLS-inspecting proxy:
#                        --build-arg CA_BUNDLE_PEM="$(cat corp-ca.pem)"
#   STACK_DIR            where the stack's checkout is mounted (git's safe.directory), /srv/stack
#
# Run it with deploy/compose.yml (README, "Run it for a team"). By hand:
#   docker run --stop-timeout 45 -p 3000:3000 -v ./ops.yml:/etc/ops-bot/ops.yml:ro \
#       -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET -e DATABASE_URL -e REDIS_URL ops-bot
# `--stop-timeout` (compose: stop_grace_period) must exceed SHUTDOWN_GRACE_SECONDS (25 s): on
# `docker stop` the bot lets running confirmed steps end and records their outcome first.
# Socket Mode: the command `ops-bot socket --host 0.0.0.0 --port 3000` (it serves /healthz too).
# Static checks of this file: tests/test_dockerfile.py; the built image: tests/deploy/.
ARG BASE_IMAGE=opsbot/debian-base:bookworm-pg15

# --- build: the dependencies (their own layer, from the lock), then the package ---------------
FROM ${BASE_IMAGE} AS build
ARG BASE_PACKAGES=""
ARG PIP_INDEX_URL=""
ARG PIP_EXTRA_INDEX_URL=""
ARG CA_BUNDLE_PEM=""

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt

RUN if [ -n "$CA_BUNDLE_PEM" ]; then \
        printf '%s\n' "$CA_BUNDLE_PEM" > /usr/local/share/ca-certificates/build-extra.crt \
        && update-ca-certificates >/dev/null; \
    fi

RUN python3 -m venv /opt/ops-bot
ENV PATH=/opt/ops-bot/bin:$PATH

WORKDIR /src
COPY requirements.lock ./
RUN pip install --no-cache-dir \
        ${PIP_INDEX_URL:+--index-url "$PIP_INDEX_URL"} ${PIP_EXTRA_INDEX_URL:+--extra-index-url "$PIP_EXTRA_INDEX_URL"} \
        -r requirements.lock

COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY handlers/ handlers/
RUN pip install --no-cache-dir --no-deps \
        ${PIP_INDEX_URL:+--index-url "$PIP_INDEX_URL"} ${PIP_EXTRA_INDEX_URL:+--extra-index-url "$PIP_EXTRA_INDEX_URL"} \
        . \
 && pip check

# --- runtime: the virtualenv, the runbook's programs, a non-root user with a HOME --------------
FROM ${BASE_IMAGE}
ARG BASE_PACKAGES=""
ARG PG_MAJOR=15
ARG STACK_DIR=/srv/stack

# An official python image lacks the runbook's programs: pg_dump/psql (backup, restore),
# git and make (deploy history, rollback), tini (init). The debootstrap base has them.
RUN if [ -n "$BASE_PACKAGES" ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends "postgresql-client-$PG_MAJOR" gzip git make tini \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
 && major=$(pg_dump --version | sed -n 's/^pg_dump (PostgreSQL) \([0-9]*\).*/\1/p') \
 && if [ -z "$major" ] || [ "$major" -lt "$PG_MAJOR" ]; then \
        echo "pg_dump ${major:-missing} is older than the stack's Postgres $PG_MAJOR (build arg PG_MAJOR)" >&2; exit 1; \
    fi

# uid 10001 with a real HOME (git's and matplotlib's configuration), the checkout trusted by
# git in the system config (it is mounted, owned by someone else), /backups for pg_dump.
RUN groupadd --system --gid 10001 opsbot \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/opsbot --create-home \
        --shell /usr/sbin/nologin opsbot \
 && git config --system --add safe.directory "$STACK_DIR" \
 && mkdir -p /etc/ops-bot /backups /home/opsbot/.config/matplotlib \
 && chown -R 10001:10001 /backups /home/opsbot

COPY --from=build /opt/ops-bot /opt/ops-bot
COPY deploy/healthcheck.py /usr/local/lib/ops-bot/healthcheck.py

ENV PATH=/opt/ops-bot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OPS_CONFIG=/etc/ops-bot/ops.yml \
    HOME=/home/opsbot \
    MPLCONFIGDIR=/home/opsbot/.config/matplotlib \
    PORT=3000

VOLUME ["/backups"]
WORKDIR /srv/ops-bot
USER 10001:10001

EXPOSE 3000

# /healthz answers 200 while the process serves (it reports Postgres/Redis as "degraded" in the
# body instead of failing), so this checks liveness of `serve` and `socket`, on the port the
# running bot was given (`--port`, else $PORT): see deploy/healthcheck.py.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python3", "/usr/local/lib/ops-bot/healthcheck.py"]

# SIGTERM drains: running confirmed steps get SHUTDOWN_GRACE_SECONDS to end and are recorded.
STOPSIGNAL SIGTERM
# tini reaps orphaned children (-s: also when `docker run --init` / compose `init: true` is PID 1).
ENTRYPOINT ["tini", "-s", "--"]
CMD ["ops-bot", "serve", "--host", "0.0.0.0"]
