"""Every option of every config group composes and instantiates; every experiment trains."""

from __future__ import annotations

import inspect
import json
import math

import pytest
import torch
from _devices import DEVICES
from conftest import CONF, TINY, compose_cfg, options
from hydra.utils import get_class, get_object, instantiate
from omegaconf import OmegaConf

from inr_bench.build import build, compose_config
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
def test_option_composes_and_builds(group, option, tmp_path):
    """Every option builds into a run (the loop's own build()) whose network maps the signal's
    points to its channels; a metrics option is paired with the signal kind it is for."""
    overrides = [*TINY, f"{group}={option}"]
    if group == "metrics" and option in options("signal"):
        overrides.append(f"signal={option}")
    run = build(compose_cfg(overrides), torch.device("cpu"))
    signal, model = run.state.signal, run.state.model
    for name, metric in run.metrics.items():
        assert callable(metric), f"metrics.{name} of {group}={option} is not callable"
    logger = instantiate(run.cfg.logger, run_dir=tmp_path, name="test")
    logger.finish()
    assert model(signal.coords[:7]).shape == (7, signal.out_dim), f"{group}={option}"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_trains_a_few_steps(experiment, device, tmp_path):
    """Three steps of every experiment at toy size, on every device here; its signal's main
    metric must be finite. Experiments whose data is not under the data root are skipped,
    naming what is missing."""
    # Two hidden layers whatever debug=smoke says: ablations name masked/pruned layers up to 2.
    tiny = ["steps=3", "eval_every=3", "backbone.hidden_features=16", "backbone.hidden_layers=2"]
    cfg = compose_cfg([f"+experiment={experiment}", *TINY, *tiny, f"device={device}"], tmp_path)
    try:
        result = train(cfg)
    except Exception as err:  # Hydra wraps errors raised while instantiating the signal
        missing = err if isinstance(err, DatasetMissingError) else err.__cause__
        if not isinstance(missing, DatasetMissingError):
            raise
        pytest.skip(f"experiment {experiment} needs data: {missing}")
    main = get_class(cfg.signal._target_).main_metric
    assert torch.isfinite(torch.tensor(result[f"eval/{main}"])), (experiment, main, result)


@pytest.mark.parametrize("pair", options("debug_signal"))
def test_debug_signal_pairs_name_a_preset_a_signal_and_its_keys(pair):
    """conf/debug_signal/<debug>_<signal>.yaml is chosen by name: both halves must exist, and
    every signal key it shrinks must be one the signal has (a typo would reach the signal's
    constructor as an unknown keyword only when that pair is composed)."""
    debug = next((d for d in options("debug") if pair.startswith(f"{d}_")), None)
    assert debug is not None, f"{pair}: no conf/debug/ option is its prefix"
    signal = pair.removeprefix(f"{debug}_")
    assert signal in options("signal"), f"{pair}: no conf/signal/{signal}.yaml"
    shrink = OmegaConf.load(CONF / "debug_signal" / f"{pair}.yaml")
    plain = compose_config([f"signal={signal}"]).signal
    assert set(shrink.signal) <= set(plain), (pair, set(shrink.signal) - set(plain))
    composed = compose_config([f"signal={signal}", f"debug={debug}"]).signal
    assert all(composed[k] == v for k, v in shrink.signal.items()), pair


@pytest.mark.parametrize("debug", options("debug"))
def test_debug_presets_train_every_part_and_report_every_metric(debug, tmp_path):
    """A debug preset is a short real run: it learns (the loss falls), evaluates every metric of
    the run under its log key, and ends with the run folder's record."""
    cfg = compose_cfg([f"debug={debug}", "logger=none"], tmp_path)
    result = train(cfg)
    series = [json.loads(line) for line in (tmp_path / "metrics.jsonl").open()]
    losses = [r["train/loss"] for r in series if "train/loss" in r]
    assert losses[-1] < losses[0], debug
    assert {f"eval/{name}" for name in cfg.metrics} <= result.keys()
    assert result["steps"] == cfg.steps == series[-1]["step"]


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


# --- one place for defaults: the YAML option equals its constructor's defaults --------------------

# Settings where a YAML value and its constructor's default still differ on purpose, with the
# reason; an entry that no longer differs fails the test, so the list only shrinks.
KNOWN_DIFFERENCES = {
    "metrics/sdf.yaml:chamfer.num_points": "CPU default 1e5, Chamfer's the papers' 3e5",
    "backbone/sasnet.yaml:lattice": "the constructor's None means sasnet.LATTICE",
    "backbone/sasnet.yaml:grid": "the constructor's None means sasnet.GRID",
}


ABSENT = object()


