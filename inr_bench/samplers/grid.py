"""The regular grid behind a fixed point set (pixels, voxels, audio samples).

EGRA, soft mining, EVOS and expansive supervision reason about neighbours (edges,
Laplacians, Langevin moves); every fixed point set of the project lies on a grid
``linspace(-1, 1)`` per axis, possibly with holes (held-out test pixels). ``PointGrid``
recovers that grid from ``signal.coords`` alone, so the samplers stay signal-agnostic.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from inr_bench.errors import UserError


class PointGrid:
    """Axis values, the (N,) -> cell map and the dense cell -> index table (-1 = hole)."""

    def __init__(self, coords: Tensor, name: str) -> None:
        axes = [torch.unique(coords[:, k]) for k in range(coords.shape[1])]
        self.shape = tuple(len(a) for a in axes)
        cells = math.prod(self.shape)
        if cells > 4 * coords.shape[0]:
            raise UserError(
                f"sampler={name} needs training points on a regular grid (pixels, voxels, "
                f"samples); these {coords.shape[0]} points span {cells} grid cells"
            )
        self.axes = axes
        # (N, d) integer cell of every point, and the dense table back to point indices.
        self.cell = torch.stack(
            [torch.searchsorted(a, coords[:, k].contiguous()) for k, a in enumerate(axes)], 1
        )
        self.table = torch.full(self.shape, -1, dtype=torch.long, device=coords.device)
        self.table[tuple(self.cell.t())] = torch.arange(coords.shape[0], device=coords.device)
        self.spacing = torch.stack([(a[-1] - a[0]) / max(len(a) - 1, 1) for a in axes])

    def dense(self, values: Tensor) -> Tensor:
        """(N, C) point values -> (C, *shape) grid, 0 in holes."""
        grid = values.new_zeros((values.shape[1], *self.shape))
        grid[(slice(None), *self.cell.t())] = values.t()
        return grid

    def gather(self, grid: Tensor) -> Tensor:
        """(C, *shape) grid -> (N, C) at the points."""
        return grid[(slice(None), *self.cell.t())].t()

    def gradient_magnitude(self, values: Tensor) -> Tensor:
        """(N,) ‖∇y‖ by central differences per axis (in grid steps), 2-norm over channels."""
        grid = self.dense(values)
        dims = [k + 1 for k, n in enumerate(self.shape) if n > 1]
        parts = torch.gradient(grid, dim=dims) if dims else [torch.zeros_like(grid)]
        squared = sum(g.square() for g in parts).sum(0, keepdim=True)
        return self.gather(squared.sqrt()).squeeze(1)

    def laplacian(self, values: Tensor) -> Tensor:
        """(N, C) discrete Laplacian (sum of second differences per axis, replicate border)."""
        grid = self.dense(values)
        out = torch.zeros_like(grid)
        for k, n in enumerate(self.shape):
            if n < 3:
                continue
            dim = k + 1
            padded = torch.cat([grid.narrow(dim, 0, 1), grid, grid.narrow(dim, n - 1, 1)], dim)
            out += padded.narrow(dim, 0, n) + padded.narrow(dim, 2, n) - 2 * grid
        return self.gather(out)

    def snap(self, position: Tensor) -> Tensor:
        """(B, d) continuous coordinates -> (B,) index of the nearest cell's point (-1: hole)."""
        cell = []
        for k, a in enumerate(self.axes):
            step = self.spacing[k] if len(a) > 1 else a.new_ones(())
            i = torch.round((position[:, k] - a[0]) / step).long()
            cell.append(i.clamp(0, len(a) - 1))
        return self.table[tuple(cell)]
