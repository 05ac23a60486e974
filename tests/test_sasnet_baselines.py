"""SASNet Table 1's extra baselines: GaussianImage's tiled rasteriser equals the dense sum, each
backbone fits a small image, SAPE's masks open where the loss is high, batched runs refuse what
cannot be stacked."""

from __future__ import annotations

import pytest
import torch

from inr_bench.backbones.gaussian_image import LOG_255, GaussianImage, tile_pairs
from inr_bench.backbones.neurbf import NeuRBF
from inr_bench.backbones.sape import SAPE
from inr_bench.errors import UserError
from inr_bench.networks import Networks
from inr_bench.signals.image import grid


def dense(model: GaussianImage, x: torch.Tensor) -> torch.Tensor:
    """Every (point, Gaussian) pair: Σ_g c_g exp(−σ) [0 ≤ σ ≤ ln 255], no tiles."""
    mean, conic, _ = model.gaussians()
    delta = (x + 1) * model.pixels_per_unit - mean[:, None]  # (G, N, d)
    sigma = 0.5 * torch.einsum("gni,gij,gnj->gn", delta, conic, delta)
    return (torch.exp(-sigma) * (sigma >= 0) * (sigma <= LOG_255)).t() @ model.color


@pytest.mark.parametrize("tile,pairs", [(1, 1 << 22), (3, 50), (16, 1 << 22)])
def test_tiled_rasteriser_equals_the_dense_sum(tile, pairs):
    torch.manual_seed(0)
    model = GaussianImage(2, 3, num_gaussians=60, resolution=[13, 9], tile=tile).double()
    model.pairs_per_chunk = pairs  # 50: many checkpointed chunks
    with torch.no_grad():
        model.chol_raw.mul_(3)  # a range of sizes: some Gaussians span several tiles
    x = torch.cat([grid(13, 9, dtype=torch.float64), torch.rand(20, 2).double() * 2.4 - 1.2])
    out = model(x)
    torch.testing.assert_close(out, dense(model, x), rtol=0, atol=1e-12)
    out.square().sum().backward()
    tiled = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    dense(model, x).square().sum().backward()
    for a, b in zip(tiled, [p.grad for p in model.parameters()], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_tile_pairs_hold_every_nonzero_pair_once():
    torch.manual_seed(1)
    model = GaussianImage(2, 1, num_gaussians=30, resolution=20, tile=4)
    mean, _, half = model.gaussians()
    points = (grid(20, 20) + 1) * model.pixels_per_unit
    point, gauss = tile_pairs(points, mean.detach(), half, 4)
    pairs = set(zip(point.tolist(), gauss.tolist(), strict=True))
    assert len(pairs) == len(point)  # no duplicates
    inside = ((points[:, None] - mean[None]).abs() <= half[None]).all(-1)  # (N, G) in the box
    assert {tuple(p) for p in inside.nonzero().tolist()} <= pairs


def fit(model: torch.nn.Module, steps: int, lr: float, hook=None) -> float:
    """PSNR (dB, values in [-1, 1]) after ``steps`` full-batch Adam steps on a 16x16 image;
    ``hook(x, point_loss)`` after each step (SAPE's progression)."""
    x = grid(16, 16)
    r = x.norm(dim=1, keepdim=True)
    target = torch.cat([torch.sin(6 * x[:, :1]), (r < 0.6).float() * 2 - 1, x[:, 1:]], dim=1)
    groups = [{**g, "lr": g.get("lr", lr)} for g in model.param_groups()]
    optimizer = torch.optim.Adam(groups, lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        (model(x) - target).square().mean().backward()
        optimizer.step()
        if hook is not None:
            with torch.no_grad():
                hook(x, (model(x) - target).square().mean(1))
    with torch.no_grad():
        mse = (model(x) - target).square().mean() / 4  # on [0, 1]
    return float(-10 * torch.log10(mse))


@pytest.mark.parametrize(
    "make,lr,bar",
    [  # measured after 60 steps: GI 21.8, NeuRBF 38.7, SAPE 26.4 dB; untrained < 10 dB
        (lambda: GaussianImage(2, 3, num_gaussians=256, resolution=16, lr=5e-2), 5e-2, 18),
        (lambda: NeuRBF(2, 3, 6, hidden_features=32, grid_log2_size=8, grid_max_res=16), 1e-2, 32),
        (
            lambda: SAPE(2, 3, 64, 2, 32, sigma=2, mask_resolution=16, progression_steps=30),
            3e-3,
            22,
        ),
    ],
    ids=["gaussian_image", "neurbf", "sape"],
)
def test_each_baseline_fits_a_small_image(make, lr, bar):
    torch.manual_seed(0)
    model = make()
    psnr = fit(model, 60, lr, hook=getattr(model, "observe", None))
    assert psnr > bar, (type(model).__name__, psnr)
    if isinstance(model, SAPE):
        assert model.progress.max() == 1  # the residual opened the encoding


def test_sape_masks_open_band_by_band_where_the_loss_is_high():
    model = SAPE(2, 1, 8, 1, num_frequencies=4, mask_resolution=3, progression_steps=8)
    x = grid(3, 3)
    loss = torch.zeros(9)
    loss[4] = 1.0  # only the centre is badly fitted
    for _ in range(3):
        model.observe(x, loss)
    assert model.progress[4] == 3 / 8 and model.progress.sum() == 3 / 8
    torch.testing.assert_close(model.masks(x[4:5]), torch.tensor([[1.0, 0.5, 0.0, 0.0]]))
    assert (model.masks(x[:1]) == 0).all()
    between = model.masks(torch.tensor([[0.0, 0.5]]))  # halfway to a closed node
    torch.testing.assert_close(between, torch.tensor([[0.75, 0.0, 0.0, 0.0]]))


def test_sape_refuses_to_train_without_its_progression():
    model = SAPE(2, 1, 8, 1, num_frequencies=4, mask_resolution=3)
    with pytest.raises(UserError, match="schedule=sape"):
        for _ in range(5):
            model(torch.rand(4, 2)).sum().backward()
            model.regularizer()


def test_neurbf_stacks_and_the_others_refuse_batched_runs():
    """Under the stacked forward of many networks (inr_bench/networks.py, vmap) NeuRBF equals each
    member; GaussianImage and SAPE refuse (runs of many refuse them at start-up already)."""
    torch.manual_seed(0)
    rbfs = [NeuRBF(2, 3, kernels_per_axis=4, hidden_features=8) for _ in range(2)]
    x = torch.rand(2, 5, 2) * 2 - 1
    out = Networks(rbfs)(x)
    for i, model in enumerate(rbfs):
        torch.testing.assert_close(out[i], model(x[i]), rtol=1e-6, atol=1e-6)
    gis = [GaussianImage(2, 3, num_gaussians=5, resolution=4) for _ in range(2)]
    with pytest.raises(UserError, match="GaussianImage cannot be trained in a batched run"):
        Networks(gis)(x)
    sapes = [SAPE(2, 3, 8, 1, num_frequencies=4, mask_resolution=3) for _ in range(2)]
    with pytest.raises(UserError, match="SAPE cannot be trained in a batched run"):
        Networks(sapes)(x)


def test_sape_trains_through_the_loop_with_its_schedule(tmp_path):
    """schedule=sape feeds the progression from the run's own training points; the progress
    is a buffer, so model.pt carries it."""
    from conftest import TINY, compose_cfg

    from inr_bench.backbones import load_model
    from inr_bench.train import train

    small = [*TINY, "signal.resize=16", "steps=4", "eval_every=4", "backbone=sape",
             "backbone.mask_resolution=16", "backbone.progression_steps=4"]  # fmt: skip
    train(compose_cfg([*small, "schedule=sape"], tmp_path / "fed"))
    progress = load_model(tmp_path / "fed" / "model.pt").progress
    assert progress.max() == 1.0  # 4 steps above the threshold: fully open there
    with pytest.raises(UserError, match="add schedule=sape"):
        train(compose_cfg(small, tmp_path / "unfed"))
