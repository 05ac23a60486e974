"""WIRE: complex Gabor wavelet activations (Saragadam et al., CVPR 2023).

Activation ψ(z) = exp(jω·z − |s·z|²) (WS paper App. E.1, σ(Z) = exp(jωZ)·exp(−(sZ)²)), with
z = W x + b. As in the WIRE code (and the weight-scaling code's baseline): the first linear
is real, its Gabor output complex; the hidden and output linears have complex weights; the
network returns the real part. Weights and biases keep PyTorch's default init (complex ones
draw real and imaginary parts uniformly). ω and s are fixed, not trained (WIRE code's
``trainable=False``).

Width: a complex number is two real numbers, so the WIRE code builds layers of
int(width/√2) neurons for a nominal ``width``; ``complex_width_scale`` (default 1/√2) does the
same when ``hidden_features`` is an int. A list of widths is taken as the actual widths
(what ``spec_kwargs`` writes). Parameter counts are in real scalars (2 per complex entry).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from inr_bench.backbones.base import Backbone, in_float32, widths_list


class GaborLayer(nn.Linear):
    """(N, in) real or complex -> (N, out) complex: exp(jω z − |s z|²), z = x Wᵀ + b."""

    def __init__(
        self, in_features: int, out_features: int, omega: float, scale: float, complex_: bool
    ) -> None:
        dtype = torch.cfloat if complex_ else torch.float32
        super().__init__(in_features, out_features, dtype=dtype)
        self.omega, self.scale = float(omega), float(scale)

    def forward(self, x: Tensor) -> Tensor:
        z = torch.addmm(self.bias, x.to(self.weight.dtype), self.weight.t())
        if not z.is_complex():
            z = torch.complex(z, torch.zeros_like(z))
        # exp(jω(a + ib) − s²(a² + b²)) for z = a + ib
        return torch.exp(
            1j * self.omega * z - (self.scale**2) * (z.real.square() + z.imag.square())
        )


class Wire(Backbone):
    """(N, in_dim) -> (N, out_dim) real output of a complex Gabor MLP."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_features: int | Sequence[int] = 256,
        hidden_layers: int = 3,
        omega_0: float = 20.0,
        omega_0_hidden: float = 20.0,
        scale: float = 10.0,
        complex_width_scale: float = 1 / math.sqrt(2),
    ) -> None:
        super().__init__()
        self.in_dim, self.out_dim = in_dim, out_dim
        self.omega_0, self.omega_0_hidden = float(omega_0), float(omega_0_hidden)
        self.scale, self.complex_width_scale = float(scale), float(complex_width_scale)
        if isinstance(hidden_features, int):
            hidden_features = max(1, int(hidden_features * self.complex_width_scale))
        widths = widths_list(hidden_features, hidden_layers + 1)
        dims = [in_dim, *widths]
        self.layers = nn.ModuleList(
            GaborLayer(dims[i], dims[i + 1], omega_0 if i == 0 else omega_0_hidden, scale, i > 0)
            for i in range(len(widths))
        )
        self.last = nn.Linear(widths[-1], out_dim, dtype=torch.cfloat)

    def forward(self, x: Tensor) -> Tensor:
        # The real first layer in float32 under bf16 autocast (there is no complex bfloat16;
        # the complex layers after it are left alone by autocast).
        x = in_float32(self.layers[0], x)
        for layer in self.layers[1:]:
            x = layer(x)
        return self.last(x).real

    @property
    def omega(self) -> Tensor:
        """First-layer frequencies ω·W⁰ᵀ, shape (in_dim, width)."""
        return self.omega_0 * self.layers[0].weight.detach().t()

    def num_parameters(self, nonzero: bool = False) -> int:
        """Trainable real scalars: a complex weight counts twice; with ``nonzero`` only the
        real / imaginary parts that are not exactly zero."""
        params = [p for p in self.parameters() if p.requires_grad]
        if nonzero:
            parts = [torch.view_as_real(p) if p.is_complex() else p for p in params]
            return int(sum(int(torch.count_nonzero(p)) for p in parts))
        return sum(p.numel() * (2 if p.is_complex() else 1) for p in params)

    def spec_kwargs(self) -> dict[str, Any]:
        return {
            **self.shape_kwargs(),
            "omega_0": self.omega_0,
            "omega_0_hidden": self.omega_0_hidden,
            "scale": self.scale,
            "complex_width_scale": self.complex_width_scale,
        }
