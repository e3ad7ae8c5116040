"""Bull Board's REST API (the runbook's `/admin/queues`), the way its own web UI calls it.

Only the routes the runbook needs: queue counts, a queue's failed jobs, one job's state,
and the two retries. Every call, connection and body included, is bounded by one timeout,
and every failure becomes a TargetError whose detail is one short sentence from the
catalog: unreachable, timed out, HTTP status, queue or job not found. The answers are
parsed into the pydantic models below, which hold only the fields the bot reads, so a
newer board that adds fields keeps working and one that drops a field we need is a clear
"unexpected answer" instead of a KeyError.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from yarl import URL

from bot.config.ops_yml import BullBoardConfig
from bot.text.errors import TargetError
from bot.text.messages import Catalog

SERVICE = "Bull Board"
FAILED = "failed"
MAX_PAGE = 300
"""The most jobs one request asks for: @bull-board/api 9.10.2 and later answer a larger
`jobsPerPage` with HTTP 400 (ERRORS.INVALID_QUERY_PARAM), so more is read page by page."""
MAX_PAGES = 20
"""Pages read for one answer at most (6,000 jobs): every request has the timeout, not the sum."""

M = TypeVar("M", bound=BaseModel)


class BoardHTTPError(TargetError):
    """The board answered, with a non-2xx status: the request reached it and it said no."""

    def __init__(self, detail: str, status: int) -> None:
        super().__init__(SERVICE, detail)
        self.status = status


class _Answer(BaseModel):
    """Bull Board's JSON: unknown fields are ignored, since the board adds them freely."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


