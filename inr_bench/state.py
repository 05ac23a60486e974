"""The narrow state that samplers and schedules see: never the loop's locals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from inr_bench.backbones import Backbone
    from inr_bench.signals.base import Signal


@dataclass
class TrainState:
    """What a sampler or schedule may read (and, for surgery, replace: model, optimizer)."""

    step: int
    steps: int
    model: Backbone
    optimizer: torch.optim.Optimizer
    signal: Signal
