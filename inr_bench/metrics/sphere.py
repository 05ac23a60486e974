"""Spherical metrics: PSNR over a latitude–longitude grid on the [0, 1] scale, plain (weight
scaling §5.1's training PSNR: every grid point counts the same) or weighted by each point's
cell area, cos(latitude). All take ``pred`` and ``target`` (H, W) and ``weight`` (H, W), the
signal's cos-latitude weights, 0 at masked points."""

from __future__ import annotations

import math

import torch


class PSNR:
    """-10 log10(MSE) against a peak of 1, MSE the mean over every unmasked grid point (weight
    scaling's training PSNR). ``clip`` clamps pred to [0, 1] first."""

    kinds = ("sphere",)
    weighted = False

    def __init__(self, clip: bool = False) -> None:
        self.clip = clip

    def __call__(self, pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> float:
        if not pred.shape == target.shape == weight.shape or pred.dim() != 2:
            raise ValueError(
                f"sphere PSNR: expected pred, target and weight (H, W) of one shape, got "
                f"{tuple(pred.shape)}, {tuple(target.shape)}, {tuple(weight.shape)}"
            )
        if self.clip:
            pred = pred.clamp(0.0, 1.0)
        w = weight.double() if self.weighted else (weight > 0).double()
        # float64 so that the dB do not depend on the reduction order
        mse = ((pred.double() - target.double()).square() * w).sum().item() / w.sum().item()
        return math.inf if mse == 0.0 else -10.0 * math.log10(mse)


class WeightedPSNR(PSNR):
    """PSNR with MSE = Σ w (p − t)² / Σ w, w = cos(latitude): each point counts by the area of
    its cell on the sphere."""

    weighted = True
