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


def save_figure(fig, path: Path) -> Path:
    """Write a matplotlib figure as PNG atomically (a temporary file renamed) and close it."""
    import matplotlib.pyplot as plt

    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
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
    return save_figure(fig, path)


def log_spectrum(image: Tensor | np.ndarray) -> np.ndarray:
    """(H, W) log(1 + |FFT|) of the grayscale image, zero frequency at the centre."""
    array = image.detach().cpu().numpy() if isinstance(image, Tensor) else np.asarray(image)
    gray = array.mean(axis=-1) if array.ndim == 3 else array
    return np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(gray - gray.mean()))))


def plot_spectra(pred: Tensor, target: Tensor, path: Path) -> Path:
    """Side by side log-magnitude spectra of the target and the reconstruction, on one colour
    scale, so that band limits (e.g. bounding) and high-frequency noise are visible."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spectra = [log_spectrum(target), log_spectrum(pred)]
    vmax = max(float(s.max()) for s in spectra)
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    for ax, spectrum, title in zip(axes, spectra, ("target", "reconstruction"), strict=True):
        ax.imshow(spectrum, cmap="magma", vmin=0, vmax=vmax)
        ax.set(title=f"{title}: log(1 + |FFT|)", xticks=[], yticks=[])
    fig.tight_layout()
    return save_figure(fig, path)


def plot_maps(maps: dict[str, np.ndarray], path: Path) -> Path:
    """One row per named (H, W, K) field, one panel per channel, on a common [0, 1] scale
    (SASNet's masks: a row per masked layer, a panel per neuron group)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = max(m.shape[-1] for m in maps.values())
    fig, axes = plt.subplots(len(maps), cols, figsize=(1.6 * cols, 1.7 * len(maps)), squeeze=False)
    for row, (name, field) in zip(axes, maps.items(), strict=True):
        for k, ax in enumerate(row):
            ax.set(xticks=[], yticks=[])
            if k < field.shape[-1]:
                ax.imshow(field[..., k], cmap="viridis", vmin=0.0, vmax=1.0)
                ax.set_title(f"{name} g{k + 1}", fontsize=7)
            else:
                ax.axis("off")
    fig.tight_layout()
    return save_figure(fig, path)
