"""Multiresolution hash-grid encoding (Müller et al., Instant-NGP, SIGGRAPH 2022) in plain PyTorch.

(N, d) coordinates in [-1, 1]^d -> (N, levels · features): at level l the domain is a grid of
resolution N_l = ⌊N_min · b^l⌋, b = exp((ln N_max − ln N_min)/(levels − 1)) (Instant-NGP eq. 2);
each point interpolates (d-linearly) the feature vectors of its 2^d grid corners, and the
per-level results are concatenated. A level whose (N_l + 1)^d corners fit in the table is
stored densely (one entry per corner); finer levels share a table of 2^log2_size entries through
the spatial hash (⊕_i c_i π_i) mod T with π = (1, 2654435761, 805459861) (Instant-NGP eq. 4).
Features start N(0, feature_std²) (SASNet supp. Table 1: 0.01). Runs on CPU and GPU; it is the
reference that a ``tinycudann`` encoding would have to match.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from inr_bench.backbones.base import gather_rows

PRIMES = (1, 2654435761, 805459861)


class HashGrid(nn.Module):
    def __init__(
        self,
        in_dim: int,
        levels: int = 10,
        features: int = 2,
        log2_size: int = 10,
        min_res: int = 16,
        max_res: int = 256,
        feature_std: float = 0.01,
    ) -> None:
        super().__init__()
        if in_dim > len(PRIMES):
            raise ValueError(f"hash grid supports up to {len(PRIMES)} input dims, got {in_dim}")
        self.in_dim, self.levels, self.features = in_dim, levels, features
        self.log2_size, self.min_res, self.max_res = log2_size, min_res, max_res
        growth = math.exp((math.log(max_res) - math.log(min_res)) / max(levels - 1, 1))
        self.resolutions = [math.floor(min_res * growth**level) for level in range(levels)]
        sizes = [min((r + 1) ** in_dim, 2**log2_size) for r in self.resolutions]
        self.dense = [(r + 1) ** in_dim <= 2**log2_size for r in self.resolutions]
        self.offsets = [0]
        for size in sizes:
            self.offsets.append(self.offsets[-1] + size)
        self.table = nn.Parameter(torch.randn(self.offsets[-1], features) * feature_std)
        corners = torch.cartesian_prod(*[torch.tensor([0, 1])] * in_dim).reshape(-1, in_dim)
        self.register_buffer("corners", corners, persistent=False)  # (2^d, d)

    @property
    def out_dim(self) -> int:
        return self.levels * self.features

    def index(self, cell: Tensor, level: int) -> Tensor:
        """(N, 2^d) table rows of the corners of each point's cell at ``level``."""
        corner = cell[:, None, :] + self.corners  # (N, 2^d, d) integer corner coordinates
        size = self.offsets[level + 1] - self.offsets[level]
        if self.dense[level]:
            stride = (self.resolutions[level] + 1) ** torch.arange(self.in_dim, device=cell.device)
            flat = (corner * stride).sum(-1)
        else:
            flat = torch.zeros_like(corner[..., 0])
            for i in range(self.in_dim):
                flat ^= corner[..., i] * PRIMES[i]
            flat = flat % size
        return flat + self.offsets[level]

    def forward(self, x: Tensor) -> Tensor:
        unit = ((x + 1) / 2).clamp(0, 1)  # [-1, 1] -> [0, 1]
        out = []
        for level, res in enumerate(self.resolutions):
            pos = unit * res
            cell = pos.floor().long().clamp(max=res - 1)
            frac = pos - cell  # (N, d) position inside the cell
            rows = self.index(cell, level)  # (N, 2^d)
            # d-linear weights: Π_i (frac_i if the corner's bit i is 1 else 1 − frac_i)
            weight = torch.where(self.corners.bool(), frac[:, None, :], 1 - frac[:, None, :])
            weight = weight.prod(-1)  # (N, 2^d)
            feats = gather_rows(self.table, rows)  # (N, 2^d, F)
            out.append((weight[..., None] * feats).sum(1))
        return torch.cat(out, dim=-1)
