"""Every option of every config group composes and instantiates; every experiment trains."""

from __future__ import annotations

import pytest
import torch
from conftest import CONF, TINY, compose_cfg, data_root, options
from hydra.utils import instantiate

from inr_bench.train import train

PART_GROUPS = ["signal", "backbone", "init", "sampler", "schedule", "optim", "metrics", "logger"]


def test_every_group_has_options():
    groups = {p.name for p in CONF.iterdir() if p.is_dir()}
    assert set(PART_GROUPS) | {"hydra", "experiment", "debug"} <= groups


@pytest.mark.parametrize(
    "group,option", [(g, o) for g in PART_GROUPS for o in options(g)], ids=lambda x: str(x)
)
def test_option_composes_and_instantiates(group, option, tmp_path):
    cfg = compose_cfg([*TINY, f"{group}={option}"])
    signal = instantiate(cfg.signal)
    model = instantiate(cfg.backbone)(in_dim=signal.in_dim, out_dim=signal.out_dim)
    instantiate(cfg.init)(model)
    instantiate(cfg.optim.optimizer)(model.param_groups())
    sampler = instantiate(cfg.sampler)
    sampler.bind(signal.num_points, 0)
    instantiate(cfg.schedule)
    for name, metric in cfg.metrics.items():
        assert callable(instantiate(metric)), f"metrics.{name} of {group}={option} is not callable"
    logger = instantiate(cfg.logger, run_dir=tmp_path, name="test")
    logger.finish()
    assert model(signal.coords[:7]).shape == (7, signal.out_dim), f"{group}={option}"


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_trains_a_few_steps(experiment, tmp_path):
    # Two hidden layers whatever debug=smoke says: ablations name masked/pruned layers up to 2.
    tiny = ["steps=3", "eval_every=3", "backbone.hidden_features=16", "backbone.hidden_layers=2"]
    cfg = compose_cfg([f"+experiment={experiment}", *TINY, *tiny], tmp_path)
    if "/" in str(cfg.signal.get("image", "")) and data_root() is None:
        pytest.skip(f"experiment {experiment} needs the data root")
    result = train(cfg)
    assert torch.isfinite(torch.tensor(result["eval/psnr"])), experiment


@pytest.mark.parametrize("debug", options("debug"))
def test_debug_presets_run(debug, tmp_path):
    result = train(compose_cfg([f"debug={debug}", "logger=none"], tmp_path))
    assert result["steps"] > 0
