"""Contract of every sampler option: batch size, index range, seeded determinism."""

from __future__ import annotations

import pytest
import torch
from conftest import TINY, compose_cfg, options
from hydra.utils import instantiate

from inr_bench.errors import UserError
from inr_bench.samplers.uniform import UniformSampler
from inr_bench.state import TrainState


def setup(option: str, seed: int = 0, backbone: str = "siren"):
    cfg = compose_cfg([*TINY, f"sampler={option}", f"backbone={backbone}"])
    signal = instantiate(cfg.signal)
    model = instantiate(cfg.backbone)(in_dim=signal.in_dim, out_dim=signal.out_dim)
    optimizer = torch.optim.Adam(model.parameters())
    sampler = instantiate(cfg.sampler)
    sampler.bind(signal.num_points, seed)
    return sampler, TrainState(0, 10, model, optimizer, signal)


@pytest.mark.parametrize("option", options("sampler"))
def test_batch_contract(option):
    sampler, state = setup(option)
    for step in range(3):
        state.step = step
        batch = sampler.select(state)
        n = state.signal.num_points
        assert len(batch) == sampler.batch_size, option
        assert batch.coords.shape == (len(batch), state.signal.in_dim)
        assert batch.values.shape == (len(batch), state.signal.out_dim)
        if batch.index is not None:
            assert 0 <= int(batch.index.min()) and int(batch.index.max()) < n, option
            assert len(torch.unique(batch.index)) == len(batch.index), f"{option}: repeats"
            torch.testing.assert_close(batch.coords, state.signal.coords[batch.index])
        sampler.update(batch, torch.rand(len(batch)))


@pytest.mark.parametrize("option", options("sampler"))
def test_seeded_determinism(option):
    picks = []
    for _ in range(2):
        sampler, state = setup(option, seed=5)
        picks.append([sampler.select(state).coords for _ in range(3)])
    for a, b in zip(*picks, strict=True):
        assert torch.equal(a, b), option


def test_uniform_fraction_and_batch_size():
    sampler = UniformSampler(fraction=0.25)
    sampler.bind(100, 0)
    assert sampler.batch_size == 25
    sampler = UniformSampler(batch_size=7)
    sampler.bind(100, 0)
    assert sampler.batch_size == 7
    with pytest.raises(UserError, match="sampler.fraction"):
        UniformSampler(fraction=1.5)
