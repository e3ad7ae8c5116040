"""The future alerts intake (alerts that open or annotate incidents). Empty for now. It sits beside
incidents and procedures: it may use core and below, and must not import incidents or procedures
directly; handlers and app may use it.
"""
