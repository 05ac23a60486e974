"""Batched runs checkpoint and resume as single runs do: Ctrl-C then resume=true gives the run a
straight batched run gives (every member's weights, evaluations and logged series), for samplers
with and without state (full, uniform, nint, int) and schedule=aire; a changed config is refused;
a NaN member never replaces the last good checkpoint.

The interruption is a real SIGINT sent to this process inside a step (during the members'
batch selection): the loop finishes the step, checkpoints it and stops."""

from __future__ import annotations

import json
import os
import signal

import pytest
import torch
from conftest import compose_cfg

import inr_bench.train as loop
from inr_bench.backbones import load_model
from inr_bench.errors import NonFiniteLossError, UserError
from inr_bench.runtime import RunInterrupted
from inr_bench.train import train

BASE = [
    "debug=smoke",
    "logger=none",
    "~metrics.lpips",
    "~metrics.ssim",
    "signal.resize=8",
    "signal.super_resolution=0",
    "steps=20",
    "eval_every=10",
    "log_every=5",
    "checkpoint_every=0",
    "seeds=[0,1]",
]
CASES = {
    "full": ["sampler=full"],
    "uniform": ["sampler=uniform"],
    "nint": ["sampler=nint"],
    "int": ["sampler=int", "sampler.interval=5"],  # resumed steps reuse the batch chosen before
    # densify after step 1, TWD from 9 (the interruption falls inside it), prune after 18
    "aire": ["sampler=uniform", "schedule=aire", "schedule.prune_rate=0.5"],
    "soft_mining": ["sampler=soft_mining"],  # member by member, particles per member
    "sasnet": ["backbone=sasnet", "backbone.mask_sparsity=0.01"],  # each member's random stream
}
INTERRUPT_AT = 11  # SIGINT arrives inside step 12: the checkpoint is at step 12


def series(folder) -> list[dict]:
    """metrics.jsonl without the timings, which differ between any two runs."""
    records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if not k.startswith("time/")} for r in records]


@pytest.mark.parametrize("case", CASES)
def test_batched_run_resumes_exactly_after_ctrl_c(case, tmp_path, monkeypatch):
    overrides = [*BASE, *CASES[case]]
    straight = train(compose_cfg(overrides, tmp_path / "straight"))
    select = loop.select

    def sigint_inside_a_step(run):
        if run.step == INTERRUPT_AT:
            os.kill(os.getpid(), signal.SIGINT)
        return select(run)

    monkeypatch.setattr(loop, "select", sigint_inside_a_step)
    with pytest.raises(RunInterrupted, match="at step 12"):
        train(compose_cfg(overrides, tmp_path / "resumed"))
    assert torch.load(tmp_path / "resumed/checkpoint.pt", weights_only=False)["step"] == 12
    monkeypatch.setattr(loop, "select", select)
    resumed = train(compose_cfg([*overrides, "resume=true"], tmp_path / "resumed"))

    assert resumed["params"] == straight["params"]
    for a, b in zip(resumed["members"], straight["members"], strict=True):
        assert a["eval/psnr"] == pytest.approx(b["eval/psnr"], abs=1e-6), a["name"]
    for i in range(2):
        a = load_model(tmp_path / f"resumed/members/{i}/model.pt").state_dict()
        b = load_model(tmp_path / f"straight/members/{i}/model.pt").state_dict()
        assert a.keys() == b.keys()
        for name in a:
            torch.testing.assert_close(a[name], b[name], rtol=1e-6, atol=1e-7, msg=name)
    # each step once, the train losses of the window cut by the interruption included
    pairs = zip(series(tmp_path / "resumed"), series(tmp_path / "straight"), strict=True)
    for a, b in pairs:  # abs: a std of two near-equal small terms (SASNet's) loses digits
        assert a == pytest.approx(b, rel=1e-6, abs=1e-9), a["step"]


def test_batched_resume_with_a_changed_config_is_refused(tmp_path):
    train(compose_cfg([*BASE, "steps=5"], tmp_path))
    with pytest.raises(UserError, match=r"seeds: \[0, 1\] -> \[0, 2\]"):
        train(compose_cfg([*BASE, "steps=5", "seeds=[0,2]", "resume=true"], tmp_path))
    with pytest.raises(UserError, match="steps may only grow"):
        train(compose_cfg([*BASE, "steps=4", "resume=true"], tmp_path))
    longer = train(compose_cfg([*BASE, "steps=8", "resume=true"], tmp_path))  # steps may grow
    assert longer["steps"] == 8
    again = train(compose_cfg([*BASE, "steps=8", "resume=true"], tmp_path))  # at the end: evaluate
    assert again["eval/psnr"] == pytest.approx(longer["eval/psnr"], abs=1e-6)


def test_a_nan_member_never_replaces_the_last_good_checkpoint(tmp_path, monkeypatch):
    step = loop.run_step
    calls = []

    def member_1_diverges_at_step_7(run, *args, **kwargs):
        out = step(run, *args, **kwargs)
        calls.append(1)
        if len(calls) == 7:
            with torch.no_grad():
                next(iter(run.net.params.values()))[1].fill_(float("nan"))
        return out

    monkeypatch.setattr(loop, "run_step", member_1_diverges_at_step_7)
    overrides = [*BASE, "log_every=20", "checkpoint_every=5"]  # no loss check before step 10
    good = tmp_path / "checkpoint.pt"
    with pytest.raises(NonFiniteLossError, match=rf"\['seed1'\].*step 10.*{good}"):
        train(compose_cfg(overrides, tmp_path))
    ckpt = torch.load(good, weights_only=False)
    assert ckpt["step"] == 5
    assert all(bool(torch.isfinite(t).all()) for t in ckpt["model"].values())
