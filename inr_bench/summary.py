"""What a run of many networks reports: per-member metrics with mean ± std, a grid of
reconstructions, one loadable ``model.pt`` per member (a run of one reports its own values)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inr_bench.backbones.base import predict, save_model
from inr_bench.members import Member
from inr_bench.networks import Networks
from inr_bench.signals.base import Signal
from inr_bench.visual import error_map, save_image


def mean_std(per_member: list[dict[str, float]]) -> dict[str, float]:
    """{key: mean, key_std: population std (ddof 0)} over members for every numeric key."""
    out: dict[str, float] = {}
    for key in per_member[0]:
        values = [m[key] for m in per_member if isinstance(m.get(key), (int, float))]
        if len(values) == len(per_member):
            out[key], out[f"{key}_std"] = float(np.mean(values)), float(np.std(values))
    return out


def summarize(prefix: str, per_member: list[dict[str, float]]) -> dict[str, float]:
    """{"<prefix>/<key>": value} of one member; of several, their mean and std (``<key>_std``)."""
    values = per_member[0] if len(per_member) == 1 else mean_std(per_member)
    return {f"{prefix}/{key}": v for key, v in values.items()}


def member_records(prefix: str, per_member: list[dict[str, float]]) -> dict[str, float]:
    """{"member/<i>/<prefix>/<key>": value} for the loggers (none for a run of one)."""
    if len(per_member) == 1:
        return {}
    return {
        f"member/{i}/{prefix}/{key}": v
        for i, values in enumerate(per_member)
        for key, v in values.items()
    }


def tile(images: list[np.ndarray], columns: int) -> np.ndarray:
    """(rows·H, columns·W, C) mosaic of (h, w, C) images in [0, 1], each top-left in its
    H × W cell (the largest h, w), gaps white."""
    h = max(im.shape[0] for im in images)
    w = max(im.shape[1] for im in images)
    c = max(im.shape[2] for im in images)
    rows = math.ceil(len(images) / columns)
    mosaic = np.ones((rows * h, columns * w, c))
    for k, im in enumerate(images):
        r, q = divmod(k, columns)
        mosaic[r * h : r * h + im.shape[0], q * w : q * w + im.shape[1]] = im  # C=1 broadcasts
    return mosaic


@torch.no_grad()
def save_grids(net: Networks, signals: list[Signal], folder: Path, chunk: int) -> dict[str, Path]:
    """reconstructions.png and errors.png: one cell per member, in member order, for image
    signals (``signal.kind == "image"``); nothing for other kinds."""
    if signals[0].kind != "image":
        return {}
    fits, errors = [], []
    for i, signal in enumerate(signals):
        shape = (signal.height, signal.width, -1)
        pred = signal.unit(predict(net.module(i), signal.grid, chunk)).cpu().view(shape)
        fits.append(pred.clamp(0, 1).numpy())
        errors.append(error_map(pred, signal.image))
    columns = math.ceil(math.sqrt(len(signals)))
    return {
        "reconstructions": save_image(folder / "reconstructions.png", tile(fits, columns)),
        "errors": save_image(folder / "errors.png", tile(errors, columns)),
    }


def save_members(net: Networks, members: list[Member], signals: list[Signal], folder: Path) -> None:
    """members/<i>/model.pt for every member, loadable with ``inr_bench.backbones.load_model``."""
    for member, signal in zip(members, signals, strict=True):
        path = folder / "members" / str(member.index)
        path.mkdir(parents=True, exist_ok=True)
        extra: dict[str, Any] = {"signal": {"kind": signal.kind}, "seed": member.seed}
        extra |= {"image": member.image} if member.image is not None else {}
        save_model(net.copy(member.index), path / "model.pt", **extra)
