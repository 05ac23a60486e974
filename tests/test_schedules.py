"""Adaptation schedules: the stages happen when configured, widths change for real, runs resume."""

from __future__ import annotations

import json

import pytest
import torch
from _devices import DEVICES
from conftest import TINY, compose_cfg
from hydra.utils import instantiate

from inr_bench.backbones.siren import Siren
from inr_bench.errors import UserError
from inr_bench.schedules.aire import AIRe
from inr_bench.schedules.base import Schedule
from inr_bench.schedules.bound import Bound
from inr_bench.schedules.grow import GrowColumns
from inr_bench.schedules.prune import bump, greedy_below
from inr_bench.state import TrainState
from inr_bench.train import train

AIRE = ["schedule=aire", "steps=20", "schedule.densify_rate=0.25", "schedule.prune_rate=0.5"]


def events(run_dir) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if any(k.startswith("schedule/") for k in r)]


def test_aire_densifies_then_prunes_for_real(tmp_path):
    result = train(compose_cfg([*TINY, *AIRE], tmp_path))
    densify, select, prune = events(tmp_path)
    assert (densify["step"], select["step"], prune["step"]) == (1, 9, 18)
    assert densify["schedule/width/0"] == 32 + 8
    assert select["schedule/selected/0"] == 20  # half of the 40 input neurons
    assert prune["schedule/width/0"] == 20
    # smoke net: 2 -> [20, 32, 32] -> 3, three sine layers and a linear one; AIRe acts on the first
    assert result["params"] == (2 * 20 + 20) + (20 * 32 + 32) + (32 * 32 + 32) + (32 * 3 + 3)


@pytest.mark.parametrize(
    "experiment", ["aire_div2k", "aire_div2k_cpu", "aire_stanford_sdf", "aire_stanford_sdf_cpu"]
)
def test_aire_experiments_keep_their_standard_training_baseline(experiment, tmp_path):
    """scripts/reproduce_aire.py's Large / Small rows are the experiment with schedule=none: an
    experiment may choose a schedule option but must not set keys that only AIRe accepts."""
    cfg = compose_cfg([f"+experiment={experiment}", "schedule=none"], tmp_path)
    assert type(instantiate(cfg.schedule)) is Schedule


@pytest.mark.parametrize("device", DEVICES)
def test_twd_penalty_ramps_over_its_stage(device):
    schedule = AIRe(densify_at=None, twd_start=0.5, prune_at=1.0, alpha_max=0.5)
    model = Siren(2, 1, hidden_features=8, hidden_layers=1).to(device)
    state = TrainState(step=49, steps=100, model=model, optimizer=None, signal=None)
    schedule.after_step(state)  # 50 steps done: TWD starts
    assert [schedule.alpha(t, 100) for t in (49, 50, 75, 99)] == [0.0, 0.0, 0.25, 0.49]
    state.step = 75
    selected = schedule.selected[0]
    expected = 0.25 * model.layers[1].weight[:, selected].abs().sum()
    torch.testing.assert_close(schedule.loss(state), expected)


def test_resume_after_surgery_matches_a_straight_run(tmp_path, monkeypatch):
    overrides = [*TINY, *AIRE, "sampler=uniform", "checkpoint_every=10"]
    straight = train(compose_cfg(overrides, tmp_path / "straight"))
    after_step = AIRe.after_step

    def crash_at_15(self, state):
        if state.step == 14:
            raise KeyboardInterrupt
        return after_step(self, state)

    monkeypatch.setattr(AIRe, "after_step", crash_at_15)
    with pytest.raises(KeyboardInterrupt):
        train(compose_cfg(overrides, tmp_path / "resumed"))
    monkeypatch.setattr(AIRe, "after_step", after_step)
    resumed = train(compose_cfg([*overrides, "resume=true"], tmp_path / "resumed"))
    assert resumed["params"] == straight["params"]
    assert resumed["eval/psnr"] == pytest.approx(straight["eval/psnr"], abs=1e-6)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"new_phase": "random"}, "new_phase"),
        ({"twd_start": 0.9, "prune_at": 0.5}, "twd_start"),
        ({"prune_layers": [0, 1], "prune_rate": [0.5]}, "prune_rate"),
        ({"densify_at": 1.5}, "fractions"),
    ],
)
def test_aire_rejects_bad_settings(kwargs, match):
    with pytest.raises(UserError, match=match):
        AIRe(**kwargs)


def lattice_siren(width: int = 24, atoms: int = 16, device: str = "cpu") -> Siren:
    torch.manual_seed(0)
    lattice = {"low_range": 4, "band_limit": 12, "high_bands": 2}
    return Siren(2, 1, hidden_features=[atoms, width], hidden_layers=1, lattice=lattice).to(device)


