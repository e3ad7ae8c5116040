"""Alertmanager's v2 API, for the silences made from Slack: create, list, expire. Every call bounded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from bot.text.errors import TargetError


class Matcher(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    value: str
    isRegex: bool = False
    isEqual: bool = True


class Silence(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    matchers: list[Matcher] = Field(default_factory=list)
    startsAt: datetime
    endsAt: datetime
    createdBy: str = ""
    comment: str = ""
    state: str = Field(default="", validation_alias="status")

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Silence:
        status = raw.get("status") or {}
        return cls.model_validate({**raw, "status": status.get("state", "") if isinstance(status, dict) else ""})


class Alertmanager:
    def __init__(self, session: aiohttp.ClientSession, url: str, timeout: float) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.timeout = timeout

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            async with asyncio.timeout(self.timeout):
                async with self.session.request(method, f"{self.url}{path}", json=body) as response:
                    text = await response.text()
                    if response.status >= 300:
                        raise TargetError(service="alertmanager", detail=f"HTTP {response.status}: {text[:200]}")
                    return await response.json(content_type=None) if text else None
        except TimeoutError:
            raise TargetError(service="alertmanager", detail=f"no answer within {self.timeout:g}s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TargetError(service="alertmanager", detail=f"unreachable: {type(exc).__name__}") from None

    async def create_silence(self, matchers: list[Matcher], duration: timedelta, created_by: str, comment: str) -> str:
        now = datetime.now(UTC)
        body = {
            "matchers": [m.model_dump() for m in matchers],
            "startsAt": now.isoformat(),
            "endsAt": (now + duration).isoformat(),
            "createdBy": created_by,
            "comment": comment,
        }
        answer = await self._call("POST", "/api/v2/silences", body)
        return str((answer or {}).get("silenceID", ""))

    async def silences(self) -> list[Silence]:
        answer = await self._call("GET", "/api/v2/silences")
        return [Silence.from_api(raw) for raw in answer or []]

    async def expire(self, silence_id: str) -> None:
        await self._call("DELETE", f"/api/v2/silence/{silence_id}")
