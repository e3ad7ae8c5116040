"""`/ops help`: what the caller may run, nothing more."""

from __future__ import annotations

from bot.core.argtypes import positional
from bot.core.context import OpContext
from bot.core.registry import OpArgs, Operation, Registry, operation
from bot.output.results import Fields, Result, Text
from bot.text.messages import OPERATION_HELP_ES

LEVELS = {"none": "—", "confirm": "confirm", "critical": "critical (second admin)"}


class HelpArgs(OpArgs):
    command: str | None = positional(None, metavar="command", greedy=True, max_length=60)


def help_line(ctx: OpContext, op: Operation) -> str:
    """The operation's one-line help in the configured language (its docstring is the English)."""
    if ctx.t.locale == "es":
        return OPERATION_HELP_ES.get(op.name, op.help)
    return op.help


@operation("help", HelpArgs)
async def help_(ctx: OpContext, args: HelpArgs) -> Result:
    """List the commands you may run, or explain one."""
    t = ctx.t
    roles = ctx.deps.roles
    allowed = [op for op in ctx.deps.registry if roles.allows(ctx.role, op) and not op.hidden]
    if args.command:
        wanted = args.command.lower().removeprefix(ctx.prefix).strip()
        match = next((op for op in allowed if op.name == wanted), None)
        if match is not None:
            pairs = [(t("help.usage"), match.usage(ctx.prefix)), (t("help.role"), t(f"role.{roles.required(match)}"))]
            if match.destructive != "none":
                pairs.append(("⚠️", t(f"help.destructive.{match.destructive}")))
            return Result(title=f"{ctx.prefix} {match.name}", blocks=[Text(help_line(ctx, match)), Fields(pairs)])
    role = t(f"role.{ctx.role}") if ctx.role else t("role.none")
    if not allowed:
        return Result(title=t("help.title", role=role), blocks=[Text(t("help.none"))])
    lines = []
    for op in sorted(allowed, key=lambda o: o.name):
        mark = {"none": "", "confirm": " ⚠️", "critical": " ⚠️⚠️"}[op.destructive]
        lines.append(f"{op.usage(ctx.prefix)}{mark}\n    {help_line(ctx, op)}")
    answers = [op for op in ctx.deps.registry if op.answer and roles.allows(ctx.role, op)]
    if answers:
        lines.append("\n" + t("help.answers"))
        lines.extend(
            f"{op.usage(ctx.prefix)}\n    {help_line(ctx, op)}" for op in sorted(answers, key=lambda o: o.name)
        )
    return Result(title=t("help.title", role=role), blocks=[Text("\n".join(lines))], ephemeral=True)


def commands_markdown(registry: Registry, prefix: str = "/ops") -> str:
    """docs/commands.md: every visible operation with its usage, least role, destructive level and
    help in English and Spanish, generated from the registry so the reference cannot drift.

    Regenerate with `python scripts/commands_md.py > docs/commands.md`; a test fails when it is stale."""
    lines = [
        "# Command reference",
        "",
        "Generated from the registry by `python scripts/commands_md.py > docs/commands.md`; do not edit by hand.",
        "The least role is the declared default; `permissions` in ops.yml may raise or lower it.",
        "Destructive commands show a preview and wait for Confirm; critical ones also need a second admin.",
        "",
        "| command | least role | destructive | help | ayuda |",
        "|---|---|---|---|---|",
    ]
    for op in sorted((op for op in registry if not op.hidden), key=lambda o: o.name):
        cells = [
            f"`{op.usage(prefix)}`",
            op.role,
            LEVELS[op.destructive],
            op.help,
            OPERATION_HELP_ES.get(op.name, op.help),
        ]
        lines.append(_row(cells))
    lines += [
        "",
        "## Answers to a button",
        "",
        "Each button runs one of these; they may also be typed, with the id the button's message shows.",
        "",
        "| command | least role | help | ayuda |",
        "|---|---|---|---|",
    ]
    for op in sorted((op for op in registry if op.answer), key=lambda o: o.name):
        lines.append(_row([f"`{op.usage(prefix)}`", op.role, op.help, OPERATION_HELP_ES.get(op.name, op.help)]))
    return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
