"""ops.example.yml at the repo root is the newcomer's configuration: it must load, and it must
name every key the config models read, so a key added to a model without a line in the
example fails here instead of staying undocumented."""

from __future__ import annotations

import os
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from bot.config.ops_yml import EscalationConfig, EscalationStep, OncallConfig, OpsConfig, Rota, StackConfig, load_config

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "ops.example.yml"
ENV = {
    "TARGET_DATABASE_URL": "postgresql://pedidos:s3cret@localhost:5432/pedidos",
    "TARGET_REDIS_URL": "redis://localhost:6379/0",
    "ALERTS_TOKEN": "alerts-token-0123456789abcdef",
    "ONCALL_ICAL_TOKEN": "ical-token-0123456789abcdef",
}
# A model whose keys are free (extra="allow") says here what its free keys hold.
FREE_KEYS: dict[type[BaseModel], Any] = {EscalationConfig: list[EscalationStep], OncallConfig: Rota}


def missing_keys(model: type[BaseModel], values: list[Any], path: str = "") -> list[str]:
    """Every key path of `model` (recursively) that none of the YAML mappings in `values` has.

    Lists and dicts of models are walked through all their items, so a key counts as shown
    when any one contact, step or rule has it. A model written as a scalar (hours: "09:00-18:00")
    is a leaf."""
    mappings = [v for v in values if isinstance(v, dict)]
    out: list[str] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        dotted = f"{path}.{key}" if path else key
        found = [m[key] for m in mappings if key in m]
        if not found:
            out.append(dotted)
            continue
        out.extend(_walk_type(field.annotation, found, dotted))
    if model in FREE_KEYS:
        free = [v for m in mappings for k, v in m.items() if k not in model.model_fields]
        if not free:
            out.append(f"{path}.<{model.__name__} entry>")
        out.extend(_walk_type(FREE_KEYS[model], free, f"{path}.*"))
    return out


def _walk_type(annotation: Any, values: list[Any], path: str) -> list[str]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        out: list[str] = []
        for arg in typing.get_args(annotation):
            out.extend(_walk_type(arg, values, path))
        return out
    if origin is list:
        (item,) = typing.get_args(annotation)
        items = [i for v in values if isinstance(v, list) for i in v]
        return _walk_type(item, items, f"{path}[]")
    if origin is dict:
        _, item = typing.get_args(annotation)
        items = [i for v in values if isinstance(v, dict) for i in v.values()]
        return _walk_type(item, items, f"{path}.*")
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if not any(isinstance(v, dict) for v in values):
            return [] if values else [path]  # written as a scalar (e.g. hours): a leaf
        return missing_keys(annotation, values, path)
    return []


def _example() -> dict[str, Any]:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_example_names_every_key_of_the_config_models() -> None:
    assert missing_keys(OpsConfig, [_example()]) == []


def test_a_key_added_to_a_model_and_not_to_the_example_is_found() -> None:
    class NewStack(StackConfig):
        grafana: str | None = None

    class NewStep(EscalationStep):
        page_sms: bool = False

    class NewEscalation(EscalationConfig):
        pass

    FREE_KEYS[NewEscalation] = list[NewStep]
    try:

        class NewOps(OpsConfig):
            stack: NewStack = Field(default_factory=NewStack)
            escalation: NewEscalation = Field(default_factory=NewEscalation)
            new_top: int = 0

        assert sorted(missing_keys(NewOps, [_example()])) == ["escalation.*[].page_sms", "new_top", "stack.grafana"]
    finally:
        del FREE_KEYS[NewEscalation]


def test_the_example_loads_with_its_env_vars() -> None:
    config = load_config(EXAMPLE, env=ENV)
    assert config.alerts is not None and len(config.alerts.rules) == 2
    assert config.stack.prometheus is not None and config.stack.alertmanager is not None
    assert set(config.escalation.policies) == {"sev1", "sev2"}
    assert config.stack.steps["migrate"].timeout is not None


def test_check_config_accepts_the_example_through_the_real_cli() -> None:
    env = {**os.environ, **ENV, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config", str(EXAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert ": ok (3 services, 5 contacts, 2 escalation policies)" in done.stdout
