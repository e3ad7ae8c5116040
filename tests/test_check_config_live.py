"""check-config's blind spots: values that loaded "ok" and failed at the first incident.

`incident_channel: "#incidents"` (Slack posts to ids), `timeout: 5` (5 what?), `hours: "9-18"`,
an alert rule's `diagnose: apii`, `alerts.channel: alerts` and `queues: []` are now mistakes,
each at its key and line. What only the machine can tell (a folder that is not there, a target
that does not answer) is `ops-bot check-config --live`: each target tried once, within its
timeout, reported as warnings with key and line. The real `ops-bot` process is run, against
this session's real Postgres, Redis and Docker, a hung TCP server and folders that exist or not.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
from botproc import bot_env, run_bot
from conftest import REDIS_URL, base_config
from targets import start_http_target, start_silent_server
from test_check_config import line_of, only_problem

from bot.config.ops_yml import parse_config
from bot.config.rules import DIAGNOSE_TOPICS
from handlers.diagnose import Section

pytestmark = pytest.mark.timeout(120)

ALERTS = """\
alerts:
  channel: C0ALERTS
  token: alerts-token-0123456789abcdef
  rules:
    - {match: {alertname: ApiDown}, diagnose: api}
"""
BOARD = """\
  bull_board:
    base_url: http://127.0.0.1:9/admin/queues
    queues: [payments]
