"""The assembled bot that every mode starts: `runtime` reads settings and ops.yml, sets up logging
with redaction, builds Deps and the dispatcher, registers the handlers and starts the background
tasks (escalation, scheduler); `worker` is the second event loop that work after an ack runs on.
It may use everything below it (handlers, jobs, incidents, procedures, core, storage, targets,
config, output, text) and never the adapters (slack, terminal), which are built on top of it.
"""
