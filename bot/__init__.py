"""ops-bot: the orders system's runbook as Slack slash commands and buttons."""
