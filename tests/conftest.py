"""Shared fixtures: config composition, tiny runs, markers for data and CUDA."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf, open_dict

from inr_bench.build import experiment_alias

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("WANDB_SILENT", "true")

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
TINY = ["debug=smoke", "logger=none"]
# Overrides that shrink each signal kind to test size (keyed by the signal's _target_).
TINY_SIGNAL = {
    "inr_bench.signals.image.ImageSignal": ["signal.resize=32", "signal.crop=null"],
    **{
        f"inr_bench.signals.{target}": [
            "signal.pool_size=2000",
            "signal.mc_resolution=24",
            "signal.render=false",
            *extra,
        ]
        for target, extra in (
            ("sdf.SurfaceSDFSignal", ["signal.points_per_step=256"]),
            (
                "sdf_novello.NovelloSDFSignal",
                ["signal.points_per_step=256", "signal.off_pool_size=2000"],
            ),
            ("sdf_values.SupervisedSDFSignal", []),
        )
    },
    "inr_bench.signals.occupancy.OccupancySignal": ["signal.resolution=16", "signal.render=false"],
    "inr_bench.signals.volume.VolumeSignal": ["signal.resize=[9,11,9]"],
    "inr_bench.signals.sphere.SphereSignal": [
        "signal.synthetic_shape=[12,24]",
        "signal.synthetic_degree=4",
    ],
    "inr_bench.signals.nerf.NeRFSignal": [
        "signal.resolution=8",
        "signal.train_views=4",
        "signal.test_views=2",
        "signal.samples=8",
        "signal.importance=4",
        "signal.artifact_views=2",
        "signal.turntable_frames=2",
    ],
    "inr_bench.signals.audio.AudioSignal": [  # Bach is silent for its first 14k samples
        "signal.start=15000",
        "signal.duration=800",
        "signal.unit=samples",
    ],
}
# Metric settings that shrink geometry evaluation, applied where the composed metrics have them.
TINY_METRICS = {"metrics.chamfer.num_points": 2000, "metrics.iou.resolution": 24}


def data_root() -> Path | None:
    """The data root named by INR_BENCH_DATA if it holds real data (.ci/run sets it)."""
    candidate = os.environ.get("INR_BENCH_DATA")
    return Path(candidate) if candidate and Path(candidate, "kodak").is_dir() else None


def compose_cfg(overrides: list[str], run_dir: Path | None = None) -> DictConfig:
    """Compose conf/train.yaml, shrinking the chosen signal with its TINY_SIGNAL overrides and
    the geometry metrics with TINY_METRICS (placed first, so that a test's own overrides of the
    same keys win)."""
    overrides = experiment_alias(overrides)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
        extra = [
            *TINY_SIGNAL.get(cfg.signal._target_, []),
            *(f"{k}={v}" for k, v in TINY_METRICS.items() if OmegaConf.select(cfg, k)),
        ]
        if extra:
            cfg = compose("train", overrides=[*extra, *overrides])
    if run_dir is not None:
        with open_dict(cfg):
            cfg.run_dir = str(run_dir)
    return cfg


def options(group: str) -> list[str]:
    """Every option of a config group: the YAML files of conf/<group>/."""
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    skip_data = pytest.mark.skip(reason="needs the data root: set INR_BENCH_DATA")
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)
        if "data" in item.keywords and data_root() is None:
            item.add_marker(skip_data)
