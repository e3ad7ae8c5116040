"""Monospace layout shared by the Slack and terminal renderers."""

from __future__ import annotations

MAX_CELL = 80


def format_table(columns: list[str], rows: list[list[str]]) -> str:
    cells = [[str(c)[:MAX_CELL].replace("\n", " ") for c in row] for row in [columns, *rows]]
    widths = [max((len(row[i]) if i < len(row) else 0) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells]
    return "\n".join(lines)
