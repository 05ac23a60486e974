"""The narrow state that samplers and schedules see: never the loop's locals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from torch import Tensor

if TYPE_CHECKING:
    import torch

    from inr_bench.backbones import Backbone
    from inr_bench.signals.base import Signal


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


@dataclass
class TrainState:
    """What a sampler or schedule may read (and, for surgery, replace: model, optimizer)."""

    step: int
    steps: int
    model: Backbone
    optimizer: torch.optim.Optimizer
    signal: Signal
    extra: dict[str, Any] = field(default_factory=dict)