def option_layers(group: str, option: str) -> tuple[dict, dict]:
    """(what conf/<group>/<option>.yaml inherits from options of its own group, what it sets)."""
    own = OmegaConf.to_container(OmegaConf.load(CONF / group / f"{option}.yaml"))
    parents = [d for d in own.pop("defaults", []) if isinstance(d, str) and d != "_self_"]
    inherited = OmegaConf.create()
    for parent in parents:
        inherited = OmegaConf.merge(inherited, OmegaConf.merge(*option_layers(group, parent)))
    return OmegaConf.to_container(inherited), own


def targets(node: dict, path: str = ""):
    """(path, node) of every mapping with a ``_target_`` in a nested config."""
    if "_target_" in node:
        yield path, node
    for key, value in node.items():
        if isinstance(value, dict):
            yield from targets(value, f"{path}{key}.")


def constructor_defaults(target: str) -> dict:
    """Default of every keyword a class or function accepts, through its bases' __init__."""
    obj = get_object(target)
    calls = (
        [k.__init__ for k in reversed(obj.__mro__) if "__init__" in vars(k)]
        if isinstance(obj, type)
        else [obj]
    )
    return {
        name: p.default
        for call in calls
        for name, p in inspect.signature(call).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def same(yaml_value, default) -> bool:
    if isinstance(default, tuple):
        default = list(default)
    if isinstance(yaml_value, float) or isinstance(default, float):
        numbers = all(isinstance(v, (int, float)) for v in (yaml_value, default))
        return numbers and math.isclose(yaml_value, default, rel_tol=1e-3)  # YAML may round
    return yaml_value == default


def is_variant_or_inherited(inherited: dict, own: dict, path: str, key: str) -> bool:
    """A key an inheriting option overrides (the variant's point), or one it inherits unchanged
    for the same class (its parent's test checks it)."""
    parent, mine = OmegaConf.create(inherited), OmegaConf.create(own)
    if OmegaConf.select(parent, path + key, default=ABSENT) is ABSENT:
        return False
    if OmegaConf.select(mine, path + key, default=ABSENT) is not ABSENT:
        return True
    composed_target = OmegaConf.select(OmegaConf.merge(parent, mine), path + "_target_")
    return OmegaConf.select(parent, path + "_target_") == composed_target


def default_differences(group: str, option: str) -> dict[str, tuple]:
    """{"<group>/<option>.yaml:<key>": (YAML value, constructor default)} for every key the
    option sets on an inr_bench class or function that takes it with another default. Skipped:
    interpolations, and keys a variant (an option inheriting another) overrides on purpose."""
    inherited, own = option_layers(group, option)
    composed = OmegaConf.to_container(OmegaConf.merge(inherited, own))
    differences = {}
    for path, node in targets(composed):
        if not node["_target_"].startswith("inr_bench."):
            continue
        defaults = constructor_defaults(node["_target_"])
        for key, value in node.items():
            if key.startswith("_") or key not in defaults:
                continue
            if isinstance(value, str) and "${" in value:
                continue
            if is_variant_or_inherited(inherited, own, path, key):
                continue
            if not same(value, defaults[key]):
                differences[f"{group}/{option}.yaml:{path}{key}"] = (value, defaults[key])
    return differences


@pytest.mark.parametrize(
    "group,option", [(g, o) for g in PART_GROUPS for o in options(g)], ids=lambda x: str(x)
)
def test_yaml_values_equal_constructor_defaults(group, option):
    differences = default_differences(group, option)
    unexpected = {k: v for k, v in differences.items() if k not in KNOWN_DIFFERENCES}
    assert not unexpected, (
        "YAML value != constructor default (YAML is the user-facing value: give the constructor "
        f"the same default): {unexpected}"
    )
    stale = [k for k in KNOWN_DIFFERENCES if k.startswith(f"{group}/{option}.yaml:")]
    stale = [k for k in stale if k not in differences]
    assert not stale, f"remove from KNOWN_DIFFERENCES, they agree now: {stale}"


@pytest.mark.parametrize("signal_option", options("signal"))
def test_finer_is_siren_plus_its_activation_options(signal_option):
    """conf/backbone/finer.yaml inherits siren.yaml: same layers and frequencies for every signal
    (pair configs included), only the class and FINER's two options differ."""
    siren = OmegaConf.to_container(compose_cfg([f"signal={signal_option}"]).backbone)
    finer = OmegaConf.to_container(
        compose_cfg([f"signal={signal_option}", "backbone=finer"]).backbone
    )
    extra = {"_target_": "inr_bench.backbones.finer.Finer", "first_bias_scale": None}
    assert finer == {**siren, **extra, "scale_req_grad": False}, signal_option
