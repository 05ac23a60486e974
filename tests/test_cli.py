"""The command line as a user runs it: single runs, sweeps, and clear one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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


def test_a_failed_job_does_not_end_the_sweep(tmp_path):
    """One bad value fails its own job, recorded in its folder; the others run; the command
    exits non-zero at the end and names the failed folder."""
    proc = cli("-m", *TINY, "steps=4,-3", f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    (good,) = (tmp_path / "sweep").glob("*steps=4*")
    (bad,) = (tmp_path / "sweep").glob("*steps=-3*")
    assert (good / "metrics.json").is_file()
    error = (bad / "error.txt").read_text()
    assert error.startswith("UserError: steps must be a positive integer")
    assert "steps=-3" in proc.stdout + proc.stderr and "1 job(s)" in proc.stdout + proc.stderr


def test_runs_started_together_get_their_own_folders(tmp_path):
    """Two runs started in the same second: the default folder names differ (microseconds),
    and each run ends by naming its folder and its scores."""
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "inr_bench.train", *TINY]
    procs = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    folders = sorted(p.parent for p in (tmp_path / "outputs").glob("*/*/metrics.json"))
    assert len(folders) == 2
    for out in outputs:
        assert "finished in" in out and "psnr" in out
        assert any(str(folder.relative_to(tmp_path)) in out for folder in folders)


@pytest.mark.parametrize("extra", [[], ["seeds=[0,1]"]], ids=["single", "batched"])
def test_ctrl_c_saves_a_checkpoint_and_exits_130(extra, tmp_path):
    """A real SIGINT to the command: the step finishes, the checkpoint is written, the command
    says how to continue and exits 130 (single and batched runs alike)."""
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(REPO)}
    folder = tmp_path / "run"
    args = [*TINY, "steps=100000", "eval_every=100000", "log_every=1", *extra]
    proc = subprocess.Popen(
        [sys.executable, "-m", "inr_bench.train", *args, f"hydra.run.dir={folder}"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not (folder / "metrics.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.2)  # training has started once the first step is logged
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "resume=true" in err and (folder / "checkpoint.pt").is_file()
