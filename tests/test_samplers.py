"""Contract of every sampler option: batch size, index range, seeded determinism, any
backbone; error-driven samplers pick the right points on constructed cases."""

from __future__ import annotations

import functools

import pytest
import torch
from _devices import DEVICES
from conftest import TINY, compose_cfg, options
from hydra.utils import instantiate

from inr_bench.backbones.base import Backbone
from inr_bench.errors import UserError
from inr_bench.samplers.evos import EvosSampler
from inr_bench.samplers.int import IntSampler, incremental_interval
from inr_bench.samplers.nint import NintSampler
from inr_bench.samplers.uniform import UniformSampler
from inr_bench.state import TrainState
from inr_bench.step import train_step


class TinyRelu(Backbone):
    """A plain torch.nn.Sequential ReLU MLP: samplers must not assume sine layers."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.in_dim, self.out_dim = in_dim, out_dim
        self.net = torch.nn.Sequential(
            torch.nn.Linear(in_dim, 16), torch.nn.ReLU(), torch.nn.Linear(16, out_dim)
        )

    def forward(self, x):
        return self.net(x)


@functools.cache
def composed(option: str):
    return compose_cfg([*TINY, f"sampler={option}", "signal.resize=16"])


def setup(option: str, seed: int = 0, relu: bool = False, device: str = "cpu", **sampler_args):
    cfg = composed(option)
    torch.manual_seed(seed)
    signal = instantiate(cfg.signal).to(device)
    if relu:
        model = TinyRelu(signal.in_dim, signal.out_dim)
    else:
        model = instantiate(cfg.backbone)(in_dim=signal.in_dim, out_dim=signal.out_dim)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    sampler = instantiate(cfg.sampler, **sampler_args)
    sampler.bind(signal.num_points, seed)
    return sampler, TrainState(0, 10, model, optimizer, signal), instantiate(cfg.schedule)


def run_steps(option: str, steps: int = 3, seed: int = 0, relu: bool = False, device="cpu"):
    """Select, train and update for ``steps`` steps; yields (sampler, state, batch)."""
    sampler, state, schedule = setup(option, seed, relu, device)
    for step in range(steps):
        state.step = step
        batch = sampler.select(state)
        yield sampler, state, batch
        _, _, point_loss = train_step(state, batch, 64, schedule)
        sampler.update(batch, point_loss)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("relu", [False, True], ids=["siren", "relu"])
@pytest.mark.parametrize("option", options("sampler"))
def test_batch_contract(option, relu, device):
    for sampler, state, batch in run_steps(option, relu=relu, device=device):
        n = state.signal.num_points
        assert batch.coords.device.type == device, option
        for part in (batch.index, batch.weight):
            assert part is None or part.device.type == device, option
        full_step = getattr(sampler, "evaluating", False)  # EVOS fitness evaluation
        assert len(batch) == (n if full_step else sampler.batch_size), option
        assert batch.coords.shape == (len(batch), state.signal.in_dim)
        assert batch.values.shape == (len(batch), state.signal.out_dim)
        if batch.index is not None:
            assert 0 <= int(batch.index.min()) and int(batch.index.max()) < n, option
            if sampler.unique:
                assert len(torch.unique(batch.index)) == len(batch.index), f"{option}: repeats"
            torch.testing.assert_close(batch.coords.detach(), state.signal.coords[batch.index])
        if batch.weight is not None:
            assert batch.weight.shape == (len(batch),) and bool((batch.weight > 0).all()), option


@pytest.mark.parametrize("option", options("sampler"))
def test_seeded_determinism(option):
    picks = [[b.index for _, _, b in run_steps(option, 4, seed=5)] for _ in range(2)]
    for a, b in zip(*picks, strict=True):
        assert (a is None and b is None) or torch.equal(a, b), option


def test_uniform_fraction_and_batch_size():
    sampler = UniformSampler(fraction=0.25)
    sampler.bind(100, 0)
    assert sampler.batch_size == 25
    sampler = UniformSampler(batch_size=7)
    sampler.bind(100, 0)
    assert sampler.batch_size == 7
    with pytest.raises(UserError, match="sampler.fraction"):
        UniformSampler(fraction=1.5)


class Lookup(Backbone):
    """f(x_i) = a fixed table value at each training point: errors we choose."""

    def __init__(self, coords, pred):
        super().__init__()
        self.coords, self.pred = coords, pred
        self.scale = torch.nn.Parameter(torch.ones(1))

    def forward(self, x):
        hit = (x[:, None, :] - self.coords[None]).abs().sum(-1).argmin(1)
        return self.scale * self.pred[hit]


def constructed_state(option: str):
    sampler, state, _ = setup(option)
    signal = state.signal
    error = torch.rand(signal.num_points, generator=torch.Generator().manual_seed(1))
    state.model = Lookup(signal.coords, signal.values + error[:, None])
    return sampler, state, error


@pytest.mark.parametrize("option", ["int", "evos_no_cfs"])
def test_error_samplers_pick_the_largest_errors(option):
    sampler, state, error = constructed_state(option)
    if isinstance(sampler, EvosSampler):  # fitness comes from a full-batch evaluation step
        batch = sampler.select(state)
        sampler.update(batch, state.signal.point_loss(state.model(batch.coords), batch))
        sampler.mutation = 0.0
        state.step = 1
    picked = sampler.select(state).index
    expected = error.topk(sampler.batch_size).indices
    assert set(picked.tolist()) == set(expected.tolist()), option


def test_nint_error_part_is_exact_top_error():
    sampler, state, error = constructed_state("nint")
    sampler.xi = 0.0
    state.step = 10_000  # NTK share ~0: the whole batch is the error-based part
    picked = sampler.select(state).index
    assert set(picked.tolist()) == set(error.topk(sampler.batch_size).indices.tolist())


def test_nint_shares_follow_the_schedule():
    sampler = NintSampler(fraction=0.5, xi=0.7, alpha=10, lam=1.0)
    assert sampler.ntk_share(0) == (pytest.approx(0.3), True)
    assert sampler.ntk_share(10)[0] == pytest.approx(0.3 * torch.e**-1)
    assert not sampler.ntk_share(5)[1]
    official = NintSampler(count="official")
    official.calls = 9
    assert official.ntk_share(0) == (pytest.approx(0.3 * torch.e**-1), False)
    official.calls = 20
    assert official.ntk_share(0) == (pytest.approx(0.3 * torch.e**-2), True)


def test_int_incremental_interval():
    assert incremental_interval(0, 1000) == 1 and incremental_interval(249, 1000) == 1
    assert incremental_interval(300, 1000) == 10 and incremental_interval(999, 1000) == 50
    sampler = IntSampler(interval=3)
    sampler.index = torch.arange(3)
    assert sampler.due(0, 100) and not sampler.due(1, 100) and sampler.due(3, 100)


def refresh_steps(sampler: IntSampler, steps: int) -> list[int]:
    sampler.index = torch.arange(3)  # a batch exists: only the schedule decides
    return [t for t in range(steps) if sampler.due(t, steps)]


def test_int_schedule_spans_the_horizon_not_the_run():
    """250 steps on the run's own schedule: dense for 62 steps, then every 10, 20, 30, 40 steps
    (the official code's leftover steps 247-249 form a sixth stage of 60). With the paper's
    5000-step horizon the same 250 steps all fall in its dense startup (1250 steps)."""
    own = refresh_steps(IntSampler(), 250)
    assert own == [*range(62), 70, 80, 90, 100, 120, 150, 200]
    assert [incremental_interval(t, 250) for t in (61, 62, 98, 99, 210, 246, 247, 249)] == [
        1, 10, 10, 20, 50, 50, 60, 60,
    ]  # fmt: skip
    assert refresh_steps(IntSampler(horizon=5000), 250) == list(range(250))
    paper = IntSampler(horizon=5000)
    intervals = [paper.interval_at(t, 250) for t in (1249, 1250, 2000, 4999, 9000)]
    assert intervals == [1, 10, 20, 50, 50]
    assert incremental_interval(9000, 5000) == 50  # past the horizon: the last interval


def test_int_horizon_comes_from_the_cpu_experiment():
    cfg = compose_cfg(["+experiment=nint_kodak_cpu", "sampler=int", "logger=none"])
    assert cfg.steps == 250 and instantiate(cfg.sampler).horizon == 5000
    cfg = compose_cfg(["+experiment=nint_kodak", "sampler=int", "logger=none"])
    assert instantiate(cfg.sampler).horizon is None  # the run's own 5000 steps
    with pytest.raises(UserError, match="horizon"):
        IntSampler(horizon=0)


def test_evos_interval_falls_linearly_over_the_run_or_the_horizon():
    """lin_dec: from ``interval`` to ``end_interval`` over the run's steps, or over ``horizon``
    (the CPU experiment's schedule_horizon) and no further."""
    run = EvosSampler(interval=50, end_interval=10)
    assert [run.current_interval(t, 100) for t in (0, 50, 99)] == [50, 30, 10]
    paper = EvosSampler(interval=50, end_interval=10, horizon=5000)
    assert [paper.current_interval(t, 250) for t in (0, 250, 2500, 9000)] == [50, 48, 30, 10]
    assert EvosSampler(interval=50).current_interval(99, 100) == 50  # fixed by default
    cfg = compose_cfg(["+experiment=nint_kodak_cpu", "sampler=evos", "logger=none"])
    assert instantiate(cfg.sampler).horizon == 5000
    with pytest.raises(UserError, match="horizon"):
        EvosSampler(horizon=0)


def test_int_step_batch_schedule_grows_the_share_in_tenths():
    sampler = IntSampler(fraction=0.2, horizon=5000, batch_schedule="step")
    sampler.bind(1000, 0)
    sizes = [sampler.size_at(t, 250) for t in (0, 249, 499, 500, 1000, 4999)]
    assert sizes == [200, 200, 200, 280, 360, 920]
    constant = IntSampler(fraction=0.2, horizon=5000)
    constant.bind(1000, 0)
    assert constant.size_at(4999, 250) == 200
    sampler, state, _ = setup("int", batch_schedule="step", horizon=20, interval=1)
    n = state.signal.num_points
    first = len(sampler.select(state))
    state.step = 19  # the last tenth of the horizon: 0.2 + 9 · 0.08 of the points
    assert first == round(0.2 * n) and len(sampler.select(state)) == round(0.92 * n)


def test_evos_cfs_loss_vanishes_on_the_target_and_has_gradient():
    sampler, state, _ = setup("evos")
    signal = state.signal
    batch = sampler.select(state)  # first call: a full fitness-evaluation batch
    sampler.update(batch, torch.rand(len(batch)))
    state.step = 1
    batch = sampler.select(state)
    cached = sampler.cached_pred
    sampler.cached_pred = signal.values.clone()  # every other point exact as well
    exact = signal.values[batch.index].clone().requires_grad_(True)
    assert sampler.adds_loss and len(sampler.loss(exact, batch)) == len(batch)
    assert float(sampler.loss(exact, batch).sum().detach()) == pytest.approx(0.0, abs=1e-6)
    sampler.cached_pred = cached
    pred = state.model(batch.coords)
    loss = sampler.loss(pred, batch).sum()
    loss.backward()
    assert loss > 0 and all(p.grad is not None for p in state.model.parameters())


def test_evos_cfs_enters_the_training_loss_and_not_the_data_loss():
    """With CFS the step's extra term is the sampler's; the data loss and point losses are the
    same as without it (same network, same batch)."""
    results = {}
    for cfs in (True, False):
        sampler, state, schedule = setup("evos", cfs=cfs, lap_coeff=1e-3)
        batch = sampler.select(state)
        sampler.update(batch, torch.rand(len(batch)))
        state.step = 1
        batch = sampler.select(state)
        results[cfs] = train_step(state, batch, 64, schedule, sampler)
    (data_on, reg_on, points_on), (data_off, reg_off, points_off) = results[True], results[False]
    assert float(reg_on) > 0 and float(reg_off) == 0  # floats or 0-d tensors (device-side sums)
    assert float(data_on) == pytest.approx(float(data_off), rel=1e-5)
    torch.testing.assert_close(points_on, points_off)