def _as_str(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class JobCounts(_Answer):
    waiting: int = 0
    active: int = 0
    completed: int = 0
    failed: int = 0
    delayed: int = 0
    paused: int = 0

    def as_pairs(self) -> list[tuple[str, int]]:
        return [(name, int(getattr(self, name))) for name in COUNT_NAMES]


COUNT_NAMES = ("waiting", "active", "completed", "failed", "delayed", "paused")


class BoardJob(_Answer):
    """One job as the board formats it; times are epoch milliseconds."""

    id: Annotated[str, BeforeValidator(_as_str)]
    timestamp: int | None = None
    processed_on: int | None = Field(None, alias="processedOn")
    finished_on: int | None = Field(None, alias="finishedOn")
    attempts: int = 0
    failed_reason: str | None = Field(None, alias="failedReason")

    def tries(self, queue_type: str) -> int:
        """How many times the job ran: the Bull adapter reports Bull's `attemptsMade` plus one."""
        return max(self.attempts - 1, 0) if queue_type == "bull" else self.attempts

    @property
    def failed_at(self) -> int | None:
        return self.finished_on or self.processed_on or self.timestamp


class BoardQueue(_Answer):
    name: str
    type: str = "bull"
    counts: JobCounts = Field(default_factory=JobCounts)
    jobs: list[BoardJob] = Field(default_factory=list)


class QueuesAnswer(_Answer):
    queues: list[BoardQueue]


class JobAnswer(_Answer):
    job: BoardJob
    status: str


class RetryAnswer(_Answer):
    retried: int
    skipped: int = 0


class _ErrorKey(_Answer):
    key: str = ""
    options: dict[str, Any] = Field(default_factory=dict)


class _ErrorAnswer(_Answer):
    """`{"error": {"key": "ERRORS.QUEUE_NOT_FOUND", "options": {...}}, "message": "..."}`."""

    error: _ErrorKey | str | None = None
    message: str | None = None


def display_url(url: str) -> str:
    """The URL without user:password, for messages; a board behind basic auth keeps its secret."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class BullBoardClient:
    """One board, reached through the bot's shared aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, config: BullBoardConfig, timeout: float, t: Catalog) -> None:
        self.session = session
        self.base_url = config.base_url.rstrip("/")
        self.timeout = timeout
        self.t = t

    def _url(self, *segments: str) -> URL:
        """`base_url/api/queues/<seg>/…`; each segment is percent-encoded, so none can add a path level."""
        path = "/".join(quote(s, safe="") for s in ("api", "queues", *segments))
        return URL(f"{URL(self.base_url)}/{path}", encoded=True)

    async def queues(
        self, active: str | None = None, status: str | None = None, per_page: int | None = None
    ) -> list[BoardQueue]:
        """Every queue with its counts; `active` also gets up to `per_page` of its jobs in `status`,
        newest first, read in pages of at most MAX_PAGE (the board's own limit)."""
        params: dict[str, str] = {}
        if active is not None:
            params["activeQueue"] = active
            if status is not None:
                params["status"] = status
        if active is None or per_page is None:
            return await self._page(params)
        size = max(1, min(per_page, MAX_PAGE))
        first = await self._page({**params, "page": "1", "jobsPerPage": str(size)})
        found = next((q for q in first if q.name == active), None)
        if found is None or per_page <= size:
            return first
        jobs, seen = list(found.jobs), {job.id for job in found.jobs}
        page, last = 1, found.jobs
        while len(jobs) < per_page and len(last) >= size and page < MAX_PAGES:
            page += 1
            later = await self._page({**params, "page": str(page), "jobsPerPage": str(size)})
            last = next((q.jobs for q in later if q.name == active), [])
            fresh = [job for job in last if job.id not in seen]  # a job that moved between pages: once
            seen.update(job.id for job in fresh)
            jobs.extend(fresh)
        merged = found.model_copy(update={"jobs": jobs[:per_page]})
        return [merged if q.name == active else q for q in first]

    async def _page(self, params: dict[str, str]) -> list[BoardQueue]:
        body = await self._send("GET", self._url(), params=params)
        return self._parse(QueuesAnswer, body).queues

    async def job(self, queue: str, job_id: str) -> JobAnswer:
        """One job and the list it is in (`failed`, `completed`, `waiting`…)."""
        return self._parse(JobAnswer, await self._send("GET", self._url(queue, job_id), queue=queue, job_id=job_id))

    async def retry_failed(self, queue: str) -> RetryAnswer:
        """Move every failed job of `queue` back to waiting; the board says how many it moved."""
        return self._parse(RetryAnswer, await self._send("PUT", self._url(queue, "retry", FAILED), queue=queue))

    async def retry_job(self, queue: str, job_id: str) -> None:
        """Move one failed job back to waiting (204 on success)."""
        await self._send("PUT", self._url(queue, job_id, "retry"), queue=queue, job_id=job_id)

    async def _send(
        self,
        method: str,
        url: URL,
        *,
        params: dict[str, str] | None = None,
        queue: str | None = None,
        job_id: str | None = None,
    ) -> bytes:
        """The body of a 2xx answer; anything else is a TargetError. The timeout covers the body too."""
        t = self.t
        try:
            async with asyncio.timeout(self.timeout):
                async with self.session.request(method, url, params=params, allow_redirects=False) as response:
                    status = response.status
                    body = await response.read()
        except TimeoutError:
            raise TargetError(SERVICE, t("bull.timeout", seconds=f"{self.timeout:g}")) from None
        except (aiohttp.ClientError, OSError) as exc:
            detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise TargetError(SERVICE, t("bull.unreachable", url=display_url(self.base_url), detail=detail)) from None
        if status >= 300:
            raise BoardHTTPError(self._explain(status, body, queue, job_id), status)
        return body

    def _parse(self, model: type[M], body: bytes) -> M:
        try:
            return model.model_validate_json(body)
        except ValidationError:
            raise TargetError(SERVICE, self.t("bull.bad_answer", url=display_url(self.base_url))) from None

    def _explain(self, status: int, body: bytes, queue: str | None, job_id: str | None) -> str:
        """One sentence for a non-2xx answer, using the board's error key when it sent one."""
        t = self.t
        try:
            answer = _ErrorAnswer.model_validate(json.loads(body))
        except (ValueError, ValidationError):
            answer = None
        error = answer.error if answer is not None else None
        key = error.key if isinstance(error, _ErrorKey) else ""
        options = error.options if isinstance(error, _ErrorKey) else {}
        if key == "ERRORS.QUEUE_NOT_FOUND":
            return t("bull.queue_not_found", queue=queue or "?")
        if key == "ERRORS.JOB_NOT_FOUND":
            return t("bull.job_not_found", queue=queue or "?", job=job_id or "?")
        if key == "ERRORS.JOB_NOT_RETRIABLE":
            return t("bull.job_not_retriable", queue=queue or "?", job=job_id or "?", state=options.get("state", "?"))
        if key == "ERRORS.QUEUE_READ_ONLY":
            return t("bull.read_only", queue=queue or "?")
        if answer is None and status == 404:
            return t("bull.not_a_board", url=display_url(self.base_url))
        message = (answer.message or key or (error if isinstance(error, str) else "")) if answer else ""
        return t("bull.http", status=status, message=f": {message[:200]}" if message else "")
