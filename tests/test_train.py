"""The loop: a tiny run lowers the loss, is reproducible, resumes exactly, fails clearly."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import TINY, compose_cfg
from omegaconf import open_dict

from inr_bench.backbones import load_model
from inr_bench.build import build, lr_factor
from inr_bench.errors import NonFiniteLossError, UserError
from inr_bench.runtime import chunk_size
from inr_bench.step import train_step
from inr_bench.train import train


def test_smoke_run_lowers_loss_and_writes_run_folder(tmp_path):
    result = train(compose_cfg([*TINY, "steps=40", "eval_every=20"], tmp_path))
    series = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    losses = [r["train/loss"] for r in series if "train/loss" in r]
    assert losses[-1] < 0.5 * losses[0]
    final = json.loads((tmp_path / "metrics.json").read_text())
    assert final["eval/psnr"] == pytest.approx(result["eval/psnr"])
    assert final["params"] == result["params"] > 0
    for name in [
        "config.yaml",
        "model.pt",
        "checkpoint.pt",
        "reconstruction.png",
        "error.png",
        "reconstruction_x2.png",
        "spectrum.png",
        "curves.png",
    ]:
        assert (tmp_path / name).is_file(), name
    model = load_model(tmp_path / "model.pt")
    assert model.num_parameters() == result["params"]


def test_same_seed_same_metrics(tmp_path):
    a = train(compose_cfg([*TINY, "sampler=uniform"], tmp_path / "a"))
    b = train(compose_cfg([*TINY, "sampler=uniform"], tmp_path / "b"))
    c = train(compose_cfg([*TINY, "sampler=uniform", "seed=1"], tmp_path / "c"))
    assert a["eval/psnr"] == b["eval/psnr"]
    assert a["eval/psnr"] != c["eval/psnr"]


def test_resume_continues_from_checkpoint(tmp_path):
    straight = train(compose_cfg([*TINY, "sampler=uniform", "steps=20"], tmp_path / "straight"))
    train(compose_cfg([*TINY, "sampler=uniform", "steps=10"], tmp_path / "resumed"))
    resumed = train(
        compose_cfg([*TINY, "sampler=uniform", "steps=20", "resume=true"], tmp_path / "resumed")
    )
    assert resumed["eval/psnr"] == pytest.approx(straight["eval/psnr"], abs=1e-6)
    steps = [
        json.loads(line)["step"]
        for line in (tmp_path / "resumed/metrics.jsonl").read_text().splitlines()
    ]
    assert max(steps) == 20 and steps.count(5) == 1


def test_resume_without_checkpoint_fails(tmp_path):
    with pytest.raises(UserError, match="checkpoint.pt does not exist"):
        train(compose_cfg([*TINY, "resume=true"], tmp_path))


def test_non_finite_loss_names_step_range(tmp_path):
    cfg = compose_cfg([*TINY, "optim.optimizer.lr=1e30", "steps=20", "log_every=5"], tmp_path)
    with pytest.raises(NonFiniteLossError, match=r"between steps \d+ and \d+"):
        train(cfg)


@pytest.mark.parametrize("overrides", [[], ["sampler=soft_mining"]], ids=["full", "weighted"])
def test_chunked_step_has_the_full_batch_gradient(overrides, tmp_path):
    """The step's chunks sum to the full-batch loss, so every parameter gets the same gradient
    (soft mining: with per-point importance weights). EVOS' cross-frequency term couples
    neighbouring points, so there chunks see their neighbours' cached predictions instead."""
    grads = []
    for chunk in (10**6, 77):
        run = build(compose_cfg([*TINY, *overrides], tmp_path))
        batch = run.sampler.select(run.state)
        loss, _, point_loss = train_step(run.state, batch, chunk, run.schedule, run.sampler)
        assert loss.dim() == 0 and point_loss.shape == (len(batch),)
        grads.append([p.grad.clone() for p in run.state.model.parameters()])
    for full, chunked in zip(*grads, strict=True):
        torch.testing.assert_close(chunked, full, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("key,value", [("steps", -5), ("eval_every", 0), ("chunk", -1)])
def test_impossible_values_fail_naming_the_key(key, value, tmp_path):
    cfg = compose_cfg(TINY, tmp_path)
    with open_dict(cfg):
        cfg[key] = value
    with pytest.raises(UserError, match=key):
        train(cfg)


def test_held_out_pixels_are_reported(tmp_path):
    result = train(compose_cfg([*TINY, "signal.test_fraction=0.1"], tmp_path))
    assert {"eval/psnr_train", "eval/psnr_test"} <= result.keys()


def test_lr_decay_and_auto_chunk():
    assert lr_factor(0, 100, 0.1) == 1.0
    assert lr_factor(100, 100, 0.1) == pytest.approx(0.1)
    assert lr_factor(50, 100, None) == 1.0
    model = torch.nn.Linear(2, 256)
    assert chunk_size("auto", model, torch.device("cpu"), 10**6) == 4096
    assert chunk_size(1000, model, torch.device("cpu"), 10**6) == 1000


@pytest.mark.gpu
def test_auto_chunk_on_gpu_fits_free_memory():
    model = torch.nn.Linear(2, 256)
    assert chunk_size("auto", model, torch.device("cuda"), 1000) == 1000
    free, _ = torch.cuda.mem_get_info()
    big = chunk_size("auto", model, torch.device("cuda"), 10**10)  # far more than fits
    assert 1024 <= big < 10**10 and big * 256 * 4 < free


@pytest.mark.gpu
def test_cuda_run_matches_cpu(tmp_path):
    cpu = train(compose_cfg([*TINY, "device=cpu", "metrics=image"], tmp_path / "cpu"))
    gpu = train(compose_cfg([*TINY, "device=cuda", "metrics=image"], tmp_path / "gpu"))
    assert gpu["device"].startswith("cuda")
    assert gpu["eval/psnr"] == pytest.approx(cpu["eval/psnr"], abs=0.05)


@pytest.mark.parametrize(
    "overrides",
    [["precision=bf16"], pytest.param(["compile=true"], marks=pytest.mark.slow)],
    ids=["bf16", "compile"],
)
def test_precision_and_compile_runs_learn_like_fp32(overrides, tmp_path):
    """bf16 autocast and the compiled backbone train the smoke run to about fp32's PSNR."""
    tiny = [*TINY, "signal.resize=16", "steps=20", "eval_every=20"]
    fp32 = train(compose_cfg(tiny, tmp_path / "fp32"))
    other = train(compose_cfg([*tiny, *overrides], tmp_path / "other"))
    assert other["eval/psnr"] == pytest.approx(fp32["eval/psnr"], abs=0.5)


def test_unknown_precision_fails_naming_the_key(tmp_path):
    with pytest.raises(UserError, match="precision must be one of"):
        train(compose_cfg([*TINY, "precision=fp8"], tmp_path))


@pytest.mark.parametrize("seeds", [[], ["seeds=[0,1]"]], ids=["K=1", "K=2"])
def test_ema_weights_are_evaluated_and_saved(seeds, tmp_path):
    """optim.ema_decay: the loop averages every member's weights after each step; evaluation and
    model.pt use the average, the checkpoint keeps the live weights and the average."""
    cfg = compose_cfg([*TINY, *seeds, "signal.resize=16", "steps=6", "++optim.ema_decay=0.9"])
    with open_dict(cfg):
        cfg.run_dir = str(tmp_path)
    result = train(cfg)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    for k, ema in enumerate(ckpt["emas"]):
        path = tmp_path / (f"members/{k}/model.pt" if seeds else "model.pt")
        saved = load_model(path).state_dict()
        live = {n: t[k] if seeds else t for n, t in ckpt["model"].items()}
        assert ema["updates"] == 6
        assert all(torch.equal(saved[n], t) for n, t in ema["shadow"].items())
        assert any(not torch.equal(live[n], t) for n, t in ema["shadow"].items())
    assert len(ckpt["emas"]) == (2 if seeds else 1) and result["steps"] == 6


def test_gradient_clipping_is_torchs_per_network(tmp_path):
    """optim.clip_grad_norm scales the gradient as torch.nn.utils.clip_grad_norm_ does."""
    from inr_bench.networks import Networks
    from inr_bench.step import clip_member_grads

    model = build(compose_cfg([*TINY, "signal.resize=16"], tmp_path)).state.model
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    params = [torch.nn.Parameter(p.detach().clone()) for p in model.parameters()]
    for p, q in zip(params, model.parameters(), strict=True):
        p.grad = q.grad.clone()
    torch.nn.utils.clip_grad_norm_(params, 0.5)
    clip_member_grads(Networks([model]), 0.5)
    for p, q in zip(model.parameters(), params, strict=True):
        torch.testing.assert_close(p.grad, q.grad)
    assert torch.cat([p.grad.flatten() for p in model.parameters()]).norm() < 0.5 + 1e-5
