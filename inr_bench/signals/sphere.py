"""Spherical signal: a scalar field on a latitude–longitude grid, e.g. ERA5 2 m temperature
(weight scaling §5.1 "Task: Spherical data", Table 1 ERA5 column).

Inputs are lifted to 3-D points of the unit sphere, (cos φ cos θ, cos φ sin θ, sin φ) for
latitude φ and longitude θ (WS §5.1, following Dupont et al. 2022 / COIN++), so that the
network sees no seam at θ = 0 and no edge at the poles. Values are mapped to [0, 1] by
``value_bounds`` (ERA5 as COIN++ loads it: 202.66–320.93 K) or, when null, by the field's own
min–max, trained in ``value_range`` and measured on [0, 1].

Metrics (conf/metrics/sphere.yaml): ``psnr``, the paper's training PSNR (every grid point
counts the same), and ``psnr_weighted``, each point weighted by cos φ, the area of its cell on
the sphere (an equiangular grid has as many points at 80° as at the equator).

Sources: a file read by ``sphere_io`` (NPY, NPZ, NetCDF), a folder (the ``item``-th of its
files matching ``pattern``: ``field=era5 pattern="era5_temp2m_16x_test/*.npz"``), or
``synthetic``: a sum of real spherical harmonics up to ``synthetic_degree`` with seeded
coefficients, on a ``synthetic_shape`` equiangular grid, for tests and laptops.

NaNs (land masks, missing values): ``nan_policy="raise"`` refuses the field naming the file and
the count; ``"mask"`` warns and leaves those points out of training and of every metric.
"""

from __future__ import annotations

import math
import warnings
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
from inr_bench.signals.sphere_io import SUFFIXES, equiangular_axes, read_grid
from inr_bench.visual import error_map, save_image

NAN_POLICIES = ("raise", "mask")


