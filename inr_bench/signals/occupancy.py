"""Occupancy field of a mesh on a voxel grid (weight scaling §5.1, after WIRE's occupancy task).

The mesh is normalised into [-extent, extent]³ and labelled on the ``resolution``³ grid
linspace(-1, 1) per axis: 1 inside (winding number > 0.5), 0 outside. The network regresses the
labels with the mean squared error (the base loss; our choice, the paper does not name its loss)
and is scored by the IoU of {f > 0.5} against the labels on the same grid: the "training IoU"
of weight scaling Table 1 (Lucy, 512³, batch 100k, 50 iterations). Labelling costs ~1 s per
million voxels (512³: ~2 min), done once at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from inr_bench import mesh as meshes
from inr_bench.backbones.base import predict
from inr_bench.errors import UserError
from inr_bench.signals.base import Signal


class OccupancySignal(Signal):
    """coords (R³, 3) on the grid, values (R³, 1) in {0, 1}."""

    kind = "occupancy"
    in_dim = 3
    out_dim = 1
    main_metric = "iou"

    def __init__(
        self,
        mesh: str = "builtin:torus",
        resolution: int = 64,
        extent: float = 0.9,
        threshold: float = 0.5,
        render: bool = True,
    ) -> None:
        if resolution < 2:
            raise UserError(f"signal.resolution must be at least 2, got {resolution}")
        self.resolution, self.threshold, self.render = int(resolution), float(threshold), render
        self.mesh = meshes.normalize(meshes.load_mesh(mesh), extent)
        self.coords = meshes.grid(self.resolution, 1.0)
        labels = meshes.inside(self.mesh, self.coords.numpy())
        self.values = torch.from_numpy(labels).float()[:, None]

    def _predict(self, model: torch.nn.Module, chunk: int) -> torch.Tensor:
        return predict(model, self.coords, chunk)[:, 0].cpu()

    def evaluate(self, model: torch.nn.Module, metrics: dict[str, Any], chunk: int) -> dict:
        """IoU (and any other occupancy metric) of {f > threshold} against the labels."""
        pred = self._predict(model, chunk) > self.threshold
        target = self.values[:, 0].cpu() > 0.5
        return {name: metric(pred, target) for name, metric in metrics.items()}

    def save_artifacts(self, model: torch.nn.Module, folder: Path, chunk: int) -> dict[str, Path]:
        """mesh.ply / mesh.glb: the f = threshold level set by marching cubes on the grid
        (larger inside, hence the negation); surface.png coloured by distance to the mesh."""
        values = self._predict(model, chunk).numpy().reshape((self.resolution,) * 3)
        pred = meshes.marching_cubes(-values, 1.0, -self.threshold)
        paths = {"mesh": meshes.save_mesh(pred, folder / "mesh.ply")}
        if len(pred.faces):
            paths["mesh_3d"] = meshes.save_mesh(pred, folder / "mesh.glb")
        if self.render:
            paths["surface"] = meshes.render(pred, folder / "surface.png", self.mesh)
        return paths
