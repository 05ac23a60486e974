"""The one timer of the benchmark scripts: medians of interleaved calls.

Calls of the compared functions alternate A, B, A, B, ... so that load from anything else on a
shared machine slows all of them alike, and a ratio measured in one run is meaningful even when
the absolute seconds are not. GPU work is waited for before and after every call.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from inr_bench.runtime import sync


def median_seconds(
    fns: dict[str, Callable[[], object]],
    repeats: int,
    device: torch.device | str = "cpu",
    warmup: int = 1,
) -> dict[str, float]:
    """Median wall seconds of each callable over ``repeats`` round-robin rounds, after
    ``warmup`` untimed rounds (compilation, caches, lazy initialisation)."""
    device = torch.device(device)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for round_ in range(warmup + repeats):
        for name, fn in fns.items():
            sync(device)
            t0 = time.perf_counter()
            fn()
            sync(device)
            if round_ >= warmup:
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(values) for name, values in times.items()}
