"""Schedule base: hooks that see the narrow TrainState, never the loop."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from inr_bench.state import TrainState


class Schedule:
    """Standard training: no extra loss, nothing after the step.

    Subclasses may (a) return an extra loss term from ``loss``, (b) edit the gradients in
    ``before_step`` (DepGraph's group regularisation, RigL's masks), (c) act after each optimizer
    step in ``after_step`` (bounding clamps weights; densify / prune change the model and
    optimizer in ``state`` through ``inr_bench.surgery``) and return what they did, which the
    loop logs under ``schedule/``.
    """

    def loss(self, state: TrainState) -> Tensor | None:
        return None

    def before_step(self, state: TrainState) -> bool:
        """Called between the backward pass and the optimizer step (the gradients are in
        ``.grad``); returns whether the optimizer steps (RigL replaces some updates)."""
        return True

    def after_step(self, state: TrainState) -> dict[str, Any] | None:
        return None

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


@torch.no_grad()
def fit_metrics(state: TrainState, chunk: int = 8192) -> dict[str, float]:
    """The signal's cheap metrics (images: PSNR) of the current network over every training
    point, e.g. right before and after pruning (AIRe Fig. 5: what survives without fine-tuning).
    Empty for signals whose loss needs ∇f (SDF): their points are not a fixed set."""
    signal = state.signal
    if signal.needs_input_grad or getattr(signal, "coords", None) is None:
        return {}
    total = 0.0
    for start in range(0, signal.num_points, chunk):
        part = signal.batch(torch.arange(start, min(start + chunk, signal.num_points)))
        total += float(signal.loss(state.model, part).sum())  # NeRF: rendered rays
    return signal.train_metrics(total / signal.num_points)
