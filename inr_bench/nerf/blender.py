"""Blender-format scenes (the NeRF-synthetic layout): ``transforms_{train,val,test}.json`` with
``camera_angle_x`` and ``frames`` (``file_path`` without suffix, ``transform_matrix`` 4x4
camera-to-world), and one RGBA PNG per frame.

FINER's NeRF protocol, which AIRe App. D.1 follows: every 4th training view (25 of 100), all
200 test views, each downsampled 800 -> 200 px (torch-ngp ``--downscale 4 --trainskip 4``).
Images are resized as RGBA with straight alpha, area-averaged (torch-ngp resizes with OpenCV's
INTER_AREA before compositing), and the focal length scales with them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from inr_bench.errors import UserError
from inr_bench.nerf.scene import Views


def read_transforms(folder: Path, split: str) -> dict:
    """The parsed ``transforms_<split>.json`` of ``folder``, checked for the keys used."""
    path = folder / f"transforms_{split}.json"
    if not path.is_file():
        raise UserError(
            f"{path} is missing: a Blender-format scene has transforms_train.json, "
            "transforms_val.json and transforms_test.json beside its image folders"
        )
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path} is not valid JSON ({err})") from err
    if "camera_angle_x" not in meta or not meta.get("frames"):
        raise UserError(f"{path} needs camera_angle_x and a non-empty frames list")
    for k, frame in enumerate(meta["frames"]):
        if "file_path" not in frame or "transform_matrix" not in frame:
            raise UserError(f"{path}: frame {k} needs file_path and transform_matrix")
    return meta


def frame_file(folder: Path, file_path: str, transforms: Path) -> Path:
    """The PNG a frame's ``file_path`` names (relative to the scene, suffix optional)."""
    path = folder / file_path
    if path.suffix.lower() != ".png":
        path = path.with_name(path.name + ".png")
    if not path.is_file():
        raise UserError(f"{path} is missing (frame {file_path!r} of {transforms})")
    return path


def load_rgba(path: Path) -> np.ndarray:
    """(H, W, 4) float32 in [0, 1]; an image without alpha is opaque."""
    import imageio.v3 as iio

    pixels = np.asarray(iio.imread(path), dtype=np.float32) / 255.0
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=-1)
    if pixels.shape[-1] == 3:
        pixels = np.concatenate([pixels, np.ones_like(pixels[..., :1])], axis=-1)
    return pixels


def downsample(pixels: np.ndarray, size: int, path: Path) -> np.ndarray:
    """(size, size, 4): area average for integer factors, an anti-aliased resize otherwise."""
    height, width = pixels.shape[:2]
    if height != width:
        raise UserError(f"{path} is {width}x{height}: Blender-format views are square")
    if size == height:
        return pixels
    if height % size == 0:
        f = height // size
        return pixels.reshape(size, f, size, f, 4).mean(axis=(1, 3))
    from skimage.transform import resize

    return resize(pixels, (size, size, 4), anti_aliasing=True).astype(np.float32)


def read_views(folder: Path, split: str, size: int, skip: int = 1, limit: int | None = None):
    """Views of ``split``: every ``skip``-th frame, at most ``limit`` of them, ``size`` px square.
    Every frame must have the first frame's size (a mismatch names the file)."""
    meta = read_transforms(folder, split)
    transforms = folder / f"transforms_{split}.json"
    frames = meta["frames"][::skip][:limit]
    images, poses, native = [], [], None
    for frame in frames:
        path = frame_file(folder, frame["file_path"], transforms)
        pixels = load_rgba(path)
        if native is None:
            native = pixels.shape[:2]
        elif pixels.shape[:2] != native:
            raise UserError(
                f"{path} is {pixels.shape[1]}x{pixels.shape[0]} but the first view of "
                f"{transforms} is {native[1]}x{native[0]}: every view of a split has one size"
            )
        images.append(downsample(pixels, size, path))
        pose = np.asarray(frame["transform_matrix"], dtype=np.float32)
        if pose.shape != (4, 4):
            raise UserError(f"{transforms}: transform_matrix of {frame['file_path']} is not 4x4")
        poses.append(pose)
    focal = 0.5 * native[1] / math.tan(0.5 * float(meta["camera_angle_x"]))
    return Views(
        torch.from_numpy(np.stack(images)),
        torch.from_numpy(np.stack(poses)),
        focal * size / native[1],
    )