@pytest.mark.parametrize("device", DEVICES)
def test_bound_clamps_every_column_by_the_block_of_its_frequency(device):
    model = lattice_siren(device=device)
    with torch.no_grad():
        model.layers[1].weight.normal_(0, 1.0)  # far beyond every bound
    schedule = Bound(limits=[3, 8], bounds=[None, 0.6, 0.1], units="effective")
    schedule.after_step(TrainState(step=0, steps=1, model=model, optimizer=None, signal=None))
    radius = model.layers[0].k.abs().amax(dim=1)
    effective = 30.0 * model.layers[1].weight.abs().amax(dim=0)
    assert (effective[(radius >= 3) & (radius < 8)] <= 0.6 + 1e-6).all()
    assert (effective[radius >= 8] <= 0.1 + 1e-6).all()
    assert (effective[radius < 3] > 0.6).any()  # the free block is untouched


def test_wd_bump_and_greedy_selection():
    assert [bump(t, 100) for t in (0, 25, 50, 75, 100)] == [0.0, 0.25, 1.0, 0.25, 0.0]
    chosen = greedy_below(torch.tensor([5.0, 0.5, 3.0, 1.0, 0.2]), threshold=2.0)
    assert chosen.tolist() == [1, 3, 4]  # 0.2 + 0.5 + 1.0 < 2.0, adding 3.0 would not be


@pytest.mark.parametrize("device", DEVICES)
def test_grow_columns_adds_unused_lattice_atoms_in_the_saturated_block(device):
    model = lattice_siren(device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    schedule = GrowColumns(
        limits=[3, 8], bounds=[None, 0.6, 0.1], every=1, n_add=4, n_total=8, band_limit=12
    )
    radius = model.layers[0].k.abs().amax(dim=1)
    with torch.no_grad():  # saturate the 8 <= |k| block only
        model.layers[1].weight[:, radius >= 8] = 1.0
    before = model.layers[0].k.clone()
    state = TrainState(step=0, steps=10, model=model, optimizer=optimizer, signal=None)
    events = schedule.after_step(state)
    assert events["grow/block"] == 2 and events["grow/added"] == 4
    new = model.layers[0].k[len(before) :]
    assert (new.abs().amax(dim=1) >= 8).all() and (new.abs().amax(dim=1) <= 12).all()
    assert not (new[:, None, :] == before[None]).all(-1).any()  # no atom twice
    assert model.layers[1].weight.shape == (24, 20)
    assert all(t.device.type == device for t in (*model.parameters(), *model.buffers()))
    state.step = 1
    schedule.after_step(state)
    state.step = 2
    assert schedule.after_step(state) is None  # n_total reached


def test_prune_wd_shrinks_the_network_in_training(tmp_path):
    overrides = [
        *TINY,
        "backbone=siren_lattice",
        "backbone.hidden_features=[40,32]",
        "backbone.hidden_layers=1",
        "schedule=prune_wd",
        "steps=20",
        "schedule.wd_steps=5",
        "schedule.rec_steps=5",
    ]
    result = train(compose_cfg(overrides, tmp_path))
    pruned = [e["schedule/prune/pruned"] for e in events(tmp_path)]
    assert len(pruned) == 2 and all(p > 0 for p in pruned)
    assert result["params"] < 40 + 40 * 32 + 32 + 32 * 3 + 3  # lattice phases + A + output


def test_rigl_keeps_the_network_sparse_while_it_trains(tmp_path):
    overrides = [*TINY, "schedule=rigl", "steps=20", "schedule.delta=5", "schedule.sparsity=0.5"]
    result = train(compose_cfg(overrides, tmp_path))
    hidden = 32 * 32  # the smoke network's one hidden matrix, half of it masked
    assert result["params"] - result["nonzero_params"] >= 0.5 * hidden - 2


def test_depgraph_prunes_neurons_physically(tmp_path):
    overrides = [*TINY, "schedule=depgraph", "steps=20", "schedule.channel_ratio=0.25"]
    result = train(compose_cfg(overrides, tmp_path))
    (event,) = events(tmp_path)
    assert [event[f"schedule/width/{i}"] for i in range(3)] == [24, 24, 24]
    assert result["params"] == (2 * 24 + 24) + 2 * (24 * 24 + 24) + (24 * 3 + 3)


@pytest.mark.data
@pytest.mark.parametrize("experiment", ["aire_div2k_cpu", "aire_ablation_densify"])
def test_final_widths_are_the_widths_an_aire_run_ends_with(experiment, tmp_path):
    """scripts/reproduce_aire.py trains its Small row at AIRe.final_widths: they must be the
    widths AIRe's own surgery leaves (checked on a shrunk copy of the experiment's network)."""
    overrides = [
        f"+experiment={experiment}", *TINY, "steps=20", "backbone.hidden_features=[24,16,16]",
        "backbone.hidden_layers=2", "schedule.prune_layers=[0,1]", "schedule.prune_rate=[0.5,0.25]",
    ]  # fmt: skip
    cfg = compose_cfg(overrides, tmp_path)
    planned = instantiate(cfg.schedule).final_widths(cfg.backbone.hidden_features)
    train(cfg)
    (*_, last) = events(tmp_path)
    assert [last[f"schedule/width/{i}"] for i in range(3)] == planned
