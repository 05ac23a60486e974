"""Shared evaluation for signals whose network output is an implicit surface (SDF protocols).

The level set f = ``level`` of the network is extracted by marching cubes on a ``mc_resolution``³
grid over [-mc_bound, mc_bound]³ (the papers use 512³; the CPU default is 128³), evaluated
``chunk`` points at a time, and compared with the normalised ground-truth mesh by the geometry
metrics. The extracted mesh is cached per set of weights, so evaluation and artefacts share it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import trimesh

from inr_bench import mesh as meshes
from inr_bench.backbones.base import predict
from inr_bench.signals.base import Signal


class ImplicitSurfaceSignal(Signal):
    """Base of the SDF signals: ``self.mesh`` is the ground truth in network coordinates."""

    kind = "sdf"
    in_dim = 3
    out_dim = 1
    main_metric = "iou"  # defined (0) before a zero level set exists, where Chamfer is inf
    level = 0.0
    mesh: trimesh.Trimesh

    def __init__(
        self,
        mc_resolution: int = 128,
        mc_bound: float = 1.0,
        render: bool = True,
    ) -> None:
        self.mc_resolution, self.mc_bound = int(mc_resolution), float(mc_bound)
        self.render = render
        self._cache: tuple[tuple, trimesh.Trimesh] | None = None

    def extract(self, model: torch.nn.Module, chunk: int) -> trimesh.Trimesh:
        """The network's level set as a mesh (cached for unchanged weights)."""
        key = (id(model), *(float(p.detach().double().sum()) for p in model.parameters()))
        if self._cache is None or self._cache[0] != key:
            like = self.coords  # the signal's device and dtype, as the model's
            points = meshes.grid(self.mc_resolution, self.mc_bound, like.device, like.dtype)
            values = predict(model, points, chunk)[:, 0].cpu().numpy()
            shape = (self.mc_resolution,) * 3
            self._cache = (
                key,
                meshes.marching_cubes(values.reshape(shape), self.mc_bound, self.level),
            )
        return self._cache[1]

    def evaluate(self, model: torch.nn.Module, metrics: dict[str, Any], chunk: int) -> dict:
        """Geometry metrics of the extracted mesh against the ground truth, and its size."""
        pred = self.extract(model, chunk)
        out = {name: metric(pred, self.mesh) for name, metric in metrics.items()}
        out["mesh_faces"] = float(len(pred.faces))
        return out

    def save_artifacts(self, model: torch.nn.Module, folder: Path, chunk: int) -> dict[str, Path]:
        """mesh.ply (and mesh.glb, which W&B shows as a 3-D object), surface.png (front and
        side, coloured by distance to the ground truth) and ground_truth.png."""
        pred = self.extract(model, chunk)
        paths = {"mesh": meshes.save_mesh(pred, folder / "mesh.ply")}
        if len(pred.faces):
            paths["mesh_3d"] = meshes.save_mesh(pred, folder / "mesh.glb")
        if self.render:
            paths["surface"] = meshes.render(pred, folder / "surface.png", self.mesh)
            paths["ground_truth"] = meshes.render(self.mesh, folder / "ground_truth.png")
        return paths


def uniform_points(
    count: int, bound: float, generator: torch.Generator, like: torch.Tensor
) -> torch.Tensor:
    """(count, 3) points uniform in [-bound, bound]³, on the device and in the dtype of ``like``."""
    # host: drawn from the seeded CPU generator, so a seed gives the same points on every device
    points = torch.rand(count, 3, generator=generator, dtype=like.dtype)
    return ((points * 2 - 1) * bound).to(like.device)


def surface_pool(mesh: trimesh.Trimesh, count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` area-uniform surface points (count, 3) with unit normals (count, 3), float32."""
    points, normals = meshes.sample_surface(mesh, count, seed=seed)
    normals = normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return torch.from_numpy(points).float(), torch.from_numpy(normals).float()
