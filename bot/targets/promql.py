"""Prometheus' `histogram_quantile` over classic histograms, computed from scraped buckets.

`bucket_quantile` is a line-by-line port of `bucketQuantile` in Prometheus'
promql/quantile.go (prometheus/prometheus, read at commit 01381a8), so `/ops metrics`
shows the number a Grafana panel built on `histogram_quantile(0.95, …)` would show:

- buckets are sorted by `le`; buckets with the same bound are merged (summed);
- the highest bucket must be `+Inf`, else the answer is NaN; fewer than two buckets, or
  zero observations, give NaN too;
- counts that differ by a relative 1e-12 are treated as equal (float noise), and counts
  that fall between buckets are raised to the envelope (monotonicity forced);
- the quantile is interpolated linearly inside the bucket where the rank falls, from 0
  for the first bucket when its bound is positive (else that bound is the answer);
- a rank that falls in the `+Inf` bucket answers the upper bound of the last finite
  bucket: Prometheus cannot know how far above it the slow requests were.

Go's float division (x/0 = ±Inf, 0/0 = NaN) is kept: Python would raise instead, and
the q=0 case over an empty first bucket is NaN in Prometheus precisely because of it.

Also here, because they are the same arithmetic: grouping bucket series (`sum by (le,
…)`), the increase between two scrapes (a drop is a counter reset), and per-bucket counts.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

PRECISION_TOLERANCE = 1e-12  # correctPrecisionErrors(buckets, 1e-12) in quantile.go
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Bucket:
    """One `_bucket` series: observations at or below `upper` (cumulative)."""

    upper: float
    count: float


def parse_le(text: str) -> float | None:
    """The `le` label as a float (`+Inf`, `0.25`, `1e3`); None when malformed, and Prometheus
    skips such a series (funcHistogramQuantile: "no bucket label or malformed label value")."""
    if "_" in text:  # Python's float() accepts 1_000, Go's ParseFloat does not
        return None
    try:
        return float(text)
    except ValueError:
        return None


def go_div(a: float, b: float) -> float:
    """IEEE division as Go does it: no exception on a zero divisor."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def coalesce(buckets: Sequence[Bucket]) -> list[Bucket]:
    """Merge buckets with the same upper bound (input sorted by bound)."""
    merged: list[Bucket] = []
    for bucket in buckets:
        if merged and merged[-1].upper == bucket.upper:
            merged[-1] = Bucket(bucket.upper, merged[-1].count + bucket.count)
        else:
            merged.append(bucket)
    return merged


def correct_precision_errors(counts: list[float], tolerance: float = PRECISION_TOLERANCE) -> bool:
    """Equalise counts whose relative difference is float noise; True when one was changed."""
    fixed = False
    prev = counts[0]
    for i in range(1, len(counts)):
        curr = counts[i]
        delta = abs(curr - prev)
        if delta == 0:
            continue
        if go_div(delta, curr) <= tolerance:
            counts[i] = prev
            fixed = True
        else:
            prev = curr
    return fixed


def ensure_monotonic(counts: list[float]) -> bool:
    """Raise every count to the running maximum (the histogram's envelope); True when forced."""
    forced = False
    highest = counts[0]
    for i in range(1, len(counts)):
        if counts[i] > highest:
            highest = counts[i]
        elif counts[i] < highest:
            counts[i] = highest
            forced = True
    return forced


def normalized(buckets: Iterable[Bucket]) -> list[Bucket]:
    """Sorted, merged, precision-corrected and monotonic buckets: what the quantile reads."""
    ordered = coalesce(sorted(buckets, key=lambda b: b.upper))
    if not ordered:
        return []
    counts = [b.count for b in ordered]
    correct_precision_errors(counts)
    ensure_monotonic(counts)
    return [Bucket(b.upper, c) for b, c in zip(ordered, counts, strict=True)]


def bucket_quantile(q: float, buckets: Iterable[Bucket]) -> float:
    """`histogram_quantile(q, …)` for one histogram's buckets; NaN where Prometheus says NaN."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(buckets, key=lambda b: b.upper)
    if not ordered or not (math.isinf(ordered[-1].upper) and ordered[-1].upper > 0):
        return math.nan
    fixed = normalized(ordered)
    if len(fixed) < 2:
        return math.nan
    observations = fixed[-1].count
    if observations == 0:
        return math.nan
    rank = q * observations
    # sort.Search(len(buckets)-1, count >= rank): the first such index, or len-1 when none.
    last = len(fixed) - 1
    b = next((i for i in range(last) if fixed[i].count >= rank), last)
    if b == last:
        return fixed[-2].upper
    if b == 0 and fixed[0].upper <= 0:
        return fixed[0].upper
    start = 0.0
    end = fixed[b].upper
    count = fixed[b].count
    if b > 0:
        start = fixed[b - 1].upper
        count -= fixed[b - 1].count
        rank -= fixed[b - 1].count
    return start + (end - start) * go_div(rank, count)


def per_bucket(buckets: Iterable[Bucket]) -> list[Bucket]:
    """Observations in each bucket alone (not cumulative), on the normalized buckets."""
    fixed = normalized(buckets)
    out: list[Bucket] = []
    below = 0.0
    for bucket in fixed:
        out.append(Bucket(bucket.upper, bucket.count - below))
        below = bucket.count
    return out


def increase(before: float | None, after: float) -> float:
    """How much a counter grew between two scrapes. A drop means the process restarted
    (a counter reset), so everything counted since is new, as in Prometheus' `increase`;
    a series absent from the first scrape started in between and counts from zero."""
    if before is None:
        return after
    return after - before if after >= before else after


def sum_buckets(series: Iterable[tuple[K, float, float]]) -> dict[K, list[Bucket]]:
    """`sum by (le, <key>)`: (key, le, cumulative count) triples summed per key and bound."""
    grouped: dict[K, dict[float, float]] = {}
    for key, upper, count in series:
        per_le = grouped.setdefault(key, {})
        per_le[upper] = per_le.get(upper, 0.0) + count
    return {key: [Bucket(u, c) for u, c in sorted(per_le.items())] for key, per_le in grouped.items()}


def delta_buckets(before: Mapping[float, float] | None, after: Sequence[Bucket]) -> list[Bucket]:
    """The buckets of what was observed between two scrapes: each bucket's increase."""
    earlier = before or {}
    return [Bucket(b.upper, increase(earlier.get(b.upper), b.count)) for b in after]
