"""The rota engine on the paging path (the benchmark of issue 25).

    python bench/oncall.py [--rotas 50] [--layers 5] [--samples 20000]

Builds `--rotas` rotas of `--layers` layers each (daily, weekly, every-two-weeks, weekend
nights with hours, weekday days with hours), begun a year ago, with a few overrides each, and
prints, beside the targets:
- resolving who is on call at a random instant of that year, one rota at a time (what a page
  does once the overrides are read), p50 / p99; target p99 < 5 ms;
- rendering the next 30 days of every rota (the final timeline, as `/ops oncall schedule` and
  the iCal feed build it, each shift written in the rota's zone), total; target < 200 ms.
Compiling the book (once per loaded ops.yml) is printed too, apart.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from bot.config.ops_yml import Rota
from bot.oncall.rota import Override, RotaBook
from bot.text import times

KINDS = [
    {"rotation": "daily", "handoff": "09:00"},
    {"rotation": "weekly", "handoff": "mon 09:00"},
    {"rotation": "FREQ=WEEKLY;INTERVAL=2", "handoff": "wed 10:00"},
    {"rotation": "FREQ=WEEKLY;BYDAY=SA,SU", "hours": "20:00-08:00"},
    {"rotation": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "hours": "09:00-18:00"},
]
ZONES = ["America/Santiago", "Europe/Madrid", "Asia/Kolkata", "America/New_York", "UTC"]


def build(rotas: int, layers: int, start: date) -> dict[str, Rota]:
    out = {}
    for r in range(rotas):
        spec = []
        for n in range(layers):
            members = [f"U0R{r:02d}L{n}M{m}" for m in range(2 + (r + n) % 4)]
            spec.append({"name": f"layer{n}", "members": members, "start": start.isoformat(), **KINDS[n % len(KINDS)]})
        out[f"role{r}"] = Rota.model_validate({"timezone": ZONES[r % len(ZONES)], "layers": spec})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rotas", type=int, default=50)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--samples", type=int, default=20000)
    args = parser.parse_args()
    rng = random.Random(25)
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    year = timedelta(days=365)
    rotas = build(args.rotas, args.layers, (now - year).date())

    began = time.perf_counter()
    book = RotaBook(rotas, "UTC")
    for role in book.roles():  # expand two years of every layer, as questions over time would
        book[role].prepare(now + year)
    compile_ms = (time.perf_counter() - began) * 1000
    shifts = sum(len(layer.starts) for role in book.roles() for layer in book[role].layers)

    overrides = {
        role: [
            Override(i, start, start + timedelta(hours=rng.randint(1, 48)), f"U0OVR{i}")
            for i in range(5)
            for start in [now - year + timedelta(hours=rng.randint(0, 24 * 395))]
        ]
        for role in book.roles()
    }
    roles = list(book.roles())
    samples = []
    for _ in range(args.samples):
        role = rng.choice(roles)
        moment = now - year + timedelta(seconds=rng.randint(0, int(year.total_seconds())))
        began = time.perf_counter()
        book[role].at(moment, overrides[role])
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99)]

    renders, cpu = [], []
    for _ in range(5):
        began, began_cpu = time.perf_counter(), time.process_time()
        lines = 0
        for role in roles:
            rota = book[role]
            for shift in rota.shifts(now, now + timedelta(days=30), overrides[role]):
                f"{times.local(shift.start, rota.zone)} {times.local(shift.end, rota.zone)} {shift.user} {shift.layer}"
                lines += 1
        renders.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)

    print(f"rotas: {args.rotas} x {args.layers} layers, {shifts} shifts expanded over two years, 5 overrides each")
    print(f"compile (once per ops.yml): {compile_ms:.1f} ms")
    print(f"who is on call at an instant, one rota: p50 {p50:.3f} ms, p99 {p99:.3f} ms   (target p99 < 5 ms)")
    print(
        f"next 30 days of {args.rotas} rotas rendered ({lines} shifts): best {min(renders):.1f} ms,"
        f" worst {max(renders):.1f} ms of 5 (CPU time best {min(cpu):.1f} ms)   (target < 200 ms)"
    )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
