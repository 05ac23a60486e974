"""Runs grouped by row: a run belongs to a row at a budget when its resolved config equals the
row's composed config (``+experiment=<experiment>[_cpu]`` + the row's overrides) in every key
both have, apart from the keys that do not change the result (``IGNORED``), and its signal
item is one the row averages over. Keys only one side has are skipped, so a run made before an
option existed still counts. How a run was launched (the CLI, a sweep, a reproduction script,
a batched run) does not matter: only what it trained.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from omegaconf import OmegaConf

from inr_bench.report.collect import ITEM_KEYS, Problem, Run, flatten
from inr_bench.report.rows import Row

# Keys that label, place or pace a run without changing what it fits (seeds: rows average over
# them; chunk sizes: the gradient is the same; evaluation and logging intervals: the metric is
# read where it was logged).
IGNORED = {
    "seed",
    "seeds",
    "run_dir",
    "name",
    "resume",
    "device",
    "chunk",
    "eval_chunk",
    "eval_every",
    "log_every",
    "checkpoint_every",
    "compile",
    "psnr_thresholds",
    *ITEM_KEYS,
}
IGNORED_PREFIXES = ("logger.", "hydra.")

Fingerprint = dict[str, str]


def comparable(config: dict[str, Any]) -> Fingerprint:
    """The flat config's keys that decide the result, values as JSON text (1 == 1.0 aside)."""
    return {
        k: json.dumps(v, sort_keys=True)
        for k, v in config.items()
        if k not in IGNORED and not k.startswith(IGNORED_PREFIXES)
    }


def fingerprint(overrides: list[str]) -> Fingerprint:
    """The comparable config composed from ``overrides``; UserError-free: raises what Hydra
    raises (a missing experiment file) for the caller to report."""
    from inr_bench.build import compose_config

    resolved = OmegaConf.to_container(compose_config(overrides), resolve=True)
    return comparable(flatten(resolved))


def agrees(run: Fingerprint, row: Fingerprint) -> bool:
    return all(run[k] == row[k] for k in run.keys() & row.keys())


@dataclass
class Result:
    """One row at one budget: the runs that count, their values, what went wrong."""

    row: Row
    budget: str
    runs: list[Run] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unavailable: str | None = None  # why the row has no config at this budget

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.values) if self.values else None

    @property
    def std(self) -> float | None:
        return statistics.stdev(self.values) if len(self.values) > 1 else None

    @property
    def delta(self) -> float | None:
        return None if self.mean is None else self.mean - self.row.published.value

    @property
    def items(self) -> list[str]:
        return sorted({r.item for r in self.runs if r.item})

    @property
    def missing(self) -> list[str]:
        """The items ``--run`` would launch: those of ``launch`` without a run here."""
        done = set(self.items)
        return [i for i in self.row.launch.get(self.budget, ()) if i not in done]

    @property
    def verdict(self) -> str:
        if self.unavailable:
            return "no config"
        if not self.runs:
            return "not run"
        if self.mean is None or not math.isfinite(self.mean):
            return "no value"
        tolerance = self.row.tolerance[self.budget]
        return "within" if tolerance.within(self.mean, self.row.published.value) else "outside"


def fingerprints(rows: list[Row], budgets: list[str]) -> dict[tuple[str, str], Any]:
    """(row id, budget) -> its Fingerprint, or the error text when it cannot be composed;
    rows with the same overrides are composed once."""
    cache: dict[tuple[str, ...], Any] = {}
    out = {}
    for row in rows:
        for budget in budgets:
            key = tuple(row.overrides_for(budget))
            if key not in cache:
                try:
                    cache[key] = fingerprint(list(key))
                except Exception as err:  # Hydra's errors: a missing experiment, a bad key
                    cache[key] = f"{type(err).__name__}: {str(err).splitlines()[0]}"
            out[(row.id, budget)] = cache[key]
    return out


def group(rows: list[Row], runs: list[Run], budgets: list[str]) -> tuple[list[Result], list[Run]]:
    """Every (row, budget) with the runs that count for it, and the runs that count nowhere."""
    prints = fingerprints(rows, budgets)
    results = [Result(row, b) for row in rows for b in budgets]
    for result in results:
        found = prints[(result.row.id, result.budget)]
        result.unavailable = found if isinstance(found, str) else None
    matched: set[int] = set()
    for index, run in enumerate(runs):
        mine = comparable(run.config)
        for result in results:
            found = prints[(result.row.id, result.budget)]
            if isinstance(found, dict) and result.row.counts(run.item) and agrees(mine, found):
                add(result, run)
                matched.add(index)
    return results, [run for i, run in enumerate(runs) if i not in matched]


def add(result: Result, run: Run) -> None:
    result.runs.append(run)
    try:
        result.values.append(run.value(result.row.metric))
    except (KeyError, TypeError, ValueError) as err:
        message = err.args[0] if err.args else type(err).__name__
        result.problems.append(Problem(run.folder, f"{result.row.id}: no {message}"))
