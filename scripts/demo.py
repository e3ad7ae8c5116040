"""A private demo stack on which every command of docs/commands.md works, then `ops-bot shell`.

Everything it uses is made for this run and removed when the shell exits (exit, Ctrl-D,
SIGTERM, a closed terminal, a crash; a demo killed with -9 is swept by the next one, from its
state file). Ctrl-C stops the running command, not the shell; with piped input it ends it:

- busybox containers of a compose project of its own (api, postgres, redis);
- two private redis-servers on free ports, each in its own folder: the stack's cache (tenant
  keys, Bull's queues) and the bot's own state, so `cache flush-all` empties only the demo's cache;
- two Postgres databases, created and dropped: the stack's (a tenants table) and the bot's;
- the demo API (scripts/demo_api.py), a real Bull Board with a few failed payments jobs;
- a temporary folder: backups (one real pg_dump), harmless step scripts (migrate,
  migrate_rollback, build, deploy: they print and sleep a second), a git repository with commits;
- a local Slack Web API stand-in (tests/slack_emulator.py): what the bot posts (pages, incident
  threads, on-call handovers, alert messages) is printed in the terminal as `[slack] …` lines;
- a private Prometheus and Alertmanager (Debian's, when installed) in the demo's folder, and an
  `ops-bot serve` on loopback for Alertmanager's webhook: one rule (PaymentsFailing) fires about
  a minute in (OPS_DEMO_ALERT_FOR, OPS_DEMO_ALERT_INTERVAL change its timing).

A second terminal (`bash scripts/demo.sh --as U0TECHLEAD`) joins the running demo through the
state file (OPS_DEMO_STATE, default /tmp/ops-bot-demo.json) and starts nothing of its own, so a
second admin can approve a critical step waiting in the first. It answers in its own OPS_LOCALE
(a copy of the demo's ops.yml with that `locale`). When the first terminal leaves, it marks the
state file `ending` and waits (up to JOINED_GRACE) for the joined terminals, which say so once
and exit 0, before it removes the stack.

The bot is reached only through its command line (`python -m bot.cli shell`), never imported.
"""

from __future__ import annotations

