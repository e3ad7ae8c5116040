"""bot/targets/promql.py against hand-computed values and against Prometheus' own test vectors.

The vectors marked "Prometheus" come from promql/promqltest/testdata/histograms.test in
prometheus/prometheus (the `testhistogram*` and `request_duration_seconds` series at 50m
and 7m): the same inputs must give the same numbers as `histogram_quantile`.
"""

from __future__ import annotations

import math

import pytest

from bot.targets.promql import Bucket, bucket_quantile, delta_buckets, increase, parse_le, per_bucket, sum_buckets
from handlers.metrics import bar, bar_chart

INF = math.inf


def buckets(*pairs: tuple[float, float]) -> list[Bucket]:
    return [Bucket(upper, count) for upper, count in pairs]


# 10 requests ≤ 100 ms, 20 more ≤ 250 ms, 15 more ≤ 500 ms, 5 more ≤ 1 s, none above.
KNOWN = buckets((0.1, 10), (0.25, 30), (0.5, 45), (1.0, 50), (INF, 50))


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.10, 0.05),  # rank 5 in the first bucket: 0 + 0.1 × 5/10
        (0.50, 0.2125),  # rank 25: 0.1 + 0.15 × (25-10)/20
        (0.95, 0.75),  # rank 47.5: 0.5 + 0.5 × (47.5-45)/5
        (0.99, 0.95),  # rank 49.5: 0.5 + 0.5 × (49.5-45)/5
        (1.00, 1.0),  # rank 50: the top of the last bucket that holds observations
    ],
)
def test_quantile_interpolates_linearly_inside_the_bucket(q: float, expected: float) -> None:
    assert bucket_quantile(q, KNOWN) == pytest.approx(expected, abs=1e-12)


def test_a_rank_in_the_inf_bucket_answers_the_last_finite_bound() -> None:
    # 2 ≤ 0.1 s, 2 more ≤ 0.5 s, 6 slower than 0.5 s: p50 (rank 5) and p95 (rank 9.5) lie above 0.5 s.
    tail = buckets((0.1, 2), (0.5, 4), (INF, 10))
    assert bucket_quantile(0.5, tail) == 0.5
    assert bucket_quantile(0.95, tail) == 0.5
    assert bucket_quantile(0.3, tail) == pytest.approx(0.1 + 0.4 * (3 - 2) / 2)


def test_nan_where_prometheus_answers_nan() -> None:
    assert math.isnan(bucket_quantile(0.5, buckets((0.1, 0), (INF, 0)))), "zero observations"
    assert math.isnan(bucket_quantile(0.5, buckets((INF, 7)))), "a single bucket"
    assert math.isnan(bucket_quantile(0.5, buckets((0.1, 3), (1.0, 7)))), "no +Inf bucket"
    assert math.isnan(bucket_quantile(0.5, [])), "no buckets"
    assert math.isnan(bucket_quantile(math.nan, KNOWN)), "q is NaN"
    # q = 0 over an empty first bucket divides 0 by 0, as Go does: NaN.
    assert math.isnan(bucket_quantile(0, buckets((0.1, 0), (0.5, 4), (INF, 4))))


def test_out_of_range_quantiles_are_infinite() -> None:
    assert bucket_quantile(-0.1, KNOWN) == -INF
    assert bucket_quantile(1.01, KNOWN) == INF


def test_duplicate_bounds_merge_and_order_does_not_matter() -> None:
    shuffled = buckets((INF, 10), (0.1, 5), (0.1, 5))  # same bound written twice, e.g. "0.1" and "1e-1"
    assert bucket_quantile(0.5, shuffled) == pytest.approx(0.05)


def test_decreasing_counts_are_raised_to_the_envelope() -> None:
    broken = buckets((0.1, 10), (0.2, 8), (0.4, 12), (INF, 12))  # 8 < 10: forced to 10
    assert bucket_quantile(0.9, broken) == pytest.approx(0.2 + 0.2 * (10.8 - 10) / 2)


def test_float_noise_between_counts_is_ignored() -> None:
    noisy = buckets((0.1, 10), (0.2, 10 + 1e-12), (INF, 20))
    assert bucket_quantile(0.5, noisy) == pytest.approx(0.1)


# ---- Prometheus' own vectors -----------------------------------------------------------------

