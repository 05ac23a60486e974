"""SAPE (Hertz et al., NeurIPS 2021): spatially-adaptive progressive encoding in front of a
ReLU MLP.

Encoding (SAPE §3, with the Fourier features of Tancik et al. that SASNet's comparison uses):
γ(x) = [x, α_1(x)·cos(2π b_1ᵀx), α_1(x)·sin(2π b_1ᵀx), ..., α_m(x)·cos(2π b_mᵀx), α_m(x)·sin(…)],
b_j ~ N(0, σ²) frozen and sorted by |b_j| (low frequencies first). The masks open band by band:
α_j(x) = clamp(m·a(x) − j, 0, 1) for a per-point progress a(x) ∈ [0, 1] (SAPE eq. 4-5: a soft
progressive window whose position is local).

Progress (SAPE §3.2, Alg. 1): every training point p carries a(p); after each optimizer step
the points whose local loss exceeds ``threshold`` advance by 1/``progression_steps`` and the
others stay where they are (their encoding is frozen while they fit well). a lives on a regular
grid of ``mask_resolution`` nodes per axis spanning [−1, 1] (for an image, its pixel grid: one
node per training pixel); a point between nodes reads the d-linear interpolation (SAPE
evaluates unseen points from the neighbouring samples' masks). ``observe`` takes the per-point
losses; the loop gives a backbone none, so ``schedule=sape`` (inr_bench/schedules/sape.py)
feeds it after each step. Without it the encoding would stay at its first band: the backbone
refuses to train that way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from inr_bench.backbones.gaussian_image import refuse_vmap
from inr_bench.backbones.relu_mlp import ReluMLP
from inr_bench.errors import UserError

UNOBSERVED_STEPS = 3  # training steps without an ``observe`` before the backbone refuses


class SAPE(ReluMLP):
    """(N, in_dim) -> (N, out_dim): ReLU MLP on the masked Fourier features above."""

    # why runs of many networks refuse it at start-up (build.check_many)
    unstackable = "its encoding grows from each member's residual after every step"

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_features: int | Sequence[int] = 256,
        hidden_layers: int = 3,
        num_frequencies: int = 256,
        sigma: float = 10.0,
        mask_resolution: int = 512,
        threshold: float = 1e-3,
        progression_steps: int = 2500,
    ) -> None:
        if mask_resolution < 2 or progression_steps < 1 or num_frequencies < 1:
            raise UserError(
                "backbone.mask_resolution must be >= 2, progression_steps and num_frequencies "
                f">= 1; got {mask_resolution}, {progression_steps}, {num_frequencies}"
            )
        if mask_resolution**in_dim > 1 << 26:
            raise UserError(
                f"backbone.mask_resolution={mask_resolution} gives {mask_resolution}^{in_dim} mask"
                f" nodes in {in_dim}-D: give about the signal's samples per axis (e.g. 128)"
            )
        self.num_frequencies, self.sigma = int(num_frequencies), float(sigma)
        self.mask_resolution, self.threshold = int(mask_resolution), float(threshold)
        self.progression_steps = int(progression_steps)
        super().__init__(in_dim, out_dim, hidden_features, hidden_layers)
        b = torch.randn(self.num_frequencies, in_dim) * self.sigma
        self.register_buffer("B", b[b.norm(dim=1).argsort()])  # low frequencies open first
        # a(p) per grid node (row-major, axis 0 slowest): saved with the model and checkpoints
        self.register_buffer("progress", torch.zeros(self.mask_resolution**in_dim))
        self.unobserved = 0

    @property
    def encoded_dim(self) -> int:
        return self.in_dim + 2 * self.num_frequencies

    def spec_kwargs(self) -> dict[str, Any]:
        keys = ("num_frequencies", "sigma", "mask_resolution", "threshold", "progression_steps")
        return super().spec_kwargs() | {k: getattr(self, k) for k in keys}

    @property
    def omega(self) -> Tensor:
        """Input frequencies 2π·Bᵀ, shape (in_dim, m)."""
        return (2 * math.pi) * self.B.t()

    def _corners(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Grid nodes (N, 2^d) around each point and their d-linear weights (N, 2^d)."""
        d, r = x.shape[1], self.mask_resolution
        pos = ((x.detach() + 1) / 2 * (r - 1)).clamp(0, r - 1)
        cell = pos.floor().clamp(max=r - 2)
        frac = pos - cell
        bits = torch.cartesian_prod(*[torch.arange(2, device=x.device)] * d).reshape(-1, d)
        stride = r ** torch.arange(d - 1, -1, -1, device=x.device)
        nodes = ((cell.long()[:, None, :] + bits) * stride).sum(-1)
        weight = torch.where(bits.bool(), frac[:, None, :], 1 - frac[:, None, :]).prod(-1)
        return nodes, weight

    def masks(self, x: Tensor) -> Tensor:
        """α (N, m): band j's mask at each point, clamp(m·a(x) − j, 0, 1)."""
        nodes, weight = self._corners(x)
        a = (self.progress[nodes] * weight).sum(-1, keepdim=True)  # (N, 1)
        bands = torch.arange(self.num_frequencies, device=x.device, dtype=x.dtype)
        return (a * self.num_frequencies - bands).clamp(0, 1)

    def encode(self, x: Tensor) -> Tensor:
        refuse_vmap(self, self.unstackable)
        alpha = self.masks(x)
        phase = (2 * math.pi) * (x @ self.B.t())  # (N, m)
        return torch.cat([x, alpha * phase.cos(), alpha * phase.sin()], dim=1)

    def spatial_maps(self, x: Tensor) -> dict[str, Tensor]:
        """The progress a(x) (N, 1): how many bands are open where (SASNet Fig. 4's SAPE masks)."""
        nodes, weight = self._corners(x)
        return {"sape_progress": (self.progress[nodes] * weight).sum(-1, keepdim=True)}

    @torch.no_grad()
    def observe(self, x: Tensor, point_loss: Tensor, steps: int = 1) -> None:
        """Advance a by ``steps``/progression_steps at the grid nodes whose points' mean loss
        exceeds the threshold (SAPE Alg. 1): x (N, d) training points, point_loss (N,)."""
        r = self.mask_resolution
        pos = ((x + 1) / 2 * (r - 1)).round().long().clamp(0, r - 1)  # nearest node per axis
        node = (pos * r ** torch.arange(x.shape[1] - 1, -1, -1, device=x.device)).sum(-1)
        total = torch.zeros_like(self.progress).index_add_(0, node, point_loss.float())
        count = torch.bincount(node, minlength=len(self.progress)).to(total.dtype)
        high = total > self.threshold * count  # mean loss above the threshold (none: count 0)
        self.progress.add_(high * (steps / self.progression_steps)).clamp_(max=1.0)
        self.unobserved = 0

    def regularizer(self) -> Tensor | None:
        """None; counts the training steps (the loop asks once per step) so that a run whose
        progress is never fed stops with the fix instead of training a low-pass FFN."""
        if self.training:
            self.unobserved += 1
            if self.unobserved > UNOBSERVED_STEPS:
                raise UserError(
                    "backbone=sape opens its encoding from the training residual after every step:"
                    " add schedule=sape"
                )
        return None
