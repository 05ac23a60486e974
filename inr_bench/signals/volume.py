"""Volume signal: a 3-D scalar grid (MRI, smoke density) on [-1, 1]³ (SASNet §4.2, FINER's
volume protocol on ScalarFlow smoke).

Sources: ``.npy``, ``.npz`` (its ``key`` array, else the first), NIfTI ``.nii`` / ``.nii.gz``
(nibabel), a dataset item ("volumes/colin27_t1"), or ``synthetic``: a procedural smoke-like plume
(rising, swirling Gaussian puffs) for tests and laptops. Values are min–max normalised to
[0, 1], trained in ``value_range`` and measured (PSNR, SSIM over the volume) on [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inr_bench import data
from inr_bench.backbones.base import predict
from inr_bench.errors import UserError
from inr_bench.metrics.image import to_unit
from inr_bench.signals.base import Signal
from inr_bench.visual import error_map, save_image

VOLUME_SUFFIXES = (".npy", ".npz", ".nii", ".nii.gz")


def smoke(shape: Sequence[int], seed: int = 0, puffs: int = 24) -> np.ndarray:
    """(D, H, W) smoke-like density in [0, 1]: Gaussian puffs rising along axis 1 (H, "up" as in
    ScalarFlow's 100x178x100 grids), displaced by a sinusoidal swirl, fading with height."""
    rng = np.random.default_rng(seed)
    d, h, w = (np.linspace(-1, 1, n) for n in shape)
    z, y, x = np.meshgrid(d, h, w, indexing="ij")
    field = np.zeros(tuple(shape))
    for _ in range(puffs):
        height = rng.uniform(-0.9, 0.9)
        swirl = 0.3 * (height + 1) / 2
        cx = swirl * math.sin(5 * height + rng.uniform(0, 2 * math.pi))
        cz = swirl * math.cos(4 * height + rng.uniform(0, 2 * math.pi))
        radius = rng.uniform(0.08, 0.2) * (1.3 - 0.4 * height)
        dist2 = (x - cx) ** 2 + (y - height) ** 2 + (z - cz) ** 2
        field += rng.uniform(0.4, 1.0) * np.exp(-dist2 / (2 * radius**2))
    field *= 1 + 0.15 * np.sin(9 * x + 7 * y) * np.sin(8 * z - 5 * y)  # turbulent detail
    return field


def load_volume(ref: str, key: str | None = None) -> np.ndarray:
    """(D, H, W) float64 from what ``inr_bench.data.resolve`` finds: a file, else a dataset item
    ("volumes/colin27_t1"); UserError naming the file when it is not a readable 3-D volume."""
    path = data.resolve(ref, "signal.volume", kind="volume", suffixes=VOLUME_SUFFIXES)
    name = path.name.lower()
    try:
        if name.endswith((".nii", ".nii.gz")):
            import nibabel

            array = np.asarray(nibabel.load(path).get_fdata())
        elif name.endswith(".npz"):
            with np.load(path) as archive:
                array = archive[key or archive.files[0]]
        else:
            array = np.load(path)
    except Exception as err:
        raise UserError(f"signal.volume: {path} is not a readable volume ({err})") from err
    array = np.squeeze(array)
    if array.ndim != 3:
        raise UserError(f"signal.volume: {path} holds shape {array.shape}, expected 3-D")
    return array.astype(np.float64)


def grid3(shape: Sequence[int]) -> torch.Tensor:
    """(D·H·W, 3) voxel coordinates, linspace(-1, 1) per axis, ``indexing="ij"``."""
    # host: built once at construction; Signal.to moves it with the rest
    axes = [torch.linspace(-1, 1, n) for n in shape]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)


class VolumeSignal(Signal):
    """coords (D·H·W, 3), values (D·H·W, 1); ``resize`` ([d, h, w] or int) resamples first."""

    kind = "volume"
    in_dim = 3
    out_dim = 1

    def __init__(
        self,
        volume: str = "synthetic",
        key: str | None = None,
        resize: int | Sequence[int] | None = None,
        synthetic_shape: Sequence[int] = (32, 56, 32),
        value_range: Sequence[float] = (-1.0, 1.0),
        seed: int = 0,
    ) -> None:
        lo, hi = (float(v) for v in value_range)
        if not hi > lo:
            raise UserError(f"signal.value_range must be [low, high] with high > low, got {lo, hi}")
        self.value_range = (lo, hi)
        array = smoke(synthetic_shape, seed) if volume == "synthetic" else load_volume(volume, key)
        if resize is not None:
            from skimage.transform import resize as sk_resize

            size = (resize,) * 3 if isinstance(resize, int) else tuple(int(s) for s in resize)
            array = sk_resize(array, size, anti_aliasing=True)
        span = array.max() - array.min()
        if not span > 0:
            raise UserError(f"signal.volume={volume}: the volume is constant")
        self.shape = array.shape
        self.volume = torch.from_numpy((array - array.min()) / span).float()  # [0, 1]
        self.coords = grid3(self.shape)
        self.values = lo + (hi - lo) * self.volume.reshape(-1, 1)

    def train_metrics(self, mean_loss: float) -> dict[str, float]:
        """PSNR on [0, 1] of this step's points, from their mean MSE."""
        lo, hi = self.value_range
        mse = mean_loss / (hi - lo) ** 2
        return {"psnr": 10 * math.log10(1 / mse) if mse > 0 else math.inf}

    def _reconstruct(self, model: torch.nn.Module, chunk: int) -> torch.Tensor:
        return to_unit(predict(model, self.coords, chunk), self.value_range).cpu().view(self.shape)

    def evaluate(self, model: torch.nn.Module, metrics: dict[str, Any], chunk: int) -> dict:
        pred, target = self._reconstruct(model, chunk), self.volume.cpu()
        return {name: metric(pred, target) for name, metric in metrics.items()}

    def save_artifacts(self, model: torch.nn.Module, folder: Path, chunk: int) -> dict[str, Path]:
        """slices.png: the three central slices; rows ground truth, reconstruction, |error|."""
        pred, target = self._reconstruct(model, chunk), self.volume.cpu()
        rows = []
        for vol in (target, pred):
            rows.append([_grey(s) for s in _central_slices(vol)])
        rows.append(
            [
                error_map(p[..., None], t[..., None])
                for p, t in zip(_central_slices(pred), _central_slices(target), strict=True)
            ]
        )
        height = max(s.shape[0] for s in rows[0])
        image = np.concatenate(
            [np.concatenate([_pad(s, height) for s in row], axis=1) for row in rows], axis=0
        )
        return {"slices": save_image(folder / "slices.png", image)}


def _central_slices(volume: torch.Tensor) -> list[torch.Tensor]:
    d, h, w = volume.shape
    return [volume[d // 2], volume[:, h // 2], volume[:, :, w // 2]]


def _grey(slice2d: torch.Tensor) -> np.ndarray:
    return np.repeat(slice2d.clamp(0, 1).numpy()[..., None], 3, axis=-1)


def _pad(image: np.ndarray, height: int) -> np.ndarray:
    return np.pad(image, ((0, height - image.shape[0]), (0, 2), (0, 0)), constant_values=1.0)
