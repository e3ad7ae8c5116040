"""The `ops-bot` command line of running.md."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

from bot.app.worker import WorkerLoop
from bot.config.ops_yml import ConfigError, OpsConfig
from bot.config.settings import Settings
from bot.text.messages import Catalog

if TYPE_CHECKING:
    from aiohttp import web

    from bot.app.runtime import Runtime
    from bot.slack.app import SlackBot

log = logging.getLogger("ops-bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ops-bot", description="The orders system's runbook as /ops commands.")
    sub = parser.add_subparsers(dest="mode", required=True)
    serve = sub.add_parser("serve", help="HTTP mode: POST /slack/events, GET /healthz, GET /metrics")
    serve.add_argument("--host", default="0.0.0.0")
    # $PORT (the image's and compose's) when --port is not given; argparse converts a string default,
    # so a bad PORT is refused like a bad --port, not a traceback.
    serve.add_argument("--port", type=int, default=os.environ.get("PORT", "3000"))
    socket = sub.add_parser("socket", help="Socket Mode (needs SLACK_APP_TOKEN); GET /healthz, GET /metrics")
    socket.add_argument("--host", default="0.0.0.0")
    socket.add_argument("--port", type=int, default=os.environ.get("PORT", "3000"))
    shell = sub.add_parser("shell", help="the same commands in a terminal")
    shell.add_argument("--as", dest="user", default=None, help="act as this Slack user id")
    shell.add_argument("-c", dest="command", default=None, help='run one command and exit, e.g. -c "/ops status"')
    check = sub.add_parser("check-config", help="validate ops.yml")
    check.add_argument("path", nargs="?", default=None)
    check.add_argument(
        "--live", action="store_true", help="also try each target and folder once, from this machine (warnings)"
    )
    sub.add_parser("migrate", help="create or upgrade the bot's own tables")
    return parser


def _load_config(path: str) -> OpsConfig:
    """ops.yml checked against the registered operations as well (see `bot.app.runtime.load_checked`)."""
    from bot.app.runtime import load_checked

    return load_checked(path)


def problem_count(count: int) -> str:
    """`1 problem` / `2 problems`: the config failed to load, so its `locale` is unknown; English."""
    return Catalog("en")("config.problems", count=count)


def check_config(path: str | None, settings: Settings, live: bool = False) -> int:
    """0 when ops.yml is right (`--live` warnings do not change that), 2 on mistakes."""
    target = path or settings.ops_config
    try:
        config = _load_config(target)
    except ConfigError as exc:
        print(f"{exc.path}: {problem_count(len(exc.problems))}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    t = Catalog("en")  # like the problems above: the file's own words are English
    counts = {
        "services": len(config.services),
        "contacts": len(config.contacts),
        "policies": len(config.escalation.policies),
    }
    print(t("config.ok", path=target, **counts))
    _warn_gaps(config)
    if live:
        _print_live_warnings(target, config, t)
    return 0


def _warn_gaps(config: OpsConfig, shown: int = 5) -> None:
    """A rota with an uncovered hour in the next 7 days is valid ops.yml, but a page then falls
    back to the role's other contacts: say so (the exit status stays 0)."""
    from datetime import UTC, datetime

    from bot.oncall.coverage import coming_gaps
    from bot.oncall.rota import RotaBook
    from bot.text import times

    book = RotaBook(config.oncall.rotas, config.timezone)
    t = Catalog("en")
    by_role: dict[str, list[str]] = {}
    for gap in coming_gaps(book, datetime.now(UTC)):
        tz = book[gap.role].zone
        by_role.setdefault(gap.role, []).append(f"{times.local(gap.start, tz)} – {times.stamped(gap.end, tz)}")
    for role, spans in by_role.items():
        more = f" (+{len(spans) - shown})" if len(spans) > shown else ""
        print(t("oncall.check_gaps", role=role, spans="; ".join(spans[:shown]) + more), file=sys.stderr)


