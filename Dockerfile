# syntax=docker/dockerfile:1
# ops-bot image: `docker build -t ops-bot .`
# Run (HTTP mode):  docker run -p 3000:3000 -v ./ops.yml:/etc/ops-bot/ops.yml:ro \
#                     -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET -e DATABASE_URL -e REDIS_URL ops-bot
# Socket Mode:      same, plus -e SLACK_APP_TOKEN and the command `ops-bot socket --host 0.0.0.0 --port 3000`
#                   (it serves /healthz and /metrics on that port too, so the HEALTHCHECK below applies).
# Static checks of this file: tests/test_dockerfile.py.

# --- build: install the package and its dependencies into a virtualenv ---------------------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/ops-bot
ENV PATH=/opt/ops-bot/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY handlers/ handlers/
RUN pip install --no-cache-dir .

# --- runtime: the virtualenv only, as a non-root user --------------------------------------
FROM python:3.11-slim

ENV PATH=/opt/ops-bot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OPS_CONFIG=/etc/ops-bot/ops.yml

# The runbook's programs that ops-bot runs on its own host: pg_dump/psql (backup, restore),
# gzip, git and make (deploy history, rollback build/deploy steps).
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client gzip git make \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 opsbot \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin opsbot \
 && mkdir -p /etc/ops-bot

COPY --from=build /opt/ops-bot /opt/ops-bot

WORKDIR /srv/ops-bot
USER 10001:10001

EXPOSE 3000

# /healthz answers 200 while the process serves (it reports Postgres/Redis as "degraded" in the
# body instead of failing), so this checks liveness of `serve` and `socket`. python's urllib: slim has no
# curl; urlopen raises on a refused connection, a timeout or a non-2xx status -> exit 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=3)"]

CMD ["ops-bot", "serve", "--host", "0.0.0.0", "--port", "3000"]
