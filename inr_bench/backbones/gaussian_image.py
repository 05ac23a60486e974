"""GaussianImage (Zhang et al., ECCV 2024): an image as G 2-D Gaussians summed without alpha
blending, the Cholesky variant, as a coordinate network (N, d) -> (N, out_dim).

    f(x) = Σ_g c_g · exp(−σ_g(x)) · [0 ≤ σ_g(x) ≤ ln 255],   σ_g(x) = ½ (x − μ_g)ᵀ Σ_g⁻¹ (x − μ_g)

(GaussianImage §3.2 "accumulated summation": opacity fixed to 1, no transmittance; the released
rasteriser skips a Gaussian where its weight is below 1/255). Σ_g = L_g L_gᵀ with L_g lower
triangular (§3.1, Cholesky factorisation), in pixel units: ``resolution`` pixels span [−1, 1]
on each axis (endpoint-inclusive, as the image signal's grid). Per Gaussian: mean (d), the
d(d+1)/2 entries of L, colour (out_dim): 8 parameters for RGB images.

Released code (GaussianImage_Cholesky): μ = tanh(raw), raw = atanh(U(−1, 1)); L = raw_L +
(0.5, 0, 0.5) with raw_L ~ U(0, 1); colours U(0, 1), no activation, render clamped to [0, 1];
Adan lr 1e-3 halved every 20 000 of 50 000 steps. We keep the init and the summation; we do not
clamp (our values may be in [−1, 1], and a clamp stops the gradient of saturated pixels), and the
optimizer is the run's (Adam) at ``lr``. The released rasteriser also culls each Gaussian to a
box of 3·sqrt(λ_max) pixels; we cull to the exact box of its 1/255 ellipse, so the tiles below
only speed the sum up and never change it (tested against the dense sum).

Rasteriser (pure PyTorch, any set of query points): points are binned into tiles of ``tile``
pixels; each Gaussian's ellipse box lists the tiles it touches; (Gaussian, point) pairs are made
only inside those tiles, ``pairs_per_chunk`` at a time, each chunk under activation
checkpointing, so memory stays bounded: 70 K Gaussians (at their initial size) on 768x512 make
8.7 M pairs with 4-pixel tiles, 37 M with the released code's 16 (measured on 2 CPU cores:
16 s vs 59 s a forward + backward, 2.4 GB peak). The tile size changes the speed, never the sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from inr_bench.backbones.base import Backbone
from inr_bench.errors import UserError

LOG_255 = math.log(255.0)  # σ above this: weight below 1/255, skipped (released rasteriser)


def refuse_vmap(model: nn.Module, reason: str) -> None:
    """Batched runs call ``forward`` under torch.func.vmap; say why this backbone cannot be."""
    first = next(model.parameters(), None)
    if first is not None and torch._C._functorch.is_batchedtensor(first):
        raise UserError(
            f"{type(model).__name__} cannot be trained in a batched run ({reason}): "
            "train the images one by one (no seeds list, one signal.image)"
        )


class GaussianImage(Backbone):
    """(N, in_dim) coordinates in [−1, 1] -> (N, out_dim): a sum of ``num_gaussians`` Gaussians."""

    # why runs of many networks (signal sets, seeds) refuse it at start-up (build.check_many)
    unstackable = "its tile lists have data-dependent sizes"

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        num_gaussians: int = 16640,
        resolution: int | Sequence[int] = 512,
        tile: int = 4,
        pairs_per_chunk: int = 1 << 22,
        lr: float | None = 1e-3,
        hidden_features: int | None = None,
        hidden_layers: int | None = None,
    ) -> None:
        """``hidden_features``: when given, the number of Gaussians (the capacity key that shared
        overrides such as debug=smoke and the SASNet sweeps set on every backbone; SASNet Fig. 6
        grows GaussianImage by its Gaussians). ``hidden_layers``: accepted for the same shared
        overrides; Gaussians have no layers."""
        super().__init__()
        num_gaussians = num_gaussians if hidden_features is None else hidden_features
        self.in_dim, self.out_dim, self.num_gaussians = in_dim, out_dim, int(num_gaussians)
        res = [int(resolution)] * in_dim if isinstance(resolution, int) else list(resolution)
        if len(res) != in_dim or min(res) < 2 or num_gaussians < 1 or tile < 1:
            raise UserError(
                f"backbone.resolution must be one int >= 2 or {in_dim} of them, num_gaussians and"
                f" tile positive; got resolution={resolution}, num_gaussians={num_gaussians},"
                f" tile={tile}"
            )
        self.resolution, self.tile, self.pairs_per_chunk, self.lr = res, tile, pairs_per_chunk, lr
        g, d = self.num_gaussians, in_dim
        rows, cols = torch.tril_indices(d, d)  # the entries of L, row-major
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)
        self.mean_raw = nn.Parameter(torch.atanh(2 * (torch.rand(g, d) - 0.5)))
        self.chol_raw = nn.Parameter(torch.rand(g, len(self.rows)))
        self.color = nn.Parameter(torch.rand(g, out_dim))
        # released code: +0.5 on the diagonal of L (pixels), 0 off it
        self.register_buffer("chol_bound", (self.rows == self.cols).float() * 0.5, persistent=False)
        scale = (torch.tensor(res, dtype=torch.float32) - 1) / 2  # pixels per coordinate unit
        self.register_buffer("pixels_per_unit", scale, persistent=False)

    def spec_kwargs(self) -> dict[str, Any]:
        return {
            "in_dim": self.in_dim,
            "out_dim": self.out_dim,
            "num_gaussians": self.num_gaussians,
            "resolution": self.resolution,
            "tile": self.tile,
            "pairs_per_chunk": self.pairs_per_chunk,
            "lr": self.lr,
        }

    def param_groups(self) -> list[dict[str, Any]]:
        group: dict[str, Any] = {"params": list(self.parameters())}
        return [group | ({"lr": self.lr} if self.lr is not None else {})]

    def gaussians(self) -> tuple[Tensor, Tensor, Tensor]:
        """Means (G, d) in pixels, conics Σ⁻¹ (G, d, d) in 1/pixel², box half-widths (G, d)."""
        d = self.in_dim
        mean = (torch.tanh(self.mean_raw) + 1) * self.pixels_per_unit
        chol = self.mean_raw.new_zeros(self.num_gaussians, d, d)
        chol[:, self.rows, self.cols] = self.chol_raw + self.chol_bound
        cov = chol @ chol.transpose(1, 2)
        # the 1/255 ellipse (x−μ)ᵀΣ⁻¹(x−μ) ≤ 2 ln 255 spans ±sqrt(2 ln 255 · Σ_ii) on axis i
        half = (2 * LOG_255 * torch.diagonal(cov, dim1=1, dim2=2)).sqrt().detach()
        return mean, torch.linalg.inv(cov), half

    def forward(self, x: Tensor) -> Tensor:
        refuse_vmap(self, self.unstackable)
        mean, conic, half = self.gaussians()
        points = (x + 1) * self.pixels_per_unit  # (N, d) pixels
        return rasterize(points, mean, conic, self.color, half, self.tile, self.pairs_per_chunk)


def rasterize(
    points: Tensor,
    mean: Tensor,
    conic: Tensor,
    color: Tensor,
    half: Tensor,
    tile: int,
    pairs_per_chunk: int,
) -> Tensor:
    """Σ_g color_g exp(−σ_g(p)) over the Gaussians whose 1/255 box holds p: (N, d) points,
    (G, d) means, (G, d, d) conics, (G, C) colours, (G, d) box half-widths -> (N, C)."""
    point, gauss = tile_pairs(points.detach(), mean.detach(), half, tile)
    out = points.new_zeros(points.shape[0], color.shape[1])
    counts = torch.bincount(gauss, minlength=mean.shape[0])
    bounds = chunk_bounds(counts, pairs_per_chunk)
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        part = slice(start, stop)  # pairs are sorted by Gaussian: a chunk is a slice
        args = (points, mean, conic, color, point[part], gauss[part])
        if torch.is_grad_enabled():
            out = out + Recomputed.apply(*args)
        else:
            out += splat(*args)
    return out


class Recomputed(torch.autograd.Function):
    """``splat`` that keeps only its inputs and recomputes its pairs in backward (activation
    checkpointing; torch.utils.checkpoint costs ~1 s a call on a CUDA build without a GPU)."""

    @staticmethod
    def forward(ctx, points, mean, conic, color, point, gauss):
        ctx.save_for_backward(points, mean, conic, color, point, gauss)
        return splat(points, mean, conic, color, point, gauss)

    @staticmethod
    def backward(ctx, grad):
        *floats, point, gauss = ctx.saved_tensors
        needs = ctx.needs_input_grad[:4]
        inputs = [t.detach().requires_grad_(n) for t, n in zip(floats, needs, strict=True)]
        with torch.enable_grad():
            out = splat(*inputs, point, gauss)
        wanted = [t for t in inputs if t.requires_grad]
        grads = iter(torch.autograd.grad(out, wanted, grad) if wanted else [])
        return *(next(grads) if n else None for n in needs), None, None


def splat(
    points: Tensor, mean: Tensor, conic: Tensor, color: Tensor, point: Tensor, gauss: Tensor
) -> Tensor:
    """The (N, C) sum of the listed (point, Gaussian) pairs' weighted colours."""
    # index_select, not x[idx]: its backward is an index_add, advanced indexing's a slow
    # accumulating index_put on CPU
    delta = points.index_select(0, point) - mean.index_select(0, gauss)  # (P, d)
    # ½ δᵀ Σ⁻¹ δ as elementwise products: a batched matmul of P 2x2 matrices is ~10x slower
    q = conic.flatten(1).index_select(0, gauss).unflatten(1, conic.shape[1:])  # (P, d, d)
    sigma = 0.5 * (q * delta[:, :, None] * delta[:, None, :]).sum((1, 2))
    # the released rasteriser skips σ < 0 (a covariance that lost definiteness) and weights
    # below 1/255; the clamp keeps exp finite where the pair is skipped
    keep = (sigma >= 0) & (sigma <= LOG_255)
    weight = torch.where(keep, torch.exp(-sigma.clamp(0, LOG_255)), 0.0)
    out = points.new_zeros(points.shape[0], color.shape[1])
    return out.index_add(0, point, weight[:, None] * color.index_select(0, gauss))


