"""Loggers: the run folder's JSON files (always on) and Weights & Biases (optional).

Keys look like ``train/loss``, ``eval/psnr``; every logger implements
``log_config``, ``log_metrics(dict, step)``, ``log_media({name: path}, step)``, ``finish``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
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


# The parts of a run, in the order its tags list them (conf/<group>/ option names).
PART_GROUPS = ("signal", "backbone", "init", "sampler", "schedule")
MESH_TYPES = (".glb", ".gltf", ".obj", ".stl")  # what wandb.Object3D shows


def wandb_labels(
    run_dir: Path, name: str | None, group: str | None, tags: Sequence[str]
) -> tuple[str, str | None, list[str]]:
    """W&B name, group and tags of a run. Explicit values win; else, under Hydra, a sweep's jobs
    share a group (experiment and sweep folder) and are named by their overrides, a single run is
    named by its experiment (or backbone/signal) and start time, and the tags name the parts."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    name = name or None
    if not HydraConfig.initialized():
        return name or run_dir.name, group, list(tags)
    hydra = HydraConfig.get()
    choices = {k: v for k, v in hydra.runtime.choices.items() if v is not None}
    experiment = choices.get("experiment")
    parts = [f"{g}={choices[g]}" for g in PART_GROUPS if g in choices]
    label = experiment or "/".join(choices[g] for g in ("backbone", "signal") if g in choices)
    if hydra.mode == RunMode.MULTIRUN:
        sweep = "/".join(Path(hydra.sweep.dir).parts[-2:])
        group = group or (f"{experiment} {sweep}" if experiment else sweep)
        name = name or hydra.job.override_dirname or f"job {hydra.job.num}"
    else:
        group = group or experiment
        name = name or f"{label} {run_dir.name}".strip()
    extra = [f"experiment={experiment}"] if experiment else []
    return name, group, list(dict.fromkeys([*parts, *extra, *tags]))


class WandbLogger:
    """Mirror of the run folder in W&B, imported lazily.

    ``mode``: online / offline / disabled; when unset, ``WANDB_MODE`` decides, else online
    if an API key is configured (WANDB_API_KEY or ~/.netrc) and offline otherwise. Name, group
    and tags: see ``wandb_labels``. Media: PNG as images, meshes as 3-D objects, WAV as audio.
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
        run_dir = Path(run_dir)
        name, group, tags = wandb_labels(run_dir, name, group, tags)
        import wandb

        self.wandb = wandb
        self.run = wandb.init(
            project=project,
            entity=entity,
            group=group,
            name=name,
            tags=tags,
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
        """PNG -> wandb.Image, GLB/GLTF/OBJ/STL -> wandb.Object3D, WAV -> wandb.Audio, GIF ->
        wandb.Video. A PLY mesh goes as GLB, unless the same mesh is already there as a type W&B
        shows."""
        paths = {k: Path(v) for k, v in media.items()}
        shown = {p.with_suffix("") for p in paths.values() if p.suffix in MESH_TYPES}
        with tempfile.TemporaryDirectory() as tmp:
            logged = {}
            for key, path in paths.items():
                if path.suffix == ".ply" and path.with_suffix("") not in shown:
                    path = _ply_as_glb(path, Path(tmp))
                item = self._media_item(path)
                if item is not None:
                    logged[f"media/{key}"] = item
            if logged:
                self.run.log(logged, step=step)

    def _media_item(self, path: Path) -> Any:
        if path.suffix == ".png":
            return self.wandb.Image(str(path))
        if path.suffix in MESH_TYPES:
            return self.wandb.Object3D(str(path))
        if path.suffix == ".wav":
            return self.wandb.Audio(str(path))
        if path.suffix == ".gif":  # NeRF turntables
            return self.wandb.Video(str(path))
        return None

    def finish(self) -> None:
        self.run.finish()


def _ply_as_glb(path: Path, folder: Path) -> Path:
    import trimesh

    glb = folder / f"{path.stem}.glb"
    trimesh.load(path, force="mesh").export(glb)
    return glb
