"""Ctrl-C then resume=true gives the run a straight run gives, for every sampler and schedule.

The interruption is a real SIGINT sent to this process in the middle of a run: the loop must
finish the step, checkpoint it, and stop; the resumed run must then replay nothing and skip
nothing (sampler RNG, schedule stages, surgery, optimizer state, LR schedule all restored)."""

from __future__ import annotations

import json
import os
import signal

import pytest
import torch
from conftest import TINY, compose_cfg, options

import inr_bench.train as loop
from inr_bench.backbones import load_model
from inr_bench.runtime import RunInterrupted
from inr_bench.train import train

BASE = [*TINY, "signal.resize=16", "steps=20", "eval_every=20", "checkpoint_every=0"]
LATTICE = ["backbone=siren_lattice", "backbone.hidden_features=[40,32]", "backbone.hidden_layers=1"]
# Settings under which each schedule acts within 20 steps (its events straddle the interruption).
SCHEDULE = {
    "aire": ["schedule.densify_rate=0.25", "schedule.prune_rate=0.5"],
    "aire_short": ["schedule.densify_rate=0.25", "schedule.prune_rate=0.5"],
    "bound": LATTICE,
    "grow_columns": [*LATTICE, "schedule.every=5", "schedule.n_add=2", "schedule.n_total=6"],
    "prune_wd": [*LATTICE, "schedule.wd_steps=5", "schedule.rec_steps=5"],
    "prune_twd": [*LATTICE, "schedule.wd_steps=5", "schedule.rec_steps=5"],
    "rigl": ["schedule.delta=5", "schedule.sparsity=0.5"],
    "depgraph": ["schedule.channel_ratio=0.25"],
    "sape": ["backbone=sape", "backbone.mask_resolution=16", "backbone.progression_steps=30"],
    "aire_nerf": [
        "signal=nerf",
        "signal.scene=synthetic",
        "backbone=nerf_field",
        "optim=adam_nerf",
        "backbone.hidden_features=16",
        "backbone.hidden_layers=2",
        "backbone.color_features=8",
        "backbone.geo_features=8",
        "sampler.batch_size=64",
    ],  # fmt: skip
}
INTERRUPT_AT = 11  # SIGINT arrives inside step 12: the checkpoint is at step 12


def interrupted(overrides: list[str], folder, monkeypatch) -> None:
    """The run stopped by a real SIGINT inside step 12 (checkpoint at step 12)."""
    step = loop.run_step

    def sigint_inside_a_step(run, *args, **kwargs):
        if run.step == INTERRUPT_AT:
            os.kill(os.getpid(), signal.SIGINT)
        return step(run, *args, **kwargs)

    monkeypatch.setattr(loop, "run_step", sigint_inside_a_step)
    with pytest.raises(RunInterrupted, match="at step 12"):
        train(compose_cfg(overrides, folder))
    monkeypatch.setattr(loop, "run_step", step)


def interrupted_then_resumed(overrides: list[str], folder, monkeypatch) -> dict:
    interrupted(overrides, folder, monkeypatch)
    return train(compose_cfg([*overrides, "resume=true"], folder))


def assert_same_run(resumed: dict, straight: dict, folder) -> None:
    assert resumed["params"] == straight["params"]
    assert resumed["nonzero_params"] == straight["nonzero_params"]
    assert resumed["eval/psnr"] == pytest.approx(straight["eval/psnr"], abs=1e-6)
    steps = [json.loads(line)["step"] for line in (folder / "metrics.jsonl").open()]
    assert steps == sorted(steps) and steps.count(12) <= 2  # train/* and eval/* records


@pytest.mark.parametrize("option", options("sampler"))
def test_every_sampler_resumes_exactly_after_ctrl_c(option, tmp_path, monkeypatch):
    overrides = [*BASE, f"sampler={option}"]
    straight = train(compose_cfg(overrides, tmp_path / "straight"))
    resumed = interrupted_then_resumed(overrides, tmp_path / "resumed", monkeypatch)
    assert_same_run(resumed, straight, tmp_path / "resumed")


@pytest.mark.parametrize("option", [o for o in options("schedule") if o != "none"])
def test_every_schedule_resumes_exactly_after_ctrl_c(option, tmp_path, monkeypatch):
    assert option in SCHEDULE, f"schedule={option}: add the settings that make it act to SCHEDULE"
    image = "signal=nerf" not in SCHEDULE[option]  # signal.resize is an image's key
    base = [o for o in BASE if image or not o.startswith("signal.resize")]
    overrides = [*base, "sampler=uniform", f"schedule={option}", *SCHEDULE[option]]
    straight = train(compose_cfg(overrides, tmp_path / "straight"))
    resumed = interrupted_then_resumed(overrides, tmp_path / "resumed", monkeypatch)
    assert_same_run(resumed, straight, tmp_path / "resumed")


def test_a_checkpoint_written_before_runs_had_members_resumes(tmp_path, monkeypatch):
    """A single run's checkpoint in the layout before one loop (``sampler`` and ``schedule``,
    thresholds as a dict, no loss window, the random state a bare CPU tensor) resumes to the
    straight run's weights."""
    overrides = [*BASE, "sampler=uniform"]
    straight = train(compose_cfg(overrides, tmp_path / "straight"))
    folder = tmp_path / "resumed"
    interrupted(overrides, folder, monkeypatch)
    ckpt = torch.load(folder / "checkpoint.pt", weights_only=False)
    old = {k: v for k, v in ckpt.items() if k not in ("samplers", "schedules", "window")}
    old |= {"sampler": ckpt["samplers"][0], "schedule": ckpt["schedules"][0]}
    old["summary"] = ckpt["summary"] | {"thresholds": ckpt["summary"]["thresholds"][0]}
    del old["member_rngs"]
    old["torch_rng"] = ckpt["torch_rng"]["cpu"]  # the CPU stream alone, as a bare tensor
    torch.save(old, folder / "checkpoint.pt")
    resumed = train(compose_cfg([*overrides, "resume=true"], folder))
    assert resumed["eval/psnr"] == pytest.approx(straight["eval/psnr"], abs=1e-6)
    a = load_model(tmp_path / "straight/model.pt").state_dict()
    b = load_model(folder / "model.pt").state_dict()
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_the_weight_average_resumes_exactly(tmp_path, monkeypatch):
    """optim.ema_decay: the averages are in the checkpoint; Ctrl-C then resume equals straight."""
    overrides = [*BASE, "sampler=uniform", "++optim.ema_decay=0.9"]
    straight = train(compose_cfg(overrides, tmp_path / "straight"))
    resumed = interrupted_then_resumed(overrides, tmp_path / "resumed", monkeypatch)
    assert_same_run(resumed, straight, tmp_path / "resumed")
