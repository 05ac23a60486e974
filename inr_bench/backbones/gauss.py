"""GaussNet: Gaussian activations (Ramasinghe & Lucey, ECCV 2022).

Layer: exp(−(s·z)²) with z = W x + b (WS paper App. E.1; s is the bandwidth, WS Table 2:
s = 10 for images, 100 for audio). Init: PyTorch defaults, as in the WIRE and FINER code.
``hidden_layers`` as in SIREN: a first layer, ``hidden_layers`` hidden ones, a linear output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from inr_bench.backbones.base import Backbone, in_float32, scaled_linear, widths_list


class GaussLayer(nn.Linear):
    """(N, in) -> (N, out): exp(−(s·(x Wᵀ + b))²)."""

    def __init__(self, in_features: int, out_features: int, scale: float) -> None:
        super().__init__(in_features, out_features)
        self.scale = float(scale)

    def forward(self, x: Tensor) -> Tensor:
        return scaled_linear(x, self.weight, self.bias, self.scale).square().neg().exp()


class Gauss(Backbone):
    """(N, in_dim) -> (N, out_dim) MLP with Gaussian activations and a linear output."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_features: int | Sequence[int] = 256,
        hidden_layers: int = 3,
        scale: float = 10.0,
    ) -> None:
        super().__init__()
        self.in_dim, self.out_dim, self.scale = in_dim, out_dim, float(scale)
        widths = widths_list(hidden_features, hidden_layers + 1)
        dims = [in_dim, *widths]
        self.layers = nn.ModuleList(
            GaussLayer(dims[i], dims[i + 1], scale) for i in range(len(widths))
        )
        self.last = nn.Linear(widths[-1], out_dim)

    def forward(self, x: Tensor) -> Tensor:
        x = in_float32(self.layers[0], x)  # float32 ends under bf16 autocast (in_float32)
        for layer in self.layers[1:]:
            x = layer(x)
        return in_float32(self.last, x)

    def spec_kwargs(self) -> dict[str, Any]:
        return {
            **self.shape_kwargs(),
            "scale": self.scale,
        }
