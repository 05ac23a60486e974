"""Views of a scene and the rays through their pixels, plus an analytic scene ray-cast here.

Cameras follow the Blender / NeRF-synthetic convention: a camera-to-world pose (4, 4) whose
camera looks along its -z axis with +y up, and a focal length in pixels. ``synthetic_views``
ray-casts a coloured sphere and a shaded box (no mesh library) from cameras on a sphere of
radius 4 around them, as the Blender scenes' cameras are, so the tests and the default run have
a radiance-field scene with known cameras and no data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Views:
    """RGBA images (V, H, W, 4) in [0, 1] (straight alpha; 0 = background), camera-to-world
    poses (V, 4, 4) and the focal length in pixels."""

    images: Tensor
    poses: Tensor
    focal: float

    @property
    def size(self) -> tuple[int, int]:
        return self.images.shape[1], self.images.shape[2]


def pixel_rays(pose: Tensor, height: int, width: int, focal: float) -> tuple[Tensor, Tensor]:
    """Origins (H*W, 3) and unit directions (H*W, 3) of the rays through the pixel centres of a
    camera ``pose`` (4, 4), row-major from the top-left pixel."""
    j, i = torch.meshgrid(
        torch.arange(height, device=pose.device, dtype=pose.dtype),
        torch.arange(width, device=pose.device, dtype=pose.dtype),
        indexing="ij",
    )
    camera = torch.stack(
        [(i + 0.5 - 0.5 * width) / focal, -(j + 0.5 - 0.5 * height) / focal, -torch.ones_like(i)],
        dim=-1,
    ).reshape(-1, 3)
    directions = torch.nn.functional.normalize(camera @ pose[:3, :3].T, dim=-1)
    return pose[:3, 3].expand_as(directions), directions


def look_at(eye: Tensor) -> Tensor:
    """Camera-to-world pose (4, 4) at ``eye`` (3,) looking at the origin, world +z up."""
    back = torch.nn.functional.normalize(eye, dim=0)  # the camera's +z points away from the target
    right = torch.nn.functional.normalize(
        torch.linalg.cross(eye.new_tensor([0, 0, 1.0]), back), dim=0
    )
    up = torch.linalg.cross(back, right)
    pose = torch.eye(4, dtype=eye.dtype, device=eye.device)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, up, back, eye
    return pose


def orbit_poses(count: int, first: int = 0, radius: float = 4.0) -> Tensor:
    """(count, 4, 4) poses on the upper hemisphere: golden-angle azimuths, elevations spread
    over 15-65 degrees; views ``first ...`` of one endless sequence (train and test views take
    disjoint ranges of it)."""
    poses = []
    for k in range(first, first + count):
        azimuth = math.radians(137.508 * k)
        elevation = math.radians(15.0 + 50.0 * ((k * 0.6180339887) % 1.0))
        eye = radius * torch.tensor(  # host: poses are built on the host, moved with the signal
            [
                math.cos(elevation) * math.cos(azimuth),
                math.cos(elevation) * math.sin(azimuth),
                math.sin(elevation),
            ]
        )
        poses.append(look_at(eye))
    return torch.stack(poses)


# The analytic scene, in Blender world units: inside [-1.25, 1.25]^3, i.e. inside the box
# [-1, 1]^3 after the NeRF-synthetic camera scale 0.8.
SPHERE = ((0.35, 0.1, 0.05), 0.5)  # centre, radius
BOX = ((-0.45, -0.2, -0.15), (0.3, 0.35, 0.45))  # centre, half sizes
LIGHT = (0.5, -0.3, 0.8)  # direction towards the light
SPHERE_TINT, BOX_COLOUR = (1.0, 0.6, 0.3), (0.15, 0.55, 0.7)


def _sphere_hits(o: Tensor, d: Tensor) -> tuple[Tensor, Tensor]:
    """Distance (R,) to the sphere (inf on a miss) and the unit normal (R, 3) there."""
    centre, radius = o.new_tensor(SPHERE[0]), SPHERE[1]
    oc = o - centre
    b = (oc * d).sum(-1)
    disc = b.square() - (oc.square().sum(-1) - radius**2)
    t = -b - disc.clamp_min(0).sqrt()
    t = torch.where((disc > 0) & (t > 0), t, torch.full_like(t, math.inf))
    normal = torch.nn.functional.normalize(o + t.nan_to_num(posinf=0)[:, None] * d - centre, dim=-1)
    return t, normal


def _box_hits(o: Tensor, d: Tensor) -> tuple[Tensor, Tensor]:
    """Distance (R,) to the box (inf on a miss) and the unit normal (R, 3) there."""
    centre, half = o.new_tensor(BOX[0]), o.new_tensor(BOX[1])
    safe = torch.where(d.abs() < 1e-9, torch.full_like(d, 1e-9), d)
    t0, t1 = (centre - half - o) / safe, (centre + half - o) / safe
    entry, axis = torch.minimum(t0, t1).max(dim=-1)
    leave = torch.maximum(t0, t1).amin(dim=-1)
    t = torch.where((leave >= entry) & (entry > 0), entry, torch.full_like(entry, math.inf))
    normal = torch.nn.functional.one_hot(axis, 3).to(d) * -torch.sign(d)
    return t, normal


def _shade(o: Tensor, d: Tensor) -> Tensor:
    """RGBA (R, 4) of rays: the sphere coloured by its normal, the box blue-green, both lit by
    a fixed light (Lambert, so colours do not depend on the view); alpha 0 where both miss."""
    ts, ns = _sphere_hits(o, d)
    tb, nb = _box_hits(o, d)
    sphere = ts <= tb
    normal = torch.where(sphere[:, None], ns, nb)
    base = torch.where(
        sphere[:, None],
        0.55 + 0.45 * ns * o.new_tensor(SPHERE_TINT),
        o.new_tensor(BOX_COLOUR),
    )
    towards = torch.nn.functional.normalize(o.new_tensor(LIGHT), dim=0)
    light = 0.35 + 0.65 * (normal @ towards).clamp_min(0)
    hit = torch.isfinite(torch.minimum(ts, tb))
    rgb = torch.where(hit[:, None], (base * light[:, None]).clamp(0, 1), torch.zeros_like(base))
    return torch.cat([rgb, hit[:, None].to(rgb)], dim=-1)


def synthetic_views(count: int, size: int, first: int = 0, supersample: int = 2) -> Views:
    """``count`` views (size x size pixels) of the analytic scene from ``orbit_poses``, each pixel
    the mean of supersample^2 rays (anti-aliased edges, as rendered datasets have). The field of
    view is the Blender lego scene's (camera_angle_x 0.6911)."""
    poses = orbit_poses(count, first)
    fine = size * supersample
    focal = 0.5 * fine / math.tan(0.5 * 0.6911)
    images = []
    for pose in poses:
        rgba = _shade(*pixel_rays(pose, fine, fine, focal)).reshape(fine, fine, 4)
        rgba = rgba.reshape(size, supersample, size, supersample, 4).mean(dim=(1, 3))
        alpha = rgba[..., 3:]  # the mean of premultiplied colours, made straight again
        rgba[..., :3] = torch.where(alpha > 0, rgba[..., :3] / alpha.clamp_min(1e-6), 0.0)
        images.append(rgba)
    return Views(torch.stack(images), poses, focal / supersample)
