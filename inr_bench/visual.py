"""Pictures for the run folder: images, error maps and training curves (PNG)."""

from __future__ import annotations

import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from torch import Tensor


def save_image(path: Path, image: Tensor | np.ndarray) -> Path:
    """Write an (H, W, C) image in [0, 1] (C = 1 or 3) as 8-bit PNG, atomically."""
    array = image.detach().cpu().numpy() if isinstance(image, Tensor) else np.asarray(image)
    array = (np.clip(array, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    tmp = path.with_name(path.stem + ".tmp.png")
    iio.imwrite(tmp, array)
    os.replace(tmp, path)
    return path


def error_map(pred: Tensor, target: Tensor, vmax: float = 0.1) -> np.ndarray:
    """(H, W, 3) colour map of |pred - target| averaged over channels, 0 → black, ≥ vmax → white."""
    from matplotlib import colormaps

    err = (pred - target).abs().mean(dim=-1).cpu().numpy()
    return colormaps["inferno"](np.clip(err / vmax, 0.0, 1.0))[..., :3]


def plot_curves(history: list[dict], path: Path) -> Path | None:
    """Loss and PSNR against step from the metrics.jsonl records."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(r["step"], r["train/loss"]) for r in history if "train/loss" in r]
    evals = [(r["step"], r["eval/psnr"]) for r in history if "eval/psnr" in r]
    if not train and not evals:
        return None
    fig, (ax_loss, ax_psnr) = plt.subplots(1, 2, figsize=(9, 3.2))
    if train:
        ax_loss.semilogy(*zip(*train, strict=True))
    ax_loss.set(xlabel="step", ylabel="train loss")
    if evals:
        ax_psnr.plot(*zip(*evals, strict=True), marker=".")
    ax_psnr.set(xlabel="step", ylabel="PSNR [dB] (full grid, [0,1])")
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path