"""


def with_board(text: str, board: str = BOARD) -> str:
    return text.replace("  docker:\n", board + "  docker:\n", 1)


@pytest.mark.parametrize(
    ("slip", "key", "needle", "said"),
    [
        (("incident_channel: C0INCIDENTS", 'incident_channel: "#incidents"'), "slack.incident_channel",
         "#incidents", "'#incidents' is not a channel id (C…/G…)"),
        (("timeout: 2s", "timeout: 5"), "stack.api.timeout", "timeout: 5", "5 has no unit: write 5s"),
        (("stop_timeout: 1s", 'stop_timeout: "10"'), "stack.docker.stop_timeout", "stop_timeout:", "10 has no unit"),
        (('hours: "09:00-18:00"', 'hours: "9-18"'), "contacts[0].hours", "9-18", "hours must look like 09:00-18:00"),
        (("diagnose: api}", "diagnose: apii}"), "alerts.rules[0].diagnose", "apii",
         "'apii' is not a diagnose topic (api, db, redis, payments, slow); did you mean 'api'?"),
        (("channel: C0ALERTS", "channel: alerts"), "alerts.channel", "channel: alerts", "'alerts' is not a channel id"),
        (("queues: [payments]", "queues: []"), "stack.bull_board.queues", "queues: []", "name at least one queue"),
    ],
)  # fmt: skip
def test_a_mistake_that_used_to_pass_is_refused_at_its_key_and_line(
    slip: tuple[str, str], key: str, needle: str, said: str
) -> None:
    right = with_board(base_config(extra=ALERTS))
    parse_config(right, env={})  # the file is fine before the slip
    assert right.count(slip[0]) == 1
    text = right.replace(*slip)
    problem = only_problem(text)
    assert (problem.key, problem.line) == (key, line_of(text, needle))
    assert said in problem.message, problem.message


@pytest.mark.parametrize("value", ["C0INCIDENTS", "G01PRIVATE"])
def test_channel_ids_are_accepted(value: str) -> None:
    parse_config(base_config().replace("incident_channel: C0INCIDENTS", f"incident_channel: {value}"), env={})


@pytest.mark.parametrize("value", ["5s", "500ms", "1h30m", "2m"])
def test_durations_with_their_unit_are_read(value: str) -> None:
    config = parse_config(base_config().replace("timeout: 2s", f"timeout: {value}"), env={})
    assert config.stack.api is not None and config.stack.api.timeout.total_seconds() > 0


def test_the_config_knows_the_diagnose_topics_the_command_takes() -> None:
    assert set(DIAGNOSE_TOPICS) == set(get_args(Section))


# ---- --live: the real process, against real and missing targets --------------------------------


def live_config(tmp_path: Path, api_url: str, target_db: str, project: str, backups: str, repo: str) -> str:
    text = base_config(api_url=api_url, target_db=target_db, target_redis=REDIS_URL, project=project)
    text = text.replace("services: [api, postgres, redis]", "services: [api]")
    return text.replace(
        "roles:\n",
        f"  backups:\n    dir: {backups}\n    keep: 3\n  repo: {repo}\n"
        f"  steps:\n    build: {{cwd: {tmp_path / 'nowhere'}, run: make build}}\nroles:\n",
        1,
    )


async def test_live_warns_of_missing_folders_and_a_hung_api_each_at_its_line(
    tmp_path: Path, bot_db_url: str, target_db_url: str, compose_project: str
) -> None:
    server, hung_url = await start_silent_server()
    path = tmp_path / "ops.yml"
    text = live_config(tmp_path, hung_url, target_db_url, compose_project, "/backups-not-here", "/srv/pedidos-not-here")
    path.write_text(text, encoding="utf-8")
    env = bot_env(path, hung_url, bot_db_url)
    try:
        plain = await run_bot(["check-config", str(path)], env, cwd=tmp_path)
        live = await run_bot(["check-config", "--live", str(path)], env, cwd=tmp_path, timeout=60)
    finally:
        server.close()
    assert plain.returncode == 0 and "warning" not in plain.stdout, plain.stdout + plain.stderr
    assert f"{path}: ok (1 service, 3 contacts, 0 escalation policies)" in plain.stdout
    assert live.returncode == 0, live.stdout + live.stderr
    out = live.stdout
    expected = [
        f"warning: stack.backups.dir (line {line_of(text, 'dir: /backups-not-here')}): "
        "/backups-not-here does not exist on this machine",
        f"warning: stack.repo (line {line_of(text, 'repo: /srv')}): /srv/pedidos-not-here does not exist",
        f"warning: stack.steps.build.cwd (line {line_of(text, 'build: {cwd:')}): {tmp_path / 'nowhere'} does not exist",
        f"warning: stack.api.base_url (line {line_of(text, 'base_url:')}): the API: no answer within 5 s",
    ]
    for line in expected:
        assert line in out, out
    assert "live check from this machine: 4 warnings" in out
    # the real Postgres (with its tenants table), Redis and Docker project answered: no warning for them
    assert not re.search(r"stack\.(postgres|redis|docker)", out), out
    assert "Traceback" not in live.stderr, live.stderr


async def test_live_names_each_unreachable_target_without_its_password(
    tmp_path: Path, bot_db_url: str, compose_project: str
) -> None:
    api = await start_http_target({})
    free = "127.0.0.1:9"  # the discard port: nothing listens
    backups, repo = tmp_path / "backups", tmp_path / "repo"
    backups.mkdir()
    (repo / ".git").mkdir(parents=True)
    (tmp_path / "nowhere").mkdir()
    text = live_config(
        tmp_path, api.url, f"postgresql://pedidos:s3cretpw@{free}/pedidos", "nosuchproject", str(backups), str(repo)
    )
    text = text.replace(f"redis://{REDIS_URL.removeprefix('redis://')}", f"redis://:r3dispw@{free}/0")
    text = with_board(text, BOARD)
    text = text.replace("roles:\n", "  prometheus: {url: http://127.0.0.1:9}\nroles:\n", 1)
    path = tmp_path / "ops.yml"
    path.write_text(text, encoding="utf-8")
    try:
        live = await run_bot(
            ["check-config", "--live", str(path)], bot_env(path, api.url, bot_db_url), cwd=tmp_path, timeout=60
        )
    finally:
        await api.close()
    out = live.stdout
    assert live.returncode == 0, out + live.stderr
    for key, said in [
        ("stack.postgres.dsn", "Postgres: unreachable"),
        ("stack.redis.url", "Redis: unreachable"),
        ("stack.bull_board.base_url", "Bull Board: unreachable"),
        ("stack.prometheus.url", "Prometheus: unreachable"),
        ("stack.docker.url", "Docker: reachable, but no container of compose project 'nosuchproject'"),
    ]:
        assert re.search(rf"warning: {re.escape(key)} \(line \d+\): {re.escape(said)}", out), (key, out)
    assert "stack.api" not in out and "stack.backups" not in out and "stack.repo" not in out, out
    assert "s3cretpw" not in out + live.stderr and "r3dispw" not in out + live.stderr
