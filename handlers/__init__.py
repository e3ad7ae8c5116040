"""One module per runbook area; importing this package registers every operation."""

from handlers import (  # noqa: F401
    alerts,
    audit,
    cache,
    contacts,
    containers,
    database,
    deploy,
    diagnose,
    health,
    help,
    incidents,
    live_logs,
    metrics,
    oncall,
    pending,
    queues,
    tenants,
)