def lift(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """(H, W, 3) points on the unit sphere for the grid of latitudes (H,) × longitudes (W,)."""
    phi, theta = np.meshgrid(np.radians(lat_deg), np.radians(lon_deg), indexing="ij")
    return np.stack([np.cos(phi) * np.cos(theta), np.cos(phi) * np.sin(theta), np.sin(phi)], -1)


def real_harmonic(degree: int, order: int, lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """(H, W) real orthonormal spherical harmonic Y_l^m on the grid: ∫ Y_l^m Y_l'^m' dΩ = δδ."""
    from scipy.special import sph_harm_y

    polar, azimuth = np.meshgrid(np.radians(90.0 - lat_deg), np.radians(lon_deg), indexing="ij")
    y = sph_harm_y(degree, abs(order), polar, azimuth)
    if order == 0:
        return y.real
    part = y.real if order > 0 else y.imag
    return math.sqrt(2) * (-1) ** order * part


def harmonic_field(
    shape: Sequence[int], degree: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[tuple[int, int], float]]:
    """(lat, lon, field (H, W), coefficients {(n, m): c}): Σ c_nm Y_n^m with c ~ N(0, 1/(n+1)),
    degrees n ≤ ``degree``, on the equiangular grid of ``shape``. Degrees above the grid's
    Nyquist (n > W/2) alias, as the subsampled ERA5 grids do."""
    from scipy.special import sph_harm_y

    rng = np.random.default_rng(seed)
    lat, lon = equiangular_axes((int(shape[0]), int(shape[1])))
    polar, azimuth = np.meshgrid(np.radians(90.0 - lat), np.radians(lon), indexing="ij")
    field, coefficients = np.zeros(polar.shape), {}
    for n in range(degree + 1):
        orders = np.arange(n + 1)[:, None, None]
        y = sph_harm_y(n, orders, polar, azimuth)  # (n + 1, H, W): all orders m >= 0 at once
        signs = math.sqrt(2) * (-1.0) ** orders
        real = np.concatenate([(signs * y.imag)[:0:-1], y.real[:1], (signs * y.real)[1:]])
        c = rng.normal(0.0, 1.0 / (n + 1), size=2 * n + 1)  # orders -n .. n
        field += np.tensordot(c, real, axes=1)
        coefficients.update({(n, m): float(c[m + n]) for m in range(-n, n + 1)})
    return lat, lon, field, coefficients


def field_file(field: str, pattern: str, item: int) -> Path:
    """The file ``field`` names, or, for a folder (the era5 dataset), the ``item``-th of its
    files matching ``pattern`` in sorted order (COIN++'s loader sorts them too)."""
    path = data.resolve(field, "signal.field")
    if path.is_dir():
        files = sorted(p for p in path.glob(pattern) if p.name.lower().endswith(SUFFIXES))
        if not files:
            raise UserError(f"signal.pattern={pattern!r}: no {'/'.join(SUFFIXES)} file in {path}")
        if not -len(files) <= item < len(files):
            raise UserError(f"signal.item={item}: {path}/{pattern} has {len(files)} files")
        return files[item]
    if not path.name.lower().endswith(SUFFIXES):
        raise UserError(f"signal.field: {path} is not a {'/'.join(SUFFIXES)} file")
    return path


class SphereSignal(Signal):
    """coords (M, 3) on the unit sphere, values (M, 1): the grid's M valid points (all H·W unless
    NaNs are masked). ``grid`` (H, W) is the field on [0, 1] (NaN where masked), ``weight``
    (H, W) the cos-latitude area weight (0 where masked), ``lat`` / ``lon`` the axes (degrees)."""

    kind = "sphere"
    in_dim = 3
    out_dim = 1

    def __init__(
        self,
        field: str = "synthetic",
        pattern: str = "*",
        item: int = 0,
        variable: str = "temperature",
        lat_key: str = "latitude",
        lon_key: str = "longitude",
        time_index: int = 0,
        value_bounds: Sequence[float] | None = None,
        value_range: Sequence[float] = (0.0, 1.0),
        nan_policy: str = "raise",
        synthetic_shape: Sequence[int] = (46, 90),
        synthetic_degree: int = 8,
        seed: int = 0,
    ) -> None:
        lo, hi = (float(v) for v in value_range)
        if not hi > lo:
            raise UserError(f"signal.value_range must be [low, high] with high > low, got {lo, hi}")
        if nan_policy not in NAN_POLICIES:
            raise UserError(f"signal.nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}")
        self.value_range = (lo, hi)
        if field == "synthetic":
            lat, lon, grid, _ = harmonic_field(synthetic_shape, synthetic_degree, seed)
            where = "synthetic"
        else:
            path = field_file(field, pattern, item)
            lat, lon, grid = read_grid(path, variable, lat_key, lon_key, time_index)
            where = f"{path}:{variable}"
        valid = self._check_nans(grid, where, nan_policy)
        grid = _normalise(grid, valid, value_bounds, where)
        self.lat, self.lon = torch.from_numpy(lat), torch.from_numpy(lon)
        self.grid = torch.from_numpy(grid).float()
        self.mask = torch.from_numpy(valid)
        cos = np.clip(np.cos(np.radians(lat)), 0.0, None)[:, None]
        self.weight = torch.from_numpy(np.where(valid, cos, 0.0)).float()
        self.points = torch.from_numpy(lift(lat, lon).reshape(-1, 3)).float()  # every grid point
        self.coords = self.points[self.mask.reshape(-1)]
        self.values = lo + (hi - lo) * self.grid[self.mask].reshape(-1, 1)

    @staticmethod
    def _check_nans(grid: np.ndarray, where: str, nan_policy: str) -> np.ndarray:
        """(H, W) bool of finite points; refuses or warns about the others."""
        valid = np.isfinite(grid)
        bad = int((~valid).sum())
        if bad == valid.size:
            raise UserError(f"signal.field: {where} holds no finite value")
        if bad and nan_policy == "raise":
            raise UserError(
                f"signal.field: {where} has {bad} NaN/inf values of {valid.size}; set "
                "signal.nan_policy=mask to train and measure on the finite points only"
            )
        if bad:
            warnings.warn(
                f"{where}: {bad} NaN/inf points masked out of training and metrics", stacklevel=3
            )
        return valid

    def train_metrics(self, mean_loss: float) -> dict[str, float]:
        """The paper's training PSNR on [0, 1] of this step's points, from their mean MSE."""
        lo, hi = self.value_range
        mse = mean_loss / (hi - lo) ** 2
        return {"psnr": 10 * math.log10(1 / mse) if mse > 0 else math.inf}

    def _reconstruct(self, model: torch.nn.Module, chunk: int) -> torch.Tensor:
        """(H, W) fit on [0, 1] at every grid point (masked ones included, for the map)."""
        pred = to_unit(predict(model, self.points, chunk), self.value_range)
        return pred.cpu().view(self.grid.shape)

    def evaluate(self, model: torch.nn.Module, metrics: dict[str, Any], chunk: int) -> dict:
        pred = self._reconstruct(model, chunk)
        target = torch.nan_to_num(self.grid.cpu())
        return {name: metric(pred, target, self.weight.cpu()) for name, metric in metrics.items()}

    def save_artifacts(self, model: torch.nn.Module, folder: Path, chunk: int) -> dict[str, Path]:
        """sphere.png: equirectangular maps (north up, longitude increasing to the right) of the
        ground truth, the fit and |error| (black 0, white ≥ 0.1); masked points grey."""
        from matplotlib import colormaps

        north_up = torch.argsort(self.lat.cpu(), descending=True)
        east = torch.argsort(self.lon.cpu() % 360.0)
        order = (north_up[:, None], east[None, :])
        pred, target = self._reconstruct(model, chunk)[order], self.grid.cpu()[order]
        mask = self.mask.cpu()[order].numpy()[..., None]
        rows = [colormaps["viridis"](np.clip(f.numpy(), 0, 1))[..., :3] for f in (target, pred)]
        rows.append(error_map(pred[..., None], torch.nan_to_num(target)[..., None]))
        rows = [np.where(mask, row, 0.5) for row in rows]
        gap = np.ones((2, rows[0].shape[1], 3))
        image = np.concatenate([rows[0], gap, rows[1], gap, rows[2]], axis=0)
        zoom = max(1, 720 // image.shape[1])  # ERA5's 46 x 90 grid: pixels large enough to see
        image = image.repeat(zoom, axis=0).repeat(zoom, axis=1)
        return {"sphere": save_image(folder / "sphere.png", image)}


def _normalise(
    grid: np.ndarray, valid: np.ndarray, bounds: Sequence[float] | None, where: str
) -> np.ndarray:
    """The field on [0, 1]: (grid − low) / (high − low) for ``bounds`` or the finite min–max."""
    low, high = (
        (float(b) for b in bounds)
        if bounds is not None
        else (
            grid[valid].min(),
            grid[valid].max(),
        )
    )
    if not high > low:
        raise UserError(f"signal.value_bounds: {where} spans [{low}, {high}], nothing to fit")
    return np.where(valid, (grid - low) / (high - low), np.nan)
