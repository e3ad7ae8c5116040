"""The bot's own Prometheus metrics, in a registry of its own (served at GET /metrics)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class BotMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.commands = Counter(
            "opsbot_commands",
            "Commands and clicks handled, by operation and outcome",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "opsbot_ack_seconds",
            "Time from receiving a Slack request to answering it (Slack allows 3 s)",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.slack_requests = Counter(
            "opsbot_slack_requests",
            "Verified Slack requests by what the duplicate check found: new, replay (refused), duplicate (dropped)",
            ["verdict"],
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            "opsbot_run_seconds",
            "Time an operation took to run, by operation",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