import contextlib
import ctypes
import gzip
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
PG = os.environ.get("OPS_DEMO_PG", "postgresql://postgres@127.0.0.1:5432")
STATE = Path(os.environ.get("OPS_DEMO_STATE", str(Path(tempfile.gettempdir()) / "ops-bot-demo.json")))
TIMEZONE = "America/Santiago"
HANDOFF_AFTER_MIN = 3  # the demo rota's hand-off, minutes after the demo starts
ROLES = {"viewer": ["*"], "operator": ["U0BACKEND"], "admin": ["U0DEVOPS", "U0TECHLEAD"]}
SERVICES = ("api", "postgres", "redis")
API_LOOP = (
    'i=0; while true; do i=$((i+1)); echo "$(date -u +%FT%TZ) info GET /orders/$i 200 12ms"; '
    'if [ $((i % 4)) -eq 0 ]; then echo "$(date -u +%FT%TZ) info webhook received payment pay_$i"; fi; '
    'if [ $((i % 9)) -eq 0 ]; then echo "$(date -u +%FT%TZ) error webhook payment pay_$i: card declined" >&2; fi; '
    "sleep 1; done"
)
BANNER = {
    "en": (
        "Demo stack up in {secs:.1f} s ({project}; config {config}).\n"
        "You are {user} ({role}). Try: /ops status, /ops help, /ops incident declare, /ops db restore …\n"
        "A critical step waits for a second admin: in another terminal, bash scripts/demo.sh --as U0TECHLEAD\n"
        "Leave with exit (or Ctrl-D): everything the demo made is removed. Ctrl-C stops a running command."
    ),
    "es": (
        "Stack de demo listo en {secs:.1f} s ({project}; config {config}).\n"
        "Eres {user} ({role}). Prueba: /ops status, /ops help, /ops incident declare, /ops db restore …\n"
        "Un paso crítico espera a un segundo admin: en otra terminal, bash scripts/demo.sh --as U0TECHLEAD\n"
        "Sal con exit (o Ctrl-D): se borra todo lo que creó la demo. Ctrl-C detiene un comando en curso."
    ),
}
JOINED = {
    "en": "Joined the running demo ({project}). You are {user} ({role}).",
    "es": "Unido a la demo en curso ({project}). Eres {user} ({role}).",
}
DEMO_ENDED = {
    "en": "The demo ended: its first terminal left and removed everything it made. This terminal leaves too.",
    "es": "La demo terminó: su primera terminal salió y borró todo lo que creó. Esta terminal también sale.",
}
JOINED_GRACE = 10.0
"""Seconds the first terminal waits, on leaving, for the joined ones to leave before it removes the stack."""
# The bot's own words for the roles (bot/text/messages.py `role.*`): they are ops.yml's keys, so
# the banner and the shell's welcome name a role the same way.
ROLE_NAMES = {"es": {"none": "ningún rol"}}
STEP_SCRIPTS = {
    "migrate.sh": 'echo "prisma migrate deploy: applying 20250102_add_refunds"; sleep 1; echo "1 migration applied"',
    "migrate_rollback.sh": 'echo "prisma migrate resolve --rolled-back $1"; sleep 1; echo "$1 marked rolled back"',
    "build.sh": 'echo "building orders API at $(git rev-parse --short HEAD)"; sleep 1; echo "build ok"',
    "deploy.sh": 'echo "deploying $(git rev-parse --short HEAD)"; sleep 1; echo "deploy ok"',
}
ALERT_FOR = os.environ.get("OPS_DEMO_ALERT_FOR", "40s")
"""How long the demo's alert rule must hold before it fires: with 5 s scrapes and Alertmanager's
5 s group wait, the first alert message comes about a minute after the demo starts."""
ALERT_INTERVAL = os.environ.get("OPS_DEMO_ALERT_INTERVAL", "5s")
"""Prometheus's scrape and rule evaluation interval (a test may shorten it with the `for:`)."""
ALERT_RULES = """\
groups:
  - name: demo
    rules:
      - alert: PaymentsFailing
        expr: increase(payment_webhook_failures_total[1m]) > 0
        for: {for_}
        labels: {{severity: warning, service: payments}}
        annotations:
          summary: Payment webhooks are failing
          description: The orders API counted failed payment webhooks in the last minute.
"""
COMMITS = ("Initial orders API", "Add refunds endpoint", "Faster payments webhook", "Cache tenant settings")


PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"


def has_alerting() -> bool:
    """Debian's prometheus and prometheus-alertmanager (scripts/setup.sh installs them); without them
    the demo runs without alerts, and says so in its config (no stack.prometheus, stack.alertmanager)."""
    return all(os.access(path, os.X_OK) for path in (PROMETHEUS, ALERTMANAGER))


