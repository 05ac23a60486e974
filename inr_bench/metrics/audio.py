"""Audio metrics: PSNR of a waveform (N, C) against the peak amplitude of the target."""

from __future__ import annotations

import math

import torch


class PSNR:
    """10 log10(peak² / MSE) over all samples, peak = max |target| (the weight-scaling code's
    MSE / max(gt)² convention carried to signed audio; with ``signal.normalize`` the peak is 1).
    ``peak`` fixes it instead (e.g. 2 for the full [-1, 1] range). Silence (peak 0) gives nan."""

    kinds = ("audio",)

    def __init__(self, peak: float | None = None) -> None:
        self.peak = peak

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        if pred.shape != target.shape:
            raise ValueError(f"PSNR: pred {tuple(pred.shape)} and target {tuple(target.shape)}")
        peak = self.peak if self.peak is not None else target.abs().max().item()
        mse = (pred.double() - target.double()).square().mean().item()
        if peak <= 0:  # silence: no peak to measure against
            return math.nan
        return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)
