"""ops.yml: the bot's configuration, loaded into pydantic models in the spec's exact format.

Loading keeps the YAML line of every key so that a mistake is reported as
`stack.api.timeout (line 12): not a duration`, which is what someone fixing the file
at 3 AM needs. `${VAR}` is replaced from the environment before validation; a missing
variable is a mistake of its own, named with its key and line.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from dateutil.rrule import rrulestr
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from bot.config import rules as config_rules
from bot.config.lines import KeyLines, KeyPath
from bot.config.rules import ConfigDuration as Duration
from bot.config.rules import Located, cron_line, distinct, http_url, role_members, slack_user, slash_command
from bot.config.suggest import did_you_mean

Role = Literal["viewer", "operator", "admin"]
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlackConfig(_Model):
    command: str = "/ops"
    incident_channel: str | None = None
    allowed_channels: list[str] = Field(default_factory=list)

    _command = field_validator("command")(slash_command)
    _incident_channel = field_validator("incident_channel")(config_rules.channel_id)


class ApiConfig(_Model):
    base_url: str
    health: dict[str, str] = Field(default_factory=lambda: {"api": "/health"})
    metrics: str = "/metrics"
    timeout: Duration = timedelta(seconds=5)
    metrics_window: Duration = timedelta(seconds=1)  # two scrapes this far apart give rates; 0: one scrape
    latency_warn: Duration = timedelta(milliseconds=500)  # p95 above this: diagnose slow warns
    latency_fail: Duration = timedelta(seconds=2)  # p95 above this: diagnose slow fails

    _url = field_validator("base_url")(http_url)


class BullBoardConfig(_Model):
    base_url: str
    queues: list[str] = Field(default_factory=list)

    _url = field_validator("base_url")(http_url)
    _queues = field_validator("queues")(config_rules.some_names)


class PostgresTarget(_Model):
    dsn: str
    tenants_table: str = "tenants"

    @field_validator("tenants_table")
    @classmethod
    def _plain_identifier(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", value):
            raise ValueError("must be a plain table name like tenants or public.tenants")
        return value


class RedisTarget(_Model):
    url: str
    tenant_key_pattern: str = "tenant:{tenant}:*"
    queue_prefix: str = "bull"  # Bull's key prefix: `cache flush-all` warns when its queues share the database

    @field_validator("tenant_key_pattern")
    @classmethod
    def _has_tenant(cls, value: str) -> str:
        if "{tenant}" not in value:
            raise ValueError("must contain {tenant}")
        return value


class DockerConfig(_Model):
    """Where the stack's containers run. `mode: compose` (one host) finds them by their compose
    labels; `mode: swarm` reads the services and tasks of the Swarm stack `compose_project` names."""

    url: str = "unix:///var/run/docker.sock"
    mode: Literal["compose", "swarm"] = "compose"
    compose_project: str
    services: list[str]
    stop_timeout: Duration = timedelta(seconds=10)

    _services = field_validator("services")(distinct)


class BackupsConfig(_Model):
    dir: str
    schedule: str | None = None
    keep: int = Field(default=14, ge=1)

    _schedule = field_validator("schedule")(cron_line)


def shell_syntax(run: str) -> str | None:
    """The first piece of shell syntax outside quotes in `run`, or None (quoted, it is one word:
    `sh -c 'a; b'` is how a step asks for a shell).

    A step's `run:` is split into words (shlex) and run without a shell, so `a; b`, `a | b`,
    `a && b`, `> file`, `$(…)` and backticks would reach the program as plain arguments."""
    quote: str | None = None
    escaped = False
    for i, char in enumerate(run):
        if escaped:
            escaped = False
            continue
        if char == "\\" and quote != "'":
            escaped = True
            continue
        if quote == "'":
            quote = None if char == "'" else quote
            continue
        if quote == '"':
            quote = None if char == '"' else quote
            continue
        if char == "`" or run.startswith("$(", i):
            return run[i : i + 2] if char == "$" else char
        if char in "'\"":
            quote = char
        elif char in ";|&<>":
            return "&&" if run.startswith("&&", i) else "||" if run.startswith("||", i) else char
    return None


class StepConfig(_Model):
    """A runbook shell line: run in a service's container, or on the bot's host in `cwd`."""

    run: str
    service: str | None = None
    cwd: str | None = None
    timeout: Duration | None = None

    @field_validator("run")
    @classmethod
    def _no_shell(cls, value: str) -> str:
        found = shell_syntax(value)
        if found is not None:
            raise ValueError(
                f"{found!r} is shell syntax, but run: is split into words and run without a shell, so it"
                " would be passed as an argument; write run: \"sh -c '…'\" to have a shell"
            )
        return value

    @model_validator(mode="after")
    def _one_place(self) -> StepConfig:
        if (self.service is None) == (self.cwd is None):
            raise ValueError("give exactly one of service or cwd")
        return self


class PrometheusConfig(_Model):
    """The Prometheus that scrapes the stack: charts for alert messages and `/ops metrics --chart`."""

    url: str
    timeout: Duration = timedelta(seconds=5)

    _url = field_validator("url")(http_url)


class AlertmanagerConfig(_Model):
    """The Alertmanager whose v2 API takes the silences made from Slack."""

    url: str
    timeout: Duration = timedelta(seconds=5)

    _url = field_validator("url")(http_url)


class StackConfig(_Model):
    api: ApiConfig | None = None
    bull_board: BullBoardConfig | None = None
    postgres: PostgresTarget | None = None
    redis: RedisTarget | None = None
    docker: DockerConfig | None = None
    backups: BackupsConfig | None = None
    steps: dict[str, StepConfig] = Field(default_factory=dict)
    repo: str | None = None
    prometheus: PrometheusConfig | None = None
    alertmanager: AlertmanagerConfig | None = None


class RolesConfig(_Model):
    viewer: list[str] = Field(default_factory=lambda: ["*"])
    operator: list[str] = Field(default_factory=list)
    admin: list[str] = Field(default_factory=list)

    _members = field_validator("viewer", "operator", "admin")(role_members)


class Hours(_Model):
    """Working hours `09:00-18:00`; an end before the start wraps past midnight; `00:00-24:00`
    is all day. A start equal to its end otherwise (`09:00-09:00`) is refused: it read as never."""

    start: time
    end: time
    all_day: bool = False

    def contains(self, moment: time) -> bool:
        if self.all_day:
            return True
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return "00:00-24:00" if self.all_day else f"{self.start:%H:%M}-{self.end:%H:%M}"


def _parse_hours(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
    if not match:
        raise ValueError("hours must look like 09:00-18:00")
    h1, m1, h2, m2 = match.groups()
    if h1 == "24" or (h2 == "24" and int(m2 or 0) != 0):
        raise ValueError("hours must look like 09:00-18:00 (24:00 only as an end)")
    try:
        start = time(int(h1), int(m1 or 0))
        end = time(int(h2) % 24, int(m2 or 0))
    except ValueError as exc:
        raise ValueError("hours must look like 09:00-18:00") from exc
    if start == end:
        if h2 == "24":
            return {"start": start, "end": end, "all_day": True}
        raise ValueError(
            f"hours {start:%H:%M}-{end:%H:%M} start and end at the same minute, so they would never be"
            " reachable: write 00:00-24:00 for all day"
        )
    return {"start": start, "end": end}


class Contact(_Model):
    role: str
    name: str
    slack: str
    email: str | None = None
    hours: Hours | None = None
    timezone: str | None = None
    on_call: bool = False

    _slack = field_validator("slack")(slack_user)

    @field_validator("hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> Any:
        return _parse_hours(value)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return _check_timezone(value) if value is not None else None


class EscalationStep(_Model):
    """One step of a policy: notify a role, open a ticket or post a checklist, maybe later."""

    notify: str | None = None
    on_call: bool = False
    after: Duration | None = None
    unless: Literal["acknowledged"] | None = None
    ticket: bool = False
    checklist: list[str] | None = None

    @model_validator(mode="after")
    def _one_action(self) -> EscalationStep:
        actions = [self.notify is not None, self.ticket, self.checklist is not None]
        if sum(actions) != 1:
            raise ValueError("each step needs exactly one of notify, ticket or checklist")
        return self


def _error_problems(err: Any, model: type[BaseModel]) -> list[tuple[KeyPath, str]]:
    """One pydantic error of `model` as located problems, relative to the model: a `Located`
    error becomes one problem per entry it names, an unknown key gets difflib's suggestion."""
    loc = tuple(part for part in err["loc"] if not (isinstance(part, str) and part.startswith("function-")))
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, Located):
        return [((*loc, *relative), message) for relative, message in cause.problems]
    if err["type"] == "extra_forbidden":
        return [(loc, did_you_mean(model, loc))]
    return [(loc, err["msg"].removeprefix("Value error, "))]


