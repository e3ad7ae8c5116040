"""On-call rotas: who is on call at any minute, from ops.yml's `oncall:` layers and the overrides
kept in the bot's Postgres.

`rota` is pure (no I/O, no clock of its own): it expands each layer's recurrence with
python-dateutil in the rota's own zone and answers "who, at this instant" and "the shifts between
these two instants" for the overrides it is handed. It sits just above `bot.config` so that
`bot.storage` (the paging path, the overrides store) can ask it. It may use config and text only.
The rules it follows where the spec is silent are in docs/oncall.md.
"""