def _die_with_parent() -> None:
    """In a child before exec: SIGTERM it when the demo dies, even by kill -9 (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(*args: str, check: bool = True, cwd: Path | None = None, timeout: float = 60) -> str:
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed: {done.stderr.strip()[-300:]}")
    return done.stdout


def psql(db: str, sql: str) -> None:
    run("psql", f"{PG}/{db}", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_until(what: str, check: Callable[[], Any], limit: float = 30) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            value = check()
            if value:
                return value
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {limit:.0f} s")


def http_json(url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read() or b"null")


class Demo:
    """What one demo made, so that all of it can be removed, in reverse order, exactly once."""

    def __init__(self) -> None:
        self.tag = secrets.token_hex(3)
        self.project = f"opsbotdemo{self.tag}"
        self.work = Path(tempfile.mkdtemp(prefix="ops-bot-demo-"))
        self.databases = [f"pedidos_demo_{self.tag}", f"opsbot_demo_{self.tag}"]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.made_databases: list[str] = []
        self.alerts_token = f"demo-alerts-token-{self.project}"
        self.env: dict[str, str] = {}
        self._stop_printing = threading.Event()

    # ---------------------------------------------------------------- start
    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Path:
        """Start a process of the demo; from the main thread only: PR_SET_PDEATHSIG follows the thread
        that spawned it, so a child spawned from a pool's thread is stopped when that thread ends."""
        out = self.work / f"{name}.out"
        self.procs[name] = subprocess.Popen(
            args,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=out.open("wb"),
            stderr=(self.work / f"{name}.err").open("wb"),
            start_new_session=True,  # Ctrl-C reaches the shell only; the demo stops these in order
            preexec_fn=_die_with_parent,
        )
        return out

    def redis(self, name: str) -> int:
        port = free_port()
        folder = self.work / name
        folder.mkdir()
        self.spawn(
            name,
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(folder)],
        )  # fmt: skip
        return port

    def start(self) -> None:
        self.write_state()  # first, so a demo killed while starting is swept by the next one
        cache_port, bot_port = self.redis("cache-redis"), self.redis("bot-redis")
        emulator_out = self.spawn("slack", [sys.executable, str(REPO / "tests" / "slack_emulator.py"), "--port", "0"])
        with ThreadPoolExecutor(4) as pool:
            containers = pool.submit(self.start_containers)
            databases = pool.submit(self.prepare_databases)
            repo = pool.submit(self.make_repo_and_steps)
            for port in (cache_port, bot_port):
                wait_until("redis-server", lambda p=port: run("redis-cli", "-p", str(p), "ping").strip() == "PONG")
            cache = f"redis://127.0.0.1:{cache_port}/0"
            board_out = self.spawn(
                "bull-board",
                ["node", "server.js"],
                env={"PORT": "0", "REDIS_URL": cache, "QUEUES": "payments"},
                cwd=REPO / "tests" / "bull",
            )
            databases.result()
            migrate = pool.submit(self.migrate_bot_database, bot_port)
            api_port = free_port()
            observability = self.start_alerting(api_port) if has_alerting() else None  # spawned here: see spawn
            alerting = pool.submit(self.wait_alerting, observability) if observability is not None else None
            self.spawn(
                "api",
                [sys.executable, str(REPO / "scripts" / "demo_api.py"), "--port", str(api_port),
                 "--dsn", f"{PG}/{self.databases[0]}", "--redis", cache],
            )  # fmt: skip
            self.seed_cache(cache_port)
            backups = self.make_backup()
            board = wait_until("Bull Board", lambda: json.loads(board_out.read_text().splitlines()[0]))
            board_port = int(board["port"])
            pool.submit(self.seed_jobs, board_port)
            slack = wait_until("the Slack stand-in", lambda: json.loads(emulator_out.read_text().splitlines()[0]))
            repo_dir = repo.result()
            if alerting is not None:
                alerting.result()
            config = self.write_config(api_port, board_port, cache, backups, repo_dir, observability)
            wait_until("the demo API", lambda: urllib.request.urlopen(f"http://127.0.0.1:{api_port}/health", timeout=1))
            containers.result()
            migrate.result()
        self.env = {
            "OPS_CONFIG": str(config),
            "DATABASE_URL": f"{PG}/{self.databases[1]}",
            "REDIS_URL": f"redis://127.0.0.1:{bot_port}/0",
            "REDIS_PREFIX": "opsbot:",
            "SLACK_API_URL": slack["api_url"],
            "SLACK_BOT_TOKEN": "xoxb-demo-0000-local-stand-in",  # the stand-in's, not a real token
            "OPS_DEMO_SLACK_URL": slack["url"],
        }
        if observability is not None:
            self.start_alert_intake(observability["intake_port"])
        self.write_state()

    def start_alerting(self, api_port: int) -> dict[str, Any]:
        """A private Alertmanager and Prometheus: Prometheus scrapes the demo API, one rule fires
        about a minute in, and Alertmanager posts it to the demo's `ops-bot serve` (its alert intake)."""
        intake_port, am_port, prom_port = free_port(), free_port(), free_port()
        token = self.alerts_token
        am_dir, prom_dir = self.work / "alertmanager", self.work / "prometheus"
        am_dir.mkdir()
        prom_dir.mkdir()
        (am_dir / "alertmanager.yml").write_text(
            f"""\
route:
  receiver: ops-bot
  group_by: [alertname]
  group_wait: 5s
  group_interval: 1m
  repeat_interval: 4h
receivers:
  - name: ops-bot
    webhook_configs:
      - url: http://127.0.0.1:{intake_port}/alerts/alertmanager
        send_resolved: true
        http_config:
          authorization: {{type: Bearer, credentials: {token}}}
""",
            encoding="utf-8",
        )
        self.spawn(
            "alertmanager",
            [ALERTMANAGER, f"--config.file={am_dir / 'alertmanager.yml'}", f"--storage.path={am_dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=", "--log.level=warn"],
        )  # fmt: skip
        (prom_dir / "rules.yml").write_text(ALERT_RULES.format(for_=ALERT_FOR), encoding="utf-8")
        (prom_dir / "prometheus.yml").write_text(
            f"""\
global: {{scrape_interval: {ALERT_INTERVAL}, evaluation_interval: {ALERT_INTERVAL}}}
alerting:
  alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]}}]
rule_files: [{prom_dir / "rules.yml"}]
scrape_configs:
  - job_name: api
    static_configs: [{{targets: ['127.0.0.1:{api_port}']}}]
""",
            encoding="utf-8",
        )
        self.spawn(
            "prometheus",
            [PROMETHEUS, f"--config.file={prom_dir / 'prometheus.yml'}", f"--storage.tsdb.path={prom_dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{prom_port}", "--rules.alert.resend-delay=5s", "--log.level=warn"],
        )  # fmt: skip
        return {"intake_port": intake_port, "alertmanager": am_port, "prometheus": prom_port}

    @staticmethod
    def wait_alerting(observability: dict[str, Any]) -> None:
        for name in ("alertmanager", "prometheus"):
            url = f"http://127.0.0.1:{observability[name]}/-/ready"
            wait_until(name, lambda u=url: urllib.request.urlopen(u, timeout=1), 60)

    def start_alert_intake(self, port: int) -> None:
        """`ops-bot serve` on loopback: its /alerts/alertmanager takes what Alertmanager sends and posts
        the living alert message (printed here as [slack] lines), its diagnosis in the thread."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPS_CONFIG"))}
        env.update({k: v for k, v in self.env.items() if not k.startswith("OPS_DEMO_")})
        env["SLACK_SIGNING_SECRET"] = secrets.token_hex(16)  # nobody signs requests to it: Slack is the stand-in
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        env.setdefault("LOG_LEVEL", "WARNING")
        serve = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        self.spawn("serve", serve, env=env, cwd=self.work)  # not waited for: Alertmanager retries until it answers

    def migrate_bot_database(self, bot_port: int) -> None:
        """The bot's tables before any shell starts (its escalation worker reads them at once)."""
        env = {
            **os.environ,
            "DATABASE_URL": f"{PG}/{self.databases[1]}",
            "REDIS_URL": f"redis://127.0.0.1:{bot_port}/0",
        }
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        args = [sys.executable, "-m", "bot.cli", "migrate"]
        done = subprocess.run(args, env=env, cwd=self.work, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"ops-bot migrate failed: {done.stderr.strip()[-300:]}")

    def start_containers(self) -> None:
        for service in SERVICES:
            script = API_LOOP if service == "api" else "echo ready; sleep 1000000"
            run(
                "docker", "run", "-d", "--network", "none", "--name", f"{self.project}-{service}-1",
                "--label", f"com.docker.compose.project={self.project}",
                "--label", f"com.docker.compose.service={service}",
                "opsbot/busybox:latest", "sh", "-c", script,
            )  # fmt: skip

    def prepare_databases(self) -> None:
        for db in self.databases:
            psql("postgres", f'CREATE DATABASE "{db}"')
            self.made_databases.append(db)
        psql(
            self.databases[0],
            "CREATE TABLE tenants (id text PRIMARY KEY, name text NOT NULL, active boolean NOT NULL DEFAULT true);"
            "INSERT INTO tenants VALUES ('abc123', 'Tienda ABC', true), ('xyz789', 'Mercado XYZ', true);"
            "CREATE TABLE orders (id serial PRIMARY KEY, tenant text REFERENCES tenants, total numeric NOT NULL);"
            "INSERT INTO orders (tenant, total) SELECT 'abc123', n FROM generate_series(1, 50) n;",
        )

    def seed_cache(self, port: int) -> None:
        pipe = ["redis-cli", "-p", str(port), "MSET"]
        for tenant, count in (("abc123", 12), ("xyz789", 7)):
            for n in range(count):
                pipe += [f"tenant:{tenant}:order:{n}", f"cached order {n}"]
        run(*pipe, "session:global", "s")
        run("redis-cli", "-p", str(port), "-n", "1", "SET", "ratelimit:checkout", "42")

    def seed_jobs(self, board_port: int) -> None:
        """Three payments jobs that fail, then a processor that completes them, so a retry works."""
        base = f"http://127.0.0.1:{board_port}"
        http_json(f"{base}/test/jobs", {"queue": "payments", "count": 3, "fail": True, "reason": "card declined"})
        wait_until("failed jobs", lambda: http_json(f"{base}/test/counts?queue=payments")["failed"] >= 3, 20)
        http_json(f"{base}/test/failing", {"fail": False})

    def make_backup(self) -> Path:
        """One real backup of the stack's database, yesterday at 02:00, so restore has one to take."""
        backups = self.work / "backups"
        backups.mkdir()
        when = datetime.now(ZoneInfo(TIMEZONE)).replace(hour=2, minute=0, second=0) - timedelta(days=1)
        name = f"pedidos_{when:%Y%m%d_%H%M%S}.sql.gz"
        dump = run("pg_dump", "--no-password", "--clean", "--if-exists", f"{PG}/{self.databases[0]}")
        data = gzip.compress(dump.encode())
        (backups / name).write_bytes(data)
        (backups / f"{name}.sha256").write_text(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
        return backups

    def make_repo_and_steps(self) -> Path:
        steps = self.work / "steps"
        steps.mkdir()
        for name, body in STEP_SCRIPTS.items():
            (steps / name).write_text(f"#!/bin/sh\nset -e\n{body}\n")
        repo = self.work / "pedidos"
        repo.mkdir()
        git = ["git", "-C", str(repo)]
        run(*git, "init", "-q", "-b", "main")
        run(*git, "config", "user.name", "Demo Deployer")
        run(*git, "config", "user.email", "deploy@example.com")
        for n, message in enumerate(COMMITS, 1):
            (repo / "CHANGELOG").write_text("".join(f"{m}\n" for m in COMMITS[:n]))
            (repo / f"feature_{n}.txt").write_text(f"{message}\n")
            run(*git, "add", ".")
            run(*git, "commit", "-q", "-m", message)
        return repo

    def write_config(
        self,
        api_port: int,
        board_port: int,
        cache: str,
        backups: Path,
        repo: Path,
        observability: dict[str, Any] | None = None,
    ) -> Path:
        steps = self.work / "steps"
        alerting = ""
        if observability is not None:
            alerting = (
                f"  prometheus: {{url: http://127.0.0.1:{observability['prometheus']}, timeout: 5s}}\n"
                f"  alertmanager: {{url: http://127.0.0.1:{observability['alertmanager']}, timeout: 5s}}\n"
            )
        path = self.work / "ops.yml"
        # a two-person devops rota whose daily hand-off falls a few minutes into the demo: Marta
        # is on call now, Pablo from then on, and the hand-off summary lands in the incident channel
        handoff = (datetime.now(ZoneInfo(TIMEZONE)) + timedelta(minutes=HANDOFF_AFTER_MIN)).replace(second=0)
        first_shift = (handoff - timedelta(days=1)).date()
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
    metrics_window: 1s
  bull_board:
    base_url: http://127.0.0.1:{board_port}/admin/queues
    queues: [payments]
  postgres:
    dsn: {PG}/{self.databases[0]}
    tenants_table: tenants
  redis:
    url: {cache}
    tenant_key_pattern: "tenant:{{tenant}}:*"
  docker:
    compose_project: {self.project}
    services: [{", ".join(SERVICES)}]
    stop_timeout: 2s
  backups:
    dir: {backups}
    keep: 14
  steps:
    migrate: {{cwd: {repo}, run: "sh {steps}/migrate.sh", timeout: 30s}}
    migrate_rollback: {{cwd: {repo}, run: "sh {steps}/migrate_rollback.sh {{migration}}", timeout: 30s}}
    build: {{cwd: {repo}, run: "sh {steps}/build.sh", timeout: 30s}}
    deploy: {{cwd: {repo}, run: "sh {steps}/deploy.sh", timeout: 30s}}
  repo: {repo}
{alerting}timezone: {TIMEZONE}
locale: {locale()}
roles:
  viewer: ["*"]
  operator: [U0BACKEND]
  admin: [U0DEVOPS, U0TECHLEAD]
contacts:
  - {{role: tech_lead, name: Ana Rojas, slack: U0TECHLEAD, email: ana@example.com, hours: "09:00-18:00"}}
  - {{role: backend_dev, name: Luis Pérez, slack: U0BACKEND, email: luis@example.com, hours: "09:00-18:00"}}
  - {{role: devops, name: Marta Gil, slack: U0DEVOPS, email: marta@example.com, on_call: true}}
  - {{role: devops, name: Pablo Soto, slack: U0DEVOPS2, email: pablo@example.com}}
  - {{role: cto, name: Jorge Díaz, slack: U0CTO, email: jorge@example.com}}
oncall:
  devops:
    layers:
      - name: daily
        members: [U0DEVOPS, U0DEVOPS2]
        rotation: daily
        handoff: "{handoff:%H:%M}"
        start: {first_shift}
    channel: C0INCIDENTS
    remind: 2m
escalation:
  sev1:
    - {{notify: devops, on_call: true}}
    - {{notify: tech_lead}}
    - {{after: 15m, unless: acknowledged, notify: cto}}
  sev2:
    - {{ticket: true}}
    - {{notify: tech_lead}}
    - {{checklist: [Reproduce, Find the cause, Fix or mitigate, Write the follow-up]}}
alerts:
  channel: C0INCIDENTS
  token: {self.alerts_token}
  rules:
    - {{match: {{alertname: PaymentsFailing}}, diagnose: payments}}
""",
            encoding="utf-8",
        )
        return path

    def end_joined(self) -> None:
        """Joined terminals leave before the stack goes: their shells would otherwise find its
        databases dropped under them (a warning a second, forever) and never hear the demo ended."""
        self.write_state(ending=True)
        deadline = time.monotonic() + JOINED_GRACE
        while any(alive(pid) for pid in joined_pids(self.work)) and time.monotonic() < deadline:
            time.sleep(0.1)

    # ---------------------------------------------------------------- state file
    def write_state(self, ending: bool = False) -> None:
        state = {
            "pid": os.getpid(),
            "project": self.project,
            "work": str(self.work),
            "databases": self.databases,
            "env": self.env,
            "locale": locale(),
            "ending": ending,
        }
        tmp = STATE.with_name(STATE.name + f".{os.getpid()}")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        tmp.replace(STATE)

    # ---------------------------------------------------------------- Slack, shown in the terminal
    def print_slack(self) -> None:
        """Print what the bot posts to the Slack stand-in, as a person in Slack would see it."""
        url = self.env["OPS_DEMO_SLACK_URL"].rstrip("/")
        seen = 0
        while not self._stop_printing.wait(0.3):
            try:
                calls = http_json(f"{url}/_calls")
            except Exception:
                continue
            for call in calls[seen:]:
                line = slack_line(call)
                if line:
                    print(line, flush=True)
            seen = len(calls)

    # ---------------------------------------------------------------- the shell
    def shell(self, user: str, command: str | None, extra: list[str]) -> int:
        printer = threading.Thread(target=self.print_slack, daemon=True)
        printer.start()
        try:
            return run_shell(self.env, self.work, user, command, extra)
        finally:
            time.sleep(0.6 if command is not None else 0)  # the last pages of a one-off command
            self._stop_printing.set()
            printer.join(2)

    # ---------------------------------------------------------------- cleanup
    def close(self) -> None:
        self._stop_printing.set()
        self.end_joined()
        for name in ("serve", "prometheus", "alertmanager", "api", "bull-board", "slack", "cache-redis", "bot-redis"):
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        sweep(self.project, self.made_databases, self.work)
        with contextlib.suppress(OSError):
            if json.loads(STATE.read_text()).get("pid") == os.getpid():
                STATE.unlink()


def sweep(project: str, databases: list[str], work: Path) -> None:
    """Remove a demo's containers, databases and folder (its processes die with it)."""
    ids = run("docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}", check=False).split()
    if ids:
        run("docker", "rm", "-f", *ids, check=False)
    for db in databases:
        with contextlib.suppress(Exception):
            psql("postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    shutil.rmtree(work, ignore_errors=True)


def slack_line(call: dict[str, Any]) -> str | None:
    method, args = call.get("method"), call.get("args") or {}
    if method not in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
        return None
    channel = str(args.get("channel", "?"))
    if channel.startswith("D"):  # a DM the stand-in opened, D + the person's id
        where = f"DM @{channel[1:]}" if channel[1:2] in ("U", "W") else f"DM {channel}"
    else:
        where = f"#{channel}"
    if args.get("thread_ts"):
        where += " (thread)"
    if method == "chat.update":
        where += " (edited)"
    text = str(args.get("text") or "")
    if not text and isinstance(args.get("blocks"), list):
        text = " ".join(str((b.get("text") or {}).get("text", "")) for b in args["blocks"] if isinstance(b, dict))
    lines = [line for line in text.splitlines() if line.strip()] or ["(blocks)"]
    return "\n".join(f"[slack] {where}: {line}" if i == 0 else f"[slack]   {line}" for i, line in enumerate(lines))


def run_shell(
    env: dict[str, str],
    work: Path,
    user: str,
    command: str | None,
    extra: list[str],
    ended: Callable[[], bool] | None = None,
) -> int:
    """`ops-bot shell` on the demo, as `user`; files it saves go to the demo's folder.

    `ended` (a joined terminal's): asked a few times a second; once true, the shell is stopped,
    the terminal's modes put back as they were, and DemoEnded raised."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPS_CONFIG"))}
    child_env.update({k: v for k, v in env.items() if not k.startswith("OPS_DEMO_")})
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    child_env["TMPDIR"] = str(work)
    child_env.setdefault("LOG_LEVEL", "WARNING")
    child_env["OPS_SHELL_JOIN"] = "bash scripts/demo.sh --as"  # the approve hint names what works here
    args = [sys.executable, "-m", "bot.cli", "shell", "--as", user, *extra]
    if command is not None:
        args += ["-c", command]
    terminal = _terminal_modes()
    proc = subprocess.Popen(args, env=child_env, cwd=work, preexec_fn=_die_with_parent)
    previous = signal.signal(signal.SIGINT, lambda *_: None)  # Ctrl-C is the shell's to handle
    try:
        while True:
            try:
                return proc.wait(0.25)
            except subprocess.TimeoutExpired:
                if ended is not None and ended():
                    raise DemoEnded from None
    finally:
        signal.signal(signal.SIGINT, previous)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        _restore_terminal(terminal)


class DemoEnded(Exception):
    """The first terminal left while this joined one was open."""


def _terminal_modes() -> list[Any] | None:
    """The terminal's modes, to put back if the shell is stopped while its line editor holds it raw."""
    try:
        return termios.tcgetattr(sys.stdin.fileno())
    except (termios.error, OSError, ValueError):  # not a terminal (piped input): nothing to put back
        return None


def _restore_terminal(modes: list[Any] | None) -> None:
    if modes is None:
        return
    with contextlib.suppress(termios.error, OSError, ValueError):
        termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, modes)


def joined_pids(work: Path) -> list[int]:
    """The demo.py processes of the terminals that joined this demo (each left its pid in work/joined)."""
    with contextlib.suppress(OSError):
        return [int(p.name) for p in (work / "joined").iterdir() if p.name.isdigit()]
    return []


def demo_is_over(owner: int) -> bool:
    """The first terminal is leaving (its state says so or is gone) or already died."""
    try:
        state = json.loads(STATE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return int(state.get("pid", 0)) != owner or bool(state.get("ending")) or not alive(owner)


def join(state: dict[str, Any], user: str, command: str | None, extra: list[str]) -> int:
    """A second terminal on the running demo, in its own language, until it leaves or the demo ends."""
    lang = locale(default=str(state.get("locale", "en")))
    print(JOINED[lang].format(project=state["project"], user=user, role=role_of(user, lang)), flush=True)
    work, owner = Path(state["work"]), int(state["pid"])
    env = dict(state["env"])
    if lang != state.get("locale"):
        env["OPS_CONFIG"] = str(config_in(Path(env["OPS_CONFIG"]), lang))
    mark = work / "joined" / str(os.getpid())
    mark.parent.mkdir(exist_ok=True)
    mark.touch()
    try:
        return run_shell(env, work, user, command, extra, ended=lambda: demo_is_over(owner))
    except DemoEnded:
        print(f"\n{DEMO_ENDED[lang]}", flush=True)
        if not alive(owner):
            running_demo()  # the first terminal died without cleaning up (kill -9): sweep as the next demo would
        return 0
    finally:
        with contextlib.suppress(OSError):
            mark.unlink()


def config_in(config: Path, lang: str) -> Path:
    """The demo's ops.yml answering in `lang`: a joined terminal speaks its own language."""
    copy = config.with_name(f"ops.{lang}.yml")
    if not copy.exists():
        text = re.sub(r"^locale: \w+$", f"locale: {lang}", config.read_text(encoding="utf-8"), flags=re.M)
        tmp = copy.with_name(f"{copy.name}.{os.getpid()}")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(copy)
    return copy


def locale(default: str = "en") -> str:
    """OPS_LOCALE's language; unset, `default` (a joined terminal: the running demo's)."""
    chosen = os.environ.get("OPS_LOCALE") or default
    return "es" if chosen.lower().startswith("es") else "en"


def role_of(user: str, lang: str | None = None) -> str:
    names = ROLE_NAMES.get(lang or locale(), {})
    for role in ("admin", "operator", "viewer"):
        if user in ROLES[role] or "*" in ROLES[role]:
            return names.get(role, role)
    return names.get("none", "no role")


def parse_args(argv: list[str]) -> tuple[str, str | None, list[str]]:
    user = os.environ.get("OPS_DEMO_USER", "U0DEVOPS")
    command: str | None = None
    extra: list[str] = []
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--as" and rest:
            user = rest.pop(0)
        elif arg.startswith("--as="):
            user = arg.split("=", 1)[1]
        elif arg == "-c" and rest:
            command = rest.pop(0)
        elif arg in ("-h", "--help"):
            print(__doc__)
            raise SystemExit(0)
        else:
            extra.append(arg)
    return user, command, extra


def running_demo() -> dict[str, Any] | None:
    """The state of a demo that is running now; a dead demo's leftovers are swept."""
    try:
        state = json.loads(STATE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if alive(int(state.get("pid", 0))):
        return state if state.get("env") and not state.get("ending") else None
    sweep(str(state.get("project", "")), list(state.get("databases", [])), Path(state.get("work", "/nonexistent")))
    with contextlib.suppress(OSError):
        STATE.unlink()
    return None


def _stop_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    user, command, extra = parse_args(argv)
    joined = running_demo()
    if joined is not None:
        return join(joined, user, command, extra)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    began = time.monotonic()
    demo = Demo()
    try:
        demo.start()
        secs = time.monotonic() - began
        config = demo.env["OPS_CONFIG"]
        print(
            BANNER[locale()].format(secs=secs, project=demo.project, config=config, user=user, role=role_of(user)),
            flush=True,
        )
        return demo.shell(user, command, extra)
    except RuntimeError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop the cleanup halfway
        demo.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
