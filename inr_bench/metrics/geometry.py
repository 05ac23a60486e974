"""Geometry metrics: Chamfer distance between two surfaces and IoU of two solids.

Both take ``(pred, target)``: meshes (``trimesh.Trimesh``, the prediction usually extracted by
marching cubes) or, for IoU, boolean occupancy arrays of one shape. ``kinds`` names the signal
kinds a metric applies to (see ``inr_bench.metrics.for_kind``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import trimesh

from inr_bench import mesh as meshes


class Chamfer:
    """Symmetric Chamfer distance between surface samples of two meshes.

    ``num_points`` area-uniform samples on each surface (BACON / FINER / SASNet: 300 000);
    d(a, B) = min_b ‖a − b‖₂ by a k-d tree; each direction is the mean of d (``squared=False``)
    or of d² (``squared=True``); the two directions are added (``reduce="sum"``) or averaged
    (``reduce="mean"``); the result is multiplied by ``scale`` (100 for the "CD (×10²)" of AIRe).

    BACON's evaluation code (``compute_trimesh_chamfer``, used by FINER and SASNet Table 3) is
    squared=True, reduce="sum", 300k points. AIRe (§4.1, Tables 3, 5–7) does not define its CD;
    squared=False, reduce="sum" is our reading (its magnitudes, ~0.6×10⁻² on [-1, 1]³, match
    unsquared distances, not squared ones). Both surfaces are sampled with the same ``seed``: the
    metric is deterministic and exactly 0 for identical meshes. An empty prediction (no zero
    crossing) gives inf.
    """

    kinds = ("sdf", "occupancy")

    def __init__(
        self,
        num_points: int = 300_000,
        squared: bool = True,
        reduce: str = "sum",
        scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        if reduce not in ("sum", "mean"):
            raise ValueError(f"Chamfer reduce must be 'sum' or 'mean', got {reduce!r}")
        self.num_points, self.squared, self.reduce = int(num_points), squared, reduce
        self.scale, self.seed = float(scale), int(seed)

    def __call__(self, pred: trimesh.Trimesh, target: trimesh.Trimesh) -> float:
        if len(pred.faces) == 0 or len(target.faces) == 0:
            return math.inf
        a = meshes.sample_surface(pred, self.num_points, seed=self.seed)[0]
        b = meshes.sample_surface(target, self.num_points, seed=self.seed)[0]
        return self.scale * self.between_points(a, b)

    def between_points(self, a: np.ndarray, b: np.ndarray) -> float:
        """The same distance between two point sets (P, 3) and (Q, 3)."""
        d_ab = meshes.kdtree(b).query(a)[0]
        d_ba = meshes.kdtree(a).query(b)[0]
        if self.squared:
            d_ab, d_ba = d_ab**2, d_ba**2
        total = float(d_ab.mean() + d_ba.mean())
        return total if self.reduce == "sum" else total / 2


class IoU:
    """Intersection over union of two solids on a grid.

    Meshes: inside tests (winding number > 0.5) of both on the ``resolution``³ grid
    linspace(-bound, bound) (BACON / FINER / SASNet: 128³ over [-1, 1]³); the target's
    occupancy is computed once per target mesh. Boolean arrays (occupancy fields, weight scaling
    §5.1): compared as they are. Two empty solids give nan.
    """

    kinds = ("sdf", "occupancy")

    def __init__(self, resolution: int = 128, bound: float = 1.0) -> None:
        self.resolution, self.bound = int(resolution), float(bound)
        self._target_key: tuple | None = None
        self._target_inside: np.ndarray | None = None

    def __call__(self, pred, target) -> float:
        if isinstance(pred, trimesh.Trimesh):
            points = meshes.grid(self.resolution, self.bound).numpy()
            pred = meshes.inside(pred, points)
            target = self._inside_target(target, points)
        pred, target = _as_bool(pred), _as_bool(target)
        if pred.shape != target.shape:
            raise ValueError(f"IoU: pred {pred.shape} and target {target.shape} differ")
        union = np.logical_or(pred, target).sum()
        return float(np.logical_and(pred, target).sum() / union) if union else math.nan

    def _inside_target(self, target: trimesh.Trimesh, points: np.ndarray) -> np.ndarray:
        key = (id(target), len(target.faces), float(target.vertices.sum()))
        if key != self._target_key:
            self._target_key, self._target_inside = key, meshes.inside(target, points)
        return self._target_inside


def _as_bool(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=bool)
