"""SIREN: sinusoidal representation network (Sitzmann et al., NeurIPS 2020).

Layer i computes sin(ω·(W x + b)); the first layer uses ω₀ (``omega_0``) and the hidden
ones ``omega_0_hidden``. Init (SIREN §3.2 and the official code): first layer
W ~ U(±1/in), hidden and output W ~ U(±√(6/in)/ω₀_hidden), biases PyTorch's default
U(±1/√in). ``hidden_layers`` follows the SIREN/FINER code: a first sine layer, then
``hidden_layers`` hidden sine layers, then a linear output (hidden_layers + 2 linears).

``lattice`` (a dict of ``LatticeLayer`` options, or None) replaces the first layer by a frozen
integer-lattice layer sin(x·(2π/p)k + φ) (frequencies' factory §3.1, SASNet supp. §3.1); the
network is then p-periodic and ``omega`` returns the lattice frequencies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from inr_bench.backbones.base import Backbone, in_float32, scaled_linear, sine, widths_list
from inr_bench.backbones.lattice import LatticeLayer


class SineLayer(nn.Linear):
    """(N, in) -> (N, out): sin(omega·(x Wᵀ + b))."""

    def __init__(self, in_features: int, out_features: int, omega: float) -> None:
        super().__init__(in_features, out_features)
        self.omega = float(omega)

    def forward(self, x: Tensor) -> Tensor:
        return sine(scaled_linear(x, self.weight, self.bias, self.omega))


class Siren(Backbone):
    """(N, in_dim) -> (N, out_dim) sine MLP with SIREN's initialisation."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_features: int | Sequence[int] = 256,
        hidden_layers: int = 3,
        omega_0: float = 30.0,
        omega_0_hidden: float = 30.0,
        outermost_linear: bool = True,
        lattice: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.in_dim, self.out_dim = in_dim, out_dim
        self.omega_0, self.omega_0_hidden = float(omega_0), float(omega_0_hidden)
        self.outermost_linear = outermost_linear
        widths = widths_list(hidden_features, hidden_layers + 1)
        dims = [in_dim, *widths]
        first = (
            self.make_layer(in_dim, widths[0], self.omega_0)
            if lattice is None
            else LatticeLayer(in_dim, widths[0], **lattice)
        )
        hidden = [
            self.make_layer(dims[i], dims[i + 1], omega_0_hidden) for i in range(1, len(widths))
        ]
        self.layers = nn.ModuleList([first, *hidden])
        self.last = (
            nn.Linear(widths[-1], out_dim)
            if outermost_linear
            else self.make_layer(widths[-1], out_dim, omega_0_hidden)
        )
        self.reset_parameters()

    def make_layer(self, in_features: int, out_features: int, omega: float) -> nn.Linear:
        """One activation layer (N, in) -> (N, out); FINER overrides it."""
        return SineLayer(in_features, out_features, omega)

    @property
    def lattice(self) -> LatticeLayer | None:
        """The frozen lattice first layer, when the network has one."""
        first = self.layers[0]
        return first if isinstance(first, LatticeLayer) else None

    @torch.no_grad()
    def reset_parameters(self) -> None:
        for i, layer in enumerate([*self.layers, self.last]):
            layer.reset_parameters()  # PyTorch default: biases U(±1/√in)
            if isinstance(layer, LatticeLayer):
                continue  # frozen frequencies, phases drawn by the layer itself
            fan_in = layer.in_features
            bound = 1.0 / fan_in if i == 0 else math.sqrt(6.0 / fan_in) / self.omega_0_hidden
            layer.weight.uniform_(-bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        x = in_float32(self.layers[0], x)
        for layer in self.layers[1:]:
            x = layer(x)
        return in_float32(self.last, x)

    @property
    def omega(self) -> Tensor:
        """First-layer frequencies ω₀·W⁰ᵀ (or the lattice's (2π/p)·kᵀ), shape (in_dim, width)."""
        if self.lattice is not None:
            return self.lattice.omega
        return self.omega_0 * self.layers[0].weight.detach().t()

    def spec_kwargs(self) -> dict[str, Any]:
        return {
            **self.shape_kwargs(),
            "omega_0": self.omega_0,
            "omega_0_hidden": self.omega_0_hidden,
            "outermost_linear": self.outermost_linear,
            "lattice": None if self.lattice is None else self.lattice.spec_kwargs(),
        }
