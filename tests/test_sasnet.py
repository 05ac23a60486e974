"""SASNet: hash-grid encoding, mask groups, the fixed low-frequency mask, parameter groups."""

from __future__ import annotations

import json

import pytest
import torch
from _devices import DEVICES

from inr_bench.backbones.hashgrid import HashGrid
from inr_bench.backbones.sasnet import SASNet
from inr_bench.errors import UserError

SMALL = {"levels": 3, "log2_size": 8, "min_res": 4, "max_res": 16}


def tiny(**kwargs) -> SASNet:
    torch.manual_seed(0)
    lattice = {"low_range": 3, "band_limit": 9, "high_bands": 2}
    return SASNet(2, 3, hidden_features=16, hidden_layers=2, embedding_size=24, groups=4,
                  lattice=lattice, grid=SMALL, **kwargs)  # fmt: skip


def test_dense_level_interpolates_its_corners():
    grid = HashGrid(2, levels=1, features=2, log2_size=8, min_res=4, max_res=4)
    assert grid.dense == [True]
    table = grid.table.detach()
    vertex = torch.tensor([[-1.0, -1.0], [1.0, 1.0], [0.0, -1.0]])  # corners (0,0), (4,4), (2,0)
    torch.testing.assert_close(grid(vertex), table[[0, 4 + 4 * 5, 2]])
    centre = torch.tensor([[-0.75, -0.75]])  # the middle of cell (0, 0)
    expected = table[[0, 1, 5, 6]].mean(0, keepdim=True)
    torch.testing.assert_close(grid(centre), expected)


def test_hashed_levels_stay_in_their_table_and_train():
    grid = HashGrid(3, levels=4, features=2, log2_size=6, min_res=2, max_res=32)
    assert grid.dense[0] and not grid.dense[-1]
    x = torch.rand(50, 3) * 2 - 1
    out = grid(x)
    assert out.shape == (50, 8)
    out.square().sum().backward()
    assert grid.table.grad.abs().sum() > 0


def test_masks_start_near_half_and_the_low_band_is_never_masked():
    model = tiny()
    x = torch.rand(64, 2) * 2 - 1
    masks = model.masks(x)
    assert [m.shape[1] for m in masks] == [1 + 2, 1 + 4, 1 + 4]
    learned = torch.cat([m[:, 1:] for m in masks], 1)
    assert (learned - 0.5).abs().max() < 0.1
    assert (masks[0][:, 0] == 1).all()
    low = model.group_0 == 0
    assert torch.equal(low, model.layers[0].band == 0)


def test_masks_multiply_their_groups():
    model = tiny(mask_layers=[1])
    x = torch.rand(8, 2) * 2 - 1
    with torch.no_grad():
        model.decoder[-1].bias.fill_(-30.0)  # every learned mask ~0: layer 1 silenced
        model.decoder[-1].weight.zero_()
    h = model.layers[1](model.layers[0](x)) * 0
    expected = model.last(model.layers[2](h))
    torch.testing.assert_close(model(x), expected, atol=1e-6, rtol=0)


def test_mask_parameters_get_their_own_learning_rate():
    model = tiny(mask_lr=5e-4)
    main, masks = model.param_groups()
    assert masks["lr"] == 5e-4 and "lr" not in main
    n = sum(p.numel() for g in (main, masks) for p in g["params"])
    assert n == model.num_parameters()
    assert not any(p is model.layers[0].k for p in main["params"])


@pytest.mark.parametrize("device", DEVICES)
def test_sparsity_regularizer_is_lambda_times_mean_mask(device):
    assert tiny().regularizer() is None  # lambda = 0 by default (released image code)
    model = tiny(mask_sparsity=0.1).to(device)
    value = model.regularizer()
    assert value.device.type == device
    assert 0.04 < value.detach().item() < 0.06  # masks ~0.5
    value.backward()
    assert model.grid.table.grad.abs().sum() > 0


def test_unmasked_network_has_no_grid_and_bad_layers_fail():
    assert not hasattr(tiny(mask_layers=[]), "grid")
    with pytest.raises(UserError, match="mask_layers"):
        tiny(mask_layers=[5])


@pytest.mark.parametrize("masked", ["[0,1]", "[]"])
def test_a_sasnet_run_folder_holds_its_masks(masked, tmp_path):
    from conftest import TINY, compose_cfg

    from inr_bench.train import train

    overrides = ["backbone=sasnet", "backbone.hidden_features=16", "backbone.embedding_size=16"]
    overrides += [f"backbone.mask_layers={masked}"]
    cfg = compose_cfg([*TINY, *overrides, "signal.resize=16", "steps=2", "eval_every=2"], tmp_path)
    train(cfg)
    saved = json.loads((tmp_path / "metrics.json").read_text())["artifacts"]
    if masked == "[]":  # no masks, no picture
        assert "maps" not in saved and not (tmp_path / "maps.png").exists()
    else:
        assert saved["maps"] == "maps.png" and (tmp_path / "maps.png").stat().st_size > 0
