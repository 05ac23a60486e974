"""conf/signal/*.yaml read as meant: string keys only (no YAML 1.1 booleans such as a bare
``off:``), and every value equal to its constructor's default, so that a signal built in Python
and one composed from its YAML are the same signal."""

from __future__ import annotations

import inspect

import pytest
from conftest import CONF, options
from hydra import compose, initialize_config_dir
from hydra.utils import get_class
from omegaconf import OmegaConf

# Keys composed from other config groups, not constructor defaults.
COMPOSED = {"_target_", "metrics"}


def signal_yaml(option: str, *overrides: str) -> dict:
    """The composed ``signal`` node as written in conf/ (conftest.compose_cfg shrinks it)."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"signal={option}", *overrides])
    return OmegaConf.to_container(cfg.signal)


def constructor_defaults(cls: type) -> dict:
    """Default of every keyword the class accepts, through ``**kwargs`` to its bases' __init__."""
    defaults = {}
    for klass in reversed(cls.__mro__):
        if "__init__" in vars(klass):
            for name, param in inspect.signature(klass.__init__).parameters.items():
                if param.default is not inspect.Parameter.empty:
                    defaults[name] = param.default
    return defaults


def plain(value):
    """YAML lists and Python tuples / mappings compared alike."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: plain(v) for k, v in value.items()}
    return value


def keys(node) -> list:
    """Every mapping key in a nested container."""
    if isinstance(node, dict):
        return [*node, *(k for v in node.values() for k in keys(v))]
    if isinstance(node, list):
        return [k for v in node for k in keys(v)]
    return []


@pytest.mark.parametrize("option", options("signal"))
def test_signal_yaml_keys_are_strings(option):
    bad = [k for k in keys(signal_yaml(option)) if not isinstance(k, str)]
    assert not bad, f"conf/signal/{option}.yaml: non-string keys {bad} (quote on/off/yes/no)"


@pytest.mark.parametrize("option", options("signal"))
def test_signal_yaml_values_equal_the_constructor_defaults(option):
    with_yaml = signal_yaml(option)
    defaults = constructor_defaults(get_class(with_yaml["_target_"]))
    for key, value in with_yaml.items():
        if key in COMPOSED:
            continue
        assert key in defaults, f"signal={option}: {key} is not a constructor keyword"
        assert plain(value) == plain(defaults[key]), (
            f"signal={option}: {key} is {value!r} in YAML but {defaults[key]!r} in Python"
        )


def test_sdf_weights_compose_with_the_string_key_off():
    weights = signal_yaml("sdf", "signal.weights.off=7")["weights"]
    assert weights == {"sdf": 3e3, "normal": 1e2, "eikonal": 5e1, "off": 7.0}
