"""The frozen integer-lattice first layer: integer frequencies in their bands, one of each ±k,
never trained, and a network that is periodic with period p."""

from __future__ import annotations

import math

import pytest
import torch

from inr_bench.backbones import load_model, save_model
from inr_bench.backbones.finer import Finer
from inr_bench.backbones.lattice import LatticeLayer, half_space
from inr_bench.backbones.siren import Siren
from inr_bench.errors import UserError

LATTICE = {"period": 2.0, "low_range": 4, "band_limit": 20, "low_fraction": 0.5, "high_bands": 4}


def lattice(in_dim: int = 2, n: int = 32, seed: int = 0, **options) -> LatticeLayer:
    torch.manual_seed(seed)
    return LatticeLayer(in_dim, n, **(LATTICE | options))


@pytest.mark.parametrize("in_dim", [1, 2, 3])
@pytest.mark.parametrize("period", [2.0, 4.0])
def test_frequencies_are_integer_multiples_in_their_bands(in_dim, period):
    low_range, band_limit = (16, 48) if in_dim == 1 else (4, 20)  # 1-D: enough grid points
    layer = lattice(in_dim, period=period, low_range=low_range, band_limit=band_limit)
    k = layer.omega.t() * period / (2 * math.pi)  # (n, in_dim)
    torch.testing.assert_close(k, layer.k.float(), rtol=0, atol=1e-5)
    radius = layer.k.abs().amax(dim=1)
    low = layer.band == 0
    assert low.sum() == 16 and (radius[low] <= low_range).all()
    edges = layer.band_edges()
    assert edges == [low_range + i * (band_limit - low_range) / 4 for i in range(5)]
    for b in range(1, 5):
        in_band = radius[layer.band == b]
        assert len(in_band) == 4, f"band {b}"
        assert ((in_band > edges[b - 1]) & (in_band <= edges[b])).all(), f"band {b}"


@pytest.mark.parametrize("in_dim", [1, 2, 3])
def test_no_zero_and_one_of_each_plus_minus_k(in_dim):
    layer = lattice(in_dim, n=36, band_limit=48, low_fraction=0.1 if in_dim == 1 else 0.5)
    rows = {tuple(k) for k in layer.k.tolist()}
    assert len(rows) == 36
    assert not rows & {tuple(-v for v in k) for k in rows}, "both k and -k"
    assert half_space(layer.k).all()  # first non-zero coordinate positive: excludes k = 0


def test_low_band_too_small_is_a_user_error():
    with pytest.raises(UserError, match="free frequencies"):
        lattice(1, n=32, low_fraction=0.5)  # [-4, 4] in 1-D has 4 frequencies up to sign


def test_symmetric_layout_of_the_factory_fig14():
    layer = lattice(2, n=40, band_limit=60, layout="symmetric", symmetric_values=[1, 3, 10, 50])
    expected = {(i, j) for i in (1, 3, 10, 50) for j in (1, -1, 3, -3, 10, -10, 50, -50)}
    assert {tuple(k) for k in layer.k[:32].tolist()} == expected  # 64 points, 32 up to sign
    assert len({tuple(k) for k in layer.k.tolist()}) == 40
    with pytest.raises(UserError, match="symmetric_values"):
        lattice(2, n=16, band_limit=60, layout="symmetric", symmetric_values=[1, 3, 10, 50])


def test_frequencies_are_not_trained():
    torch.manual_seed(0)
    model = Siren(2, 1, hidden_features=16, hidden_layers=1, lattice=LATTICE)
    k = model.lattice.k.clone()
    params = [p for group in model.param_groups() for p in group["params"]]
    assert all(p is not model.lattice.k for p in params)
    assert "layers.0.k" in model.state_dict() and not model.lattice.k.requires_grad
    optimizer = torch.optim.Adam(params, lr=0.1)
    model(torch.rand(8, 2)).square().mean().backward()
    assert model.lattice.bias.grad is not None and model.lattice.k.grad is None
    optimizer.step()
    assert torch.equal(model.lattice.k, k)
    torch.testing.assert_close(model.omega, math.pi * k.t().float())


@pytest.mark.parametrize("cls", [Siren, Finer])
@pytest.mark.parametrize("period", [2.0, 3.0])
def test_network_is_periodic(cls, period):
    torch.manual_seed(0)
    options = LATTICE | {"period": period}
    model = cls(2, 2, hidden_features=16, hidden_layers=2, lattice=options).double()
    x = torch.rand(16, 2, dtype=torch.float64) * 2 - 1
    for shift in ([period, 0.0], [0.0, period], [-2 * period, period]):
        shifted = model(x + torch.tensor(shift, dtype=torch.float64))
        torch.testing.assert_close(shifted, model(x), rtol=0, atol=1e-9)
    assert not torch.allclose(model(x + 0.5 * period), model(x))  # not a shorter period


def test_roundtrip_and_surgery(tmp_path):
    torch.manual_seed(0)
    model = Siren(2, 1, hidden_features=16, hidden_layers=1, lattice=LATTICE)
    save_model(model, tmp_path / "model.pt")
    loaded = load_model(tmp_path / "model.pt")
    assert torch.equal(loaded.lattice.k, model.lattice.k)
    layer = model.lattice
    layer.append(torch.tensor([[-30, 2]]))  # stored as its half-space twin (30, -2)
    assert layer.k[-1].tolist() == [30, -2] and layer.band[-1] == 4 and layer.out_features == 17
    layer.keep(torch.tensor([0, 16]))
    assert layer.out_features == 2 and layer.bias.shape == (2,)
