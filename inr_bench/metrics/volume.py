"""Volume metrics: PSNR and SSIM over a whole 3-D scalar grid on the [0, 1] scale (SASNet §4.2,
FINER's volume protocol). Both take ``pred`` and ``target`` float tensors (D, H, W)."""

from __future__ import annotations

import math

import torch
from skimage.metrics import structural_similarity

from inr_bench.metrics.image import psnr


def _check_volume(pred: torch.Tensor, target: torch.Tensor, metric: str) -> None:
    if pred.shape != target.shape or pred.dim() != 3:
        raise ValueError(
            f"{metric}: expected two volumes (D, H, W) of one shape, got {tuple(pred.shape)} "
            f"and {tuple(target.shape)}"
        )


class PSNR:
    """-10 log10(MSE) over every voxel against a peak of 1; ``clip`` clamps pred to [0, 1]."""

    kinds = ("volume",)

    def __init__(self, clip: bool = False) -> None:
        self.clip = clip

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        _check_volume(pred, target, "PSNR")
        return psnr(pred, target, clip=self.clip)


class SSIM:
    """Mean SSIM of scikit-image's ``structural_similarity`` on the 3-D array (7³ uniform window,
    ``data_range=1``), pred clamped to [0, 1]; volumes thinner than 7 voxels use the largest odd
    window that fits, below 3 voxels it is nan."""

    kinds = ("volume",)

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        _check_volume(pred, target, "SSIM")
        shortest = min(pred.shape)
        win_size = min(7, shortest if shortest % 2 else shortest - 1)
        if win_size < 3:
            return math.nan
        return float(
            structural_similarity(
                pred.clamp(0, 1).double().cpu().numpy(),
                target.double().cpu().numpy(),
                data_range=1.0,
                win_size=win_size,
            )
        )
