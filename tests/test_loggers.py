"""Loggers: standard JSON in the run folder, W&B names / groups / tags / media (fake wandb)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import fake_wandb
import numpy as np
import pytest
import torch
import trimesh
from conftest import CONF
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from inr_bench.loggers import JsonLogger, WandbLogger, wandb_labels, write_json


def strict_loads(text: str):
    """json.loads that refuses NaN / Infinity, as every standard JSON reader does."""

    def refuse(constant: str):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def test_write_json_writes_null_for_non_finite_numbers_at_any_depth(tmp_path):
    value = {
        "psnr": float("nan"),
        "inf": float("inf"),
        "numpy": np.float32("nan"),
        "torch": torch.tensor(float("-inf")),
        "nested": {"list": [1.5, np.float64("inf"), (np.int64(3), torch.tensor(2.0))]},
        "array": np.array([0.5, np.nan]),
        "tensor": torch.tensor([[1.0, float("nan")]]),
        "flag": np.bool_(True),
        "path": tmp_path / "x.png",
    }
    write_json(tmp_path / "m.json", value)
    assert strict_loads((tmp_path / "m.json").read_text()) == {
        "psnr": None,
        "inf": None,
        "numpy": None,
        "torch": None,
        "nested": {"list": [1.5, None, [3, 2.0]]},
        "array": [0.5, None],
        "tensor": [[1.0, None]],
        "flag": True,
        "path": str(tmp_path / "x.png"),
    }
    assert not (tmp_path / "m.json.tmp").exists()


def test_metrics_json_of_a_diverged_run_is_standard_json(tmp_path):
    logger = JsonLogger(tmp_path)
    logger.log_metrics({"train/loss": math.nan}, step=1)
    logger.write_summary({"eval/psnr": torch.tensor(math.nan), "thresholds": {"30": None}})
    summary = strict_loads((tmp_path / "metrics.json").read_text())
    assert summary["eval/psnr"] is None and summary["thresholds"] == {"30": None}
    assert [strict_loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]


def test_write_json_refuses_what_json_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="object"):
        write_json(tmp_path / "m.json", {"x": object()})


# --- W&B -----------------------------------------------------------------------------------------


@pytest.fixture
def hydra_runtime():
    """Sets HydraConfig as a Hydra launch does; yields a function (overrides, multirun) -> cfg."""

    def start(overrides: list[str], multirun: bool = False, sweep: str = "", job: str = ""):
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("train", overrides=overrides, return_hydra_config=True)
        with open_dict(cfg):
            cfg.hydra.mode = "MULTIRUN" if multirun else "RUN"
            cfg.hydra.sweep.dir = sweep or cfg.hydra.sweep.dir
            cfg.hydra.job.override_dirname = job
            cfg.hydra.job.num = 1
        HydraConfig.instance().set_config(cfg)
        return cfg

    yield start
    HydraConfig.instance().cfg = None


def test_labels_without_hydra_keep_what_is_given(tmp_path):
    assert wandb_labels(tmp_path, None, None, ()) == (tmp_path.name, None, [])
    assert wandb_labels(tmp_path, "", "g", ["a"]) == (tmp_path.name, "g", ["a"])
    assert wandb_labels(tmp_path, "mine", None, ()) == ("mine", None, [])


def test_sweep_jobs_share_a_group_and_are_named_by_their_overrides(hydra_runtime, tmp_path):
    sweep = "outputs/multirun/2026-12-01/03-20-00"
    overrides = ["experiment=aire_div2k_cpu", "seed=1", "sampler=uniform"]
    hydra_runtime(overrides, multirun=True, sweep=sweep, job="sampler=uniform,seed=1")
    name, group, tags = wandb_labels(tmp_path / "job", None, None, ["extra"])
    assert name == "sampler=uniform,seed=1"
    assert group == "aire_div2k_cpu 2026-12-01/03-20-00"
    assert tags[:3] == ["signal=image", "backbone=siren", "init=native"]
    assert {"sampler=uniform", "schedule=aire_short", "experiment=aire_div2k_cpu", "extra"} <= set(
        tags
    ), tags
    hydra_runtime(["seed=1"], multirun=True, sweep=sweep, job="")
    assert wandb_labels(tmp_path, None, "mine", ())[:2] == ("job 1", "mine")


def test_single_run_is_named_by_experiment_or_parts_and_time(hydra_runtime, tmp_path):
    run_dir = tmp_path / "03-20-00-123456"
    hydra_runtime(["experiment=aire_div2k_cpu"])
    assert wandb_labels(run_dir, None, None, ())[:2] == (
        "aire_div2k_cpu 03-20-00-123456",
        "aire_div2k_cpu",
    )
    hydra_runtime(["backbone=finer", "signal=audio"])
    name, group, tags = wandb_labels(run_dir, None, None, ())
    assert (name, group) == ("finer/audio 03-20-00-123456", None)
    assert "signal=audio" in tags and "backbone=finer" in tags


@pytest.fixture
def wandb_calls(monkeypatch):
    fake = fake_wandb.module()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    return fake.calls


def test_wandb_logger_sends_images_meshes_and_audio(wandb_calls, tmp_path):
    box = trimesh.creation.box()
    for name in ("mesh.ply", "mesh.glb", "alone.ply"):
        box.export(tmp_path / name)
    named = [("recon", "a.png"), ("wav", "r.wav"), ("model", "m.pt"), ("turntable", "t.gif")]
    media = {k: tmp_path / f for k, f in named}
    for path in media.values():
        path.write_bytes(b"x")
    media |= {"mesh": tmp_path / "mesh.ply", "mesh_3d": tmp_path / "mesh.glb"}
    media |= {"other": tmp_path / "alone.ply"}
    logger = WandbLogger(run_dir=tmp_path, name="run", tags=["t"], mode="disabled")
    logger.log_config({"seed": 0}, num_parameters=12)
    logger.log_media(media, step=5)
    logger.finish()
    init = wandb_calls[0]
    assert (init["call"], init["name"], init["tags"], init["mode"]) == (
        "init",
        "run",
        ["t"],
        "disabled",
    )
    logged = next(c for c in wandb_calls if c["call"] == "log")
    assert logged == {
        "call": "log",
        "data": {
            "media/recon": "Image",
            "media/wav": "Audio",
            "media/turntable": "Video",
            "media/mesh_3d": "Object3D",
            "media/other": "Object3D",
        },
        "step": 5,
    }
    converted = [c["path"] for c in wandb_calls if c["call"] == "Object3D"]
    assert converted[0] == str(tmp_path / "mesh.glb") and converted[1].endswith("alone.glb")
    assert wandb_calls[-1]["call"] == "finish"
    assert Path(converted[1]).parent != tmp_path  # the run folder gets no extra file
