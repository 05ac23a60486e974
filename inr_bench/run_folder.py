"""The run folder as the record of one run: who may write into it, its checkpoint, its failure.

A folder holds one run. ``claim`` refuses a folder that another live process is writing, or that
holds a run already unless ``resume=true``; ``load_checkpoint`` refuses to continue a run under
a different configuration; a failed job leaves ``error.txt`` so that a sweep can go on and
still report it at the end (``SweepReport``).
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from inr_bench.errors import UserError

log = logging.getLogger(__name__)

LOCK = "run.lock"
CHECKPOINT = "checkpoint.pt"
ERROR = "error.txt"
# Files whose presence means the folder already holds (part of) a run.
RUN_FILES = (CHECKPOINT, "metrics.jsonl", "metrics.json", "model.pt")
# Keys a resumed run may change: how long it trains (steps extension), how often it reports,
# where it runs. Anything else would silently mix two experiments in one record.
RESUMABLE_CHANGES = (
    "steps",
    "eval_every",
    "log_every",
    "checkpoint_every",
    "resume",
    "run_dir",
    "name",
    "logger",
    "device",
    "chunk",
    "eval_chunk",
    "compile",
    "psnr_thresholds",
)


class FolderRefused(UserError):
    """The run folder belongs to another run: nothing of this attempt may be written there."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


@contextmanager
def claim(folder: Path, resume: bool) -> Iterator[None]:
    """Hold ``folder`` for this process for the duration of the block (``run.lock`` with our
    pid, created atomically). Refuses a folder in use by a live process, and a folder that
    already holds a run unless ``resume``."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        text = lock.read_text().strip()
        pid = int(text) if text.isdigit() else -1
        if pid > 0 and _alive(pid):
            raise FolderRefused(
                f"{folder} is in use by another run (process {pid}); choose another folder "
                "(hydra.run.dir=...) or wait for it to finish"
            ) from None
        lock.unlink(missing_ok=True)  # a run that was killed left it behind
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    try:
        present = [name for name in RUN_FILES if (folder / name).exists()]
        if present and not resume:
            raise FolderRefused(
                f"{folder} already holds a run ({', '.join(present)}): pass resume=true to "
                "continue it, or choose a new folder (hydra.run.dir=...)"
            )
        (folder / ERROR).unlink(missing_ok=True)  # this attempt decides whether the run failed
        yield
    finally:
        lock.unlink(missing_ok=True)


def record_failure(folder: Path, err: BaseException) -> Path:
    """Write the error and its traceback to ``folder/error.txt``; returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ERROR
    trace = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    path.write_text(f"{type(err).__name__}: {err}\n\n{trace}")
    return path


class SweepReport(Callback):
    """Hydra callback: at the end of a multirun, list the jobs that failed (their
    ``error.txt``) and remember them in ``FAILED`` so that the command exits non-zero. Works
    with every launcher, since it reads the sweep folder rather than in-process state."""

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        sweep = Path(config.hydra.sweep.dir)
        failed = sorted(sweep.glob(f"**/{ERROR}"))
        FAILED.extend(failed)
        for path in failed:
            first = path.read_text().splitlines()[0] if path.stat().st_size else "?"
            log.error("job failed: %s: %s", path.parent, first)
        if failed:
            log.error("%d job(s) of the sweep in %s failed", len(failed), sweep)


FAILED: list[Path] = []


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Atomic write: a crash mid-save leaves the previous checkpoint intact."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def last_good(folder: Path) -> str:
    """The checkpoint a failed run can go back to, for error messages ("none" before the first)."""
    path = folder / CHECKPOINT
    return str(path) if path.exists() else "none"


def load_checkpoint(path: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint at ``path``, refused when the resolved ``config`` differs from the one
    it was written under in anything but ``RESUMABLE_CHANGES``."""
    if not path.exists():
        raise UserError(f"resume=true but {path} does not exist")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if "config" in ckpt:  # checkpoints from before this check carry no config
        changed = config_changes(ckpt["config"], config)
        if changed:
            raise UserError(
                f"resume=true with a configuration that differs from the run in {path.parent}: "
                + "; ".join(changed)
                + f". Only {', '.join(RESUMABLE_CHANGES)} may change on resume; start a new "
                "folder for a different experiment"
            )
    if config["steps"] < ckpt["step"]:
        raise UserError(
            f"steps={config['steps']} but the checkpoint in {path.parent} is at step "
            f"{ckpt['step']}: steps may only grow on resume"
        )
    return ckpt


def config_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``key: old -> new`` for every leaf that differs, outside ``RESUMABLE_CHANGES``."""
    out = []
    for key in sorted(set(old) | set(new), key=str):
        name = f"{prefix}{key}"
        if not prefix and key in RESUMABLE_CHANGES:
            continue
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_changes(a, b, f"{name}.")
        elif a != b:
            out.append(f"{name}: {a!r} -> {b!r}")
    return out


def read_series(path: Path) -> list[dict]:
    """The records of ``metrics.jsonl``, skipping a line torn by a crash mid-write."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning("%s line %d is not a complete record (torn write?): skipped", path, number)
    return records


def truncate_series(path: Path, step: int) -> None:
    """Keep the records of ``metrics.jsonl`` up to ``step`` (the checkpoint a run resumes
    from): those logged after it are logged again by the resumed run."""
    if not path.exists():
        return
    kept = [r for r in read_series(path) if r.get("step", 0) <= step]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
    os.replace(tmp, path)


def run_dir_of(cfg: DictConfig) -> Path:
    if cfg.run_dir is not None:
        return Path(cfg.run_dir)
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        raise UserError(
            "run_dir is not set: pass run_dir=<folder> when calling train() outside Hydra"
        )
    return Path(HydraConfig.get().runtime.output_dir)


def log_to_folder(folder: Path) -> logging.Handler | None:
    """Make ``train.log`` in the run folder receive this package's log, unless Hydra's job
    logging already writes there; returns the handler added, if any."""
    target = (folder / "train.log").resolve()
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == target:
            return None
    handler = logging.FileHandler(target)
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] %(message)s"))
    package = logging.getLogger("inr_bench")
    package.addHandler(handler)
    package.setLevel(min(package.getEffectiveLevel(), logging.INFO))
    return handler


@contextmanager
def session(cfg: DictConfig) -> Iterator[tuple[Path, dict | None]]:
    """One session of the run ``cfg`` describes, for either loop: its folder held (``claim``),
    its log going to ``train.log``, the checkpoint when ``resume=true`` (config checked against
    it, ``metrics.jsonl`` cut back to its step) and ``config.yaml`` written. Yields the folder
    and the checkpoint (None for a new run)."""
    folder = run_dir_of(cfg)
    with claim(folder, cfg.resume):
        handler = log_to_folder(folder)
        try:
            ckpt = None
            if cfg.resume:
                ckpt = load_checkpoint(
                    folder / CHECKPOINT, OmegaConf.to_container(cfg, resolve=True)
                )
                truncate_series(folder / "metrics.jsonl", ckpt["step"])
            (folder / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
            yield folder, ckpt
        finally:
            if handler is not None:
                logging.getLogger("inr_bench").removeHandler(handler)
                handler.close()
