from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config.ops_yml import ConfigError, load_config, parse_config
from bot.text.durations import parse_duration

SPEC = Path(__file__).resolve().parent / "spec" / "ops.example.yml"  # the spec's example, vendored
DOCS_SPEC = Path(__file__).resolve().parents[1] / "docs" / "spec"  # the spec's runbook, running.md, commands.md
ENV = {
    "TARGET_DATABASE_URL": "postgresql://pedidos:s3cret@localhost/pedidos",
    "TARGET_REDIS_URL": "redis://localhost",
    "ALERTS_TOKEN": "alerts-token-0123456789abcdef",
    "ONCALL_ICAL_TOKEN": "ical-token-0123456789abcdef",
}


def example_text() -> str:
    return SPEC.read_text(encoding="utf-8")


def test_the_spec_example_loads_with_its_env_vars() -> None:
    config = parse_config(example_text(), env=ENV)
    assert config.stack.postgres is not None and config.stack.postgres.dsn == ENV["TARGET_DATABASE_URL"]
    assert config.stack.api is not None and config.stack.api.timeout == timedelta(seconds=5)
    sev1 = config.escalation.policies["sev1"]
    assert sev1[2].after == timedelta(minutes=15) and sev1[2].notify == "cto"
    assert config.permissions == {"db backup": "admin"}
    assert config.services == ["api", "postgres", "redis"]
    assert str(config.contacts[0].hours) == "09:00-18:00"
    assert config.stack.prometheus is not None and config.stack.prometheus.url == "http://localhost:9090"
    assert config.stack.alertmanager is not None and config.stack.alertmanager.url == "http://localhost:9093"
    assert config.alerts is not None and config.alerts.token == ENV["ALERTS_TOKEN"]
    first = config.alerts.rules[0]
    assert (first.match, first.diagnose, first.declare) == ({"alertname": "PaymentsFailing"}, "payments", "sev1")


def test_an_alert_rule_declaring_an_unknown_severity_is_refused_with_its_line() -> None:
    text = example_text().replace("declare: sev1", "declare: sev9")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env=ENV)
    assert any("sev9" in p.message for p in caught.value.problems)


def test_a_short_alerts_token_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(example_text(), env={**ENV, "ALERTS_TOKEN": "abc"})
    assert [p.key for p in caught.value.problems] == ["alerts.token"]


def test_missing_env_var_is_named_with_key_and_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(example_text(), env={k: v for k, v in ENV.items() if k != "TARGET_DATABASE_URL"})
    (problem,) = caught.value.problems
    assert problem.key == "stack.postgres.dsn"
    assert "TARGET_DATABASE_URL" in problem.message
    assert problem.line == _line_of(example_text(), "dsn: ${TARGET_DATABASE_URL}")


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_every_mistake_is_reported_with_its_line() -> None:
    text = example_text().replace("timeout: 5s", "timeout: 5 parsecs").replace("keep: 14", "keep: 0")
    text = text.replace("  operator: [U0BACKEND]", "  operater: [U0BACKEND]")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env=ENV)
    found = {p.key: p for p in caught.value.problems}
    assert found["stack.api.timeout"].line == _line_of(text, "timeout: 5 parsecs")
    assert found["stack.backups.keep"].line == _line_of(text, "keep: 0")
    assert found["roles.operater"].message == "unknown key; did you mean 'operator'?"
    assert found["roles.operater"].line == _line_of(text, "operater:")


