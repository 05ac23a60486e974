"""Triangle meshes: loading with clear errors, normalisation, inside tests, signed distance,
marching cubes and a software render (no OpenGL needed).

Sign convention everywhere: signed distance is negative inside, positive outside. Inside tests use
the generalised winding number (Jacobson et al. 2013) through libigl, which stays meaningful for
meshes with small holes (the Stanford Bunny's scan is open at the bottom): inside ⇔ w > 0.5.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
import trimesh

from inr_bench import data
from inr_bench.errors import UserError

MESH_SUFFIXES = (".obj", ".ply", ".off", ".stl")


def builtin(name: str) -> trimesh.Trimesh:
    """Analytic test shapes that need no data: "sphere" (radius 1) and "torus" (radii 1, 0.4)."""
    if name == "sphere":
        return trimesh.creation.icosphere(subdivisions=5, radius=1.0)
    if name == "torus":
        return trimesh.creation.torus(1.0, 0.4, major_sections=96, minor_sections=48)
    raise UserError(f"builtin:{name} is not a built-in mesh (builtin:sphere, builtin:torus)")


def load_mesh(ref: str, key: str = "signal.mesh") -> trimesh.Trimesh:
    """A built-in shape ("builtin:torus") or the OBJ / PLY / OFF / STL triangle mesh that
    ``inr_bench.data.resolve`` finds (a file, else a dataset item: "meshes/spot"); UserError
    naming the file when it is empty, not a mesh, or has no faces. A mesh that is not watertight
    is accepted with a warning."""
    if ref.startswith("builtin:"):
        return builtin(ref.removeprefix("builtin:"))
    path = data.resolve(ref, key, kind="mesh", suffixes=MESH_SUFFIXES)
    if path.stat().st_size == 0:
        raise UserError(f"{key}: {path} is empty")
    try:
        loaded = trimesh.load(path, force="mesh", process=False)
    except Exception as err:  # trimesh raises many types on garbage input
        raise UserError(f"{key}: {path} is not a readable mesh ({err})") from err
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise UserError(f"{key}: {path} has no triangles (a point cloud or an empty mesh?)")
    # geometry only: texture seams would otherwise keep duplicate vertices apart (Spot)
    mesh = trimesh.Trimesh(loaded.vertices, loaded.faces, process=True)
    if not mesh.is_watertight:
        warnings.warn(
            f"{path} is not watertight: inside tests and signs use the generalised winding "
            "number (w > 0.5), which closes small holes",
            stacklevel=2,
        )
    return mesh


def normalize(mesh: trimesh.Trimesh, extent: float) -> trimesh.Trimesh:
    """A copy centred on its bounding-box centre and scaled uniformly so that its longest
    bounding-box side spans [-extent, extent]."""
    out = mesh.copy()
    lo, hi = out.bounds
    out.apply_translation(-(lo + hi) / 2)
    out.apply_scale(extent / (np.max(hi - lo) / 2))
    return out


def _vf(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.ascontiguousarray(mesh.vertices, dtype=np.float64),
        np.ascontiguousarray(mesh.faces, dtype=np.int64),
    )


def winding_number(mesh: trimesh.Trimesh, points: np.ndarray) -> np.ndarray:
    """Generalised winding number (P,) at points (P, 3): ~1 inside, ~0 outside (libigl's fast
    approximation, ~1 s per million points)."""
    import igl

    v, f = _vf(mesh)
    return igl.fast_winding_number(v, f, np.ascontiguousarray(points, dtype=np.float64))


def inside(mesh: trimesh.Trimesh, points: np.ndarray) -> np.ndarray:
    """(P,) bool: winding number > 0.5. A mesh without faces has no inside."""
    if len(mesh.faces) == 0:
        return np.zeros(len(points), dtype=bool)
    return winding_number(mesh, points) > 0.5


def signed_distance(mesh: trimesh.Trimesh, points: np.ndarray) -> np.ndarray:
    """(P,) exact distance to the triangles, negative inside (sign from the winding number);
    libigl, ~2 s per 100k points on one core."""
    import igl

    v, f = _vf(mesh)
    query = np.ascontiguousarray(points, dtype=np.float64)
    dist = igl.signed_distance(query, v, f, sign_type=igl.SIGNED_DISTANCE_TYPE_UNSIGNED)[0]
    return np.where(inside(mesh, query), -np.abs(dist), np.abs(dist))


def sample_surface(
    mesh: trimesh.Trimesh, count: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` area-uniform points on the surface (count, 3) and their face normals (count, 3)."""
    points, faces = trimesh.sample.sample_surface(mesh, count, seed=seed)
    return points, mesh.face_normals[faces]


