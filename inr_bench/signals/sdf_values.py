"""SDF from a mesh, supervised-values protocol (BACON → FINER → SASNet §4.3).

The mesh is scaled into [-extent, extent]³ (BACON: 0.45) and the network regresses the signed
distance at points near the surface: surface samples jittered by Laplace noise, half with scale
``coarse_scale`` (0.1) and half with ``fine_scale`` (1e-3), wrapped back into [-0.5, 0.5]³ as
BACON's ``MeshSDF`` does. SASNet calls this the "coarse-to-fine SDF loss" (§4.3): per point

    w·(f(x) − sdf(x))²,  w = ``coarse_weight`` (1e-2) for coarse points, 1 for fine points

(BACON's ``overfit_sdf``; BACON sums over the batch where we average: a constant factor that
Adam does not see). ``uniform_fraction`` adds points uniform in [-0.5, 0.5]³ (weight 1; BACON
has none, 0 by default; docs/protocols.md "SDF" mentions them, so the option is there).

Two departures from BACON, both exposed: the target is the exact signed distance to the mesh
(libigl; BACON projects onto the mean normal of the 3 nearest scan points, an approximation), and
the points are a fixed pool of ``pool_size`` computed once (~2 s per 100k points), from which
the sampler picks (``sampler=uniform sampler.batch_size=10000`` is the papers' 10k per step;
BACON draws fresh points every step, a large pool comes close).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from inr_bench import mesh as meshes
from inr_bench.errors import UserError
from inr_bench.signals.base import Batch
from inr_bench.signals.surface import ImplicitSurfaceSignal


class SupervisedSDFSignal(ImplicitSurfaceSignal):
    """values (N, 2): target signed distance and the point's loss weight."""

    def __init__(
        self,
        mesh: str = "builtin:torus",
        extent: float = 0.45,
        pool_size: int = 200_000,
        coarse_scale: float = 0.1,
        fine_scale: float = 1e-3,
        coarse_weight: float = 1e-2,
        uniform_fraction: float = 0.0,
        seed: int = 0,
        mc_bound: float = 0.5,  # the points' box [-0.5, 0.5]³, not the base class's [-1, 1]³
        **surface: Any,
    ) -> None:
        super().__init__(mc_bound=mc_bound, **surface)
        if not 0.0 < extent < 0.5:
            raise UserError(
                f"signal.extent must be in (0, 0.5) (points wrap at ±0.5), got {extent}"
            )
        if not 0.0 <= uniform_fraction < 1.0:
            raise UserError(f"signal.uniform_fraction must be in [0, 1), got {uniform_fraction}")
        self.mesh = meshes.normalize(meshes.load_mesh(mesh), extent)
        rng = np.random.default_rng(seed)
        n_uniform = int(round(uniform_fraction * pool_size))
        n_near = (pool_size - n_uniform) // 2
        base = meshes.sample_surface(self.mesh, 2 * n_near, seed=seed)[0]
        coarse = base[:n_near] + rng.laplace(scale=coarse_scale, size=(n_near, 3))
        fine = base[n_near:] + rng.laplace(scale=fine_scale, size=(n_near, 3))
        uniform = rng.uniform(-0.5, 0.5, size=(n_uniform, 3))
        points = np.concatenate([coarse, fine, uniform])
        points = (points + 0.5) % 1.0 - 0.5  # BACON wraps points that left [-0.5, 0.5]³
        weight = np.concatenate([np.full(n_near, coarse_weight), np.ones(n_near + n_uniform)])
        sdf = meshes.signed_distance(self.mesh, points)
        self.coords = torch.from_numpy(points).float()
        self.values = torch.from_numpy(np.stack([sdf, weight], axis=1)).float()

    def point_loss(self, pred: Tensor, batch: Batch) -> Tensor:
        """w·(f − sdf)² per point (B,)."""
        return batch.values[:, 1] * (pred[:, 0] - batch.values[:, 0]).square()
