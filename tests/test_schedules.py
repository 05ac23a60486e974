"""Adaptation schedules: the stages happen when configured, widths change for real, runs resume."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import TINY, compose_cfg

from inr_bench.backbones.siren import Siren
from inr_bench.errors import UserError
from inr_bench.schedules.aire import AIRe
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
    # smoke net: 2 -> [20, 32] -> 3 sine/linear layers
    assert result["params"] == (2 * 20 + 20) + (20 * 32 + 32) + (32 * 3 + 3)


def test_twd_penalty_ramps_over_its_stage():
    schedule = AIRe(densify_at=None, twd_start=0.5, prune_at=1.0, alpha_max=0.5)
    model = Siren(2, 1, hidden_features=8, hidden_layers=1)
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
