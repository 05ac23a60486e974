"""ReLU MLP, optionally after a fixed input encoding (the base of FFN and PE-MLP).

(N, in_dim) -> encode -> (N, encoded_dim) -> Linear/ReLU × (hidden_layers + 1) -> Linear.
``hidden_layers`` as in SIREN: a first layer, ``hidden_layers`` hidden ones, a linear output
(hidden_layers + 2 linears). Init: PyTorch defaults. Subclasses override ``encode`` and
``encoded_dim`` and keep their encoding in buffers (frozen, saved in ``model.pt``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from inr_bench.backbones.base import Backbone, in_float32, widths_list


class ReluMLP(Backbone):
    """(N, in_dim) -> (N, out_dim) ReLU network on ``encode(x)`` (identity here)."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_features: int | Sequence[int] = 256,
        hidden_layers: int = 3,
    ) -> None:
        super().__init__()
        self.in_dim, self.out_dim = in_dim, out_dim
        widths = widths_list(hidden_features, hidden_layers + 1)
        dims = [self.encoded_dim, *widths]
        self.layers = nn.ModuleList(nn.Linear(dims[i], dims[i + 1]) for i in range(len(widths)))
        self.last = nn.Linear(widths[-1], out_dim)

    @property
    def encoded_dim(self) -> int:
        return self.in_dim

    def encode(self, x: Tensor) -> Tensor:
        """(N, in_dim) -> (N, encoded_dim)."""
        return x

    def forward(self, x: Tensor) -> Tensor:
        x = in_float32(self.encode, x)  # float32 ends under bf16 autocast (in_float32)
        for layer in self.layers:
            x = layer(x).relu_()
        return in_float32(self.last, x)

    def spec_kwargs(self) -> dict[str, Any]:
        return self.shape_kwargs()
