"""Print the command reference from the registry: `python scripts/commands_md.py > docs/commands.md`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import handlers  # noqa: F401  registers every operation
from bot.core.registry import REGISTRY
from handlers.help import commands_markdown

if __name__ == "__main__":
    sys.stdout.write(commands_markdown(REGISTRY))
