"""Loggers: the run folder's JSON files (always on) and Weights & Biases (optional).

Keys look like ``train/loss``, ``eval/psnr``; every logger implements
``log_config``, ``log_metrics(dict, step)``, ``log_media({name: path}, step)``, ``finish``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def write_json(path: Path, obj: Any) -> None:
    """Atomic, standard JSON write: a crash never leaves a half-written file, and NaN / ±inf
    (which JSON cannot spell) are written as null, at any depth."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: mappings and sequences recursively, numpy / torch scalars
    and arrays as Python numbers and lists, paths as strings, non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy / torch scalars (0-d) and arrays
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class JsonLogger:
    """``metrics.jsonl`` (one record per log call) and ``metrics.json`` (final summary)."""

    def __init__(self, run_dir: Path, append: bool = False) -> None:
        self.run_dir = run_dir
        self.series_path = run_dir / "metrics.jsonl"
        if not append:
            self.series_path.unlink(missing_ok=True)
        self.media: dict[str, str] = {}

    def log_config(self, config: dict, num_parameters: int) -> None:
        pass  # Hydra writes the composed config to .hydra/; train() writes config.yaml

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        record = {"step": step, **{k: _finite_or_str(v) for k, v in metrics.items()}}
        with self.series_path.open("a") as f:
            f.write(json.dumps(record) + "\n")

    def log_media(self, media: dict[str, Path], step: int) -> None:
        self.media.update({k: str(Path(v).relative_to(self.run_dir)) for k, v in media.items()})

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json(self.run_dir / "metrics.json", {**summary, "artifacts": self.media})

    def history(self) -> list[dict]:
        if not self.series_path.exists():
            return []
        return [json.loads(line) for line in self.series_path.read_text().splitlines() if line]

    def finish(self) -> None:
        pass


def _finite_or_str(value: float) -> float | str:
    """JSON has no inf/nan: write them as strings so the file stays standard JSON."""
    value = float(value)
    return value if math.isfinite(value) else str(value)


class NullLogger:
    """``logger=none``: W&B off (the run folder still gets everything)."""

    def __init__(self, **_: Any) -> None:
        pass

    def log_config(self, config: dict, num_parameters: int) -> None:
        pass

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        pass

    def log_media(self, media: dict[str, Path], step: int) -> None:
        pass

    def finish(self) -> None:
        pass


def _has_wandb_key() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")


class WandbLogger:
    """Mirror of the run folder in W&B, imported lazily.

    ``mode``: online / offline / disabled; when unset, ``WANDB_MODE`` decides, else online
    if an API key is configured (WANDB_API_KEY or ~/.netrc) and offline otherwise.
    """

    def __init__(
        self,
        run_dir: Path,
        name: str | None = None,
        project: str = "inr_bench",
        entity: str | None = None,
        group: str | None = None,
        tags: Sequence[str] = (),
        mode: str | None = None,
    ) -> None:
        mode = mode or os.environ.get("WANDB_MODE") or ("online" if _has_wandb_key() else "offline")
        import wandb

        self.wandb = wandb
        self.run = wandb.init(
            project=project,
            entity=entity,
            group=group,
            name=name,
            tags=list(tags),
            dir=str(run_dir),
            mode=mode,
            reinit="finish_previous",
        )
        if mode == "offline":
            print(
                f"W&B offline: upload later with `wandb sync {run_dir}/wandb/latest-run`",
                file=sys.stderr,
            )

    def log_config(self, config: dict, num_parameters: int) -> None:
        self.run.config.update(config, allow_val_change=True)
        self.run.summary["num_parameters"] = num_parameters

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.run.log(metrics, step=step)

    def log_media(self, media: dict[str, Path], step: int) -> None:
        images = {
            f"media/{k}": self.wandb.Image(str(v))
            for k, v in media.items()
            if str(v).endswith(".png")
        }
        if images:
            self.run.log(images, step=step)

    def finish(self) -> None:
        self.run.finish()