def _print_live_warnings(path: str, config: OpsConfig, t: Catalog) -> None:
    from pathlib import Path

    import yaml

    from bot.app.live_check import live_warnings
    from bot.config.lines import KeyLines
    from bot.config.ops_yml import ConfigProblem

    lines = KeyLines.of(yaml.compose(Path(path).read_text(encoding="utf-8")))
    warnings = asyncio.run(live_warnings(config))
    print(t("config.live.summary", count=len(warnings)))
    for warning in warnings:
        located = ConfigProblem(".".join(map(str, warning.key)), lines.line_of(warning.key), warning.message)
        print(f"  {t('config.live.warning')}: {located}")


async def _migrate(settings: Settings) -> int:
    from bot.storage.database import BotDatabase
    from bot.text.errors import UnavailableError

    db = BotDatabase(settings.database_url.get_secret_value())
    try:
        applied = await db.migrate()
    except UnavailableError as exc:
        print(f"bot database unreachable: {exc.fields.get('detail')}", file=sys.stderr)
        return 1
    finally:
        await db.close()
    print(f"migrations applied: {applied or 'none (up to date)'}")
    return 0


async def _shell(settings: Settings, user: str | None, command: str | None) -> int:
    from bot.app import runtime as rt
    from bot.terminal.shell import Shell, default_user

    config = _load_config(settings.ops_config)
    notifier = None
    if settings.slack_bot_token is not None:  # pages go out from the terminal too when Slack is configured
        from bot.incidents.notify import SlackNotifier, slack_client_for_notices

        notifier = SlackNotifier(slack_client_for_notices(settings.slack_api_url, _token(settings)))
    runtime = await rt.start(settings, config, migrate=True, notifier=notifier)
    try:
        await asyncio.wait_for(runtime.deps.db.migrate(), 5)
    except Exception as exc:
        log.warning("bot database not ready; audit rows will be skipped: %s", runtime.deps.redact(str(exc)))
    shell = Shell(runtime, user or default_user())
    try:
        if command is not None:
            result = await shell.run_one(command)
            return 0 if result.ok else 1
        return await shell.repl()
    finally:
        await runtime.close()


def _stop_requested() -> asyncio.Event:
    """Set on SIGINT or SIGTERM; installed first thing, so a stop during start-up is a clean exit too."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _first_of(*awaitables: Awaitable[Any]) -> asyncio.Task[Any]:
    """Run them together; the first to finish is returned, the others are cancelled."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return next(task for task in tasks if task in done)


# aiohttp's default accept queue is 128 connections: a burst of slash commands beyond that
# (a whole channel typing /ops status at once) has its SYNs dropped, and the kernel retries
# them only after a second. The kernel caps this at net.core.somaxconn.
LISTEN_BACKLOG = 1024


class ListenError(Exception):
    """The address is taken or not ours: said in one line, not a traceback."""


