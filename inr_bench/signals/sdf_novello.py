"""SDF from a mesh, the protocol of Novello et al. 2022 that AIRe §4.1 follows (its official
``train_sdf.py`` with the ``true_sdf`` loss; docs/protocols.md "SDF").

Like SIREN's, each step sees B/2 on-surface points with normals and B/2 points uniform in
[-1, 1]³, but the off-surface points carry their true signed distance and every term is squared.
Per point (``true_sdf``: each term's batch mean; the loop's mean over B is the same sum):

    on surface:   w_sdf·f(x)² + w_normal·(1 − cos(∇f(x), n(x)))
    every point:  w_eikonal·(‖∇f(x)‖ − 1)²
    off surface:  w_off·(f(x) − sdf(x))²

with the code's weights w = (3e3, 1e2, 5e1, 2e2). Supervising f off the surface is what keeps
spurious zero sets away from it; SIREN's exp(−100|f|) term only pushes f away from 0.

Points: the mesh's vertices with vertex normals (``surface="vertices"``; the code draws a random
subset of the PLY's vertices each step) and off-surface points drawn from a pool of
``off_pool_size`` uniform points whose exact signed distance (libigl) is computed once. The code
draws fresh off-surface points and recomputes their distances (Open3D ray casting) every 10 of
its epochs, reusing them in between; a pool, drawn from at random, is the CPU-friendly equivalent.

One epoch of that code is 2N/B steps (N mesh vertices, B = 2·10⁴ points a step): ``steps`` =
epochs · 2N/B, which ``epoch_steps`` computes for the loaded mesh.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor

from inr_bench import mesh as meshes
from inr_bench.errors import UserError
from inr_bench.signals.base import Batch
from inr_bench.signals.sdf import SurfaceSDFSignal, surface_terms

# Novello et al.'s ``true_sdf`` weights (loss_functions.py): on-surface f², normal alignment,
# squared eikonal residual, off-surface (f - sdf)²
NOVELLO_WEIGHTS = {"sdf": 3e3, "normal": 1e2, "eikonal": 5e1, "off": 2e2}


class NovelloSDFSignal(SurfaceSDFSignal):
    """A mesh's SDF from its vertices and true off-surface distances; see the module docstring.

    values (N, 5) as in ``SurfaceSDFSignal``: target f (0 on the surface, sdf(x) off it),
    normal (3), on-surface flag. ``off_coords`` (M, 3) / ``off_sdf`` (M,) are the off-surface pool.
    """

    def __init__(
        self,
        mesh: str = "builtin:torus",
        surface: str = "vertices",
        points_per_step: int = 10_000,
        off_pool_size: int = 200_000,
        weights: Mapping[str, float] = NOVELLO_WEIGHTS,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        weights = {**NOVELLO_WEIGHTS, **weights}
        super().__init__(
            mesh,
            surface=surface,
            points_per_step=points_per_step,
            weights=weights,
            seed=seed,
            **kwargs,
        )
        if off_pool_size <= 0:
            raise UserError(f"signal.off_pool_size must be positive, got {off_pool_size}")
        pool = np.random.default_rng(seed + 1).uniform(-1.0, 1.0, size=(int(off_pool_size), 3))
        self.off_coords = torch.from_numpy(pool).float()  # Signal.to moves the pool with the rest
        self.off_sdf = torch.from_numpy(meshes.signed_distance(self.mesh, pool)).float()

    def epoch_steps(self, epochs: float, batch_points: int = 20_000) -> int:
        """Steps of ``epochs`` of the official code: epochs · 2·vertices / batch, rounded."""
        return round(epochs * 2 * len(self.mesh.vertices) / batch_points)

    def draw(self, size: int, count: int) -> Tensor:
        """``count`` distinct indices into ``size`` points (the code's ``randperm``), with
        repeats only where ``count`` > ``size``."""
        if count > size:
            return super().draw(size, count)
        # host: the seeded CPU generator (same points on every device), then moved
        return torch.randperm(size, generator=self.generator)[:count].to(self.coords.device)

    def off_surface(self, n: int) -> tuple[Tensor, Tensor]:
        """n points of the off-surface pool (n, 3) and their values rows (n, 5), sdf in column 0."""
        index = self.draw(len(self.off_coords), n)
        values = self.values.new_zeros(n, 5)
        values[:, 0] = self.off_sdf[index]
        return self.off_coords[index], values

    def loss(self, model: torch.nn.Module, batch: Batch) -> Tensor:
        """Per-point ``true_sdf`` loss (B,); needs ∇f, hence ``needs_input_grad``."""
        f, grad, on, normal = surface_terms(model, batch)
        w = self.weights
        return (
            on * (w["sdf"] * f.square() + w["normal"] * normal)
            + w["eikonal"] * (grad.norm(dim=1) - 1).square()
            + (1 - on) * w["off"] * (f - batch.values[:, 0]).square()
        )
