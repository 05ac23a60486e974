"""SDF from a mesh, surface + eikonal protocol (SIREN §4.2 and its ``loss_functions.sdf``).

Nothing but the surface is supervised: each step sees on-surface points with normals and as many
points drawn uniformly in [-1, 1]³, and the network must become a distance function through the
eikonal term. Per point (SIREN's ``sdf`` loss; its batch means become the loop's mean over B):

    on surface:   w_sdf·|f(x)| + w_normal·(1 − cos(∇f(x), n(x)))
    every point:  w_eikonal·| ‖∇f(x)‖ − 1 |
    off surface:  w_off·exp(−a·|f(x)|)

with SIREN's weights w = (3e3, 1e2, 5e1, 1e2) and a = 100 (docs/protocols.md "SDF"). AIRe's
protocol (Novello et al.'s code) supervises the true distance off the surface instead:
``signal=sdf_novello`` (inr_bench/signals/sdf_novello.py).

Points: ``coords`` is a pool of on-surface points with unit normals: ``surface="area"`` draws
``pool_size`` area-uniform samples with face normals, ``surface="vertices"`` takes the mesh's
vertices with vertex normals (what SIREN's .xyz point clouds and Novello et al.'s PLYs hold).
``batch(index)`` returns the pool points at ``index`` (what index-based samplers choose) followed
by ``len(index)`` off-surface points. ``batch(None)`` (``sampler=full``) draws
``points_per_step`` pool points at random (with repeats, as SIREN's code) instead of the whole
pool, so one step is one of SIREN's (B on + B off). Draws come from the signal's own generator
(seeded by ``seed``); it is not checkpointed, so a resumed run draws other points.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import trimesh
from torch import Tensor

from inr_bench import mesh as meshes
from inr_bench.errors import UserError
from inr_bench.signals.base import Batch
from inr_bench.signals.surface import ImplicitSurfaceSignal, surface_pool, uniform_points

SURFACES = ("area", "vertices")
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
        surface: str = "area",
        seed: int = 0,
        **evaluation: Any,
    ) -> None:
        super().__init__(**evaluation)
        if not 0.0 < extent <= 1.0:
            raise UserError(f"signal.extent must be in (0, 1], got {extent}")
        if pool_size <= 0 or points_per_step <= 0:
            raise UserError("signal.pool_size and signal.points_per_step must be positive")
        if surface not in SURFACES:
            raise UserError(f"signal.surface must be one of {', '.join(SURFACES)}, got {surface!r}")
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
        if surface == "vertices":  # the scan's own points, as SIREN's .xyz and Novello's PLY
            points, normals = vertex_pool(self.mesh)
        else:
            points, normals = surface_pool(self.mesh, int(pool_size), seed)
        self.coords = points
        self.values = torch.cat(
            [torch.zeros(len(points), 1), normals, torch.ones(len(points), 1)], 1
        )

    def batch(self, index: Tensor | None = None, weight: Tensor | None = None) -> Batch:
        """Pool points at ``index`` (or ``points_per_step`` random ones) + as many off-surface."""
        if index is None:
            index = self.draw(len(self.coords), self.points_per_step)
        n = len(index)
        off, off_values = self.off_surface(n)
        coords = torch.cat([self.coords[index], off])
        values = torch.cat([self.values[index], off_values])
        if weight is not None:  # importance weights of the sampler apply to both halves
            weight = torch.cat([weight, weight])
        return Batch(coords, values, None, weight)

    def draw(self, size: int, count: int) -> Tensor:
        """``count`` indices into ``size`` points, with repeats (SIREN's ``np.random.choice``)."""
        # host: the seeded CPU generator (same points on every device), then moved
        index = torch.randint(size, (count,), generator=self.generator)
        return index.to(self.coords.device)

    def off_surface(self, n: int) -> tuple[Tensor, Tensor]:
        """n fresh points uniform in [-1, 1]³ (n, 3) and their values rows (n, 5): SIREN has no
        target off the surface, so column 0 is unused there (0)."""
        off = uniform_points(n, 1.0, self.generator, like=self.coords)
        return off, self.values.new_zeros(n, 5)

    def loss(self, model: torch.nn.Module, batch: Batch) -> Tensor:
        """Per-point SIREN SDF loss (B,); needs ∇f, hence ``needs_input_grad``."""
        f, grad, on, normal = surface_terms(model, batch)
        w = self.weights
        return (
            on * (w["sdf"] * f.abs() + w["normal"] * normal)
            + w["eikonal"] * (grad.norm(dim=1) - 1).abs()
            + (1 - on) * w["off"] * torch.exp(-self.decay * f.abs())
        )


def vertex_pool(mesh: trimesh.Trimesh) -> tuple[Tensor, Tensor]:
    """The mesh's vertices (V, 3) and unit vertex normals (V, 3), float32: the point cloud that
    SIREN's ``PointCloud`` and Novello et al.'s loader sample from."""
    normals = np.asarray(mesh.vertex_normals, dtype=np.float64)
    normals = normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    points = np.asarray(mesh.vertices, dtype=np.float64)
    return torch.from_numpy(points).float(), torch.from_numpy(normals).float()


def surface_terms(model: torch.nn.Module, batch: Batch) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """What every SDF loss is made of: f (B,), ∇f (B, 3) kept in the graph (the loss is
    differentiated again), the on-surface flag (B,) and the normal misalignment 1 − cos (B,)."""
    x = batch.coords.detach().requires_grad_(True)
    f = model(x)[:, 0]
    (grad,) = torch.autograd.grad(f.sum(), x, create_graph=True)
    on = batch.values[:, _ON]
    return f, grad, on, 1 - F.cosine_similarity(grad, batch.values[:, 1:_ON], dim=1)