async def _listen(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve `app` on host:port and say where ("listening on HOST:PORT", the port the OS chose for 0)."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=LISTEN_BACKLOG)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = runner.addresses[0] if runner.addresses else (host, port)
    log.info("ops-bot serving on http://%s:%s", bound[0], bound[1])
    print(f"listening on {bound[0]}:{bound[1]}", flush=True)
    return runner


async def _serve(settings: Settings, host: str, port: int) -> int:
    from bot.slack.server import build_web_app

    stop = _stop_requested()
    config = _load_config(settings.ops_config)
    worker, runtime, slack = await _start_slack(settings, config)
    try:
        runner = await _listen(build_web_app(runtime, slack, worker.call, worker.gate, load=worker.load), host, port)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
    finally:
        await _stop(worker, runtime, slack)
    return 0


async def _start_slack(settings: Settings, config: OpsConfig) -> tuple[WorkerLoop, Runtime, SlackBot]:
    """Deps live on a worker loop; the Slack side (acks) keeps the main loop to itself."""
    from bot.app import runtime as rt
    from bot.incidents.notify import SlackNotifier, slack_client_for_notices
    from bot.slack.app import build_slack_app, group_members_via, web_client

    worker = WorkerLoop().start()
    client = web_client(settings)
    notifier = SlackNotifier(slack_client_for_notices(settings.slack_api_url, _token(settings)))
    runtime = await worker.call(rt.start(settings, config, group_members_via(client), notifier=notifier))
    slack = build_slack_app(settings, runtime.dispatcher, client, submit=worker.submit)
    worker.submit(slack.learn_identity())
    _freeze_startup_objects()
    return worker, runtime, slack


def _freeze_startup_objects() -> None:
    """Keep what startup built (modules, pydantic and Block Kit classes, the config) out of the
    collector's full passes: each pass over them stalled the acks for 55–100 ms, so a burst
    of slash commands that met one had its slowest answers late by that much."""
    gc.collect()
    gc.freeze()


def _token(settings: Settings) -> str:
    return settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""


async def _stop(worker: WorkerLoop, runtime: Runtime, slack: SlackBot | None = None) -> None:
    try:  # running confirmed steps end, or are stopped and recorded, before anything closes
        await worker.call(runtime.drain())
    except Exception as exc:
        log.warning("drain was not clean: %s", exc)
    if slack is not None and slack.dedupe is not None:
        await slack.dedupe.close()
    try:
        await asyncio.wait_for(worker.call(runtime.close()), 10)
    except Exception as exc:
        log.warning("shutdown was not clean: %s", exc)
    worker.stop()


async def _socket(settings: Settings, host: str, port: int) -> int:
    """Socket Mode for Slack, plus the HTTP side of `serve` without /slack/events (liveness, metrics)."""
    from bot.slack.middleware import socket_mode_handler
    from bot.slack.server import build_web_app
    from bot.slack.socket_mode import SocketConnection, SocketRefused, opening_client

    if settings.slack_app_token is None:
        print("SLACK_APP_TOKEN (xapp-…) is required for Socket Mode", file=sys.stderr)
        return 2
    stop = _stop_requested()
    config = _load_config(settings.ops_config)
    worker, runtime, slack = await _start_slack(settings, config)
    runner: web.AppRunner | None = None
    connection: SocketConnection | None = None
    try:
        app = build_web_app(runtime, slack, worker.call, worker.gate, events_endpoint=False, load=worker.load)
        runner = await _listen(app, host, port)
        assert slack.dedupe is not None
        app_token = settings.slack_app_token.get_secret_value()
        handler = socket_mode_handler(slack.app, app_token, slack.client, slack.dedupe)  # an envelope runs once
        connection = SocketConnection(handler, app_token, opening_client(settings.slack_api_url))
        opened = await _first_of(connection.connect(), stop.wait())
        if not stop.is_set():
            opened.result()  # SocketRefused, or the connection is up
            print("connected in Socket Mode", flush=True)
            ended = await _first_of(asyncio.shield(connection.refused), stop.wait())
            if not stop.is_set():
                raise ended.result()
    except SocketRefused as exc:
        print(Catalog(config.locale)("socket.refused", error=exc.error), file=sys.stderr, flush=True)
        return 1
    finally:
        if connection is not None:
            await connection.close()
        if runner is not None:
            await runner.cleanup()
        await _stop(worker, runtime, slack)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    if args.mode == "check-config":
        return check_config(args.path, settings, live=args.live)
    if refusal := settings.missing_for(args.mode):
        print(refusal, file=sys.stderr)
        return 2
    try:
        if args.mode == "migrate":
            return asyncio.run(_migrate(settings))
        if args.mode == "shell":
            return asyncio.run(_shell(settings, args.user, args.command))
        if args.mode == "serve":
            return asyncio.run(_serve(settings, args.host, args.port))
        if args.mode == "socket":
            return asyncio.run(_socket(settings, args.host, args.port))
    except ConfigError as exc:
        print(f"{exc.path}: {problem_count(len(exc.problems))}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        print("Run `ops-bot check-config` after fixing it.", file=sys.stderr)
        return 2
    except ListenError as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
