"""SDF from a mesh, surface + eikonal protocol (SIREN §4.2 + code; Novello et al. 2022; AIRe §4.1).

Nothing but the surface is supervised: each step sees on-surface points with normals and as many
points drawn uniformly in [-1, 1]³, and the network must become a distance function through the
eikonal term. Per point (SIREN's ``sdf`` loss; its batch means become the loop's mean over B):

    on surface:   w_sdf·|f(x)| + w_normal·(1 − cos(∇f(x), n(x)))
    every point:  w_eikonal·| ‖∇f(x)‖ − 1 |
    off surface:  w_off·exp(−a·|f(x)|)

with SIREN's weights w = (3e3, 1e2, 5e1, 1e2) and a = 100 (docs/protocols.md "SDF").

Points: ``coords`` is a pool of ``pool_size`` area-uniform surface samples with face normals
(the papers sample the scan's vertices; the mesh surface is the same distribution, denser).
``batch(index)`` returns the pool points at ``index`` (what index-based samplers choose) followed
by ``len(index)`` fresh uniform off-surface points. ``batch(None)`` (``sampler=full``) draws
``points_per_step`` fresh pool points at random instead of the whole pool, so one "epoch" of
AIRe (10⁴ on + 10⁴ off) is one full-sampler step. Off-surface draws come from the signal's own
generator (seeded by ``seed``); it is not checkpointed, so a resumed run draws other points.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from inr_bench import mesh as meshes
from inr_bench.errors import UserError
from inr_bench.signals.base import Batch
from inr_bench.signals.surface import ImplicitSurfaceSignal, surface_pool, uniform_points

# values columns of a batch: target f (0 on the surface), normal (3), on-surface flag
_ON = 4
# SIREN's sdf loss weights (conf/signal/sdf.yaml repeats them: tests/test_signal_configs.py checks
# that the two agree); ``weights`` overrides any subset of them
SIREN_WEIGHTS = {"sdf": 3e3, "normal": 1e2, "eikonal": 5e1, "off": 1e2}


class SurfaceSDFSignal(ImplicitSurfaceSignal):
    """A mesh's SDF learned from its surface (SIREN loss); see the module docstring."""

    needs_input_grad = True

    def __init__(
        self,
        mesh: str = "builtin:torus",
        extent: float = 0.95,
        pool_size: int = 100_000,
        points_per_step: int = 10_000,
        weights: Mapping[str, float] = SIREN_WEIGHTS,
        off_surface_decay: float = 100.0,
        seed: int = 0,
        **surface: Any,
    ) -> None:
        super().__init__(**surface)
        if not 0.0 < extent <= 1.0:
            raise UserError(f"signal.extent must be in (0, 1], got {extent}")
        if pool_size <= 0 or points_per_step <= 0:
            raise UserError("signal.pool_size and signal.points_per_step must be positive")
        self.mesh = meshes.normalize(meshes.load_mesh(mesh), extent)
        unknown = set(weights) - set(SIREN_WEIGHTS)
        if unknown:  # e.g. False, from a bare YAML 1.1 `off:` key
            raise UserError(
                f"signal.weights has unknown keys {sorted(map(repr, unknown))}; "
                f'the keys are {", ".join(SIREN_WEIGHTS)} (quote "off" in YAML)'
            )
        self.weights = {**SIREN_WEIGHTS, **{k: float(v) for k, v in weights.items()}}
        self.decay = float(off_surface_decay)
        self.points_per_step = int(points_per_step)
        self.generator = torch.Generator().manual_seed(seed)
        points, normals = surface_pool(self.mesh, int(pool_size), seed)
        self.coords = points
        self.values = torch.cat(
            [torch.zeros(len(points), 1), normals, torch.ones(len(points), 1)], 1
        )

    def batch(self, index: Tensor | None = None, weight: Tensor | None = None) -> Batch:
        """Pool points at ``index`` (or ``points_per_step`` random ones) + as many off-surface."""
        if index is None:
            # host: the seeded CPU generator (same points on every device), then moved
            index = torch.randint(
                len(self.coords), (self.points_per_step,), generator=self.generator
            )
            index = index.to(self.coords.device)
        n = len(index)
        off = uniform_points(n, 1.0, self.generator, like=self.coords)
        coords = torch.cat([self.coords[index], off])
        values = torch.cat([self.values[index], self.values.new_zeros(n, 5)])
        if weight is not None:  # importance weights of the sampler apply to both halves
            weight = torch.cat([weight, weight])
        return Batch(coords, values, None, weight)

    def loss(self, model: torch.nn.Module, batch: Batch) -> Tensor:
        """Per-point SIREN SDF loss (B,); needs ∇f, hence ``needs_input_grad``."""
        x = batch.coords.detach().requires_grad_(True)
        f = model(x)[:, 0]
        (grad,) = torch.autograd.grad(f.sum(), x, create_graph=True)
        on = batch.values[:, _ON]
        normal = 1 - F.cosine_similarity(grad, batch.values[:, 1:_ON], dim=1)
        w = self.weights
        return (
            on * (w["sdf"] * f.abs() + w["normal"] * normal)
            + w["eikonal"] * (grad.norm(dim=1) - 1).abs()
            + (1 - on) * w["off"] * torch.exp(-self.decay * f.abs())
        )
