"""Runbook "Rollback de Deploy": the history of `stack.repo`, and revert → build → deploy → health.

git runs on the bot's host in `stack.repo`, without a shell and under a timeout. A commit
to roll back is accepted only as 7 to 40 hex digits that git resolves to a commit in the
history of the checked-out branch: never a branch name, a range or an option.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo

from bot.core.argtypes import positional
from bot.core.context import OpContext
from bot.core.registry import OpArgs, operation, preview_for
from bot.output.results import Block, Fields, Result, Table, Text
from bot.procedures.steps import Procedure, Step, StepFailed, StepOutput, capture, configured_step, host_env, run_host
from bot.text import times
from bot.text.errors import BotError, TargetError
from bot.text.messages import Catalog
from handlers.procedures import health_step
from handlers.step_checks import verified_procedure

GIT_TIMEOUT = 15.0
REVERT_TIMEOUT = 120.0
COMMIT_PATTERN = r"^[0-9a-fA-F]{7,40}$"
_COMMIT = re.compile(COMMIT_PATTERN)
_SEP = "\x1f"
BOT_IDENTITY = ("-c", "user.name=ops-bot", "-c", "user.email=ops-bot@localhost")


def _commit(value: str, info: ValidationInfo) -> str:
    if not _COMMIT.fullmatch(value):
        t = (info.context or {}).get("t") or Catalog()
        raise ValueError(t("arg.bad_commit"))
    return value.lower()


CommitHash = Annotated[str, Field(max_length=40), AfterValidator(_commit)]


def repo_of(ctx: OpContext) -> str:
    if not ctx.config.stack.repo:
        raise BotError("error.not_configured", key="stack.repo")
    return ctx.config.stack.repo


def git_env() -> dict[str, str]:
    """git never prompts, never pages, and answers in English (its messages are shown as they are)."""
    return host_env({"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C", "LANG": "C"})


async def git(ctx: OpContext, *args: str, check: bool = True) -> tuple[int, str]:
    """`git <args>` in stack.repo: (exit code, stdout); a failure with `check` is a TargetError."""
    repo = repo_of(ctx)
    code, out, err = await capture(["git", *args], cwd=repo, timeout=GIT_TIMEOUT, env=git_env())
    if check and code != 0:
        lines = [line for line in err.strip().splitlines() if line.strip()] or [f"exit {code}"]
        raise TargetError("git", ctx.deps.redact(lines[-1][:300]))
    return code, out


@dataclass(frozen=True)
class Commit:
    sha: str
    short: str
    date: str
    author: str
    subject: str


def _commits(ctx: OpContext, text: str) -> list[Commit]:
    zone = times.zone(ctx.config.timezone)
    found = []
    for line in text.splitlines():
        parts = line.split(_SEP)
        if len(parts) != 5:
            continue
        sha, short, date, author, subject = parts
        when = times.local(datetime.fromisoformat(date), zone)
        found.append(Commit(sha, short, when, author, subject))
    return found


LOG_FORMAT = f"--format=%H{_SEP}%h{_SEP}%cI{_SEP}%an{_SEP}%s"


class HistoryArgs(OpArgs):
    count: int = positional(10, metavar="N", ge=1, le=100)


@operation("deploy history", HistoryArgs)
async def history(ctx: OpContext, args: HistoryArgs) -> Result:
    """The last commits of the deployed checkout (git log --oneline -10)."""
    repo = repo_of(ctx)
    _, branch = await git(ctx, "rev-parse", "--abbrev-ref", "HEAD")
    _, out = await git(ctx, "log", "--no-color", LOG_FORMAT, "-n", str(args.count))
    commits = _commits(ctx, out)
    title = ctx.t("deploy.history.title", repo=repo)
    summary = ctx.t("deploy.history.summary", count=len(commits), branch=branch.strip(), repo=repo)
    rows = [[c.short, c.date, c.author, ctx.deps.redact(c.subject)] for c in commits]
    blocks: list[Block] = [
        Text(summary),
        Table(ctx.t("deploy.history.columns").split("|"), rows),
        Text(ctx.t("time.zone_note", zone=times.zone_label(times.zone(ctx.config.timezone)))),
        Text(ctx.t("deploy.history.hint", prefix=ctx.prefix)),
    ]
    return Result(title=title, blocks=blocks, summary=summary)


class RollbackArgs(OpArgs):
    commit: CommitHash = positional(metavar="commit")


async def resolve(ctx: OpContext, commit: str) -> Commit | None:
    """The commit `commit` names if it is in the history of HEAD; None otherwise (unknown, ambiguous, elsewhere)."""
    code, out = await git(
        ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{commit}^{{commit}}", check=False
    )
    if code != 0:
        return None
    sha = out.strip()
    code, _ = await git(ctx, "merge-base", "--is-ancestor", sha, "HEAD", check=False)
    if code != 0:
        return None
    _, shown = await git(ctx, "log", "--no-color", LOG_FORMAT, "-n", "1", sha)
    commits = _commits(ctx, shown)
    return commits[0] if commits else None


def _not_in_history(ctx: OpContext, commit: str) -> Result:
    text = ctx.t("deploy.rollback.unknown", commit=commit, repo=repo_of(ctx), prefix=ctx.prefix)
    return Result(title=ctx.t("deploy.rollback.title", commit=commit), blocks=[Text(text)], ok=False, summary=text)


def _revert_step(ctx: OpContext, commit: Commit) -> Step:
    repo = repo_of(ctx)

    async def revert(output: StepOutput) -> str | None:
        code, _ = await git(ctx, "config", "user.email", check=False)
        identity = [] if code == 0 else list(BOT_IDENTITY)
        try:
            await run_host(
                ["git", *identity, "revert", "--no-edit", commit.sha],
                output,
                cwd=repo,
                timeout=REVERT_TIMEOUT,
                env=git_env(),
            )
        except StepFailed:
            # A conflicted revert leaves the checkout half-way: put it back as it was.
            aborted, _ = await git(ctx, "revert", "--abort", check=False)
            output.line(ctx.t("deploy.rollback.aborted" if aborted == 0 else "deploy.rollback.not_aborted"))
            raise
        _, head = await git(ctx, "rev-parse", "--short", "HEAD")
        return ctx.t("deploy.rollback.reverted", head=head.strip())

    label = ctx.t("steps.label.revert", commit=commit.short, repo=repo)
    return Step(label, revert, hint=ctx.t("deploy.rollback.hint.revert", repo=repo))


def _steps(ctx: OpContext, commit: Commit) -> list[Step]:
    repo = repo_of(ctx)
    return [
        _revert_step(ctx, commit),
        configured_step(ctx, "build", hint=ctx.t("deploy.rollback.hint.build", repo=repo)),
        configured_step(ctx, "deploy", hint=ctx.t("deploy.rollback.hint.deploy", prefix=ctx.prefix)),
        health_step(ctx, hint=ctx.t("deploy.rollback.hint.health", prefix=ctx.prefix)),
    ]


def _commit_fields(ctx: OpContext, commit: Commit) -> Fields:
    return Fields(
        [
            (ctx.t("deploy.field.commit"), commit.short),
            (ctx.t("deploy.field.subject"), commit.subject),
            (ctx.t("deploy.field.author"), commit.author),
            (ctx.t("deploy.field.date"), commit.date),
        ]
    )


@operation(
    "deploy rollback",
    RollbackArgs,
    role="admin",
    destructive="critical",
    timeout=3600,
    long=True,
    touches=("code", "service:api"),
)
async def rollback(ctx: OpContext, args: RollbackArgs) -> Result:
    """Roll back a deploy: git revert <commit>, build, deploy, health check (stops at the first failure)."""
    commit = await resolve(ctx, args.commit)
    if commit is None:
        return _not_in_history(ctx, args.commit)
    steps = _steps(ctx, commit)
    procedure = Procedure(
        ctx,
        ctx.t("deploy.rollback.title", commit=commit.short),
        steps,
        filename=f"rollback-{commit.short}.log",
    )
    await procedure.run()
    return await verified_procedure(ctx, procedure, steps[:3], _commit_fields(ctx, commit), shown=steps[2])


@preview_for("deploy rollback")
async def rollback_preview(ctx: OpContext, args: RollbackArgs) -> Result:
    commit = await resolve(ctx, args.commit)
    if commit is None:
        return _not_in_history(ctx, args.commit)
    steps = _steps(ctx, commit)
    plan = "\n".join(f"{n}. {step.label}" for n, step in enumerate(steps, 1))
    return Result(
        title=ctx.t("deploy.rollback.title", commit=commit.short),
        blocks=[_commit_fields(ctx, commit), Text(ctx.t("deploy.rollback.preview", plan=plan))],
    )
