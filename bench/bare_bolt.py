"""The baseline of bench/ack_latency.py: a bare slack-bolt AsyncApp that only acks `/ops`."""

from __future__ import annotations

import argparse

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--api-url", required=True)
    args = parser.parse_args()

    async def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token="xoxb-bench", user_id=user_id)

    app = AsyncApp(client=AsyncWebClient(base_url=args.api_url), signing_secret=args.secret, authorize=authorize)

    @app.command("/ops")
    async def only_ack(ack):  # type: ignore[no-untyped-def]
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    print(f"listening on 127.0.0.1:{args.port}", flush=True)
    # the same accept queue as ops-bot serve, so the two differ only in what runs per request
    web.run_app(web_app, host="127.0.0.1", port=args.port, print=None, access_log=None, backlog=1024)


if __name__ == "__main__":
    main()
