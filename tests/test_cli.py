"""The command line as a user runs it: single runs, sweeps, and clear one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

TINY = ["debug=smoke", "logger=none", "steps=4", "eval_every=4", "signal.resize=32"]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "inr_bench.train", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_single_run_writes_its_folder(tmp_path):
    proc = cli(*TINY, f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    run = tmp_path / "run"
    assert json.loads((run / "metrics.json").read_text())["steps"] == 4
    assert (run / ".hydra" / "config.yaml").is_file()


def test_sweep_writes_one_folder_per_job(tmp_path):
    proc = cli("-m", *TINY, "seed=0,1", f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    jobs = sorted(p.parent.name for p in (tmp_path / "sweep").glob("*/metrics.json"))
    assert len(jobs) == 2 and all("seed=" in name for name in jobs), jobs


@pytest.mark.parametrize(
    "override,expected",
    [
        ("backbone=nope", "Could not find 'backbone/nope'"),
        ("steps=-3", "steps must be a positive integer"),
        ("signal.image=/no/such/file.png", "no such file"),
        ("signal.image=kodak/nothing", "python -m inr_bench.data download"),
    ],
)
def test_bad_input_fails_with_one_clear_line(override, expected, tmp_path):
    proc = cli(*TINY, override, f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode != 0
    assert expected in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_file_that_is_not_an_image(tmp_path):
    bogus = tmp_path / "notes.png"
    bogus.write_text("not an image")
    proc = cli(*TINY, f"signal.image={bogus}", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode != 0
    assert "is not a readable image" in proc.stderr and "Traceback" not in proc.stderr
