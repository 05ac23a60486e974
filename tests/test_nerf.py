"""NeRF: the renderer against closed forms, Blender-format reading and its errors, the
two-network field (parameter count, surgery on its density network, model.pt), and a short fit
of the ray-cast scene that must render held-out views well."""

from __future__ import annotations

import functools
import json
import math

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from torch import nn

from inr_bench.backbones import load_model, save_model
from inr_bench.backbones.finer import Finer
from inr_bench.backbones.nerf_field import NeRFField, parameter_count
from inr_bench.backbones.siren import Siren
from inr_bench.data import DatasetMissingError
from inr_bench.errors import UserError
from inr_bench.metrics.image import PSNR
from inr_bench.nerf.blender import read_views
from inr_bench.nerf.render import near_far, render_rays
from inr_bench.nerf.scene import pixel_rays, synthetic_views
from inr_bench.signals.nerf import NeRFSignal, scene_folder
from inr_bench.surgery import remove_neurons, widths


class Medium(nn.Module):
    """A field of density ``sigma`` inside a ball of ``radius`` (everywhere when None), zero
    outside, grey 0.5 everywhere: raw outputs (N, 4) as the renderer expects."""

    def __init__(self, sigma: float, radius: float | None = None) -> None:
        super().__init__()
        self.sigma, self.radius = sigma, radius

    def forward(self, x):
        inside = torch.ones_like(x[:, 0], dtype=torch.bool)
        if self.radius is not None:
            inside = x[:, :3].norm(dim=1) < self.radius
        logit = torch.where(inside, math.log(self.sigma), -30.0)
        return torch.stack([logit, *[torch.zeros_like(logit)] * 3], dim=1)


def axis_rays(offsets):
    """Rays from x = -3 along +x, at heights ``offsets`` in y."""
    origins = torch.tensor([[-3.0, b, 0.0] for b in offsets], dtype=torch.float64)
    return origins, torch.tensor([[1.0, 0.0, 0.0]] * len(offsets), dtype=torch.float64)


@pytest.mark.parametrize(
    "samples,importance,jitter", [(8, 0, True), (64, 0, False), (16, 32, True)]
)
def test_constant_density_box_has_exact_transmittance(samples, importance, jitter):
    o, d = axis_rays([0.0, 0.5])
    white = torch.ones(3, dtype=torch.float64)
    out = render_rays(
        Medium(0.7), o, d, white, samples=samples, importance=importance, jitter=jitter
    )
    length = 2.0  # the box [-1, 1]^3 along x
    opacity = 1 - math.exp(-0.7 * length)
    torch.testing.assert_close(out.opacity, torch.full((2,), opacity, dtype=torch.float64))
    expected_rgb = 0.5 * opacity + (1 - opacity)  # grey medium over white
    torch.testing.assert_close(out.rgb, torch.full((2, 3), expected_rgb, dtype=torch.float64))


def test_sphere_transmittance_is_exp_minus_sigma_chord():
    o, d = axis_rays([0.0, 0.3])
    out = render_rays(Medium(2.0, 0.6), o, d, torch.zeros(3, dtype=torch.float64), samples=2048)
    chords = torch.tensor([1.2, 2 * math.sqrt(0.6**2 - 0.3**2)], dtype=torch.float64)
    torch.testing.assert_close(1 - out.opacity, torch.exp(-2.0 * chords), atol=2e-3, rtol=0)


def test_an_opaque_ball_has_full_opacity_and_its_surface_depth():
    """With importance samples too: the depth is the distance to the surface to within one
    first-pass bin (2 / 32 here), where the weights put the surface."""
    o, d = axis_rays([0.0])
    ball = Medium(1e4, 0.3)
    out = render_rays(ball, o, d, torch.zeros(3, dtype=torch.float64), samples=32, importance=64)
    assert out.opacity.item() == pytest.approx(1.0, abs=1e-6)
    assert out.depth.item() == pytest.approx(3.0 - 0.3, abs=2 / 32)


