"""SAPE's progression (Hertz et al. 2021, Alg. 1): after each optimizer step, the per-point
losses of the training points decide where the encoding of ``backbone=sape`` opens further.

The loop hands a schedule the narrow TrainState, not the step's per-point losses, so this
schedule evaluates them again on every training point (no gradient, ``chunk`` points at a
time) with the updated weights: SAPE uses the losses of the step itself, one update earlier.
``every`` > 1 feeds them every few steps (advancing ``every`` steps' worth) to save the pass.
"""

from __future__ import annotations

from typing import Any

import torch

from inr_bench.errors import UserError
from inr_bench.schedules.base import Schedule
from inr_bench.state import TrainState


class SAPEProgress(Schedule):
    def __init__(self, every: int = 1, chunk: int = 65536) -> None:
        if every < 1 or chunk < 1:
            raise UserError(f"schedule.every and schedule.chunk must be >= 1, got {every}, {chunk}")
        self.every, self.chunk = int(every), int(chunk)

    @torch.no_grad()
    def after_step(self, state: TrainState) -> dict[str, Any] | None:
        model, signal = state.model, state.signal
        if not hasattr(model, "observe"):
            raise UserError("schedule=sape feeds backbone=sape's progressive masks: use both")
        if signal.needs_input_grad or getattr(signal, "coords", None) is None:
            raise UserError("schedule=sape needs a signal with a fixed set of training points")
        model.unobserved = 0  # fed below or at a later step of this interval
        if (state.step + 1) % self.every:
            return None
        for start in range(0, signal.num_points, self.chunk):
            idx = torch.arange(start, min(start + self.chunk, signal.num_points))
            part = signal.batch(idx.to(signal.coords.device))
            model.observe(part.coords, signal.point_loss(model(part.coords), part), self.every)
        return None
