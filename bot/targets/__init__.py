"""Clients of the stack the runbook operates (not the bot's own stores), each with timeouts."""