def test_rays_that_miss_the_box_show_the_background():
    o = torch.tensor([[-3.0, 2.0, 0.0]])
    d = torch.tensor([[1.0, 0.0, 0.0]])
    near, far = near_far(o, d, 1.0, 0.2)
    assert far.item() == near.item()
    out = render_rays(Medium(5.0), o, d, torch.tensor([0.2, 0.4, 0.6]))
    torch.testing.assert_close(out.rgb, torch.tensor([[0.2, 0.4, 0.6]]))


def test_pixel_rays_point_along_minus_z_of_the_camera():
    pose = torch.eye(4)
    pose[:3, 3] = torch.tensor([0.0, 0.0, 4.0])
    origins, directions = pixel_rays(pose, 3, 3, focal=2.0)
    torch.testing.assert_close(directions[4], torch.tensor([0.0, 0.0, -1.0]))  # centre pixel
    assert directions[0, 0] < 0 and directions[0, 1] > 0  # top-left: left and up
    torch.testing.assert_close(directions.norm(dim=1), torch.ones(9))
    torch.testing.assert_close(origins, pose[:3, 3].expand(9, 3))


# --- Blender-format scenes --------------------------------------------------------------------


def write_scene(folder, size=8, frames=4, splits=("train", "val", "test")):
    """A Blender-format scene of flat-coloured views with real lego-like cameras."""
    poses = synthetic_views(frames, 4).poses
    for split in splits:
        (folder / split).mkdir(parents=True, exist_ok=True)
        meta = {"camera_angle_x": 0.6911, "frames": []}
        for k in range(frames):
            rgba = np.zeros((size, size, 4), np.uint8)
            rgba[..., k % 3], rgba[2:-2, 2:-2, 3] = 200, 255
            iio.imwrite(folder / split / f"r_{k}.png", rgba)
            meta["frames"].append(
                {"file_path": f"./{split}/r_{k}", "transform_matrix": poses[k].tolist()}
            )
        (folder / f"transforms_{split}.json").write_text(json.dumps(meta))
    return folder


def test_blender_views_are_read_downsampled_and_skipped(tmp_path):
    scene = write_scene(tmp_path / "scene")
    views = read_views(scene, "train", size=4, skip=2)
    assert views.images.shape == (2, 4, 4, 4) and views.poses.shape == (2, 4, 4)
    assert views.focal == pytest.approx(0.5 * 8 / math.tan(0.5 * 0.6911) / 2)
    assert views.images[0, 0, 0, 3] == 0 and views.images[0, 1, 1, 3] == 1  # area average
    signal = NeRFSignal(str(scene), resolution=4, train_skip=2, test_views=3)
    assert signal.coords.shape == (2 * 16, 6) and signal.values.shape == (2 * 16, 4)
    assert signal.test_images.shape == (3, 4, 4, 4)
    torch.testing.assert_close(signal.coords[0, :3], 0.8 * views.poses[0, :3, 3])


def test_missing_transforms_file_is_named(tmp_path):
    scene = write_scene(tmp_path / "scene", splits=("train",))
    with pytest.raises(UserError, match=r"transforms_test\.json is missing"):
        NeRFSignal(str(scene), resolution=4)


def test_missing_frame_is_named_with_its_transforms_file(tmp_path):
    scene = write_scene(tmp_path / "scene")
    (scene / "test" / "r_2.png").unlink()
    with pytest.raises(UserError, match=r"test/r_2\.png is missing .*transforms_test\.json"):
        NeRFSignal(str(scene), resolution=4)


def test_view_size_mismatch_is_named(tmp_path):
    scene = write_scene(tmp_path / "scene")
    iio.imwrite(scene / "train" / "r_1.png", np.zeros((16, 16, 4), np.uint8))
    with pytest.raises(UserError, match=r"train/r_1\.png is 16x16 but the first view .* 8x8"):
        NeRFSignal(str(scene), resolution=4, train_skip=1)


