"""The bot's own Postgres: pools with a timeout on every step (`database`), numbered migrations
(`migrations`), a LISTEN that survives the database going away (`pg_listen`), incidents and
their durable step queue (`incidents`), on-call overrides, requests and imported feeds
(`oncall`), and `stop_if_cancelled` for loops over asyncpg (`cancel`). It may use oncall,
config, output and text only.
"""
