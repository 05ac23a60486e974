"""``--run``: train the missing items of chosen rows as Hydra multiruns, in subprocesses of
``python -m inr_bench.train -m``, so that the launcher the overrides choose (``hydra/launcher=
parallel`` for joblib, ``slurm`` for submitit, the basic one by default) runs the jobs."""

from __future__ import annotations

import fnmatch
import shlex
import subprocess
import sys
import time
from pathlib import Path

from omegaconf import OmegaConf

from inr_bench.errors import UserError
from inr_bench.report.collect import ITEM_KEYS
from inr_bench.report.match import Result


def item_key(overrides: list[str]) -> str:
    """The config key naming the row's signal item (signal.image for images, ...)."""
    from inr_bench.build import compose_config

    cfg = compose_config(overrides)
    for key in ITEM_KEYS:
        if OmegaConf.select(cfg, key) is not None:
            return key
    raise UserError(f"no signal item key ({', '.join(ITEM_KEYS)}) in the config of {overrides}")


def chosen(results: list[Result], patterns: list[str], budget: str) -> list[Result]:
    """The results at ``budget`` whose row id matches one of ``patterns`` (fnmatch, e.g.
    ``ws-t1-kodak-*``); a pattern matching no row is an error naming the known ids."""
    mine = [r for r in results if r.budget == budget]
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(r.row.id, pattern) for r in mine):
            known = ", ".join(r.row.id for r in mine)
            raise UserError(f"--run {pattern!r} matches no row; rows: {known}")
    return [r for r in mine if any(fnmatch.fnmatchcase(r.row.id, p) for p in patterns)]


def commands(
    results: list[Result],
    patterns: list[str],
    budget: str,
    root: Path,
    extra: list[str],
    first: int | None = None,
) -> list[list[str]]:
    """One ``python -m inr_bench.train -m`` command per distinct config among the chosen rows
    with missing items (rows sharing a config, e.g. AIRe Table 3 and 4's Small, train once),
    sweeping the missing items into ``<root>/<budget>/<row id>/<time>/<item>``; ``first``: only
    those among the first ``first`` items of each row's list (a quicker, smaller mean)."""
    todo: dict[tuple[str, ...], tuple[str, list[str]]] = {}
    for result in chosen(results, patterns, budget):
        if result.unavailable:
            print(f"{result.row.id}: no {budget} config ({result.unavailable})", file=sys.stderr)
            continue
        key = tuple(result.row.overrides_for(budget))
        name, items = todo.setdefault(key, (result.row.id, []))
        wanted = result.row.launch.get(budget, ())[:first]
        items += [i for i in result.missing if i in wanted and i not in items]
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    out = []
    for overrides, (name, items) in todo.items():
        if not items:
            continue
        signal = item_key(list(overrides))
        sweep = root / budget / name / stamp
        out.append(
            [sys.executable, "-m", "inr_bench.train", "-m", *overrides, f"name={name}",
             f"{signal}={','.join(items)}", f"hydra.sweep.dir={sweep}",
             f"hydra.sweep.subdir=${{{signal}}}", *extra]
        )  # fmt: skip
    return out


def launch(todo: list[list[str]], dry_run: bool = False) -> list[int]:
    """Run each command (or print it); a failed sweep is reported and the next one runs.
    Returns the exit codes."""
    codes = []
    for command in todo:
        print("$ " + shlex.join(["python", *command[1:]]), file=sys.stderr, flush=True)
        codes.append(0 if dry_run else subprocess.run(command, check=False).returncode)
        if codes[-1]:
            print(f"exit {codes[-1]}: failed jobs are listed in the report", file=sys.stderr)
    return codes
