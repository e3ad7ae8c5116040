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
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.text.durations import Duration

Role = Literal["viewer", "operator", "admin"]
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlackConfig(_Model):
    command: str = "/ops"
    incident_channel: str | None = None
    allowed_channels: list[str] = Field(default_factory=list)


class ApiConfig(_Model):
    base_url: str
    health: dict[str, str] = Field(default_factory=lambda: {"api": "/health"})
    metrics: str = "/metrics"
    timeout: Duration = timedelta(seconds=5)
    metrics_window: Duration = timedelta(seconds=1)  # two scrapes this far apart give rates; 0: one scrape
    latency_warn: Duration = timedelta(milliseconds=500)  # p95 above this: diagnose slow warns
    latency_fail: Duration = timedelta(seconds=2)  # p95 above this: diagnose slow fails


class BullBoardConfig(_Model):
    base_url: str
    queues: list[str] = Field(default_factory=list)


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
    url: str = "unix:///var/run/docker.sock"
    compose_project: str
    services: list[str]
    stop_timeout: Duration = timedelta(seconds=10)


class BackupsConfig(_Model):
    dir: str
    schedule: str | None = None
    keep: int = Field(default=14, ge=1)


class StepConfig(_Model):
    """A runbook shell line: run in a service's container, or on the bot's host in `cwd`."""

    run: str
    service: str | None = None
    cwd: str | None = None
    timeout: Duration | None = None

    @model_validator(mode="after")
    def _one_place(self) -> StepConfig:
        if (self.service is None) == (self.cwd is None):
            raise ValueError("give exactly one of service or cwd")
        return self


class PrometheusConfig(_Model):
    """The Prometheus that scrapes the stack: charts for alert messages and `/ops metrics --chart`."""

    url: str
    timeout: Duration = timedelta(seconds=5)


class AlertmanagerConfig(_Model):
    """The Alertmanager whose v2 API takes the silences made from Slack."""

    url: str
    timeout: Duration = timedelta(seconds=5)


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


class Hours(_Model):
    """Working hours `09:00-18:00`; an end before the start wraps past midnight."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _parse_hours(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = re.fullmatch(r"\s*(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?\s*", value)
    if not match:
        raise ValueError("hours must look like 09:00-18:00")
    h1, m1, h2, m2 = match.groups()
    try:
        start = time(int(h1) % 24 if h1 != "24" else 0, int(m1 or 0))
        end = time(int(h2) % 24 if h2 != "24" else 0, int(m2 or 0))
    except ValueError as exc:
        raise ValueError("hours must look like 09:00-18:00") from exc
    return {"start": start, "end": end}


class Contact(_Model):
    role: str
    name: str
    slack: str
    email: str | None = None
    hours: Hours | None = None
    timezone: str | None = None
    on_call: bool = False

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


class EscalationConfig(BaseModel):
    """Severity name -> steps; `ticket_webhook` is the one key that is not a policy."""

    model_config = ConfigDict(extra="allow", frozen=True)
    ticket_webhook: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _policies(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key, value in data.items():
            if key == "ticket_webhook":
                continue
            if not isinstance(value, list):
                raise ValueError(f"{key}: a policy is a list of steps")
        return data

    @property
    def policies(self) -> dict[str, list[EscalationStep]]:
        extra = self.model_extra or {}
        return {k: [EscalationStep.model_validate(s) for s in v] for k, v in extra.items()}


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


class AlertRule(_Model):
    """What to do with an alert group whose labels match: first matching rule wins.

    A label value written `~"regex"` matches by full regular expression; any other value exactly."""

    match: dict[str, str] = Field(min_length=1)
    diagnose: str | None = None
    declare: str | None = None

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
    def _steps_use_known_services(self) -> OpsConfig:
        docker = self.stack.docker
        known = set(docker.services) if docker else set()
        for name, step in self.stack.steps.items():
            if step.service is not None and step.service not in known:
                raise ValueError(f"stack.steps.{name}: service {step.service!r} is not in stack.docker.services")
        roles = {c.role for c in self.contacts}
        for severity, steps in self.escalation.policies.items():
            for policy_step in steps:
                if policy_step.notify is not None and policy_step.notify not in roles:
                    raise ValueError(f"escalation.{severity}: no contact has role {policy_step.notify!r}")
        if self.alerts is not None:
            for n, rule in enumerate(self.alerts.rules):
                if rule.declare is not None and rule.declare not in self.escalation.policies:
                    policies = ", ".join(sorted(self.escalation.policies)) or "none"
                    raise ValueError(f"alerts.rules.{n}.declare: no escalation policy {rule.declare!r} ({policies})")
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


def _lines_by_path(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            _lines_by_path(value_node, (*path, key), out)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines_by_path(item, (*path, index), out)


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


def _line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


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
    lines: dict[tuple[Any, ...], int] = {}
    if root is not None:
        _lines_by_path(root, (), lines)
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict):
        raise ConfigError(path, [ConfigProblem("", 1, "the file must be a mapping of keys")])
    missing: list[tuple[tuple[Any, ...], str]] = []
    data = _substitute(raw, (), env, missing)
    problems = [
        ConfigProblem(_dotted(p), _line_for(p, lines), f"environment variable {name} is not set") for p, name in missing
    ]
    if operations is not None:
        problems.extend(_unknown_permissions(data.get("permissions"), operations, lines))
    try:
        config = OpsConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(part for part in err["loc"] if not (isinstance(part, str) and part.startswith("function-")))
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            problems.append(ConfigProblem(_dotted(loc), _line_for(loc, lines), message))
        raise ConfigError(path, problems) from None
    if problems:
        raise ConfigError(path, problems)
    return config


def _unknown_permissions(
    permissions: Any, operations: Mapping[str, str], lines: dict[tuple[Any, ...], int]
) -> list[ConfigProblem]:
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
        problems.append(ConfigProblem(f"permissions.{name}", _line_for(("permissions", key), lines), message))
    return problems


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
