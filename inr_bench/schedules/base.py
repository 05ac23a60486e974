"""Schedule base: hooks that see the narrow TrainState, never the loop."""

from __future__ import annotations

from typing import Any

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
