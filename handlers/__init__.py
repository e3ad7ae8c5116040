"""One module per runbook area; importing this package registers every operation."""

from handlers import audit, cache, contacts, containers, health, help, incidents, queues, tenants  # noqa: F401
