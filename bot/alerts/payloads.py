"""The two webhook payloads alerts come in as, validated at the edge and made one shape.

Alertmanager's `webhook_configs` (payload version 4) and Grafana alerting's webhook contact
point send nearly the same JSON: Grafana's is Alertmanager's plus a few fields (orgId, title,
state, message, per-alert values and URLs). Both are read here into `AlertGroupIn`, so
everything after the intake is one code path. Unknown fields are ignored (senders add
fields across versions); missing required ones, wrong types and oversized lists are a 400
with a short reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MAX_ALERTS = 1000
MAX_LABELS = 64
MAX_VALUE = 2000


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _bounded(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels")
    return {str(k)[:200]: str(v)[:MAX_VALUE] for k, v in value.items()}


class AlertIn(_Payload):
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = ""

    _labels = field_validator("labels", "annotations")(_bounded)

    @property
    def key(self) -> str:
        """Which alert of the group this is, stable across webhooks."""
        return self.fingerprint or "|".join(f"{k}={v}" for k, v in sorted(self.labels.items()))


class AlertGroupIn(_Payload):
    """One notification about an alert group: its key, overall status, labels and alerts."""

    groupKey: str = Field(min_length=1, max_length=2000)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[AlertIn] = Field(min_length=1, max_length=MAX_ALERTS)
    truncatedAlerts: int = 0
    title: str = ""  # Grafana only

    _labels = field_validator("groupLabels", "commonLabels", "commonAnnotations")(_bounded)


class AlertmanagerPayload(AlertGroupIn):
    version: Literal["4"]


class GrafanaPayload(AlertGroupIn):
    version: str = "1"
    orgId: int | None = None


class BadPayload(ValueError):
    """A payload we refuse, with a reason short enough for a 400 body and a log line."""


def parse(source: Literal["alertmanager", "grafana"], body: bytes) -> AlertGroupIn:
    model: type[AlertGroupIn] = AlertmanagerPayload if source == "alertmanager" else GrafanaPayload
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise BadPayload(f"{where}: {first['msg']}"[:200]) from None
