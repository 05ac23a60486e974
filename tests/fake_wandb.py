"""A stand-in for the ``wandb`` module that records what a run sends instead of sending it.

In-process: ``sys.modules["wandb"] = fake_wandb.module()``. In a subprocess: put the folder
written by ``fake_wandb.install(folder)`` first on PYTHONPATH; every call is appended as one JSON
line to ``$FAKE_WANDB_LOG``.
"""

from __future__ import annotations

import json
import types
from pathlib import Path

SOURCE = """
import json, os

calls = []


def _record(kind, **data):
    calls.append({"call": kind, **data})
    if os.environ.get("FAKE_WANDB_LOG"):
        with open(os.environ["FAKE_WANDB_LOG"], "a") as f:
            f.write(json.dumps({"call": kind, **data}, default=str) + "\\n")


class _Media:
    def __init__(self, data_or_path, **kwargs):
        self.path = str(data_or_path)
        _record(type(self).__name__, path=self.path)


class Image(_Media):
    pass


class Object3D(_Media):
    pass


class Audio(_Media):
    pass


class Video(_Media):
    pass


class _Config(dict):
    def update(self, values, allow_val_change=False):
        super().update(values)


class Run:
    def __init__(self):
        self.config, self.summary = _Config(), {}

    def log(self, data, step=None):
        shown = {k: type(v).__name__ if isinstance(v, _Media) else v for k, v in data.items()}
        _record("log", data=shown, step=step)

    def finish(self):
        _record("finish")


def init(**kwargs):
    _record("init", **kwargs)
    return Run()
"""


def module() -> types.ModuleType:
    fake = types.ModuleType("wandb")
    exec(compile(SOURCE, "fake_wandb", "exec"), fake.__dict__)
    return fake


def install(folder: Path) -> Path:
    """A package folder named ``wandb`` under ``folder``; returns ``folder``."""
    (folder / "wandb").mkdir(parents=True, exist_ok=True)
    (folder / "wandb" / "__init__.py").write_text(SOURCE)
    return folder


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line]
