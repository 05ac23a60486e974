"""Frozen integer-lattice input layer: sin(x·ω + φ) with ω = (2π/p)·k, k ∈ ℤᵈ.

Frequencies' factory §3.1: input frequencies ω ∈ (2π/p)ℤᵈ − {0}, never trained, make the
whole network p-periodic (Theorem 1: every later neuron only mixes integer combinations of
ω). SASNet supp. §3.1: a share of the neurons comes from the low band [−L, L]ᵈ, the rest
from the integer grid up to the band limit B outside it; only one of ±k is kept (the x ≥ 0
half-space), since sin(−kx + φ) = sin(kx + π − φ) adds nothing a phase cannot.

API (what schedules and later backbones rely on):

- ``LatticeLayer(in_dim, out_features, period, low_range, band_limit, low_fraction,
  high_bands, layout, symmetric_values, phase_scale)``: (N, in_dim) -> (N, out_features).
- ``.k``: (n, in_dim) long buffer of the integer multipliers (saved in ``model.pt``).
- ``.band``: (n,) long buffer, 0 for the low band, 1..high_bands for the high bands.
- ``.omega``: (in_dim, n) float, (2π/p)·kᵀ.   ``.bias``: (n,) trainable phases φ.
- ``band_of(k)`` and ``band_edges()``: the band of any multiplier and the Chebyshev radii.
- ``append(k)`` / ``keep(index)``: grow or shrink the neuron set (densification, pruning).

Bands are concentric Chebyshev shells (factory §6, block bounding: max|k_i| ∈ [L_i, L_i+1)):
band 0 is ‖k‖∞ ≤ L; band b ≥ 1 is L + (b−1)Δ < ‖k‖∞ ≤ L + bΔ with Δ = (B − L)/high_bands.
Choice (papers silent): the high neurons are split evenly over the high bands, each drawn
uniformly without replacement inside its shell, so the outer shells, which hold most grid
points, do not swallow the budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from inr_bench.backbones.base import scaled_linear, sine
from inr_bench.errors import UserError


def half_space(k: Tensor) -> Tensor:
    """(M,) mask of rows whose first non-zero coordinate is positive: one of each ±k, no 0."""
    nonzero = k != 0
    first = nonzero.float().argmax(dim=1)  # index of the first non-zero coordinate
    lead = k.gather(1, first[:, None]).squeeze(1)
    return nonzero.any(dim=1) & (lead > 0)


def canonical(k: Tensor) -> Tensor:
    """Each row flipped to its half-space representative (k or −k)."""
    return torch.where(half_space(k)[:, None] | (k == 0).all(dim=1, keepdim=True), k, -k)


def grid_points(radius: int, dim: int) -> Tensor:
    """(M, dim) every integer point of [−radius, radius]^dim in the half-space."""
    axis = torch.arange(-radius, radius + 1)  # host: integer enumeration, moved by the caller
    points = torch.cartesian_prod(*[axis] * dim).reshape(-1, dim)
    return points[half_space(points)]


def symmetric_layout(values: Sequence[int], dim: int) -> Tensor:
    """Factory Fig. 14: k ∈ {±v : v ∈ values}^dim, one of each ±k kept."""
    # host: integer enumeration at construction, moved with the module
    axis = torch.tensor(sorted({s * int(v) for v in values for s in (1, -1)}))
    points = torch.cartesian_prod(*[axis] * dim).reshape(-1, dim)
    return points[half_space(points)]


class LatticeLayer(nn.Module):
    """(N, in_dim) -> (N, n): sin(x ω + φ) with frozen integer-lattice ω (see module doc)."""

    def __init__(
        self,
        in_dim: int,
        out_features: int,
        period: float = 2.0,
        low_range: int = 12,
        band_limit: int = 60,
        low_fraction: float = 0.5,
        high_bands: int = 4,
        layout: str = "random",
        symmetric_values: Sequence[int] | None = None,
        phase_scale: float | None = None,
    ) -> None:
        super().__init__()
        if not 0 < low_range <= band_limit:
            raise UserError(
                f"lattice: need 0 < low_range <= band_limit, got {low_range}, {band_limit}"
            )
        if layout not in ("random", "symmetric"):
            raise UserError(f"lattice.layout must be 'random' or 'symmetric', got {layout!r}")
        self.in_dim, self.period = in_dim, float(period)
        self.low_range, self.band_limit = int(low_range), int(band_limit)
        self.low_fraction, self.high_bands = float(low_fraction), int(high_bands)
        self.layout = layout
        self.symmetric_values = [int(v) for v in symmetric_values or []]
        self.phase_scale = phase_scale
        self.bias = nn.Parameter(torch.empty(out_features))
        k = self._draw(out_features).to(self.bias.device)  # drawn on the host (see _draw)
        self.register_buffer("k", k)
        self.register_buffer("band", self.band_of(k))
        self.reset_parameters()

    @property
    def out_features(self) -> int:
        return self.k.shape[0]

    @torch.no_grad()
    def reset_parameters(self) -> None:
        # φ ~ U(±phase_scale); None = PyTorch's linear-bias default U(±1/√in), as in the TUNER
        # code's lattice layer (the factory and SASNet keep the other SIREN defaults).
        bound = 1 / math.sqrt(self.in_dim) if self.phase_scale is None else self.phase_scale
        self.bias.uniform_(-bound, bound)

    # --- frequencies -------------------------------------------------------------------
    def band_edges(self) -> list[float]:
        """Chebyshev radii [L, L + Δ, ..., B] separating band 0 | 1 | ... | high_bands."""
        step = (self.band_limit - self.low_range) / max(self.high_bands, 1)
        return [self.low_range + i * step for i in range(self.high_bands + 1)]

    def band_of(self, k: Tensor) -> Tensor:
        """(M,) band of each multiplier row of k (M, in_dim); beyond B counts as the last."""
        radius = k.abs().amax(dim=1).float()
        step = (self.band_limit - self.low_range) / max(self.high_bands, 1)
        band = torch.ceil((radius - self.low_range) / max(step, 1e-12)).clamp(0, self.high_bands)
        return band.long()

    def _sample_shell(self, lo: float, hi: int, n: int, taken: Tensor) -> Tensor:
        """n distinct half-space points with lo < ‖k‖∞ ≤ hi, none already in ``taken``.

        Small requests draw random points of the box [−hi, hi]ᵈ and reject the rest (3-D
        band limits of 100+ have millions of grid points); large ones enumerate the shell.
        Host tensors (construction only, with torch's global RNG): the caller moves them."""
        if n == 0:
            return torch.zeros(0, self.in_dim, dtype=torch.long)  # host: see docstring
        d, inner = self.in_dim, math.floor(lo)
        capacity = ((2 * hi + 1) ** d - (2 * inner + 1) ** d) // 2
        if 4 * n < capacity:
            found = torch.zeros(0, d, dtype=torch.long)  # host: see docstring
            while len(found) < n:
                points = canonical(torch.randint(-hi, hi + 1, (8 * n, d)))  # host: docstring
                found = self._fresh(torch.cat([found, points]), lo, taken)
            return found[:n]
        points = self._fresh(grid_points(hi, d), lo, taken)
        if len(points) < n:
            raise UserError(
                f"lattice: {lo:g} < |k|_inf <= {hi} holds only {len(points)} free frequencies "
                f"(one of each +-k) in {d}-D, {n} asked; raise lattice.band_limit or "
                "lattice.low_range, or lower the width"
            )
        return points[torch.randperm(len(points))[:n]]  # host: see docstring

    @staticmethod
    def _fresh(points: Tensor, lo: float, taken: Tensor) -> Tensor:
        """The distinct non-zero rows of ``points`` beyond radius lo and not in ``taken``,
        in their first-seen order."""
        points = points[(points.abs().amax(dim=1) > lo) & half_space(points)]
        if len(taken):
            points = points[~(points[:, None, :] == taken[None]).all(-1).any(-1)]
        unique, inverse = torch.unique(points, dim=0, return_inverse=True)
        first = torch.full((len(unique),), len(points), dtype=torch.long, device=points.device)
        order = torch.arange(len(points), device=points.device)
        first.scatter_reduce_(0, inverse, order, reduce="amin")
        return points[first.sort().values]

    def _draw(self, n: int) -> Tensor:
        taken = torch.zeros(0, self.in_dim, dtype=torch.long)  # host: see _sample_shell
        if self.layout == "symmetric":
            taken = symmetric_layout(self.symmetric_values, self.in_dim)
            if len(taken) > n or taken.abs().max() > self.band_limit:
                raise UserError(
                    f"lattice.symmetric_values={self.symmetric_values} give {len(taken)} "
                    f"frequencies up to {int(taken.abs().max())}; the layer has {n} neurons and "
                    f"band limit {self.band_limit}"
                )
        rest = n - len(taken)
        n_low = round(self.low_fraction * rest)
        parts = [taken, self._sample_shell(0, self.low_range, n_low, taken)]
        n_high, edges = rest - n_low, self.band_edges()
        for b in range(self.high_bands):
            count = n_high // self.high_bands + (b < n_high % self.high_bands)
            lo, hi = edges[b], math.floor(edges[b + 1])
            parts.append(self._sample_shell(lo, hi, count, torch.cat(parts)))
        return torch.cat(parts)

    @property
    def omega(self) -> Tensor:
        """(in_dim, n) input frequencies (2π/p)·kᵀ."""
        return (2 * math.pi / self.period) * self.k.t().to(self.bias.dtype)

    # --- surgery -----------------------------------------------------------------------
    @torch.no_grad()
    def append(self, k: Tensor, phase: Tensor | None = None) -> None:
        """Add neurons with multipliers k (m, in_dim) (canonicalised) and phases (m,) (0 if None).
        The caller resizes the next layer's columns and the optimizer state (surgery)."""
        k = canonical(k.to(self.k))
        phase = self.bias.new_zeros(len(k)) if phase is None else phase
        self.k = torch.cat([self.k, k])
        self.band = torch.cat([self.band, self.band_of(k)])
        self.bias = nn.Parameter(torch.cat([self.bias, phase.to(self.bias)]))

    @torch.no_grad()
    def keep(self, index: Tensor) -> None:
        """Keep only the neurons at ``index`` (pruning)."""
        self.k, self.band = self.k[index], self.band[index]
        self.bias = nn.Parameter(self.bias[index].clone())

    def forward(self, x: Tensor) -> Tensor:
        return sine(scaled_linear(x, self.omega.t(), self.bias, 1.0))

    def spec_kwargs(self) -> dict[str, Any]:
        """Lattice options as plain Python values (the drawn k travels in the state dict)."""
        return {
            "period": self.period,
            "low_range": self.low_range,
            "band_limit": self.band_limit,
            "low_fraction": self.low_fraction,
            "high_bands": self.high_bands,
            "layout": self.layout,
            "symmetric_values": list(self.symmetric_values),
            "phase_scale": self.phase_scale,
        }
