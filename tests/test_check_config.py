"""check-config catches what a tired person writes, each mistake at its key and its own line.

Every case here used to load fine and fail later, obscurely or silently: `command: ops` left
every slash command unanswered, `base_url: localhost:3000` made every API call fail, a role
entry `@marta` matched nobody, `0 25 * * *` never backed anything up, and escalation without
`slack.incident_channel` had no thread for its incidents. Cross-checks (a step's service, a
policy's role, a rule's severity) said "line 1"; now each names its own key's line. The
text goes through the real YAML parser and models (`parse_config`), and the real `ops-bot
check-config` and `ops-bot serve` processes are run on the same files.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from botproc import bot_env, run_bot
from conftest import base_config

from bot.config.ops_yml import ConfigError, ConfigProblem, parse_config

pytestmark = pytest.mark.timeout(90)

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_ENV = {
    "TARGET_DATABASE_URL": "postgresql://pedidos:s3cret@localhost/pedidos",
    "TARGET_REDIS_URL": "redis://localhost",
    "ALERTS_TOKEN": "alerts-token-0123456789abcdef",
    "ONCALL_ICAL_TOKEN": "ical-token-0123456789abcdef",
}
POLICY = """\
escalation:
  sev1:
    - {notify: devops, on_call: true}
    - {notify: tech_lead}
