"""The stack API's `/metrics`: one bounded GET, parsed by prometheus_client's own parser.

The runbook greps the exposition (`curl /metrics | grep http_request_duration`); a grep
cannot tell a bucket from a comment, sum label sets or see a counter reset, so the text is
parsed with `prometheus_client.parser.text_string_to_metric_families`, the reference
parser of the format, and turned into the small frozen types below so the rest of the
bot never depends on the parser's classes. Parsing runs in a worker thread: a large
exposition must not stall the event loop that acks Slack.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.targets.bull_board import display_url
from bot.text.errors import TargetError
from bot.text.messages import Catalog

SERVICE = "metrics"
MAX_BODY = 16 * 1024 * 1024
ACCEPT = "text/plain;version=0.0.4;q=1.0, */*;q=0.1"


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Family:
    """One metric family: `http_requests` (counter) holds the `http_requests_total` samples."""

    name: str
    type: str
    help: str
    samples: tuple[Sample, ...]


@dataclass(frozen=True)
class Scrape:
    """Every family of one scrape, and when it arrived (monotonic seconds), for rates."""

    families: dict[str, Family]
    at: float
    seconds: float = 0.0
    _by_sample: dict[str, Family] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for family in self.families.values():
            for sample in family.samples:
                self._by_sample.setdefault(sample.name, family)

    def family(self, name: str) -> Family | None:
        """A family by its name or by one of its sample names (`http_requests_total`)."""
        return self.families.get(name) or self._by_sample.get(name)

    def names(self) -> list[str]:
        """Family and sample names, for "did you mean"."""
        return sorted(set(self.families) | set(self._by_sample))

    def samples(self, name: str) -> Iterator[Sample]:
        family = self.family(name)
        if family is not None:
            yield from family.samples


def parse_exposition(text: str) -> dict[str, Family]:
    """Prometheus text format → families; ValueError (from the parser) when it is not that format."""
    families: dict[str, Family] = {}
    for metric in text_string_to_metric_families(text):
        samples = tuple(Sample(s.name, dict(s.labels), float(s.value)) for s in metric.samples)
        known = families.get(metric.name)
        if known is not None:  # the same family split in two blocks: keep every sample
            samples = known.samples + samples
        families[metric.name] = Family(metric.name, metric.type, metric.documentation, samples)
    return families


async def scrape(session: aiohttp.ClientSession, url: str, timeout: float, t: Catalog) -> Scrape:
    """GET and parse `url`; a TargetError with one short sentence for every failure."""
    started = time.perf_counter()
    shown = display_url(url)
    try:
        async with asyncio.timeout(timeout):
            async with session.get(url, allow_redirects=False, headers={"Accept": ACCEPT}) as response:
                status = response.status
                body = await response.content.read(MAX_BODY + 1)
    except TimeoutError:
        raise TargetError(SERVICE, t("check.timeout", seconds=f"{timeout:g}")) from None
    except (aiohttp.ClientError, OSError) as exc:
        detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise TargetError(SERVICE, t("metrics.unreachable", url=shown, detail=detail)) from None
    arrived = time.monotonic()
    if status != 200:
        raise TargetError(SERVICE, t("metrics.http", url=shown, status=status))
    if len(body) > MAX_BODY:
        raise TargetError(SERVICE, t("metrics.too_big", url=shown, size=MAX_BODY // (1024 * 1024)))
    try:
        families = await asyncio.to_thread(parse_exposition, body.decode("utf-8", errors="replace"))
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise TargetError(SERVICE, t("metrics.unparsable", url=shown, detail=detail)) from None
    return Scrape(families, arrived, time.perf_counter() - started)
