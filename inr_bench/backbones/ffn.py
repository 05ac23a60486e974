"""FFN: Gaussian random Fourier features + ReLU MLP (Tancik et al., NeurIPS 2020).

γ(x) = [cos(2π B x), sin(2π B x)] with B (m, in_dim) ~ N(0, σ²), drawn once and frozen (a
buffer, saved in ``model.pt``); WS paper App. E.1 and Table 2 (images: σ = 10, m = 256).
Tancik et al. use coordinates in [0, 1]; ours are in [−1, 1], so the same σ reaches twice the
frequency per unit of image: halve σ to match their spectrum (we keep the WS table's value).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from inr_bench.backbones.relu_mlp import ReluMLP


class FourierFeatureMLP(ReluMLP):
    """(N, in_dim) -> (N, out_dim): ReLU MLP on 2m Gaussian Fourier features."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_features: int | Sequence[int] = 256,
        hidden_layers: int = 3,
        num_frequencies: int = 256,
        sigma: float = 10.0,
    ) -> None:
        self.num_frequencies, self.sigma = int(num_frequencies), float(sigma)
        super().__init__(in_dim, out_dim, hidden_features, hidden_layers)
        self.register_buffer("B", torch.randn(self.num_frequencies, in_dim) * self.sigma)

    @property
    def encoded_dim(self) -> int:
        return 2 * self.num_frequencies

    def encode(self, x: Tensor) -> Tensor:
        phase = (2 * math.pi) * (x @ self.B.t())  # (N, m)
        return torch.cat([phase.cos(), phase.sin()], dim=1)

    @property
    def omega(self) -> Tensor:
        """Input frequencies 2π·Bᵀ, shape (in_dim, m)."""
        return (2 * math.pi) * self.B.t()

    def spec_kwargs(self) -> dict[str, Any]:
        spec = super().spec_kwargs()
        return spec | {"num_frequencies": self.num_frequencies, "sigma": self.sigma}
