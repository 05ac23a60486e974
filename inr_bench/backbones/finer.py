"""FINER: variable-periodic activations (Liu et al., CVPR 2024).

Layer: z = W x + b, output sin(ω₀·(|z| + 1)·z), so a neuron's local frequency grows with |z|
and the bias sets where on that curve it starts. Init as the FINER code
(docs/protocols.md "FINER image fitting"): SIREN's weights (first U(±1/in), others
U(±√(6/in)/ω₀)), PyTorch-default biases;
``first_bias_scale`` k draws the first-layer bias from U(±k) instead (the paper's bias init;
the official run script passes none, so the default is null). ``scale_req_grad`` false (the
code's default) treats the factor |z| + 1 as a constant in backward.

With ``lattice`` the first layer is the frozen integer lattice with a plain sine (a FINER
first layer would break the period: (|z| + 1)z is not periodic in x); the hidden layers are
FINER layers, whose inputs are then p-periodic, so the network stays p-periodic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from inr_bench.backbones.base import sine
from inr_bench.backbones.siren import Siren


class FinerLayer(nn.Linear):
    """(N, in) -> (N, out): sin(omega·(|z| + 1)·z), z = x Wᵀ + b."""

    def __init__(
        self, in_features: int, out_features: int, omega: float, scale_req_grad: bool = False
    ) -> None:
        super().__init__(in_features, out_features)
        self.omega, self.scale_req_grad = float(omega), scale_req_grad

    def forward(self, x: Tensor) -> Tensor:
        z = torch.addmm(self.bias, x, self.weight.t())  # (N, out)
        if self.scale_req_grad:
            return sine(z * (z.abs() + 1) * self.omega)
        scale = z.detach().abs().add_(1.0).mul_(self.omega)  # ω₀(|z| + 1), no gradient
        return sine(z * scale)


class Finer(Siren):
    """(N, in_dim) -> (N, out_dim) FINER network; shapes and options as ``Siren``."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_features: int | Sequence[int] = 256,
        hidden_layers: int = 3,
        omega_0: float = 30.0,
        omega_0_hidden: float = 30.0,
        outermost_linear: bool = True,
        first_bias_scale: float | None = None,
        scale_req_grad: bool = False,
        lattice: dict[str, Any] | None = None,
    ) -> None:
        self.first_bias_scale, self.scale_req_grad = first_bias_scale, scale_req_grad
        super().__init__(
            in_dim,
            out_dim,
            hidden_features,
            hidden_layers,
            omega_0,
            omega_0_hidden,
            outermost_linear,
            lattice,
        )

    def make_layer(self, in_features: int, out_features: int, omega: float) -> nn.Linear:
        return FinerLayer(in_features, out_features, omega, self.scale_req_grad)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        super().reset_parameters()  # SIREN weights, PyTorch-default biases
        if self.first_bias_scale is not None and self.lattice is None:
            k = float(self.first_bias_scale)
            self.layers[0].bias.uniform_(-k, k)  # FINER bias init U(±k)

    def spec_kwargs(self) -> dict[str, Any]:
        spec = super().spec_kwargs()
        spec |= {"first_bias_scale": self.first_bias_scale, "scale_req_grad": self.scale_req_grad}
        return spec