def test_frames_without_poses_and_missing_scenes_are_named(tmp_path):
    scene = write_scene(tmp_path / "scene")
    (scene / "transforms_train.json").write_text(json.dumps({"camera_angle_x": 0.7, "frames": []}))
    with pytest.raises(UserError, match=r"transforms_train\.json needs camera_angle_x and a non-"):
        NeRFSignal(str(scene), resolution=4)


def test_an_absent_registered_scene_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("INR_BENCH_DATA", str(tmp_path))
    with pytest.raises(
        DatasetMissingError, match="python -m inr_bench.data download nerf_synthetic"
    ):
        scene_folder("nerf_synthetic/lego")
    with pytest.raises(DatasetMissingError, match="nerf_synthetic.zip .* Google Drive"):
        scene_folder("nerf_synthetic/chair")


# --- the two-network field ---------------------------------------------------------------------

FINER = functools.partial(Finer, omega_0=30.0, omega_0_hidden=30.0)


def test_field_matches_the_paper_sizes_and_its_closed_form():
    large = NeRFField(6, 4, FINER, FINER)
    assert large.num_parameters() == parameter_count(6, 4, [182] * 3, [182] * 3) == 201_842
    pruned = parameter_count(6, 4, [91, 91, 182], [182] * 3)
    assert round(100 * (1 - pruned / 201_842), 2) == 20.74  # AIRe Table 8's size reduction


def test_surgery_acts_on_the_density_network_and_the_field_reloads(tmp_path):
    torch.manual_seed(0)
    field = NeRFField(6, 4, FINER, FINER, hidden_features=16, color_features=[8, 8, 12])
    optimizer = torch.optim.Adam(field.parameters())
    assert widths(field) == [16, 16, 16]
    for layer in (0, 1):  # AIRe App. D.1: half of the first two density layers
        remove_neurons(field, optimizer, layer, torch.arange(8))
    assert widths(field) == [8, 8, 16]
    assert field.num_parameters() == parameter_count(6, 4, [8, 8, 16], [8, 8, 12], 182)
    field(torch.rand(5, 6)).sum().backward()
    optimizer.step()  # the optimizer follows the replaced tensors
    save_model(field, tmp_path / "model.pt")
    loaded = load_model(tmp_path / "model.pt")
    x = torch.rand(7, 6)
    torch.testing.assert_close(loaded(x), field(x))
    assert loaded.spec() == field.spec()


# --- a short fit of the ray-cast scene -----------------------------------------------------------


