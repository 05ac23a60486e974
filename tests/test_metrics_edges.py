"""SASNet's edge-region PSNR and noisiness on constructed images."""

from __future__ import annotations

import math

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from _devices import DEVICES
from conftest import TINY, compose_cfg

from inr_bench.metrics.edges import Noisiness, PSNREdge, edge_mask
from inr_bench.signals.image import ImageSignal, grid
from inr_bench.train import train


def square(size: int = 32) -> torch.Tensor:
    """(H, W, 1): a bright square on a dark background: edges only along its border."""
    image = torch.zeros(size, size, 1)
    image[8:24, 8:24] = 1.0
    return image


def test_edge_mask_follows_the_border():
    mask = edge_mask(square().double().numpy())
    assert mask[8, 16] and mask[16, 8]  # on the border
    assert not mask[16, 16] and not mask[0, 0]  # inside and far outside


@pytest.mark.parametrize("device", DEVICES)
def test_psnr_edge_sees_only_errors_on_edges(device):
    target = square()
    mask = torch.from_numpy(edge_mask(target.double().numpy()))
    off_edges = (target + 0.1 * (~mask).unsqueeze(-1)).to(device)
    on_edges = (target + 0.1 * mask.unsqueeze(-1)).to(device)
    target = target.to(device)
    assert PSNREdge()(off_edges, target) == math.inf
    assert PSNREdge()(on_edges, target) == pytest.approx(20.0)  # MSE 0.01 over the region
    literal = PSNREdge(average="image")(on_edges, target)
    assert literal == pytest.approx(20.0 - 10 * math.log10(mask.float().mean().item()))


class Ramp(torch.nn.Module):
    """f(x) = a·x_col + b, the network of a linear ramp image (exact gradient a)."""

    def __init__(self, slope: float, wiggle: float = 0.0) -> None:
        super().__init__()
        self.slope, self.wiggle = slope, wiggle

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        col = coords[:, 1:2]
        return self.slope * col + self.wiggle * torch.sin(40 * coords[:, :1])


def ramp_signal(tmp_path) -> ImageSignal:
    values = (grid(16, 16)[:, 1].reshape(16, 16) + 1) / 2  # 0 -> 1 left to right
    path = tmp_path / "ramp.png"
    iio.imwrite(path, np.round(values.numpy() * 65535).astype(np.uint16))  # 16 bit: ~exact
    return ImageSignal(image=str(path), resize=None, value_range=(0.0, 1.0))


@pytest.mark.parametrize("device", DEVICES)
def test_noisiness_is_zero_for_the_exact_network_and_grows_with_noise(tmp_path, device):
    signal = ramp_signal(tmp_path).to(device)
    target = signal.image
    metric = Noisiness()
    exact = metric(target, target, model=Ramp(0.5), signal=signal, chunk=50)
    noisy = metric(target, target, model=Ramp(0.5, wiggle=0.05), signal=signal, chunk=50)
    assert exact == pytest.approx(0.0, abs=1e-3)
    assert noisy > 0.5  # |d/dx 0.05 sin(40x)| averages 2/pi * 2 = 1.27


def test_image_edges_metrics_run_in_training(tmp_path):
    result = train(compose_cfg([*TINY, "metrics=image_edges"], tmp_path))
    assert math.isfinite(result["eval/psnr_edge"]) and math.isfinite(result["eval/noisiness"])
