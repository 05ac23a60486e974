"""A radiance field as two zoo networks: the torch-ngp arrangement of FINER's and AIRe's NeRF
(AIRe App. D.1; FINER's nerf/network_finer.py).

Density network: position (N, p) -> (N, 1 + geo_features): a density logit and a geometry
feature v (182-d in the paper). Colour network: (view direction, v) (N, view + geo_features)
-> colour logits (N, out_dim - 1). Each is a backbone of the zoo (SIREN, FINER, ...) chosen in
the config with ``_partial_`` and completed here with its dimensions and widths. The renderer
(``inr_bench.nerf.render``) applies the density activation and the colour sigmoid.

The paper's sizes: density [182, 182, 182] (three sine layers + linear output) for every row;
colour [182, 182, 182] (Large) or, per App. D.1's text, [91, 91, 182] (Small). Structured
surgery (``chain``) acts on the density network alone: AIRe prunes its hidden neurons.

Inputs: the last ``view_dim`` coordinates are the view direction when ``in_dim`` exceeds it
(in_dim 6 = position + direction, the NeRF signal); otherwise every coordinate is a position
and the colour network reads the feature alone. ``out_dim`` 1 leaves a density network alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from inr_bench.backbones.base import Backbone, build_model, widths_list

Part = Callable[..., Backbone] | dict[str, Any]


def _make(part: Part, **shape: Any) -> Backbone:
    """A zoo backbone from a Hydra partial, or from a spec dict (``model.pt``)."""
    if isinstance(part, dict):
        return build_model({**part, **shape})
    return part(**shape)


def _mlp_parameters(in_dim: int, widths: Sequence[int], out_dim: int) -> int:
    dims = [in_dim, *widths, out_dim]
    return sum(a * b + b for a, b in zip(dims[:-1], dims[1:], strict=False))


def parameter_count(
    in_dim: int,
    out_dim: int,
    widths: Sequence[int],
    color_widths: Sequence[int],
    geo_features: int = 182,
    view_dim: int = 3,
) -> int:
    """Closed-form trainable scalars of a field whose two networks are plain MLPs with biases
    (SIREN / FINER): AIRe Table 8's sizes (Large 201 842 = 100 829 + 101 013; density
    [91, 91, 182] after AIRe's pruning 159 982, i.e. -20.74 %)."""
    view = view_dim if in_dim > view_dim else 0
    total = _mlp_parameters(in_dim - view, widths, 1 + geo_features)
    if out_dim > 1:
        total += _mlp_parameters(view + geo_features, color_widths, out_dim - 1)
    return total


class NeRFField(Backbone):
    """(N, in_dim) -> (N, out_dim): [density logit, colour logits]; see the module docstring."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        density: Part,
        color: Part,
        hidden_features: int | Sequence[int] = 182,
        hidden_layers: int = 2,
        color_features: int | Sequence[int] = 182,
        color_hidden_layers: int = 2,
        geo_features: int = 182,
        view_dim: int = 3,
    ) -> None:
        super().__init__()
        self.in_dim, self.out_dim = in_dim, out_dim
        self.geo_features, self.view_dim = geo_features, view_dim
        self.views = view_dim if in_dim > view_dim else 0
        self.density_net = _make(
            density,
            in_dim=in_dim - self.views,
            out_dim=1 + geo_features,
            hidden_features=widths_list(hidden_features, hidden_layers + 1),
            hidden_layers=hidden_layers,
        )
        self.color_net = None
        if out_dim > 1:
            self.color_net = _make(
                color,
                in_dim=self.views + geo_features,
                out_dim=out_dim - 1,
                hidden_features=widths_list(color_features, color_hidden_layers + 1),
                hidden_layers=color_hidden_layers,
            )

    def forward(self, x: Tensor) -> Tensor:
        positions, views = x[:, : self.in_dim - self.views], x[:, self.in_dim - self.views :]
        h = self.density_net(positions)  # (N, 1 + geo_features)
        if self.color_net is None:
            return h[:, :1]
        # FINER's colour network reads [direction, feature], in this order
        return torch.cat([h[:, :1], self.color_net(torch.cat([views, h[:, 1:]], dim=1))], dim=1)

    def chain(self) -> list[nn.Module]:
        """The density network's layers: AIRe's densify / TWD / prune act on them alone."""
        return self.density_net.chain()

    @property
    def omega(self) -> Tensor | None:
        """The density network's first-layer frequencies (positions, width)."""
        return self.density_net.omega

    def spec_kwargs(self) -> dict[str, Any]:
        density = self.density_net.spec_kwargs()
        spec = {
            "in_dim": self.in_dim,
            "out_dim": self.out_dim,
            "density": self.density_net.spec(),
            "color": None if self.color_net is None else self.color_net.spec(),
            "hidden_features": density["hidden_features"],
            "hidden_layers": density["hidden_layers"],
            "geo_features": self.geo_features,
            "view_dim": self.view_dim,
        }
        if self.color_net is not None:
            color = self.color_net.spec_kwargs()
            spec |= {
                "color_features": color["hidden_features"],
                "color_hidden_layers": color["hidden_layers"],
            }
        return spec