def test_escalation_naming_an_unknown_contact_role_is_refused() -> None:
    text = example_text().replace("notify: cto", "notify: ceo")
    with pytest.raises(ConfigError, match="no contact has role 'ceo'"):
        parse_config(text, env=ENV)


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("slack:\n  command: /ops\n bad: [\n", env={})
    assert caught.value.problems[0].line is not None


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("15m", 900), ("2h", 7200), ("1h30m", 5400), ("45", 45)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "5x", "m5", "1h 30", "-5m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_check_config_cli_reports_key_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "ops.yml"
    bad.write_text(example_text().replace("timeout: 5s", "timeout: soon"), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config", str(bad)],
        capture_output=True,
        text=True,
        env={**ENV, "PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    assert proc.returncode == 2
    assert f"stack.api.timeout (line {_line_of(bad.read_text(), 'timeout: soon')})" in proc.stderr


def test_check_config_cli_accepts_the_example(tmp_path: Path) -> None:
    good = tmp_path / "ops.yml"
    good.write_text(example_text(), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config", str(good)],
        capture_output=True,
        text=True,
        env={**ENV, "PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ok (3 services, 5 contacts, 2 escalation policies)" in proc.stdout


def test_load_config_of_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yml")


def test_the_vendored_example_matches_the_spec_when_the_spec_is_beside_the_repo() -> None:
    """The repo carries its own copy; where the spec sits beside the clone (as in CI), they agree."""
    beside = Path(__file__).resolve().parents[2] / "shared" / "spec"
    if not beside.is_dir():
        pytest.skip("no ../shared/spec beside this clone: the vendored copies are the reference")
    for name in ("ops.example.yml", "slack-manifest.schema.1.0.0.json"):
        assert (SPEC.parent / name).read_bytes() == (beside / name).read_bytes(), f"tests/spec/{name} is stale"
    for name in ("runbook.md", "running.md", "commands.md"):
        assert (DOCS_SPEC / name).read_bytes() == (beside / name).read_bytes(), f"docs/spec/{name} is stale"


def test_the_spec_documents_the_readme_names_are_in_the_repo() -> None:
    """README and manifest.yml send readers to the runbook and running.md: a clone has them."""
    for name in ("runbook.md", "running.md", "commands.md", "README.md"):
        assert (DOCS_SPEC / name).is_file(), f"docs/spec/{name} is missing"


def test_the_spec_example_reads_its_rota_docker_mode_and_second_devops_contact() -> None:
    config = parse_config(example_text(), env=ENV)
    assert config.stack.docker is not None and config.stack.docker.mode == "compose"
    assert [c.slack for c in config.contacts if c.role == "devops"] == ["U0DEVOPS", "U0DEVOPS2"]
    rota = config.oncall.rotas["devops"]
    assert rota.timezone == "America/Santiago" and rota.usergroup == "S0ONCALL" and rota.channel == "C0ONCALL"
    assert rota.remind == timedelta(hours=1) and rota.import_ is None
    weekly, nights = rota.layers
    assert (weekly.members, weekly.rotation, str(weekly.handoff)) == (["U0DEVOPS", "U0DEVOPS2"], "weekly", "mon 09:00")
    assert weekly.start is not None and weekly.start.isoformat() == "2026-12-07"
    assert nights.rotation == "FREQ=WEEKLY;BYDAY=SA,SU" and str(nights.hours) == "20:00-08:00"
    assert config.oncall.ical_token == ENV["ONCALL_ICAL_TOKEN"]


@pytest.mark.parametrize(
    ("old", "new", "key", "says"),
    [
        ("rotation: weekly", "rotation: fortnightly", "oncall.devops.layers[0].rotation", "RRULE"),
        ('"FREQ=WEEKLY;BYDAY=SA,SU"', '"FREQ=WEEKLY;BYDAY=XX"', "oncall.devops.layers[1].rotation", "RRULE"),
        ('handoff: "mon 09:00"', 'handoff: "monday 9"', "oncall.devops.layers[0].handoff", "mon 09:00"),
        ('handoff: "mon 09:00"', 'handoff: "09:00"', "oncall.devops.layers[0]", "on a day"),
        ("members: [U0DEVOPS, U0DEVOPS2]", "members: [marta, U0DEVOPS2]", "oncall.devops.layers[0].members[0]", "U…"),
        ("usergroup: S0ONCALL", "usergroup: oncall", "oncall.devops.usergroup", "user group id"),
        ("channel: C0ONCALL", "channel: '#oncall'", "oncall.devops.channel", "channel id"),
        (
            "timezone: America/Santiago    # the rota",
            "timezone: Mars/Olympus    # the rota",
            "oncall.devops.timezone",
            "time zone",
        ),
        ("remind: 1h", "remind: soon", "oncall.devops.remind", ""),
        (
            "  devops:                         # a contact",
            "  devopz:                         # a contact",
            "oncall.devopz",
            "did you mean 'devops'",
        ),
        ("mode: compose", "mode: kubernetes", "stack.docker.mode", "compose"),
    ],
)
def test_a_rota_or_docker_mode_mistake_is_named_at_its_key_and_line(old: str, new: str, key: str, says: str) -> None:
    text = example_text()
    assert old in text
    text = text.replace(old, new, 1)
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env=ENV)
    found = {p.key: p for p in caught.value.problems}
    assert key in found, caught.value.problems
    assert says in found[key].message
    assert found[key].line is not None


def test_a_short_ical_token_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(example_text(), env={**ENV, "ONCALL_ICAL_TOKEN": "abc"})
    assert [p.key for p in caught.value.problems] == ["oncall.ical_token"]


def test_swarm_mode_is_read() -> None:
    config = parse_config(example_text().replace("mode: compose", "mode: swarm"), env=ENV)
    assert config.stack.docker is not None and config.stack.docker.mode == "swarm"
