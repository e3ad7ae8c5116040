"""What a handler returns, as plain data (`results`), and the pure functions that turn it into a
Slack message through slack_sdk's Block Kit models (`slack`) or terminal text (`terminal`),
sharing one monospace layout (`layout`). No I/O. It may use text only.
"""
