"""SASNet: spatially-adaptive sinusoidal network (Feng et al., SASNet §3, supp. §3).

A frozen integer-lattice frequency embedding h¹ = sin(ωx + φ) (§3.2, supp. §3.1), hidden
sine layers with SIREN's init, a linear output; the neurons of chosen layers are multiplied by
masks M^i(x) ∈ [0, 1] (eq. 3) decoded by a one-hidden-layer ReLU MLP (sigmoid output) from a
multiresolution hash grid (§3.3). One mask per neuron group, broadcast over the group:
embedding neurons are grouped by their lattice band (band 0, the low frequencies ‖k‖∞ ≤ L, is
never masked: its mask is fixed to one), hidden neurons split evenly into ``groups`` groups.
Decoder outputs start near 0.5 (small features, sigmoid). ``mask_sparsity`` λ adds
λ·mean|M(x)| over ``sparsity_samples`` uniform points (the paper's ∫|M|₁ dx; SASNet's released
image code trains without it, so it defaults to 0). The grid and decoder form their own
optimizer group with ``mask_lr`` (supp.: 5e-4).

``embedding: siren`` replaces the lattice by an ordinary trained SIREN first layer (Table 4's
rows without FEmbed.); its neurons are then grouped by max|ω| at initialisation, in
``high_bands + 1`` equal groups, the lowest kept unmasked (our reading of §3.3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from inr_bench.backbones.base import Backbone, in_float32, widths_list
from inr_bench.backbones.hashgrid import HashGrid
from inr_bench.backbones.lattice import LatticeLayer
from inr_bench.backbones.siren import SineLayer
from inr_bench.errors import UserError

LATTICE = {"period": 2 / 0.95, "low_range": 12, "band_limit": 60, "low_fraction": 0.5,
           "high_bands": 4}  # fmt: skip
GRID = {"levels": 10, "features": 2, "log2_size": 10, "min_res": 16, "max_res": 256,
        "feature_std": 0.01}  # fmt: skip


class SASNet(Backbone):
    """(N, in_dim) -> (N, out_dim): masked lattice SIREN (see the module docstring)."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_features: int | Sequence[int] = 232,
        hidden_layers: int = 2,
        embedding_size: int | None = 256,
        omega_0: float = 43.0,
        omega_0_hidden: float = 43.0,
        embedding: str = "lattice",
        lattice: dict[str, Any] | None = None,
        mask_layers: Sequence[int] | str = "all",
        groups: int = 8,
        grid: dict[str, Any] | None = None,
        decoder_hidden: int = 48,
        mask_sparsity: float = 0.0,
        sparsity_samples: int = 4096,
        mask_lr: float | None = 5e-4,
    ) -> None:
        super().__init__()
        if embedding not in ("lattice", "siren"):
            raise UserError(f"backbone.embedding must be lattice or siren, got {embedding!r}")
        self.in_dim, self.out_dim = in_dim, out_dim
        self.omega_0, self.omega_0_hidden, self.embedding = omega_0, omega_0_hidden, embedding
        self.lattice_kwargs = {**LATTICE, **(lattice or {})}
        self.grid_kwargs = {**GRID, **(grid or {})}
        self.groups, self.decoder_hidden = groups, decoder_hidden
        self.mask_sparsity, self.sparsity_samples, self.mask_lr = (
            mask_sparsity,
            sparsity_samples,
            mask_lr,
        )
        hidden = widths_list(hidden_features, hidden_layers)
        embedding_size = hidden[0] if embedding_size is None else embedding_size
        widths = [embedding_size, *hidden]
        if mask_layers == "all":
            mask_layers = range(len(widths))
        self.mask_layers = sorted(int(i) for i in mask_layers)
        if any(not 0 <= i < len(widths) for i in self.mask_layers):
            raise UserError(
                f"backbone.mask_layers {self.mask_layers}: layers are 0..{len(widths) - 1}"
            )
        self.layers = nn.ModuleList([self._embedding(in_dim, embedding_size)])
        self.layers.extend(
            SineLayer(widths[i], widths[i + 1], omega_0_hidden) for i in range(len(widths) - 1)
        )
        self.last = nn.Linear(widths[-1], out_dim)
        self._siren_init()
        self._mask_groups(widths)
        if self.mask_layers:
            self.grid = HashGrid(in_dim, **self.grid_kwargs)
            self.decoder = nn.Sequential(
                nn.Linear(self.grid.out_dim, decoder_hidden),
                nn.ReLU(),
                nn.Linear(decoder_hidden, sum(self.mask_sizes)),
            )

    def _embedding(self, in_dim: int, size: int) -> nn.Module:
        if self.embedding == "lattice":
            return LatticeLayer(in_dim, size, **self.lattice_kwargs)
        return SineLayer(in_dim, size, self.omega_0)

    @torch.no_grad()
    def _siren_init(self) -> None:
        """SIREN init for every trained matrix (SASNet §3.2: all but the frozen embedding)."""
        for i, layer in enumerate([*self.layers, self.last]):
            if isinstance(layer, LatticeLayer):
                continue
            layer.reset_parameters()
            fan_in = layer.in_features
            bound = 1 / fan_in if i == 0 else math.sqrt(6 / fan_in) / self.omega_0_hidden
            layer.weight.uniform_(-bound, bound)

    def _mask_groups(self, widths: list[int]) -> None:
        """Per masked layer, each neuron's column in that layer's mask block (0 = fixed one)."""
        self.mask_sizes = []
        for i in self.mask_layers:
            if i == 0:
                group = self._embedding_groups()
                self.mask_sizes.append(int(group.max()))  # band 0 is the fixed column
            else:
                neuron = torch.arange(widths[i], device=self.last.weight.device)
                group = neuron * self.groups // widths[i] + 1
                self.mask_sizes.append(self.groups)
            self.register_buffer(f"group_{i}", group)

    def _embedding_groups(self) -> Tensor:
        first = self.layers[0]
        if isinstance(first, LatticeLayer):
            return first.band.clone()
        radius = first.weight.detach().abs().amax(dim=1)  # SIREN: group by max|ω| at init
        bands = self.lattice_kwargs["high_bands"] + 1
        rank = radius.argsort().argsort()
        return rank * bands // len(radius)

    def masks(self, x: Tensor) -> list[Tensor]:
        """Per masked layer, (N, 1 + groups) mask values, column 0 the fixed one."""
        values = torch.sigmoid(self.decoder(self.grid(x)))
        ones = values.new_ones(values.shape[0], 1)
        return [torch.cat([ones, m], dim=1) for m in values.split(self.mask_sizes, dim=1)]

    def spatial_maps(self, x: Tensor) -> dict[str, Tensor]:
        """The learned masks of each masked layer, (N, groups) (the fixed column left out);
        layer i is h^{i+1} in the paper's notation."""
        if not self.mask_layers:
            return {}
        return {
            f"mask h{i + 1}": m[:, 1:] for i, m in zip(self.mask_layers, self.masks(x), strict=True)
        }

    def forward(self, x: Tensor) -> Tensor:
        masks = iter(self.masks(x)) if self.mask_layers else iter(())
        h = x
        for i, layer in enumerate(self.layers):
            h = in_float32(layer, h) if i == 0 else layer(h)
            if i in self.mask_layers:  # eq. 3: h̃ = M ⊙ h, each neuron its group's mask
                h = h * next(masks).index_select(1, getattr(self, f"group_{i}"))
        return in_float32(self.last, h)

    def regularizer(self) -> Tensor | None:
        """λ · mean |M(x)| over uniform points: a Monte Carlo ∫|M|₁ dx (§3.3)."""
        if not self.mask_layers or self.mask_sparsity == 0:
            return None
        device = self.last.weight.device
        x = torch.rand(self.sparsity_samples, self.in_dim, device=device) * 2 - 1
        learned = torch.cat([m[:, 1:] for m in self.masks(x)], dim=1)
        return self.mask_sparsity * learned.mean()

    def param_groups(self) -> list[dict[str, Any]]:
        mask_params = (
            [*self.grid.parameters(), *self.decoder.parameters()] if self.mask_layers else []
        )
        ids = {id(p) for p in mask_params}
        main = [p for p in self.parameters() if p.requires_grad and id(p) not in ids]
        groups = [{"params": main}]
        if mask_params:
            groups.append({"params": mask_params, **({"lr": self.mask_lr} if self.mask_lr else {})})
        return groups

    @property
    def omega(self) -> Tensor:
        first = self.layers[0]
        return (
            first.omega
            if isinstance(first, LatticeLayer)
            else self.omega_0 * first.weight.detach().t()
        )

    def spec_kwargs(self) -> dict[str, Any]:
        return {
            "in_dim": self.in_dim,
            "out_dim": self.out_dim,
            "hidden_features": [layer.out_features for layer in self.layers[1:]],
            "hidden_layers": len(self.layers) - 1,
            "embedding_size": self.layers[0].out_features,
            "omega_0": self.omega_0,
            "omega_0_hidden": self.omega_0_hidden,
            "embedding": self.embedding,
            "lattice": dict(self.lattice_kwargs),
            "mask_layers": list(self.mask_layers),
            "groups": self.groups,
            "grid": dict(self.grid_kwargs),
            "decoder_hidden": self.decoder_hidden,
            "mask_sparsity": self.mask_sparsity,
            "sparsity_samples": self.sparsity_samples,
            "mask_lr": self.mask_lr,
        }
