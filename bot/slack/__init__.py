"""The Slack adapter: the slack-bolt AsyncApp and its listeners (`app`), the HTTP endpoint of
`ops-bot serve` (`server`), replay and redelivery protection (`dedupe` and its bolt side
`middleware`), the declare form (`modal`) and `ctx.thread` in Slack (`thread`). It is the only
package that imports slack_bolt. It may use app and everything below it; nothing but bot/cli.py
imports it.
"""
