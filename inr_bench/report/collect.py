"""Finished run folders, read without trusting them: a torn metrics file, an unreadable config
or a failed run becomes a ``Problem`` beside the runs, never an exception.

A run folder holds ``metrics.json`` and ``config.yaml`` (README "What a run folder holds"); a
batched run (signal sets, ``seeds``) counts as its members, each with its own image, seed and
metrics, as ``scripts/make_table.py`` counts them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# The config keys that name the fitted signal item: one per signal kind.
ITEM_KEYS = ("signal.image", "signal.mesh", "signal.audio", "signal.volume")
PICTURES = (
    "reconstruction.png",
    "reconstructions.png",
    "surface.png",
    "waveform.png",
    "slices.png",
    "error.png",
    "errors.png",
    "masks.png",
    "curves.png",
)


@dataclass
class Problem:
    """Something found under the roots that is not a usable run (or a key a run lacks)."""

    folder: Path
    message: str


@dataclass
class Run:
    """One fit: a single run, or member ``member`` of a batched run in ``folder``. ``config`` is
    the resolved config flattened to dotted keys; ``metrics`` its final metrics."""

    folder: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    member: int | None = None
    series: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(self.folder) + (f" member {self.member}" if self.member is not None else "")

    @property
    def item(self) -> str | None:
        """The signal item (image, mesh, audio clip, volume) this run fitted."""
        return next((str(self.config[k]) for k in ITEM_KEYS if k in self.config), None)

    @property
    def pictures(self) -> list[Path]:
        return [self.folder / name for name in PICTURES if (self.folder / name).is_file()]

    def value(self, metric: str) -> float:
        """``metric`` of this run: a metrics.json key (else its last value in metrics.jsonl), or
        ``key@step``, the value logged at that step. KeyError names what is missing."""
        key, _, at = metric.partition("@")
        own = f"member/{self.member}/{key}" if self.member is not None else key
        if at:
            for record in self.series:
                if record.get("step") == int(at) and own in record:
                    return float(record[own])
            raise KeyError(f"{key!r} at step {at} (metrics.jsonl)")
        if key in self.metrics:
            return float(self.metrics[key])
        for record in reversed(self.series):
            if own in record:
                return float(record[own])
        raise KeyError(f"{key!r} (metrics.json, metrics.jsonl)")


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def read_series(path: Path, problems: list[Problem]) -> list[dict[str, Any]]:
    """The records of metrics.jsonl; a torn line (a crash mid-write) is skipped and reported."""
    records = []
    if not path.is_file():
        return records
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                problems.append(Problem(path.parent, f"metrics.jsonl line {number} is torn"))
    return records


def read_folder(folder: Path, problems: list[Problem]) -> list[Run]:
    """The runs of one folder holding metrics.json (several for a batched run)."""
    try:
        metrics = json.loads((folder / "metrics.json").read_text(errors="replace"))
    except json.JSONDecodeError as err:
        problems.append(
            Problem(folder, f"torn metrics.json ({err.msg} at char {err.pos}): the run stopped "
                    "while writing it; rerun it, or resume it with resume=true")
        )  # fmt: skip
        return []
    try:
        config = yaml.safe_load((folder / "config.yaml").read_text(errors="replace"))
    except FileNotFoundError:
        problems.append(Problem(folder, "metrics.json without config.yaml: not a run folder"))
        return []
    except yaml.YAMLError as err:
        problems.append(Problem(folder, f"unreadable config.yaml: {str(err).splitlines()[0]}"))
        return []
    if not isinstance(metrics, dict) or not isinstance(config, dict):
        problems.append(Problem(folder, "metrics.json or config.yaml is not a mapping"))
        return []
    series = read_series(folder / "metrics.jsonl", problems)
    flat = flatten(config)
    if "members" not in metrics:
        return [Run(folder, flat, metrics, series=series)]
    return [member_run(folder, flat, metrics, m, series) for m in metrics["members"]]


def member_run(
    folder: Path, config: dict[str, Any], final: dict[str, Any], member: dict, series: list
) -> Run:
    """Member ``member["index"]`` of a batched run: its image and seed in the config, its own
    metrics with the shared ones (parameters of one member, steps) beside them."""
    shared = {k: final[k] for k in ("params", "steps") if k in final}
    own = {**config, "seed": member.get("seed"), "seeds": None}
    if member.get("image") is not None:
        own["signal.image"] = member["image"]
    return Run(folder, own, shared | member, member=member.get("index"), series=series)


def collect(roots: list[Path]) -> tuple[list[Run], list[Problem]]:
    """Every finished run below ``roots``, and what could not be read: torn files, failed runs
    (error.txt), runs stopped or still going (a checkpoint but no metrics.json)."""
    runs: list[Run] = []
    problems: list[Problem] = []
    seen: set[Path] = set()  # a folder below two of the roots counts once
    for root in roots:
        if not root.exists():
            problems.append(Problem(root, "no such folder"))
            continue
        markers = [root.rglob(name) for name in ("metrics.json", "error.txt", "checkpoint.pt")]
        for marker in sorted(m for found in markers for m in found):
            folder = marker.parent
            if marker.resolve() in seen:
                continue
            seen.add(marker.resolve())
            if marker.name == "metrics.json":
                runs += read_folder(folder, problems)
            elif not (folder / "metrics.json").exists():
                problems.append(Problem(folder, unfinished(folder, marker)))
    return runs, problems


def unfinished(folder: Path, marker: Path) -> str:
    """Why a folder without metrics.json holds no result (error.txt, or a checkpoint)."""
    if marker.name == "error.txt":
        first = marker.read_text(errors="replace").strip().splitlines() or [""]
        return f"failed run: {first[0][:200]}"
    if (folder / "run.lock").exists():
        return "in progress (run.lock): not counted yet"
    return "unfinished (checkpoint.pt, no metrics.json): continue it with resume=true"