"""


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the `occurrence`-th line containing `needle`."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return found[occurrence - 1]


def problems_of(text: str) -> dict[str, ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env={})
    return {p.key: p for p in caught.value.problems}


def only_problem(text: str) -> ConfigProblem:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env={})
    assert len(caught.value.problems) == 1, caught.value.problems
    return caught.value.problems[0]


def test_the_base_config_and_both_examples_are_accepted() -> None:
    parse_config(base_config(extra=POLICY), env={})
    for example in (REPO / "ops.example.yml", REPO / "tests" / "spec" / "ops.example.yml"):
        parse_config(example.read_text(encoding="utf-8"), env=EXAMPLE_ENV)


# ---- each mistake alone: its key, its own line, a sentence that says what to write -------------


def test_a_command_without_its_slash_is_refused_at_its_line() -> None:
    text = base_config().replace("command: /ops", "command: ops")
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("slack.command", line_of(text, "command: ops"))
    assert "like /ops" in problem.message


@pytest.mark.parametrize("command", ["/ops", "/ops-staging", "/pedidos_ops"])
def test_a_slash_command_is_accepted(command: str) -> None:
    parse_config(base_config().replace("command: /ops", f"command: {command}"), env={})


@pytest.mark.parametrize("url", ["localhost:3000", "127.0.0.1:3000", "ftp://localhost:3000", "http://"])
def test_an_api_base_url_without_http_scheme_is_refused_at_its_line(url: str) -> None:
    text = base_config(api_url=url)
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("stack.api.base_url", line_of(text, "base_url:"))
    assert "http://" in problem.message and "https://" in problem.message


def test_every_http_url_of_the_file_is_checked_and_a_webhook_secret_is_not_repeated() -> None:
    text = base_config(
        extra="""\
        escalation:
          ticket_webhook: hooks.example.com/services/T0/B0/WebhookSecret42
          sev1: [{notify: devops}]
        """
    ).replace("stack:\n", "stack:\n  prometheus: {url: localhost:9090}\n  alertmanager: {url: localhost:9093}\n", 1)
    found = problems_of(text)
    assert sorted(found) == ["escalation.ticket_webhook", "stack.alertmanager.url", "stack.prometheus.url"]
    assert found["escalation.ticket_webhook"].line == line_of(text, "ticket_webhook:")
    assert found["stack.prometheus.url"].line == line_of(text, "prometheus:")
    assert all("WebhookSecret42" not in str(p) for p in found.values())


def test_an_unset_variable_in_a_url_is_one_problem_not_also_a_bad_url() -> None:
    text = base_config(extra="escalation:\n  ticket_webhook: ${TICKET_URL}\n  sev1: [{notify: devops}]\n")
    problem = only_problem(text)
    assert (problem.key, problem.message) == ("escalation.ticket_webhook", "environment variable TICKET_URL is not set")


def test_a_service_listed_twice_is_refused_at_the_repeated_entry() -> None:
    text = base_config().replace(
        "    services: [api, postgres, redis]\n", "    services:\n      - api\n      - postgres\n      - api\n"
    )
    problem = only_problem(text)
    assert problem.key == "stack.docker.services[2]"
    assert problem.line == line_of(text, "      - api", occurrence=2)
    assert "'api' is listed twice" in problem.message


@pytest.mark.parametrize(
    ("schedule", "said"),
    [
        ("0 25 * * *", "hour 25 is out of range (0-23)"),
        ("60 2 * * *", "minute 60 is out of range (0-59)"),
        ("0 2 0 * *", "day of month 0 is out of range (1-31)"),
        ("0 2 * 13 *", "month 13 is out of range (1-12)"),
        ("0 0 31 2 *", "names no date that exists"),
        ("0 2 * * * *", "a cron line has 5 fields"),
        ("every night", "a cron line has 5 fields"),
        ("0 2 * * fri-", "not a cron line"),
    ],
)
def test_a_backup_schedule_that_cannot_fire_is_refused_at_its_line(schedule: str, said: str) -> None:
    text = base_config().replace("  docker:\n", f'  backups: {{dir: /backups, schedule: "{schedule}"}}\n  docker:\n')
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("stack.backups.schedule", line_of(text, "backups:"))
    assert said in problem.message


@pytest.mark.parametrize("schedule", ["0 2 * * *", "*/15 * * * *", "30 3 * * MON-FRI", "0 2 1,15 * *", "@daily"])
def test_a_cron_line_that_fires_is_accepted(schedule: str) -> None:
    parse_config(base_config().replace("  docker:\n", f'  backups: {{dir: /b, schedule: "{schedule}"}}\n  docker:\n'))


@pytest.mark.parametrize("entry", ["@marta", "marta", "u0devops", "U0DEV OPS", "<@U0DEVOPS>", "C0INCIDENTS", "**"])
def test_a_role_entry_that_is_not_a_slack_id_is_refused_at_its_own_line(entry: str) -> None:
    text = base_config().replace("  operator: ['U0OPER']\n", f"  operator:\n    - U0OPER\n    - '{entry}'\n")
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("roles.operator[1]", line_of(text, f"- '{entry}'"))
    assert "is not a Slack user id (U…/W…), a user group id (S…)" in problem.message


def test_user_ids_enterprise_ids_group_ids_and_everyone_are_accepted() -> None:
    roles = {"viewer": ["*"], "operator": ["U0OPER", "W0ENTERPRISE", "S0ONCALL"], "admin": ["U0ADMIN"]}
    config = parse_config(base_config(roles=roles), env={})
    assert config.roles.operator == ["U0OPER", "W0ENTERPRISE", "S0ONCALL"]


@pytest.mark.parametrize("slack", ["'@marta'", "marta", "S0ONCALL", "'*'"])
def test_a_contact_whose_slack_is_not_a_user_id_is_refused_at_its_line(slack: str) -> None:
    """Chosen beyond the issue: a contact is paged by a direct message to this id; a name, a
    group or everyone reaches nobody."""
    text = base_config().replace("slack: U0DEVOPS", f"slack: {slack}")
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("contacts[1].slack", line_of(text, "name: Marta Gil"))
    assert "is not a Slack user id (U…/W…)" in problem.message


def test_escalation_without_an_incident_channel_is_refused_at_the_slack_section() -> None:
    text = base_config(extra=POLICY).replace("  incident_channel: C0INCIDENTS\n", "")
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("slack.incident_channel", line_of(text, "slack:"))
    assert "escalation is configured" in problem.message


def test_an_incident_channel_set_to_null_is_refused_at_its_own_line() -> None:
    text = base_config(extra=POLICY).replace("incident_channel: C0INCIDENTS", "incident_channel: null")
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("slack.incident_channel", line_of(text, "incident_channel: null"))


def test_alerts_with_neither_their_channel_nor_the_incident_channel_are_refused_at_the_alerts_section() -> None:
    """Chosen beyond the issue: the poster would otherwise retry forever with nowhere to post."""
    text = base_config(extra="alerts: {token: alerts-token-0123456789abcdef}\n")
    text = text.replace("  incident_channel: C0INCIDENTS\n", "")
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("alerts.channel", line_of(text, "alerts:"))
    parse_config(text.replace("alerts: {", "alerts: {channel: C0ALERTS, "), env={})


def test_no_incident_channel_is_fine_without_escalation() -> None:
    config = parse_config(base_config().replace("  incident_channel: C0INCIDENTS\n", ""), env={})
    assert config.slack.incident_channel is None


# ---- unknown keys: "did you mean" at any depth -----------------------------------------------


@pytest.mark.parametrize(
    ("right", "wrong", "key"),
    [
        ("incident_channel: C0INCIDENTS", "incident_chanel: C0INCIDENTS", "slack.incident_chanel"),
        ("timezone: America/Santiago", "timezome: America/Santiago", "timezome"),
        ("    compose_project:", "    compose_projet:", "stack.docker.compose_projet"),
        ("    timeout: 2s", "    timeuot: 2s", "stack.api.timeuot"),
        ("email: ana@example.com", "emial: ana@example.com", "contacts[0].emial"),
        ("{notify: tech_lead}", "{notfy: tech_lead}", "escalation.sev1[1].notfy"),
    ],
)
def test_a_misspelled_key_is_named_with_the_nearest_right_one(right: str, wrong: str, key: str) -> None:
    text = base_config(extra=POLICY).replace(right, wrong, 1)
    found = problems_of(text)
    assert key in found, found
    intended = right.strip().split(":")[0].lstrip("{")
    assert found[key].message == f"unknown key; did you mean {intended!r}?"
    assert found[key].line == line_of(text, wrong.strip())


def test_an_unknown_key_with_no_near_name_lists_what_is_allowed_there() -> None:
    text = base_config().replace("  allowed_channels: []\n", "  allowed_channels: []\n  colour: blue\n")
    problem = only_problem(text)
    assert problem.key == "slack.colour"
    assert problem.message == "unknown key; allowed here: allowed_channels, command, incident_channel"


def test_a_misspelled_ticket_webhook_is_not_taken_for_a_policy() -> None:
    text = base_config(extra=POLICY + "  ticket_webhok: http://tickets.example/new\n")
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("escalation.ticket_webhok", line_of(text, "ticket_webhok:"))
    assert "did you mean 'ticket_webhook'?" in problem.message


def test_a_key_given_twice_in_one_mapping_is_refused_at_the_second() -> None:
    text = base_config().replace("  command: /ops\n", "  command: /ops\n  command: /ops-staging\n")
    problem = only_problem(text)
    assert (problem.key, problem.line) == ("slack.command", line_of(text, "command: /ops-staging"))
    assert f"first at line {line_of(text, 'command: /ops')}" in problem.message


# ---- cross-checks at their own line, and together with everything else -----------------------


def test_cross_checks_name_their_own_key_and_line() -> None:
    text = base_config(
        extra="""\
        escalation:
          sev1:
            - {notify: devops}
            - {notify: tech_leed}
        alerts:
          token: alerts-token-0123456789abcdef
          rules:
            - match: {alertname: X}
              declare: sev9
        """
    ).replace("  docker:\n", "  steps:\n    migrate: {service: apii, run: 'true'}\n  docker:\n")
    found = problems_of(text)
    assert found["stack.steps.migrate.service"].line == line_of(text, "migrate: {service: apii")
    assert "'apii' is not in stack.docker.services" in found["stack.steps.migrate.service"].message
    assert found["escalation.sev1[1].notify"].line == line_of(text, "{notify: tech_leed}")
    assert found["escalation.sev1[1].notify"].message == "no contact has role 'tech_leed'; did you mean 'tech_lead'?"
    assert found["alerts.rules[0].declare"].line == line_of(text, "declare: sev9")
    assert all(p.line != 1 for p in found.values())


def test_every_kind_of_mistake_is_reported_in_one_run_in_the_files_order() -> None:
    text = mistakes()
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env={})
    keys = [p.key for p in caught.value.problems]
    assert keys == [
        "slack.command",
        "slack.incident_chanel",
        "stack.api.base_url",
        "stack.docker.services[2]",
        "roles.operator[1]",
        "escalation.sev1[1].notify",
    ]
    lines = [p.line for p in caught.value.problems]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)


def mistakes() -> str:
    """One ops.yml with one of each mistake (a cross-check among them), as a tired person writes it."""
    text = base_config(api_url="localhost:3000", extra=POLICY.replace("{notify: tech_lead}", "{notify: techlead}"))
    text = text.replace("command: /ops", "command: ops").replace("incident_channel:", "incident_chanel:")
    text = text.replace("[api, postgres, redis]", "[api, postgres, api]")
    return text.replace("operator: ['U0OPER']", "operator: ['U0OPER', '@luis']")


# ---- the real processes ----------------------------------------------------------------------


def expected_lines(text: str) -> list[str]:
    return [
        f"slack.command (line {line_of(text, 'command: ops')}): a slash command starts with /",
        f"slack.incident_chanel (line {line_of(text, 'incident_chanel:')}): unknown key; "
        "did you mean 'incident_channel'?",
        f"stack.api.base_url (line {line_of(text, 'base_url: localhost:3000')}): not a full URL",
        f"stack.docker.services[2] (line {line_of(text, 'services:')}): 'api' is listed twice",
        f"roles.operator[1] (line {line_of(text, 'operator:')}): '@luis' is not a Slack user id",
        f"escalation.sev1[1].notify (line {line_of(text, 'techlead')}): no contact has role 'techlead'",
    ]


async def test_check_config_reports_each_mistake_with_its_key_and_line(tmp_path: Path, bot_db_url: str) -> None:
    path = tmp_path / "ops.yml"
    path.write_text(mistakes(), encoding="utf-8")
    done = await run_bot(["check-config", str(path)], bot_env(path, "http://127.0.0.1:9", bot_db_url), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{path}: 6 problems" in done.stderr
    for expected in expected_lines(mistakes()):
        assert expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "line 1)" not in done.stderr


async def test_serve_refuses_to_start_on_the_same_mistakes(tmp_path: Path, bot_db_url: str) -> None:
    path = tmp_path / "ops.yml"
    path.write_text(mistakes(), encoding="utf-8")
    env = bot_env(path, "http://127.0.0.1:9", bot_db_url)
    done = await run_bot(["serve", "--host", "127.0.0.1", "--port", "0"], env, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    for expected in expected_lines(mistakes()):
        assert expected in done.stderr, done.stderr
    assert "Run `ops-bot check-config` after fixing it." in done.stderr
    assert "listening on" not in done.stdout and "Traceback" not in done.stderr


@pytest.mark.parametrize("example", ["ops.example.yml", "tests/spec/ops.example.yml"])
async def test_check_config_accepts_both_examples(example: str, tmp_path: Path, bot_db_url: str) -> None:
    path = REPO / example
    env = bot_env(path, "http://127.0.0.1:9", bot_db_url, extra=EXAMPLE_ENV)
    done = await run_bot(["check-config", str(path)], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ok (3 services, 5 contacts, 2 escalation policies)" in done.stdout


def test_the_mistakes_file_is_the_base_config_with_one_slip_each() -> None:
    """Guard for the tests above: undo the slips and the same file loads."""
    fixed = mistakes().replace("command: ops", "command: /ops").replace("incident_chanel:", "incident_channel:")
    fixed = fixed.replace("localhost:3000", "http://localhost:3000").replace("[api, postgres, api]", "[api, postgres]")
    fixed = fixed.replace(", '@luis'", "").replace("techlead", "tech_lead")
    parse_config(textwrap.dedent(fixed), env={})
