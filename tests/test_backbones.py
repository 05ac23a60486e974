"""Contract of every backbone option: shapes, dtype, seeded determinism, gradients, model.pt."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import compose_cfg, options
from hydra.utils import instantiate

from inr_bench.backbones import load_model, save_model
from inr_bench.backbones.base import single_backward
from inr_bench.backbones.siren import Siren


def build(option: str, in_dim: int = 2, out_dim: int = 3, seed: int = 0):
    cfg = compose_cfg([f"backbone={option}", "backbone.hidden_features=16"])
    torch.manual_seed(seed)
    return instantiate(cfg.backbone)(in_dim=in_dim, out_dim=out_dim)


@pytest.mark.parametrize("option", options("backbone"))
@pytest.mark.parametrize("in_dim,out_dim", [(1, 1), (2, 3), (3, 1)])
def test_shape_and_dtype(option, in_dim, out_dim):
    model = build(option, in_dim, out_dim)
    out = model(torch.rand(5, in_dim) * 2 - 1)
    assert out.shape == (5, out_dim), option
    assert out.dtype == torch.float32, option


@pytest.mark.parametrize("option", options("backbone"))
def test_seeded_determinism(option):
    x = torch.rand(9, 2)
    assert torch.equal(build(option, seed=3)(x), build(option, seed=3)(x)), option
    assert not torch.equal(build(option, seed=3)(x), build(option, seed=4)(x)), option


@pytest.mark.parametrize("option", options("backbone"))
def test_gradients_reach_every_trainable_tensor(option):
    model = build(option)
    with single_backward():
        model(torch.rand(11, 2)).square().mean().backward()
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{option}: no gradient in {name}"


@pytest.mark.parametrize("option", options("backbone"))
def test_model_file_roundtrip(option, tmp_path):
    model = build(option)
    save_model(model, tmp_path / "model.pt")
    x = torch.rand(6, 2)
    assert torch.equal(load_model(tmp_path / "model.pt")(x), model(x)), option


def test_siren_init_ranges_and_parameter_count():
    torch.manual_seed(0)
    model = Siren(2, 3, hidden_features=64, hidden_layers=2, omega_0=30, omega_0_hidden=30)
    first, *hidden = [*model.layers, model.last]
    assert first.weight.abs().max() <= 1 / 2
    for layer in hidden:
        assert layer.weight.abs().max() <= math.sqrt(6 / layer.in_features) / 30
    # (2*64 + 64) + 2 * (64*64 + 64) + (64*3 + 3)
    assert model.num_parameters() == 192 + 2 * 4160 + 195


def test_siren_computes_sine_of_scaled_affine():
    torch.manual_seed(0)
    model = Siren(2, 1, hidden_features=8, hidden_layers=0, omega_0=7.0)
    x = torch.rand(4, 2)
    layer = model.layers[0]
    hidden = torch.sin(7.0 * (x @ layer.weight.t() + layer.bias))
    expected = hidden @ model.last.weight.t() + model.last.bias
    torch.testing.assert_close(model(x), expected)


def test_pruned_widths_rebuild_from_spec(tmp_path):
    model = Siren(2, 1, hidden_features=[8, 5, 3], hidden_layers=2)
    save_model(model, tmp_path / "model.pt")
    assert load_model(tmp_path / "model.pt").spec_kwargs()["hidden_features"] == [8, 5, 3]
    with pytest.raises(ValueError, match="hidden_features lists 2 widths"):
        Siren(2, 1, hidden_features=[8, 5], hidden_layers=2)


def test_fused_sine_backward_equals_autograd():
    torch.manual_seed(0)
    x = torch.rand(32, 2, dtype=torch.float64)
    model = Siren(2, 3, hidden_features=16, hidden_layers=2).double()
    with single_backward():
        model(x).square().sum().backward()
    fused = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model(x).square().sum().backward()  # ordinary differentiable backward
    for a, b in zip(fused, [p.grad for p in model.parameters()], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert torch.autograd.gradcheck(lambda x: model(x), (x[:4].requires_grad_(),))