@pytest.fixture
def one_thread():
    """Small matmuls run fastest on one thread, and the machine may be shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_a_short_fit_renders_held_out_views(one_thread):
    """150 steps of 256 rays on 12 views of 24^2 px: the held-out views (other cameras) must
    beat a white picture (~11.5 dB) by far; measured 22.4 dB."""
    torch.manual_seed(0)
    signal = NeRFSignal(resolution=24, train_views=12, test_views=4, samples=16, importance=0)
    siren = functools.partial(Siren, omega_0=30.0, omega_0_hidden=30.0)
    field = NeRFField(6, 4, siren, siren, 48, 1, 48, 1, geo_features=48)
    optimizer = torch.optim.Adam(field.parameters(), lr=2e-3, betas=(0.9, 0.99), eps=1e-15)
    generator = torch.Generator().manual_seed(0)
    for _ in range(150):
        batch = signal.batch(torch.randint(signal.num_points, (256,), generator=generator))
        optimizer.zero_grad()
        signal.loss(field, batch).mean().backward()
        optimizer.step()
    psnr = signal.evaluate(field, {"psnr": PSNR()}, 4096)["psnr"]
    white = np.mean([PSNR()(torch.ones(24, 24, 3), signal.test_target(k)) for k in range(4)])
    assert white < 13 and psnr > 19, (psnr, white)


# --- the protocol through the loop, and device hygiene ------------------------------------------


def test_the_cpu_experiment_prunes_the_density_network(tmp_path):
    """+experiment=aire_nerf_lego_cpu on the ray-cast scene at toy size: TWD starts at 20 % of
    the run, half of the density network's first two layers go at 70 %, and the run folder holds
    the renders, depth maps and turntable."""
    from conftest import TINY, compose_cfg

    from inr_bench.train import train

    overrides = ["+experiment=aire_nerf_lego_cpu", "signal.scene=synthetic", *TINY]
    overrides += [
        "steps=10",
        "eval_every=10",
        "backbone.hidden_features=16",
        "backbone.hidden_layers=2",
    ]
    overrides += ["backbone.color_features=8", "backbone.geo_features=8", "sampler.batch_size=64"]
    result = train(compose_cfg(overrides, tmp_path))
    assert math.isfinite(result["eval/psnr"])
    assert result["params"] == parameter_count(6, 4, [8, 8, 16], [8, 8, 8], 8)
    for name in ("views.png", "depth.png", "turntable.gif", "views/000.png", "model.pt"):
        assert (tmp_path / name).is_file(), name
    assert load_model(tmp_path / "model.pt").spec_kwargs()["hidden_features"] == [8, 8, 16]


@pytest.mark.slow
def test_the_lego_experiment_smoke_runs_on_a_blender_format_stand_in(tmp_path, monkeypatch):
    """`+experiment=aire_nerf_lego debug=smoke` on a data root whose nerf_synthetic/lego is a
    tiny Blender-format scene written here: the paper's field and schedule, read from disk."""
    from conftest import TINY, compose_cfg

    from inr_bench.train import train

    write_scene(tmp_path / "root" / "nerf_synthetic" / "lego", size=16, frames=8)
    monkeypatch.setenv("INR_BENCH_DATA", str(tmp_path / "root"))
    # debug=smoke comes after the experiment: its 20 steps and 32-wide layers win
    overrides = ["+experiment=aire_nerf_lego", *TINY, "backbone.color_features=8"]
    result = train(compose_cfg([*overrides, "backbone.geo_features=8"], tmp_path / "run"))
    assert math.isfinite(result["eval/psnr"]) and result["steps"] == 20
    assert load_model(tmp_path / "run" / "model.pt").spec_kwargs()["hidden_features"] == [16, 16]


def test_nerf_modules_build_tensors_on_the_device():
    """tests/test_device.py's static check, over inr_bench/nerf/ (signals/nerf.py and
    backbones/nerf_field.py are in its own list), and no host read-back in the renderer."""
    import ast

    from conftest import REPO
    from test_device import host_factories

    files = sorted((REPO / "inr_bench" / "nerf").glob("*.py"))
    assert [hit for path in files for hit in host_factories(path)] == []
    tree = ast.parse((REPO / "inr_bench" / "nerf" / "render.py").read_text())
    reads = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in ("item", "tolist", "cpu", "numpy")
    ]
    assert reads == [], f"render.py reads tensors back on the host at lines {reads}"


@pytest.mark.gpu
def test_a_nerf_step_never_waits_for_the_gpu():
    torch.manual_seed(0)
    signal = NeRFSignal(resolution=8, train_views=2, test_views=1, samples=8, importance=8)
    signal.to("cuda")
    field = NeRFField(6, 4, FINER, FINER, 16, 1, 16, 1, geo_features=16).cuda()
    optimizer = torch.optim.Adam(field.parameters(), lr=1e-3)
    batch = signal.batch(torch.arange(64, device="cuda"))
    signal.loss(field, batch).mean().backward()  # warm-up: lazy CUDA initialisation
    torch.cuda.set_sync_debug_mode("error")
    try:
        optimizer.zero_grad()
        signal.loss(field, batch).mean().backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    optimizer.step()
