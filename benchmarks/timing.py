"""Timing: wall and process-CPU clocks together, and A/B comparisons interleaved in one process.

On a shared machine the wall clock of one trial depends on what else runs at that moment. Two
defences, used by every measurement here:
- alternatives are timed in alternating order, repeat after repeat, and compared pair by pair
  (the median of per-repeat ratios), so a burst of outside load hits both sides of a pair;
- the process CPU time is recorded next to the wall time: a rate per CPU-second moves far less
  with outside load than a rate per wall-second (it still counts every thread of this process).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    wall: float  # seconds
    cpu: float  # process CPU seconds, all threads


class Stopwatch:
    """Accumulates spans; ``with watch:`` adds one. Several watches may run nested."""

    def __init__(self):
        self.wall = self.cpu = 0.0

    def __enter__(self):
        self._t = (time.perf_counter(), time.process_time())
        return self

    def __exit__(self, *exc):
        self.wall += time.perf_counter() - self._t[0]
        self.cpu += time.process_time() - self._t[1]

    @property
    def span(self) -> Span:
        return Span(self.wall, self.cpu)


def timed(fn: Callable[[], object]) -> tuple[object, Span]:
    with Stopwatch() as w:
        out = fn()
    return out, w.span


def interleaved(
    trials: dict[str, Callable[[], int]], repeats: int
) -> dict[str, list[tuple[float, float]]]:
    """Run each trial once per repeat, rotating the order; a trial returns the units it did.
    Returns, per trial, (units per wall second, units per CPU second) for every repeat."""
    names = list(trials)
    rates: dict[str, list[tuple[float, float]]] = {k: [] for k in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            units, span = timed(trials[name])
            rates[name].append((units / span.wall, units / max(span.cpu, 1e-9)))
    return rates


def median_rate(rates: list[tuple[float, float]], clock: int = 0) -> float:
    """clock 0: per wall second; 1: per CPU second."""
    return statistics.median(r[clock] for r in rates)


def paired_ratio(
    a: list[tuple[float, float]], b: list[tuple[float, float]], clock: int = 0
) -> float:
    """Median over repeats of rate(a) / rate(b), each pair timed back to back."""
    return statistics.median(x[clock] / y[clock] for x, y in zip(a, b))


class Timed:
    """Wraps an object so that calls to the named methods add to one Stopwatch each; every other
    attribute passes through. ``calls[name]`` counts calls, ``hits[name]`` those that returned
    something other than None (a learner's ``observe`` returns metrics only when it updated)."""

    def __init__(self, inner, *methods: str):
        self._inner = inner
        self.watches = {m: Stopwatch() for m in methods}
        self.calls = dict.fromkeys(methods, 0)
        self.hits = dict.fromkeys(methods, 0)

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if name not in self.watches:
            return attr

        def call(*args, **kwargs):
            with self.watches[name]:
                out = attr(*args, **kwargs)
            self.calls[name] += 1
            self.hits[name] += out is not None
            return out

        return call
