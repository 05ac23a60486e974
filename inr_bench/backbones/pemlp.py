"""PE-MLP: NeRF positional encoding + ReLU MLP (Mildenhall et al., ECCV 2020).

γ(x) = (sin(2⁰πx), cos(2⁰πx), …, sin(2^{K−1}πx), cos(2^{K−1}πx)) per coordinate (WS paper
App. E.1, K = ``num_octaves``; Table 2: K = 10 for images). ``include_input`` also feeds x
itself, as NeRF's code does; off by default, as the WS formula has no such term.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from inr_bench.backbones.relu_mlp import ReluMLP


class PositionalEncodingMLP(ReluMLP):
    """(N, in_dim) -> (N, out_dim): ReLU MLP on 2·K·in_dim (+ in_dim) encoded inputs."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_features: int | Sequence[int] = 256,
        hidden_layers: int = 3,
        num_octaves: int = 10,
        include_input: bool = False,
    ) -> None:
        self.num_octaves, self.include_input = int(num_octaves), include_input
        super().__init__(in_dim, out_dim, hidden_features, hidden_layers)
        # (in_dim, in_dim·K) block matrix: column (i, k) is 2^k π e_i
        scales = math.pi * 2.0 ** torch.arange(self.num_octaves, dtype=torch.float32)
        self.register_buffer("frequencies", torch.kron(torch.eye(in_dim), scales[None]))

    @property
    def encoded_dim(self) -> int:
        return self.in_dim * (2 * self.num_octaves + self.include_input)

    def encode(self, x: Tensor) -> Tensor:
        phase = x @ self.frequencies  # (N, in_dim·K)
        parts = [x] if self.include_input else []
        return torch.cat([*parts, phase.sin(), phase.cos()], dim=1)

    @property
    def omega(self) -> Tensor:
        """Input frequencies 2^k π e_i, shape (in_dim, in_dim·K)."""
        return self.frequencies

    def spec_kwargs(self) -> dict[str, Any]:
        spec = super().spec_kwargs()
        return spec | {"num_octaves": self.num_octaves, "include_input": self.include_input}