def chunk_bounds(counts: Tensor, budget: int) -> list[int]:
    """Pair offsets that cut the pair list (sorted by Gaussian) into chunks of whole Gaussians
    holding about ``budget`` pairs each; [0, total] when it fits in one."""
    ends = torch.cumsum(counts, 0)
    total = int(ends[-1]) if len(ends) else 0
    if total <= budget:
        return [0, total]
    cuts = torch.searchsorted(ends, torch.arange(budget, total, budget, device=ends.device))
    return sorted({0, *(int(ends[c]) for c in cuts.tolist()), total})


def tile_pairs(points: Tensor, mean: Tensor, half: Tensor, tile: int) -> tuple[Tensor, Tensor]:
    """(point, Gaussian) index pairs (P,), sorted by Gaussian, of every point that lies in a
    tile touched by the Gaussian's box; every pair with a non-zero weight is among them."""
    d = points.shape[1]
    top = torch.maximum(points.amax(0), mean.amax(0)) if len(mean) else points.amax(0)
    tiles = (top // tile).long() + 1  # (d,) tiles per axis, covering points and means
    stride = torch.cumprod(torch.cat([tiles.new_ones(1), tiles[:-1]]), 0)
    cell = (points // tile).long().clamp(min=0)
    point_tile = (torch.minimum(cell, tiles - 1) * stride).sum(1)  # (N,)
    order = torch.argsort(point_tile)
    per_tile = torch.bincount(point_tile, minlength=int(tiles.prod()))
    first = torch.cumsum(per_tile, 0) - per_tile  # first sorted point of each tile
    lo = ((mean - half) // tile).long().clamp(min=0)
    lo = torch.minimum(lo, tiles - 1)
    hi = torch.minimum(((mean + half) // tile).long().clamp(min=0), tiles - 1)
    span = hi - lo + 1  # (G, d) tiles per axis of each box
    # every (Gaussian, tile) of the boxes: mixed-radix digits of a running index
    gauss = torch.repeat_interleave(torch.arange(len(mean), device=mean.device), span.prod(1))
    rank = torch.arange(len(gauss), device=mean.device)
    rank = rank - (torch.cumsum(span.prod(1), 0) - span.prod(1))[gauss]
    tile_id = torch.zeros_like(gauss)
    for axis in range(d):
        digit = rank % span[gauss, axis]
        rank = rank // span[gauss, axis]
        tile_id += (lo[gauss, axis] + digit) * stride[axis]
    # every point of each (Gaussian, tile): the tile's run of sorted points
    n = per_tile[tile_id]
    pair_gauss = torch.repeat_interleave(gauss, n)
    pair_tile = torch.repeat_interleave(tile_id, n)
    k = torch.arange(len(pair_gauss), device=mean.device)
    k = k - torch.repeat_interleave(torch.cumsum(n, 0) - n, n)
    return order[first[pair_tile] + k], pair_gauss
