"""Novel view synthesis: a radiance field fitted to posed views (NeRF; AIRe App. D.1, Table 8).

The training set is the rays of the training views' pixels: ``coords`` (N, 6) = camera origin
(3) + unit direction (3), ``values`` (N, 4) = the pixel's RGBA with straight alpha. The network
is a field (N, 6) (position in [-1, 1]^3, view direction) -> (N, 4) (density logit, colour
logits): the two-network ``backbone=nerf_field`` of the paper, or any zoo backbone as one MLP.
``loss`` renders each ray (``inr_bench.nerf.render``) and returns its squared error (B,).

As in torch-ngp (FINER's and AIRe's code): camera positions are scaled by ``scale`` (0.8) so
that the object lies in the box [-bound, bound]^3 (bound 1), rays are marched inside that box
from at least ``min_near``, training pixels are composited over a random colour per ray (so
that empty space must be learnt transparent) and test views over white. PSNR and SSIM are the
mean over the test views of each view's metric (torch-ngp's PSNRMeter averages per image).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from inr_bench.data import DATASETS, DatasetMissingError, data_root, fetch_hint
from inr_bench.datasets import NERF_SYNTHETIC_MANUAL
from inr_bench.errors import UserError
from inr_bench.nerf.blender import read_views
from inr_bench.nerf.render import DENSITY, Rendered, render_rays
from inr_bench.nerf.scene import Views, look_at, pixel_rays, synthetic_views
from inr_bench.signals.base import Batch, Signal
from inr_bench.visual import save_image


def scene_folder(scene: str) -> Path:
    """The folder of a Blender-format scene: a local folder, or ``nerf_synthetic/<name>`` under
    the data root (DatasetMissingError with the fetch command when it is not there)."""
    local = Path(scene).expanduser()
    if local.is_dir():
        return local
    dataset, _, name = scene.strip("/").partition("/")
    if dataset not in DATASETS or not name:
        raise UserError(
            f"signal.scene={scene}: neither a folder nor <dataset>/<scene> "
            "(e.g. nerf_synthetic/lego), nor `synthetic`"
        )
    registered = DATASETS[dataset]
    folder = data_root() / registered.folder / name
    if not (folder / "transforms_train.json").is_file():
        wanted = f"{name}/transforms_train.json"
        fetched = any(target == wanted for a in registered.archives for _, target in a.members)
        hint = fetch_hint(registered, None) if fetched else NERF_SYNTHETIC_MANUAL
        raise DatasetMissingError(
            f"signal.scene={scene}: {folder}/{wanted.split('/')[-1]} is missing: {hint}"
        )
    return folder


class NeRFSignal(Signal):
    """Posed RGBA views of one scene; see the module docstring."""

    kind = "image"  # measured on rendered images with the image metrics
    in_dim = 6
    out_dim = 4

    def __init__(
        self,
        scene: str = "synthetic",
        resolution: int = 200,
        train_skip: int = 4,
        train_views: int | None = None,
        test_views: int | None = 200,
        test_split: str = "test",
        scale: float = 0.8,
        bound: float = 1.0,
        min_near: float = 0.2,
        samples: int = 64,
        importance: int = 64,
        density: str = "exp",
        background: str = "random",
        artifact_views: int = 8,
        turntable_frames: int = 24,
    ) -> None:
        if density not in DENSITY:
            raise UserError(f"signal.density must be one of {sorted(DENSITY)}, got {density!r}")
        if background not in ("random", "white"):
            raise UserError(f"signal.background must be random or white, got {background!r}")
        if samples < 1 or importance < 0:
            raise UserError(f"signal.samples >= 1 and importance >= 0, got {samples}, {importance}")
        self.render_options = dict(
            bound=float(bound), min_near=float(min_near), samples=int(samples),
            importance=int(importance), density=density,
        )  # fmt: skip
        self.scale, self.background = float(scale), background
        self.artifact_views, self.turntable_frames = artifact_views, turntable_frames
        train, test = self._views(
            scene, resolution, train_skip, train_views, test_views, test_split
        )
        self.focal, self.height, self.width = test.focal, *test.size
        self.test_images = test.images  # (V, H, W, 4)
        self.test_poses = self._scaled(test.poses)
        self.coords, self.values = self._rays(train)

    @staticmethod
    def _views(scene, resolution, skip, train_views, test_views, split) -> tuple[Views, Views]:
        if scene == "synthetic":  # ray-cast here: train views then disjoint test views
            n_train, n_test = train_views or 25, test_views or 200
            return synthetic_views(n_train, resolution), synthetic_views(
                n_test, resolution, first=1000
            )
        folder = scene_folder(scene)
        train = read_views(folder, "train", resolution, skip, train_views)
        return train, read_views(folder, split, resolution, 1, test_views)

    def _scaled(self, poses: Tensor) -> Tensor:
        poses = poses.clone()
        poses[:, :3, 3] *= self.scale
        return poses

    def _rays(self, views: Views) -> tuple[Tensor, Tensor]:
        height, width = views.size
        coords = [
            torch.cat(pixel_rays(pose, height, width, views.focal), dim=-1)
            for pose in self._scaled(views.poses)
        ]
        return torch.cat(coords), views.images.reshape(-1, 4)

    @property
    def samples_per_ray(self) -> int:
        """Field evaluations per ray: what one training point costs in network work."""
        return self.render_options["samples"] + self.render_options["importance"]

    def render(self, model, rays: Tensor, background: Tensor, jitter: bool) -> Rendered:
        """Render rays (R, 6) over ``background`` (R, 3) or (3,)."""
        return render_rays(
            model, rays[:, :3], rays[:, 3:], background, jitter=jitter, **self.render_options
        )

    def loss(self, model: torch.nn.Module, batch: Batch) -> Tensor:
        """Per-ray squared error (B,) of the rendered colour, over a random (or white) background
        that the target pixel is composited on too (torch-ngp's training)."""
        rgb, alpha = batch.values[:, :3], batch.values[:, 3:]
        if self.background == "random":
            background = torch.rand(len(batch), 3, device=rgb.device, dtype=rgb.dtype)
        else:
            background = torch.ones_like(rgb)
        target = rgb * alpha + background * (1 - alpha)
        rendered = self.render(model, batch.coords, background, jitter=True)
        return (rendered.rgb - target).square().mean(dim=1)

    def point_loss(self, pred: Tensor, batch: Batch) -> Tensor:
        raise UserError(
            "signal=nerf trains on rendered rays, not on the network's output at its coordinates: "
            "use a sampler that only draws rays (sampler=uniform or full), not one that scores "
            "points by the network's output (nint, int, egra, soft_mining, evos, expansive)"
        )

    def train_metrics(self, mean_loss: float) -> dict[str, float]:
        """PSNR of the rendered training rays of the step (colours in [0, 1])."""
        return {"psnr": -10 * math.log10(mean_loss) if mean_loss > 0 else math.inf}

    @torch.no_grad()
    def render_view(self, model, pose: Tensor, chunk: int, size: tuple | None = None):
        """RGB (H, W, 3) over white, depth (H, W) and opacity (H, W) of a camera ``pose``, on the
        CPU; ``chunk`` counts field evaluations (rays x samples) per forward."""
        height, width = size or (self.height, self.width)
        focal = self.focal * width / self.width
        rays = torch.cat(pixel_rays(pose.to(self.coords.device), height, width, focal), dim=-1)
        white = torch.ones(3, device=rays.device, dtype=rays.dtype)
        step = max(1, chunk // self.samples_per_ray)
        parts = [self.render(model, part, white, jitter=False) for part in rays.split(step)]
        return tuple(
            torch.cat([getattr(p, key) for p in parts]).reshape(height, width, -1).squeeze(-1).cpu()
            for key in ("rgb", "depth", "opacity")
        )

    def test_target(self, k: int) -> Tensor:
        """Test view k (H, W, 3) composited over white, on the CPU."""
        rgba = self.test_images[k].cpu()
        return rgba[..., :3] * rgba[..., 3:] + (1 - rgba[..., 3:])

    def evaluate(self, model: torch.nn.Module, metrics: dict[str, Any], chunk: int) -> dict:
        """Each metric on every test view, averaged over the views."""
        scores = {name: [] for name in metrics}
        for k, pose in enumerate(self.test_poses):
            rgb = self.render_view(model, pose, chunk)[0]
            for name, metric in metrics.items():
                scores[name].append(metric(rgb, self.test_target(k)))
        return {name: float(np.mean(values)) for name, values in scores.items()}

    def save_artifacts(self, model: torch.nn.Module, folder: Path, chunk: int) -> dict[str, Path]:
        """views.png (targets over renders), depth.png (expected depth, near = bright) for the
        first ``artifact_views`` test views, views/<k>.png for each, and turntable.gif."""
        count = min(self.artifact_views, len(self.test_poses))
        (folder / "views").mkdir(exist_ok=True)
        renders, depths = [], []
        for k in range(count):
            rgb, depth, opacity = self.render_view(model, self.test_poses[k], chunk)
            save_image(folder / "views" / f"{k:03d}.png", rgb)
            renders.append(rgb)
            depths.append(self._depth_picture(depth, opacity))
        paths = {}
        if count:
            targets = torch.cat([self.test_target(k) for k in range(count)], dim=1)
            grid = torch.cat([targets, torch.cat(renders, dim=1)], dim=0)
            paths["views"] = save_image(folder / "views.png", grid)
            paths["depth"] = save_image(folder / "depth.png", torch.cat(depths, dim=1))
        if self.turntable_frames > 0:
            paths["turntable"] = self._turntable(model, folder / "turntable.gif", chunk)
        return paths

    def _depth_picture(self, depth: Tensor, opacity: Tensor) -> Tensor:
        """(H, W, 1) grey levels: near surfaces bright, far ones dark, empty space black."""
        radius = self.test_poses[:, :3, 3].norm(dim=-1).mean().item()
        bound = self.render_options["bound"]
        expected = depth / opacity.clamp_min(1e-6)
        level = 1 - (expected - (radius - math.sqrt(3) * bound)) / (2 * math.sqrt(3) * bound)
        return (level.clamp(0, 1) * opacity)[..., None]

    def _turntable(self, model, path: Path, chunk: int) -> Path:
        """A GIF orbiting the scene at 30 degrees elevation, the test cameras' distance."""
        import imageio.v3 as iio

        radius = self.test_poses[:, :3, 3].norm(dim=-1).mean().item()
        frames = []
        for k in range(self.turntable_frames):
            angle = 2 * math.pi * k / self.turntable_frames
            eye = radius * self.test_poses.new_tensor(
                [math.cos(0.52) * math.cos(angle), math.cos(0.52) * math.sin(angle), math.sin(0.52)]
            )
            rgb = self.render_view(model, look_at(eye), chunk)[0]
            frames.append((rgb.clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8))
        iio.imwrite(path, np.stack(frames), duration=80, loop=0)
        return path
