"""Inits: weight scaling follows WS eq. 3, NFSL's last layer App. E.1, Xavier its bound, and an
init that does not apply to a backbone is rejected with a UserError naming both."""

from __future__ import annotations

import functools
import math

import pytest
import torch
from _devices import DEVICES
from conftest import compose_cfg
from hydra.utils import instantiate

from inr_bench import inits
from inr_bench.backbones.finer import Finer
from inr_bench.backbones.siren import Siren
from inr_bench.errors import UserError

WIDTH = 32


def siren(seed: int = 0, cls=Siren, **kw) -> Siren:
    torch.manual_seed(seed)
    return cls(2, 1, hidden_features=WIDTH, hidden_layers=2, **kw)


@pytest.mark.parametrize("alpha", [1.0, 2.37, 4.0])
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cls", [Siren, Finer])
def test_weight_scaling_ranges_match_eq3(alpha, cls, device):
    native = siren(cls=cls).to(device)
    scaled = inits.weight_scaling(siren(cls=cls).to(device), alpha=alpha)
    first, *hidden = scaled.layers
    bounds = [alpha / 2] + [alpha * math.sqrt(6 / WIDTH) / 30] * len(hidden)
    for layer, bound in zip([first, *hidden], bounds, strict=True):
        top = layer.weight.abs().max()
        assert 0.9 * bound < top <= bound + 1e-7, f"alpha={alpha}: {top} vs U(+-{bound})"
    for a, b in zip(native.layers, scaled.layers, strict=True):
        torch.testing.assert_close(b.weight, alpha * a.weight)  # α times SIREN's draw
        assert torch.equal(a.bias, b.bias)  # biases not scaled (WS code)
    assert torch.equal(native.last.weight, scaled.last.weight)  # last layer: α = 1


def test_nfsl_last_layer_scale():
    native, model = siren(), inits.nfsl(siren())
    bound = math.sqrt(6) / (WIDTH**0.75 * 30)
    top = model.last.weight.abs().max()
    assert 0.8 * bound < top <= bound
    assert bound < math.sqrt(6 / WIDTH) / 30  # n^{-3/4} < SIREN's n^{-1/2}
    for a, b in zip(native.layers, model.layers, strict=True):
        assert torch.equal(a.weight, b.weight)


def test_xavier_bounds_on_every_layer():
    model = inits.xavier(siren())
    for layer in [*model.layers, model.last]:
        bound = math.sqrt(6 / (layer.in_features + layer.out_features))
        assert 0.8 * bound < layer.weight.abs().max() <= bound


@functools.lru_cache
def option_cfg(group: str, option: str):
    return compose_cfg([f"{group}={option}", "backbone.hidden_features=16"])[group]


@pytest.mark.parametrize("init", ["weight_scaling", "nfsl", "xavier"])
@pytest.mark.parametrize("backbone", ["wire", "gauss", "ffn", "pemlp", "relu_mlp"])
def test_incompatible_pairs_raise_user_error_at_startup(init, backbone):
    model = instantiate(option_cfg("backbone", backbone))(in_dim=2, out_dim=1)
    with pytest.raises(UserError, match=f"init={init}.*{type(model).__name__}"):
        instantiate(option_cfg("init", init))(model)


@pytest.mark.parametrize("init", ["weight_scaling", "xavier"])
def test_first_layer_inits_reject_a_frozen_lattice(init):
    model = siren(lattice={"low_range": 4, "band_limit": 20})
    with pytest.raises(UserError, match=f"init={init}.*lattice"):
        getattr(inits, init)(model)
    inits.nfsl(model)  # touches only the last layer: fine