def kdtree(points: np.ndarray):
    """A k-d tree for nearest-neighbour queries. Unbalanced, non-compact nodes: with SciPy 1.17,
    queries far from surface samples are ~10x faster than with the default balanced tree."""
    from scipy.spatial import cKDTree

    return cKDTree(points, balanced_tree=False, compact_nodes=False)


def grid(
    resolution: int,
    bound: float,
    device: torch.device | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """(R³, 3) points of the R×R×R grid linspace(-bound, bound) per axis, ``indexing="ij"``."""
    axis = torch.linspace(-bound, bound, resolution, device=device, dtype=dtype)
    return torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1).reshape(-1, 3)


def marching_cubes(values: np.ndarray, bound: float, level: float = 0.0) -> trimesh.Trimesh:
    """The ``level`` set of a field sampled on ``grid(R, bound)`` (values (R, R, R), smaller
    than ``level`` inside), as a mesh in world coordinates with outward-facing triangles.

    PyMCubes returns vertices in index space (i, j, k) ∈ [0, R-1]³ and orients triangles
    outward for fields that are larger inside, hence the negated field; index i maps to
    -bound + i · 2·bound / (R - 1). No crossing gives a mesh with no faces."""
    import mcubes

    resolution = values.shape[0]
    if not (values.min() < level < values.max()):
        return trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))
    vertices, triangles = mcubes.marching_cubes(-(values.astype(np.float64) - level), 0.0)
    vertices = -bound + vertices * (2 * bound / (resolution - 1))
    return trimesh.Trimesh(vertices, triangles.astype(np.int64), process=False)


def save_mesh(mesh: trimesh.Trimesh, path: Path) -> Path:
    """Write PLY / GLB / OBJ (by suffix) atomically."""
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    mesh.export(tmp)
    os.replace(tmp, path)
    return path


def render(
    mesh: trimesh.Trimesh,
    path: Path,
    colour_distance_to: trimesh.Trimesh | None = None,
    vmax: float = 0.01,
    size: int = 384,
    points: int = 400_000,
) -> Path:
    """PNG of the surface from the front and the side: orthographic splatting of dense surface
    samples with a z-buffer and Lambert shading. With ``colour_distance_to``, colours show the
    distance to that surface from dark blue (0) to dark red (≥ vmax), as in AIRe's Figs. 3 and 7."""
    from matplotlib import colormaps

    from inr_bench.visual import save_image

    views = []
    if len(mesh.faces) == 0:
        views = [np.ones((size, size, 3)) for _ in range(2)]
    else:
        xyz, normals = sample_surface(mesh, points, seed=0)
        colour = np.full((len(xyz), 3), 0.8)
        if colour_distance_to is not None and len(colour_distance_to.faces):
            target = sample_surface(colour_distance_to, points, seed=1)[0]
            # points beyond vmax are clipped anyway; the bound keeps far queries cheap
            dist = kdtree(target).query(xyz, distance_upper_bound=vmax)[0]
            colour = colormaps["jet"](np.clip(dist / vmax, 0, 1))[:, :3]
        for angle in (0.0, np.pi / 2):  # front (looking down -z), then turned 90° about y
            c, s = np.cos(angle), np.sin(angle)
            rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
            views.append(_splat(xyz @ rot.T, normals @ rot.T, colour, size))
    return save_image(path, np.concatenate(views, axis=1))


def _splat(xyz: np.ndarray, normals: np.ndarray, colour: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 3) orthographic image of points in [-1, 1]³ seen from +z (y up)."""
    lo, hi = xyz[:, :2].min(0), xyz[:, :2].max(0)
    scale = (size - 8) / np.max(hi - lo)
    col = ((xyz[:, 0] - (lo[0] + hi[0]) / 2) * scale + size / 2).astype(int)
    row = (size / 2 - (xyz[:, 1] - (lo[1] + hi[1]) / 2) * scale).astype(int)
    ok = (row >= 0) & (row < size) & (col >= 0) & (col < size)
    order = np.argsort(xyz[ok, 2])  # far to near: the nearest point is written last
    row, col = row[ok][order], col[ok][order]
    light = np.array([0.3, 0.5, 1.0]) / np.linalg.norm([0.3, 0.5, 1.0])
    shade = 0.25 + 0.75 * np.abs(normals[ok][order] @ light)
    image = np.ones((size, size, 3))
    image[row, col] = colour[ok][order] * shade[:, None]
    return image
