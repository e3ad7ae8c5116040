"""The rules every command goes through, adapter-neutral: operations declared once (`registry`),
parsed (`parsing`, `argtypes`), role-checked (`roles`), confirmed (`confirmations`), run and
audited (`dispatcher`, `audit`), with what a handler sees (`context`, `deps`, `threads`) and the
bot's own metrics (`metrics`). It may use storage, targets, config, output and text; it never
imports an adapter, app, handlers or a domain package (a Protocol stands in where it must know
one, e.g. `Deps.escalation`).
"""
