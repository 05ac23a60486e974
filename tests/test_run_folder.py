"""A run folder holds one run: never shared, never mixed, never left with a bad checkpoint."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import TINY, compose_cfg

from inr_bench import run_folder
from inr_bench.build import build, checkpoint
from inr_bench.errors import NonFiniteLossError, UserError
from inr_bench.run_folder import FolderRefused
from inr_bench.train import train

SHORT = [*TINY, "signal.resize=16", "steps=10", "eval_every=10", "checkpoint_every=5"]


def records(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_a_folder_in_use_by_a_live_run_is_refused(tmp_path):
    with run_folder.claim(tmp_path, resume=False):  # this process holds it, as another run would
        with pytest.raises(FolderRefused, match="in use by another run"):
            train(compose_cfg(SHORT, tmp_path))
    assert not (tmp_path / "error.txt").exists()  # nothing written into the other run's folder


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    (tmp_path / run_folder.LOCK).write_text("999999999")  # no such process
    assert train(compose_cfg(SHORT, tmp_path))["steps"] == 10
    assert not (tmp_path / run_folder.LOCK).exists()


def test_a_finished_folder_is_not_reused_without_resume(tmp_path):
    train(compose_cfg(SHORT, tmp_path))
    before = (tmp_path / "metrics.jsonl").read_text()
    with pytest.raises(FolderRefused, match="already holds a run"):
        train(compose_cfg([*SHORT, "seed=3"], tmp_path))
    assert (tmp_path / "metrics.jsonl").read_text() == before


def test_resume_with_a_changed_config_is_refused_and_names_the_keys(tmp_path):
    train(compose_cfg(SHORT, tmp_path))
    config = (tmp_path / "config.yaml").read_text()
    changed = [*SHORT, "steps=20", "resume=true", "optim.optimizer.lr=0.5", "seed=4"]
    with pytest.raises(UserError, match=r"optim\.optimizer\.lr: 0\.001 -> 0\.5.*seed: 0 -> 4"):
        train(compose_cfg(changed, tmp_path))
    assert (tmp_path / "config.yaml").read_text() == config  # the record is untouched


def test_resume_may_extend_steps_but_not_shorten_them(tmp_path):
    train(compose_cfg(SHORT, tmp_path))
    with pytest.raises(UserError, match="steps may only grow"):
        train(compose_cfg([*SHORT, "steps=5", "resume=true"], tmp_path))
    assert train(compose_cfg([*SHORT, "steps=15", "resume=true"], tmp_path))["steps"] == 15


def test_a_non_finite_network_never_replaces_the_last_good_checkpoint(tmp_path):
    run = build(compose_cfg(SHORT, tmp_path))
    run.step = 5
    checkpoint(run, tmp_path)
    good = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    with torch.no_grad():
        next(run.state.model.parameters())[0] = math.nan
    run.step = 10
    with pytest.raises(NonFiniteLossError, match="non-finite by step 10.*last good"):
        checkpoint(run, tmp_path)
    kept = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert kept["step"] == good["step"] == 5
    assert all(torch.isfinite(v).all() for v in kept["model"].values())


def test_a_diverging_run_leaves_only_finite_checkpoints(tmp_path):
    overrides = [*TINY, "optim.optimizer.lr=1e30", "steps=20", "checkpoint_every=1"]
    cfg = compose_cfg(overrides, tmp_path)
    with pytest.raises(NonFiniteLossError):
        train(cfg)
    if (tmp_path / "checkpoint.pt").exists():
        kept = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
        assert all(torch.isfinite(v).all() for v in kept["model"].values())


def test_resume_drops_records_after_the_checkpoint_and_a_torn_last_line(tmp_path):
    train(compose_cfg(SHORT, tmp_path))
    with (tmp_path / "metrics.jsonl").open("a") as f:
        f.write(json.dumps({"step": 15, "train/loss": 1.0}) + "\n")  # logged, then a crash
        f.write('{"step": 16, "train/lo')  # torn mid-write
    train(compose_cfg([*SHORT, "steps=20", "resume=true"], tmp_path))
    steps = [r["step"] for r in records(tmp_path) if "train/loss" in r]
    assert steps == [5, 10, 15, 20]  # 15 once: from the resumed run
    assert records(tmp_path)[-1]["step"] == 20


def test_train_log_says_where_what_and_how_long(tmp_path):
    train(compose_cfg(SHORT, tmp_path))
    text = (tmp_path / "train.log").read_text()
    assert "device cpu" in text and "256 training points" in text and "parameters" in text
    assert "s/step" in text  # the estimate from the first steps
    assert "finished in" in text and "psnr" in text and str(tmp_path) in text


def test_a_failure_is_recorded_in_the_folder(tmp_path):
    run_folder.record_failure(tmp_path, ValueError("bad value"))
    assert (tmp_path / "error.txt").read_text().startswith("ValueError: bad value")
    train(compose_cfg(SHORT, tmp_path))  # a successful attempt in the folder clears it
    assert not (tmp_path / "error.txt").exists()


def test_config_changes_lists_nested_leaves_outside_the_allow_list():
    old = {"steps": 10, "logger": {"mode": "a"}, "optim": {"optimizer": {"lr": 1e-3}}}
    new = {"steps": 20, "logger": {"mode": "b"}, "optim": {"optimizer": {"lr": 1e-4}}, "x": 1}
    assert run_folder.config_changes(old, new) == [
        "optim.optimizer.lr: 0.001 -> 0.0001",
        "x: '<absent>' -> 1",
    ]


def test_wall_seconds_count_every_session_of_a_resumed_run(tmp_path):
    first = train(compose_cfg(SHORT, tmp_path))
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["summary"]
    assert 0 < saved["wall_seconds"] <= first["wall_seconds"]
    resumed = train(compose_cfg([*SHORT, "steps=15", "resume=true"], tmp_path))
    assert resumed["wall_seconds"] > saved["wall_seconds"]
