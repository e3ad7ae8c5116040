"""Incident escalation: the worker that sends an incident's dated steps exactly once across
replicas (`escalation`) and the messages it sends on its own, with failures made explicit
(`notify`). The incident rows and their step queue are in bot/storage/incidents.py, so core's
Deps can hold the store without importing this package. It may use core and below; never alerts
or procedures (same layer, independent), handlers, app or the adapters.
"""