POSITIVE = buckets((0.1, 50), (0.2, 70), (1.0, 110), (INF, 120))  # testhistogram{start="positive"} at 50m
NEGATIVE = buckets((-0.2, 10), (-0.1, 20), (0.3, 20), (INF, 30))  # testhistogram{start="negative"} at 50m


@pytest.mark.parametrize(
    ("q", "positive", "negative"),
    [(0, 0, -0.2), (0.2, 0.048, -0.2), (0.5, 0.15, -0.15), (0.8, 0.72, 0.3), (1, 1, 0.3)],
)
def test_prometheus_testhistogram_vectors(q: float, positive: float, negative: float) -> None:
    assert bucket_quantile(q, POSITIVE) == pytest.approx(positive)
    assert bucket_quantile(q, NEGATIVE) == pytest.approx(negative)


def test_prometheus_middle_of_bucket_vectors() -> None:
    middle = buckets((0, 0), (2, 1), (4, 2), (6, 3), (INF, 3))  # testhistogram2 at 7m
    assert bucket_quantile(1 / 6, middle) == pytest.approx(1)
    assert bucket_quantile(0.5, middle) == pytest.approx(3)
    assert bucket_quantile(5 / 6, middle) == pytest.approx(5)


def test_prometheus_sum_by_le_vectors() -> None:
    # request_duration_seconds_bucket for job1/job2 × ins1/ins2, summed by (le) and by (le, job).
    series = [
        (("job1", "ins1"), 0.1, 1),
        (("job1", "ins1"), 0.2, 3),
        (("job1", "ins1"), INF, 4),
        (("job1", "ins2"), 0.1, 2),
        (("job1", "ins2"), 0.2, 5),
        (("job1", "ins2"), INF, 6),
        (("job2", "ins1"), 0.1, 3),
        (("job2", "ins1"), 0.2, 4),
        (("job2", "ins1"), INF, 6),
        (("job2", "ins2"), 0.1, 4),
        (("job2", "ins2"), 0.2, 7),
        (("job2", "ins2"), INF, 9),
    ]
    everything = sum_buckets(("", le, count) for _, le, count in series)[""]
    assert bucket_quantile(0.3, everything) == pytest.approx(0.075)
    assert bucket_quantile(0.5, everything) == pytest.approx(0.1277777777777778)
    by_job = sum_buckets((key[0], le, count) for key, le, count in series)
    assert bucket_quantile(0.3, by_job["job2"]) == pytest.approx(0.0642857142857143)
    assert bucket_quantile(0.5, by_job["job1"]) == pytest.approx(0.14)


def test_le_labels_read_like_prometheus() -> None:
    assert parse_le("+Inf") == INF and parse_le("+inf") == INF
    assert parse_le("2.0e-1") == 0.2 and parse_le(".2") == 0.2
    assert parse_le("fast") is None and parse_le("1_000") is None


# ---- windows, per-bucket counts, bars -----------------------------------------------------------


def test_increase_treats_a_drop_as_a_counter_reset() -> None:
    assert increase(10, 15) == 5
    assert increase(10, 3) == 3, "the process restarted: its 3 are all new"
    assert increase(None, 4) == 4, "a series born between the scrapes counts from zero"


def test_window_buckets_are_each_buckets_increase() -> None:
    after = buckets((0.1, 12), (INF, 20))
    assert delta_buckets({0.1: 10, INF: 15}, after) == buckets((0.1, 2), (INF, 5))


def test_per_bucket_counts_undo_the_cumulation() -> None:
    assert [b.count for b in per_bucket(KNOWN)] == [10, 20, 15, 5, 0]


def test_bars_use_eighth_blocks_and_show_any_non_zero_count() -> None:
    assert bar(8, 8, width=2) == "██"
    assert bar(1, 16, width=2) == "▏"
    assert bar(4, 8, width=1) == "▌" and bar(5, 8, width=1) == "▋"
    assert bar(0, 8) == ""
    chart = bar_chart(KNOWN).splitlines()
    assert chart[0].startswith("≤ 100 ms") and chart[0].rstrip().endswith("10")
    assert chart[1].count("█") == 24, "the biggest bucket fills the width"
    assert chart[-1].startswith("> 1.00 s") and chart[-1].rstrip().endswith("0")
