"""What the bot is told: ops.yml loaded into pydantic models in the spec's exact format
(`ops_yml`), the process environment of running.md (`settings`), and the one rule read straight
from them, when a contact can be reached (`hours`). It may use text only.
"""
