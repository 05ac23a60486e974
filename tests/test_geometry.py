"""Meshes and geometry metrics on analytic shapes: Chamfer / IoU known values, marching cubes,
inside tests, signed distance, and clear errors for bad mesh files."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import trimesh
from scipy.integrate import quad

from inr_bench import mesh as meshes
from inr_bench.errors import UserError
from inr_bench.metrics import for_kind
from inr_bench.metrics.geometry import Chamfer, IoU


def sphere(radius: float = 0.5, centre: tuple[float, float, float] = (0.0, 0.0, 0.0)):
    out = trimesh.creation.icosphere(subdivisions=5, radius=radius)
    out.apply_translation(centre)
    return out


def torus_sdf(points: np.ndarray, major: float, minor: float) -> np.ndarray:
    """Exact signed distance of the torus around the z axis."""
    ring = np.hypot(points[:, 0], points[:, 1]) - major
    return np.hypot(ring, points[:, 2]) - minor


# --- Chamfer -------------------------------------------------------------------------------------


def shifted_sphere_distance(radius: float, shift: float, power: int) -> float:
    """E over sphere A (area-uniform) of dist(p, sphere B)^power, B = A shifted by ``shift``:
    dist = | |p - c_B| - r | with |p - c_B|² = r² + s² - 2 r s u, u = cos θ uniform on [-1, 1]."""

    def integrand(u: float) -> float:
        return abs(math.sqrt(radius**2 + shift**2 - 2 * radius * shift * u) - radius) ** power

    return quad(integrand, -1, 1)[0] / 2


def test_chamfer_is_zero_on_identical_meshes():
    a = sphere()
    assert Chamfer(num_points=5000)(a, a.copy()) == 0.0
    assert Chamfer(num_points=5000, squared=False, scale=100)(a, a.copy()) == 0.0


@pytest.mark.parametrize("squared", [False, True])
def test_chamfer_of_shifted_spheres_matches_the_integral(squared):
    radius, shift = 0.5, 0.1
    metric = Chamfer(num_points=30_000, squared=squared, reduce="sum")
    measured = metric(sphere(radius), sphere(radius, (shift, 0, 0)))
    # both directions have the same expectation by symmetry
    expected = 2 * shifted_sphere_distance(radius, shift, 2 if squared else 1)
    assert measured == pytest.approx(expected, rel=0.05)


def test_chamfer_reduce_and_scale():
    a, b = sphere(0.5), sphere(0.5, (0.1, 0, 0))
    total = Chamfer(num_points=5000, squared=False)(a, b)
    assert Chamfer(num_points=5000, squared=False, reduce="mean")(a, b) == pytest.approx(total / 2)
    assert Chamfer(num_points=5000, squared=False, scale=100)(a, b) == pytest.approx(100 * total)
    with pytest.raises(ValueError, match="reduce"):
        Chamfer(reduce="max")


def test_chamfer_of_an_empty_prediction_is_inf():
    empty = trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))
    assert Chamfer(num_points=100)(empty, sphere()) == math.inf


# --- IoU -----------------------------------------------------------------------------------------


def test_iou_is_one_on_identical_meshes_and_zero_when_disjoint():
    metric = IoU(resolution=32)
    assert metric(sphere(), sphere()) == 1.0
    assert metric(sphere(0.3, (-0.5, 0, 0)), sphere(0.3, (0.5, 0, 0))) == 0.0


def test_iou_of_shifted_spheres_matches_the_lens_volume():
    radius, shift = 0.5, 0.25
    lens = math.pi * (4 * radius + shift) * (2 * radius - shift) ** 2 / 12  # sphere-sphere overlap
    ball = 4 / 3 * math.pi * radius**3
    expected = lens / (2 * ball - lens)
    measured = IoU(resolution=64)(sphere(radius), sphere(radius, (shift, 0, 0)))
    assert measured == pytest.approx(expected, abs=0.02)


def test_iou_on_occupancy_arrays():
    a = torch.tensor([1, 1, 0, 0], dtype=torch.bool)
    b = np.array([1, 0, 1, 0], dtype=bool)
    assert IoU()(a, b) == pytest.approx(1 / 3)
    assert math.isnan(IoU()(np.zeros(4, bool), np.zeros(4, bool)))
    with pytest.raises(ValueError, match="differ"):
        IoU()(np.zeros(4, bool), np.zeros(5, bool))


def test_metrics_that_do_not_apply_to_the_signal_kind_are_refused():
    chamfer, image_metric = Chamfer(num_points=10), object()  # no ``kinds``: an image metric
    assert for_kind({"chamfer": chamfer}, "sdf") == {"chamfer": chamfer}
    with pytest.raises(UserError, match=r"psnr \(image\) do not apply to a sdf signal"):
        for_kind({"chamfer": chamfer, "psnr": image_metric}, "sdf")


# --- marching cubes, inside tests, signed distance ----------------------------------------------


@pytest.mark.parametrize("shape", ["sphere", "torus"])
def test_marching_cubes_of_an_analytic_sdf_is_watertight_with_the_right_area(shape):
    resolution, bound = 48, 1.0
    points = meshes.grid(resolution, bound).numpy()
    if shape == "sphere":
        values = np.linalg.norm(points, axis=1) - 0.6
        area, volume = 4 * math.pi * 0.6**2, 4 / 3 * math.pi * 0.6**3
    else:
        major, minor = 0.55, 0.25
        values = torus_sdf(points, major, minor)
        area, volume = 4 * math.pi**2 * major * minor, 2 * math.pi**2 * major * minor**2
    surface = meshes.marching_cubes(values.reshape((resolution,) * 3), bound)
    surface.merge_vertices()
    assert surface.is_watertight, shape
    assert surface.area == pytest.approx(area, rel=0.02), shape
    # outward triangles give a positive enclosed volume; world (not index) coordinates
    assert surface.volume == pytest.approx(volume, rel=0.03), shape
    assert np.abs(surface.vertices).max() < bound


def test_marching_cubes_without_a_crossing_gives_an_empty_mesh():
    assert len(meshes.marching_cubes(np.ones((8, 8, 8)), 1.0).faces) == 0


def test_signed_distance_matches_the_analytic_sphere_and_torus():
    rng = np.random.default_rng(0)
    points = rng.uniform(-1.2, 1.2, size=(500, 3))
    ball = sphere(0.7)
    exact = np.linalg.norm(points, axis=1) - 0.7
    np.testing.assert_allclose(meshes.signed_distance(ball, points), exact, atol=2e-3)
    ring = meshes.builtin("torus")  # radii 1 and 0.4 around z
    points = rng.uniform(-1.6, 1.6, size=(500, 3))
    np.testing.assert_allclose(
        meshes.signed_distance(ring, points), torus_sdf(points, 1.0, 0.4), atol=5e-3
    )
    assert (meshes.inside(ring, points) == (torus_sdf(points, 1.0, 0.4) < 0)).mean() > 0.99


def test_normalize_fits_the_longest_side_into_the_extent():
    ring = meshes.normalize(meshes.builtin("torus"), 0.9)
    np.testing.assert_allclose(
        ring.bounds, [[-0.9, -0.9, -0.9 * 0.4 / 1.4], [0.9, 0.9, 0.9 * 0.4 / 1.4]]
    )


# --- mesh files ----------------------------------------------------------------------------------


def test_mesh_files_load_and_bad_files_fail_naming_the_file(tmp_path):
    good = tmp_path / "ball.ply"
    sphere(0.5).export(good)
    assert len(meshes.load_mesh(str(good)).faces) == 20480
    empty = tmp_path / "empty.obj"
    empty.write_text("")
    points_only = tmp_path / "points.obj"
    points_only.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    not_mesh = tmp_path / "notes.txt"
    not_mesh.write_text("hello")
    garbage = tmp_path / "garbage.off"
    garbage.write_bytes(b"\x00\x01 this is not an OFF file \xff" * 10)
    for path, problem in [
        (empty, "is empty"),
        (points_only, "no triangles"),
        (not_mesh, "not a mesh file"),
        (garbage, "garbage.off"),
    ]:
        with pytest.raises(UserError, match=problem) as info:
            meshes.load_mesh(str(path))
        assert str(path) in str(info.value), path
    with pytest.raises(FileNotFoundError, match="signal.mesh=.*missing.obj"):
        meshes.load_mesh(str(tmp_path / "missing.obj"))
    with pytest.raises(UserError, match="builtin:cube"):
        meshes.load_mesh("builtin:cube")


def test_a_mesh_with_a_hole_loads_with_a_warning_and_keeps_its_inside(tmp_path):
    """Documented behaviour: accepted with a warning; the winding number closes small holes."""
    ball = sphere(0.5)
    holed = trimesh.Trimesh(ball.vertices, ball.faces[10:], process=False)
    path = tmp_path / "holed.ply"
    holed.export(path)
    with pytest.warns(UserWarning, match="not watertight"):
        loaded = meshes.load_mesh(str(path))
    probes = np.array([[0.0, 0.0, 0.0], [0.3, 0.1, -0.2], [0.9, 0.0, 0.0], [0.0, 0.8, 0.0]])
    np.testing.assert_array_equal(meshes.inside(loaded, probes), [True, True, False, False])
    assert meshes.signed_distance(loaded, probes[:1])[0] == pytest.approx(-0.5, abs=2e-3)


def test_render_writes_a_png(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = meshes.render(sphere(), tmp_path / "ball.png", sphere(0.45), size=64, points=5000)
    assert path.stat().st_size > 0
