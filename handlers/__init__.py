"""One module per runbook area; importing this package registers every operation."""

from handlers import audit, contacts, containers, health, help, queues  # noqa: F401
