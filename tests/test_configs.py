"""Every option of every config group composes and instantiates; every experiment trains."""

from __future__ import annotations

import pytest
import torch
from conftest import CONF, TINY, TINY_METRICS, compose_cfg, options
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

from inr_bench.data import DatasetMissingError
from inr_bench.errors import UserError
from inr_bench.metrics import for_kind
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
    """Three steps of every experiment at toy size; its signal's main metric must be finite.
    Experiments whose data is not under the data root are skipped, naming what is missing."""
    # Two hidden layers whatever debug=smoke says: ablations name masked/pruned layers up to 2.
    tiny = ["steps=3", "eval_every=3", "backbone.hidden_features=16", "backbone.hidden_layers=2"]
    cfg = compose_cfg([f"+experiment={experiment}", *TINY, *tiny], tmp_path)
    shrink = [f"{k}={v}" for k, v in TINY_METRICS.items() if OmegaConf.select(cfg, k) is not None]
    if shrink:
        cfg = compose_cfg([f"+experiment={experiment}", *TINY, *tiny, *shrink], tmp_path)
    try:
        result = train(cfg)
    except Exception as err:  # Hydra wraps errors raised while instantiating the signal
        missing = err if isinstance(err, DatasetMissingError) else err.__cause__
        if not isinstance(missing, DatasetMissingError):
            raise
        pytest.skip(f"experiment {experiment} needs data: {missing}")
    main = get_class(cfg.signal._target_).main_metric
    assert torch.isfinite(torch.tensor(result[f"eval/{main}"])), (experiment, main, result)


@pytest.mark.parametrize("debug", options("debug"))
def test_debug_presets_run(debug, tmp_path):
    result = train(compose_cfg([f"debug={debug}", "logger=none"], tmp_path))
    assert result["steps"] > 0


# --- metrics: chosen once, in the config ---------------------------------------------------------

# Geometry evaluation at test size wherever the composed metrics have these keys.
SMALL_METRICS = {"metrics.chamfer.num_points": 500, "metrics.iou.resolution": 16}


def compose_small(overrides: list[str]):
    cfg = compose_cfg(overrides)
    shrink = [f"{k}={v}" for k, v in SMALL_METRICS.items() if OmegaConf.select(cfg, k) is not None]
    return compose_cfg([*overrides, *shrink]) if shrink else cfg


@pytest.mark.parametrize("signal_option", options("signal"))
def test_every_signal_has_a_metrics_option_of_its_name(signal_option):
    assert signal_option in options("metrics"), (
        f"conf/train.yaml picks metrics=${{signal}}: add conf/metrics/{signal_option}.yaml"
    )


@pytest.mark.parametrize("signal_option", options("signal"))
def test_default_metrics_apply_to_the_signal_without_a_warning(signal_option, recwarn):
    """With no metrics= override every signal evaluates its own metrics, and nothing warns."""
    cfg = compose_small([*TINY, f"signal={signal_option}"])
    signal = instantiate(cfg.signal)
    model = instantiate(cfg.backbone)(in_dim=signal.in_dim, out_dim=signal.out_dim)
    metrics = {name: instantiate(m) for name, m in cfg.metrics.items()}
    assert for_kind(metrics, signal.kind) == metrics
    scores = signal.evaluate(model, metrics, 4096)
    assert set(metrics) <= set(scores), (signal_option, sorted(scores))
    noisy = [str(w.message) for w in recwarn if "metric" in str(w.message)]
    assert not noisy, f"signal={signal_option} with its default metrics warned: {noisy}"


@pytest.mark.parametrize(
    "signal_option,metrics_option,wrong",
    [("sdf", "image", "psnr"), ("image", "sdf", "chamfer"), ("audio", "volume", "ssim")],
)
def test_explicit_metrics_for_another_kind_fail_naming_metric_and_signal(
    signal_option, metrics_option, wrong
):
    cfg = compose_small([*TINY, f"signal={signal_option}", f"metrics={metrics_option}"])
    kind = get_class(cfg.signal._target_).kind
    metrics = {name: instantiate(m) for name, m in cfg.metrics.items()}
    with pytest.raises(UserError, match=rf"{wrong} .*do not apply to a {kind} signal"):
        for_kind(metrics, kind)
