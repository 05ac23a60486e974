"""Hydra launchers (conf/hydra/launcher/ and the plugins' own options) compose, and a two-job
submitit sweep runs, each job in its own process, its W&B runs grouped and named per job."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import fake_wandb
import pytest
from conftest import CONF, REPO
from hydra import compose, initialize_config_dir
from hydra.utils import get_class

OURS = {"parallel": {"n_jobs": 2}, "slurm": {"gpus_per_node": 1, "timeout_min": 240}}
PLUGINS = ["joblib", "submitit_local", "submitit_slurm"]


def test_every_launcher_file_is_listed_here():
    shipped = {p.stem for p in (CONF / "hydra" / "launcher").glob("*.yaml")}
    assert shipped == set(OURS), "add the new launcher option and its settings to OURS"


@pytest.mark.parametrize("launcher", [*OURS, *PLUGINS])
def test_launcher_composes_and_its_class_imports(launcher):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", [f"hydra/launcher={launcher}"], return_hydra_config=True)
    settings = cfg.hydra.launcher
    assert get_class(settings._target_).__name__.endswith("Launcher"), settings._target_
    for key, value in OURS.get(launcher, {}).items():
        assert settings[key] == value, (launcher, key)


@pytest.mark.slow  # ~40 s on 2 CPU cores: two fresh Python processes import torch and train
def test_submitit_sweep_runs_two_jobs_grouped_in_wandb(tmp_path):
    """Two 2-step jobs through submitit's local executor (separate processes, as on SLURM)."""
    log = tmp_path / "wandb_calls.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(fake_wandb.install(tmp_path / "fake")), str(REPO)]),
        "FAKE_WANDB_LOG": str(log),
    }
    sweep = tmp_path / "sweep"
    overrides = ["debug=smoke", "logger=wandb", "signal.resize=16", "signal.crop=null", "steps=2"]
    command = [sys.executable, "-m", "inr_bench.train", "-m", *overrides, "seed=0,1"]
    command += ["hydra/launcher=submitit_local", f"hydra.sweep.dir={sweep}"]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    jobs = sorted(p for p in sweep.iterdir() if (p / "metrics.json").is_file())
    assert [p.name.split("seed=")[1][0] for p in jobs] == ["0", "1"], list(sweep.iterdir())
    for job in jobs:
        assert json.loads((job / "metrics.json").read_text())["steps"] == 2
    inits = [c for c in fake_wandb.read_log(log) if c["call"] == "init"]
    assert len(inits) == 2, inits
    assert len({c["group"] for c in inits}) == 1 and inits[0]["group"].endswith(sweep.name)
    assert sorted(c["name"] for c in inits) == [job.name for job in jobs]
    assert all({"signal=image", "backbone=siren", "sampler=full"} <= set(c["tags"]) for c in inits)
