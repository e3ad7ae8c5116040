"""Start a small local demo stack and open `ops-bot shell` on it, so `/ops status` works at once.

The stack: busybox containers labelled as the `pedidosdemo` compose project (api, postgres,
redis), a demo API with health and metrics (scripts/demo_api.py), a `pedidos_demo`
database with a tenants table, the local Redis as cache, and a real Bull Board. Everything
is removed when the shell exits.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROJECT = "pedidosdemo"
PG = "postgresql://postgres@127.0.0.1:5432"
API_LOOP = (
    'i=0; while true; do i=$((i+1)); echo "$(date -u +%FT%TZ) info GET /orders/$i 200 12ms"; '
    'if [ $((i % 4)) -eq 0 ]; then echo "$(date -u +%FT%TZ) info webhook received payment pay_$i"; fi; '
    'if [ $((i % 9)) -eq 0 ]; then echo "$(date -u +%FT%TZ) error webhook payment pay_$i: card declined" >&2; fi; '
    "sleep 1; done"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=60)


def psql(db: str, sql: str) -> None:
    sh("psql", f"{PG}/{db}", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql)


def start_containers() -> list[str]:
    names = []
    scripts = {"api": API_LOOP, "postgres": "echo ready; sleep 1000000", "redis": "echo ready; sleep 1000000"}
    for service, script in scripts.items():
        name = f"{PROJECT}-{service}-1"
        sh("docker", "rm", "-f", name, check=False)
        sh(
            "docker", "run", "-d", "--network", "none", "--name", name,
            "--label", f"com.docker.compose.project={PROJECT}",
            "--label", f"com.docker.compose.service={service}",
            "opsbot/busybox:latest", "sh", "-c", script,
        )  # fmt: skip
        names.append(name)
    return names


def prepare_databases() -> None:
    for db in ("opsbot_demo", "pedidos_demo"):
        sh("psql", f"{PG}/postgres", "-q", "-c", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        sh("psql", f"{PG}/postgres", "-q", "-c", f'CREATE DATABASE "{db}"')
    psql(
        "pedidos_demo",
        "CREATE TABLE tenants (id text PRIMARY KEY, name text NOT NULL, active boolean NOT NULL DEFAULT true);"
        "INSERT INTO tenants VALUES ('abc123', 'Tienda ABC', true), ('xyz789', 'Mercado XYZ', true);",
    )


def start_bull_board(work: Path) -> tuple[subprocess.Popen[str], int]:
    out = work / "bull.out"
    proc = subprocess.Popen(
        ["node", "server.js"],
        cwd=REPO / "tests" / "bull",
        env={**os.environ, "PORT": "0", "PREFIX": "opsbot-demo-bull", "QUEUES": "payments"},
        stdout=out.open("w"),
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for _ in range(100):
        text = out.read_text() if out.exists() else ""
        if text.strip():
            return proc, int(json.loads(text.splitlines()[0])["port"])
        time.sleep(0.1)
    raise SystemExit("the demo Bull Board did not start")


def write_config(work: Path, api_port: int, board_port: int) -> Path:
    path = work / "ops.yml"
    path.write_text(
        f"""\
slack:
  command: /ops
  incident_channel: C0INCIDENTS
stack:
  api:
    base_url: http://127.0.0.1:{api_port}
    health: {{api: /health, db: /health/db, redis: /health/redis}}
    metrics: /metrics
    timeout: 3s
  bull_board:
    base_url: http://127.0.0.1:{board_port}/admin/queues
    queues: [payments]
  postgres:
    dsn: {PG}/pedidos_demo
    tenants_table: tenants
  redis:
    url: redis://127.0.0.1:6379/14
    tenant_key_pattern: "tenant:{{tenant}}:*"
  docker:
    compose_project: {PROJECT}
    services: [api, postgres, redis]
    stop_timeout: 2s
timezone: America/Santiago
locale: {os.environ.get("OPS_LOCALE", "en")}
roles:
  viewer: ["*"]
  operator: [U0BACKEND]
  admin: [U0DEVOPS, U0TECHLEAD]
contacts:
  - {{role: tech_lead, name: Ana Rojas, slack: U0TECHLEAD, email: ana@example.com, hours: "09:00-18:00"}}
  - {{role: backend_dev, name: Luis Pérez, slack: U0BACKEND, email: luis@example.com, hours: "09:00-18:00"}}
  - {{role: devops, name: Marta Gil, slack: U0DEVOPS, email: marta@example.com, on_call: true}}
  - {{role: cto, name: Jorge Díaz, slack: U0CTO, email: jorge@example.com}}
""",
        encoding="utf-8",
    )
    return path


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="ops-bot-demo-"))
    containers = start_containers()
    prepare_databases()
    api_port = free_port()
    api = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "demo_api.py"), "--port", str(api_port),
         "--dsn", f"{PG}/pedidos_demo", "--redis", "redis://127.0.0.1:6379/14"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    board, board_port = start_bull_board(work)
    config = write_config(work, api_port, board_port)
    env = {
        **os.environ,
        "OPS_CONFIG": str(config),
        "DATABASE_URL": f"{PG}/opsbot_demo",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
    }
    user = os.environ.get("OPS_DEMO_USER", "U0DEVOPS")
    print(
        f"Demo stack up (config {config}). You are {user} (admin). Try: /ops status, /ops logs api --tail 20, /ops help"
    )
    try:
        args = ["ops-bot", "shell", "--as", user, *sys.argv[1:]]
        return subprocess.call(args, env=env)
    finally:
        api.terminate()
        board.terminate()
        sh("docker", "rm", "-f", *containers, check=False)


if __name__ == "__main__":
    sys.exit(main())
