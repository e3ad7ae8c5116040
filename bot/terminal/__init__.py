"""The terminal adapter, `ops-bot shell`: the same registry, role checks and confirmations as
Slack, with buttons shown as numbered choices. It may use app and everything below it; nothing
but bot/cli.py imports it.
"""