STANDARD_SEVERITIES = ("sev1", "sev2")


class EscalationConfig(BaseModel):
    """Severity name -> steps; `ticket_webhook` is the one key that is not a policy."""

    model_config = ConfigDict(extra="allow", frozen=True)
    ticket_webhook: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _policies(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        problems: list[tuple[KeyPath, str]] = []
        for key, value in data.items():
            if key == "ticket_webhook":
                continue
            if not isinstance(value, list):
                close = difflib.get_close_matches(str(key), ["ticket_webhook"], n=1, cutoff=0.6)
                hint = "; did you mean 'ticket_webhook'?" if close else ""
                problems.append(((key,), f"a policy is a list of steps{hint}"))
        if problems:
            raise Located(problems)
        return data

    @field_validator("ticket_webhook")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        return http_url(value) if value is not None else None

    @model_validator(mode="after")
    def _steps_valid(self) -> EscalationConfig:
        """Each step checked here, where its mistake can be placed (`escalation.sev2[0].after`);
        `policies` builds them again on use."""
        problems: list[tuple[KeyPath, str]] = []
        for severity, steps in (self.model_extra or {}).items():
            for n, step in enumerate(steps):
                try:
                    EscalationStep.model_validate(step)
                except ValidationError as exc:
                    for err in exc.errors():
                        problems += [((severity, n, *at), m) for at, m in _error_problems(err, EscalationStep)]
        if problems:
            raise Located(problems)
        return self

    @property
    def policies(self) -> dict[str, list[EscalationStep]]:
        extra = self.model_extra or {}
        return {k: [EscalationStep.model_validate(s) for s in v] for k, v in extra.items()}

    @property
    def severities(self) -> list[str]:
        """What `/ops incident declare` accepts: the spec's sev1 and sev2 always (an incident can
        be declared before anyone wrote a policy for it: it gets its thread, no pages), and any
        other name a policy gives."""
        return sorted({*STANDARD_SEVERITIES, *self.policies})


def _cross_problems(config: OpsConfig, broken: frozenset[str]) -> list[tuple[KeyPath, str]]:
    problems: list[tuple[KeyPath, str]] = []

    def reads(*sections: str) -> bool:
        return not broken.intersection(sections)

    docker = config.stack.docker
    known = set(docker.services) if docker else set()
    for name, step in config.stack.steps.items() if reads("stack") else ():
        if step.service is not None and step.service not in known:
            problems.append(
                (("stack", "steps", name, "service"), f"service {step.service!r} is not in stack.docker.services")
            )
    roles = {c.role for c in config.contacts}
    policies = config.escalation.policies
    for severity, steps in policies.items() if reads("contacts", "escalation") else ():
        for n, policy_step in enumerate(steps):
            if policy_step.notify is not None and policy_step.notify not in roles:
                close = difflib.get_close_matches(policy_step.notify, sorted(roles), n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.append(
                    (("escalation", severity, n, "notify"), f"no contact has role {policy_step.notify!r}{hint}")
                )
    if policies and config.slack.incident_channel is None and reads("slack", "escalation"):
        problems.append(
            (
                ("slack", "incident_channel"),
                "missing, but escalation is configured: incidents are announced and threaded in this channel "
                "(a channel id like C0INCIDENTS)",
            )
        )
    for role in config.oncall.rotas if reads("contacts", "oncall") else ():
        if role not in roles:
            close = difflib.get_close_matches(role, sorted(roles), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append((("oncall", role), f"no contact has role {role!r}: a rota belongs to a contact role{hint}"))
    nowhere = config.alerts is not None and config.alerts.channel is None and config.slack.incident_channel is None
    if nowhere and reads("alerts", "slack"):
        problems.append((("alerts", "channel"), "missing, and no slack.incident_channel either: alerts go nowhere"))
    if config.alerts is not None and reads("alerts", "escalation"):
        for n, rule in enumerate(config.alerts.rules):
            if rule.declare is not None and rule.declare not in policies:
                names = ", ".join(sorted(policies)) or "none"
                problems.append((("alerts", "rules", n, "declare"), f"no escalation policy {rule.declare!r} ({names})"))
    return problems


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HANDOFF = re.compile(r"(?:(?P<day>[a-z]{3})\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})")


class Handoff(_Model):
    """When each shift of a layer starts: a weekday (weekly rotations) and a wall-clock time in
    the rota's own zone, so a 09:00 hand-off stays 09:00 across daylight-saving changes."""

    weekday: int | None = None  # 0 = Monday, as datetime.weekday()
    at: time

    def __str__(self) -> str:
        day = f"{_WEEKDAYS[self.weekday]} " if self.weekday is not None else ""
        return f"{day}{self.at:%H:%M}"


def _parse_handoff(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = _HANDOFF.fullmatch(value.strip().lower())
    if not match or (match["day"] is not None and match["day"] not in _WEEKDAYS):
        raise ValueError('a hand-off looks like "mon 09:00" (weekly) or "09:00" (daily)')
    hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 23 or minute > 59:
        raise ValueError(f"{hour:02d}:{minute:02d} is not a time of day (00:00-23:59)")
    weekday = _WEEKDAYS.index(match["day"]) if match["day"] else None
    return {"weekday": weekday, "at": time(hour, minute)}


def _check_rotation(value: str) -> str:
    """`daily`, `weekly`, or an iCal RRULE that python-dateutil expands (as Grafana OnCall's
    layers do): a rule that cannot be expanded would leave the rota silently empty."""
    if value in ("daily", "weekly"):
        return value
    rule = value.strip()
    if not rule.upper().startswith(("FREQ=", "RRULE:")):
        raise ValueError(f'{value!r} is not daily, weekly or an iCal RRULE like "FREQ=WEEKLY;INTERVAL=2"')
    try:
        rrulestr(rule.removeprefix("RRULE:"), dtstart=datetime(2026, 1, 1))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a valid iCal RRULE: {exc}") from None
    return value


class RotaLayer(_Model):
    """One layer of a rota: its members take shifts in turn from `start`, one shift each."""

    name: str
    members: list[str] = Field(min_length=1)
    rotation: str = "weekly"
    handoff: Handoff | None = None
    start: date | None = None
    hours: Hours | None = None

    _rotation = field_validator("rotation")(_check_rotation)

    _members = field_validator("members")(config_rules.slack_users)

    @field_validator("handoff", mode="before")
    @classmethod
    def _handoff(cls, value: Any) -> Any:
        return _parse_handoff(value)

    @field_validator("hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> Any:
        return _parse_hours(value)

    @model_validator(mode="after")
    def _handoff_fits_rotation(self) -> RotaLayer:
        if self.handoff is None:
            return self
        if self.rotation == "weekly" and self.handoff.weekday is None:
            raise ValueError('a weekly rotation hands off on a day: handoff like "mon 09:00"')
        if self.rotation == "daily" and self.handoff.weekday is not None:
            raise ValueError('a daily rotation hands off every day: handoff like "09:00", without a day')
        return self


class Rota(_Model):
    """The on-call rota of one contact role (`oncall.<role>`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    timezone: str | None = None
    layers: list[RotaLayer] = Field(default_factory=list)
    import_: str | None = Field(default=None, alias="import")
    usergroup: str | None = None
    channel: str | None = None
    remind: Duration | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return _check_timezone(value) if value is not None else None

    @field_validator("import_")
    @classmethod
    def _feed(cls, value: str | None) -> str | None:
        return http_url(value) if value is not None else None

    _group = field_validator("usergroup")(config_rules.usergroup_id)
    _channel = field_validator("channel")(config_rules.channel_id)

    @model_validator(mode="after")
    def _has_a_source(self) -> Rota:
        if not self.layers and self.import_ is None:
            raise ValueError("a rota needs layers, an import, or both")
        return self


class OncallConfig(BaseModel):
    """Contact role -> its rota; `ical_token` is the one key that is not a role."""

    model_config = ConfigDict(extra="allow", frozen=True)
    ical_token: str | None = Field(default=None, min_length=16)

    @model_validator(mode="after")
    def _rotas_valid(self) -> OncallConfig:
        problems: list[tuple[KeyPath, str]] = []
        for role, rota in (self.model_extra or {}).items():
            try:
                Rota.model_validate(rota)
            except ValidationError as exc:
                for err in exc.errors():
                    problems += [((role, *at), message) for at, message in _error_problems(err, Rota)]
        if problems:
            raise Located(problems)
        return self

    @property
    def rotas(self) -> dict[str, Rota]:
        return {role: Rota.model_validate(data) for role, data in (self.model_extra or {}).items()}


class AlertRule(_Model):
    """What to do with an alert group whose labels match: first matching rule wins.

    A label value written `~"regex"` matches by full regular expression; any other value exactly."""

    match: dict[str, str] = Field(min_length=1)
    diagnose: str | None = None
    declare: str | None = None

    _diagnose = field_validator("diagnose")(config_rules.diagnose_topic)

    @field_validator("match")
    @classmethod
    def _regexes_compile(cls, value: dict[str, str]) -> dict[str, str]:
        for label, wanted in value.items():
            if wanted.startswith("~"):
                try:
                    re.compile(wanted[1:])
                except re.error as exc:
                    raise ValueError(f"{label}: not a valid regular expression: {exc}") from exc
        return value


class AlertsConfig(_Model):
    """Alert intake: where alert messages go, the senders' bearer token, and the rules."""

    channel: str | None = None
    token: str = Field(min_length=16)
    rules: list[AlertRule] = Field(default_factory=list)

    _channel = field_validator("channel")(config_rules.channel_id)


class OpsConfig(_Model):
    slack: SlackConfig = Field(default_factory=SlackConfig)
    stack: StackConfig = Field(default_factory=StackConfig)
    timezone: str = "UTC"
    locale: Literal["en", "es"] = "en"
    tenant_id_pattern: str = r"^[A-Za-z0-9_-]{1,64}$"
    roles: RolesConfig = Field(default_factory=RolesConfig)
    permissions: dict[str, Role] = Field(default_factory=dict)
    contacts: list[Contact] = Field(default_factory=list)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    confirm_ttl: Duration | None = None
    alerts: AlertsConfig | None = None
    oncall: OncallConfig = Field(default_factory=OncallConfig)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _check_timezone(value)

    @field_validator("tenant_id_pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> OpsConfig:
        """Keys that are each fine alone but contradict another; each reported at its own key.

        The context's `broken` names top-level sections left out because they are wrong
        themselves (see parse_config): checks that read them are skipped, not misled."""
        broken = (info.context or {}).get("broken", frozenset())
        problems = _cross_problems(self, broken)
        if problems:
            raise Located(problems)
        return self

    @property
    def services(self) -> list[str]:
        return list(self.stack.docker.services) if self.stack.docker else []


@dataclass(frozen=True)
class ConfigProblem:
    """One mistake in ops.yml, located for the person fixing it."""

    key: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"{self.key or '(top level)'}{where}: {self.message}"


class ConfigError(Exception):
    """ops.yml is wrong; `problems` lists every mistake found, not just the first."""

    def __init__(self, path: str, problems: list[ConfigProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(str(p) for p in problems))


def _substitute(
    value: Any, path: tuple[Any, ...], env: dict[str, str], missing: list[tuple[tuple[Any, ...], str]]
) -> Any:
    if isinstance(value, str):

        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                missing.append((path, name))
                return ""
            return env[name]

        return _ENV_REF.sub(repl, value)
    if isinstance(value, dict):
        return {k: _substitute(v, (*path, k), env, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*path, i), env, missing) for i, v in enumerate(value)]
    return value


def parse_config(
    text: str, path: str = "ops.yml", env: dict[str, str] | None = None, operations: Mapping[str, str] | None = None
) -> OpsConfig:
    """Validate ops.yml text; raise ConfigError naming the key and line of each mistake.

    `operations` maps every name a command is typed with (aliases too) to its operation's own
    name; with it, each `permissions` key must name an operation. This module does not import
    the handlers that register them: the caller passes the names (`bot.app.runtime.load_checked`).
    """
    env = dict(os.environ) if env is None else env
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(path, [ConfigProblem("", line, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    lines = KeyLines.of(root)
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict):
        raise ConfigError(path, [ConfigProblem("", 1, "the file must be a mapping of keys")])
    missing: list[tuple[tuple[Any, ...], str]] = []
    data = _substitute(raw, (), env, missing)
    problems = [
        ConfigProblem(_dotted(r.path), r.line, f"given twice (first at line {r.first_line}); only one can count")
        for r in lines.repeated
    ]
    problems += [
        ConfigProblem(_dotted(p), lines.line_of(p), f"environment variable {name} is not set") for p, name in missing
    ]
    if operations is not None:
        problems.extend(_unknown_permissions(data.get("permissions"), operations, lines))
    problems.extend(_scale_on_compose(data, lines))
    try:
        config = OpsConfig.model_validate(data)
    except ValidationError as exc:
        unset = {p for p, _ in missing}  # an unset variable is its own problem, not also a bad value
        problems += _validation_problems(exc, lines, skip=unset)
        problems += _cross_problems_despite(exc, data, lines)
    else:
        if not problems:
            return config
    raise ConfigError(path, sorted(problems, key=lambda p: p.line or 0))  # in the file's order


def _cross_problems_despite(exc: ValidationError, data: dict[str, Any], lines: KeyLines) -> list[ConfigProblem]:
    """The cross-checks as well, when sections failed on their own (pydantic skips them then):
    every mistake in one run, not one more after each fix. The broken sections are left out."""
    broken = frozenset(str(err["loc"][0]) for err in exc.errors() if err["loc"])
    if not broken:
        return []  # the cross-checks ran and are among exc's errors
    try:
        OpsConfig.model_validate({k: v for k, v in data.items() if k not in broken}, context={"broken": broken})
    except ValidationError as again:
        return _validation_problems(again, lines, skip=set(), cross_only=True)
    return []


def _validation_problems(
    exc: ValidationError, lines: KeyLines, skip: set[KeyPath], cross_only: bool = False
) -> list[ConfigProblem]:
    """pydantic's errors as located problems: a `Located` error becomes one problem per entry it names.

    `cross_only`: just the cross-checks' (the whole model's errors, at location ())."""
    found: list[tuple[KeyPath, str]] = []
    for err in exc.errors():
        if cross_only and any(not (isinstance(p, str) and p.startswith("function-")) for p in err["loc"]):
            continue
        found += _error_problems(err, OpsConfig)
    return [ConfigProblem(_dotted(at), lines.line_of(at), message) for at, message in found if at not in skip]


def _unknown_permissions(permissions: Any, operations: Mapping[str, str], lines: KeyLines) -> list[ConfigProblem]:
    """A problem for each `permissions` key that names no operation: it would be silently ignored.

    An alias is refused too (the role belongs to the operation, whichever name typed it),
    with the operation's name as the suggestion; anything else gets difflib's nearest names.
    """
    if not isinstance(permissions, dict):
        return []
    names = sorted(set(operations.values()))
    problems = []
    for key in permissions:
        name = str(key)
        if name in names:
            continue
        if name in operations:
            message = f"{name!r} is another name of {operations[name]!r}; did you mean {operations[name]!r}?"
        else:
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else "; `/ops help` lists them"
            message = f"no command is called {name!r}{hint}"
        problems.append(ConfigProblem(f"permissions.{name}", lines.line_of(("permissions", key)), message))
    return problems


def _scale_on_compose(data: dict[str, Any], lines: KeyLines) -> list[ConfigProblem]:
    """`permissions.scale` on a compose stack: it would grant a command that can only refuse.

    `/ops scale` sets a Swarm service's replicas; on compose (one container per service) it
    answers that it needs Swarm. A role given to it here says someone expects it to work."""
    permissions = data.get("permissions")
    if not isinstance(permissions, dict) or "scale" not in permissions:
        return []
    docker = (data.get("stack") or {}).get("docker") if isinstance(data.get("stack"), dict) else None
    mode = docker.get("mode", "compose") if isinstance(docker, dict) else "compose"
    if mode == "swarm":
        return []
    message = (
        "`/ops scale` needs `stack.docker.mode: swarm`; this stack is Docker Compose, where a service is one "
        "container and `scale` is refused. Remove this key or run the stack on Swarm"
    )
    return [ConfigProblem("permissions.scale", lines.line_of(("permissions", "scale")), message)]


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_config(
    path: str | Path, env: dict[str, str] | None = None, operations: Mapping[str, str] | None = None
) -> OpsConfig:
    """Read and validate the ops.yml at `path` (`operations`: see `parse_config`)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(file), [ConfigProblem("", None, f"cannot read the file: {exc.strerror}")]) from None
    return parse_config(text, str(file), env, operations)
