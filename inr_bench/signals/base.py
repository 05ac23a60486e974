"""Signal base: a training point set, a per-point loss, evaluation and artefacts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor


@dataclass
class Batch:
    """The points of one step: coords (B, d), values (B, C), their indices (B,) into the
    signal's training set when it has one, and optional importance weights (B,)."""

    coords: Tensor
    values: Tensor
    index: Tensor | None = None
    weight: Tensor | None = None

    def __len__(self) -> int:
        return self.coords.shape[0]

    def chunk(self, start: int, stop: int) -> Batch:
        def cut(t: Tensor | None) -> Tensor | None:
            return None if t is None else t[start:stop]

        return Batch(
            self.coords[start:stop], self.values[start:stop], cut(self.index), cut(self.weight)
        )


class Signal:
    """A signal to fit: coordinates in [-1, 1]^d and values (N, C).

    Subclasses set ``kind``, ``in_dim``, ``out_dim`` and the training set ``coords``
    (N, in_dim) / ``values`` (N, out_dim), and implement ``evaluate`` and ``save_artifacts``.
    """

    kind: str
    in_dim: int
    out_dim: int
    coords: Tensor
    values: Tensor
    # True when ``loss`` differentiates the network w.r.t. its inputs (SDF eikonal/normal
    # terms): the loop then keeps autograd's ordinary backward (no in-place sine backward).
    needs_input_grad: bool = False
    # The eval metric that sums a run up (tests assert it is finite; e.g. iou for SDFs).
    main_metric: str = "psnr"

    @property
    def num_points(self) -> int:
        return self.coords.shape[0]

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Signal:
        """Move every tensor attribute to ``device`` and its floating-point ones to ``dtype``
        (in place; indices stay integers) and return self. Tensors the signal makes later take
        their device and dtype from these."""
        for name, value in vars(self).items():
            if isinstance(value, Tensor):
                cast = dtype if dtype is not None and value.is_floating_point() else None
                setattr(self, name, value.to(device=device, dtype=cast))
        return self

    def batch(self, index: Tensor | None = None, weight: Tensor | None = None) -> Batch:
        """The training points at ``index`` (B,), or all of them when None."""
        if index is None:
            return Batch(self.coords, self.values, None, weight)
        return Batch(self.coords[index], self.values[index], index, weight)

    def loss(self, model: torch.nn.Module, batch: Batch) -> Tensor:
        """Per-point loss (B,) of ``model`` on ``batch``: what the loop trains on. Signals whose
        loss needs more than the outputs at the batch's coordinates (SDF: ∇f) override this."""
        return self.point_loss(model(batch.coords), batch)

    def point_loss(self, pred: Tensor, batch: Batch) -> Tensor:
        """Per-point loss (B,): squared error averaged over channels, in training units."""
        return (pred - batch.values).square().mean(dim=1)

    def train_metrics(self, mean_loss: float) -> dict[str, float]:
        """Cheap metrics derived from the mean training loss (no extra forward pass)."""
        return {}

    def evaluate(self, model: torch.nn.Module, metrics: dict[str, Any], chunk: int) -> dict:
        raise NotImplementedError

    def save_artifacts(self, model: torch.nn.Module, folder: Path, chunk: int) -> dict[str, Path]:
        """Write reconstructions into ``folder``; returns {name: path} for the loggers."""
        raise NotImplementedError
