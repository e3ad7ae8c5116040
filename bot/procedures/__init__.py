"""Runbook procedures as steps: programs run in a container or on the bot's host, shown as one
message that grows (`steps`), and backups and restores of the stack's database made by streaming
(`backups`). It may use core and below; never incidents or alerts (same layer, independent),
handlers, app or the adapters.
"""
