"""Alerts in: the Alertmanager and Grafana webhooks (intake), their payloads, one row per alert
group (store), the group's one living Slack message (message) and the worker that brings it up
to date on any replica and runs the matching rule once (poster). It sits beside incidents and
procedures: it may use core and below (the notifier it posts with is injected as a Protocol, an
incident is declared through the incident store); handlers, app and the adapters may use it.
"""
