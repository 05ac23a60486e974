"""INT: nonparametric teaching of implicit neural representations (Zhang et al., ICML 2024),
the NINT paper's baseline [75].

The teacher picks the B points with the largest functional-gradient norm ‖∇_f L‖ (for MSE,
the largest errors; the loop's ``signal.point_loss`` ranks identically for one channel; the
official code sums |f - y| over channels), computed exactly with a no-grad forward over all
points, and re-uses that batch until the next refresh. Refresh schedule, as the authors'
default "incremental" strategy: every step during the first ``startup`` share of the run,
then the interval grows in ``increments`` equal stages up to ``max_interval`` steps.
``interval: k`` (an int) refreshes every k steps instead.
"""

from __future__ import annotations

from torch import Tensor

from inr_bench.errors import UserError
from inr_bench.samplers.base import Sampler, all_point_losses
from inr_bench.signals.base import Batch
from inr_bench.state import TrainState


def incremental_interval(
    step: int, steps: int, max_interval: int = 50, increments: int = 5, startup: float = 0.25
) -> int:
    """Steps between refreshes at ``step``: 1 during the startup share, then
    (max_interval // increments)·k in the k-th of ``increments`` equal later stages."""
    start = int(steps * startup)
    stage_len = max(1, (steps - start) // increments)
    if step < start or step < stage_len:
        return 1
    stage = min(increments, max(1, step - start) // stage_len + 1)
    return max(1, (max_interval // increments) * stage)


class IntSampler(Sampler):
    def __init__(
        self,
        fraction: float = 0.2,
        batch_size: int | None = None,
        interval: int | str = "incremental",
        max_interval: int = 50,
        increments: int = 5,
        startup: float = 0.25,
    ) -> None:
        super().__init__(fraction, batch_size)
        if interval != "incremental" and (not isinstance(interval, int) or interval < 1):
            raise UserError(f"sampler.interval must be 'incremental' or an int >= 1: {interval}")
        self.interval, self.max_interval = interval, max_interval
        self.increments, self.startup = increments, startup
        self.index: Tensor | None = None

    def due(self, step: int, steps: int) -> bool:
        if self.interval == "incremental":
            k = incremental_interval(step, steps, self.max_interval, self.increments, self.startup)
        else:
            k = self.interval
        return self.index is None or step % k == 0

    def select(self, state: TrainState) -> Batch:
        if self.due(state.step, state.steps):
            error = all_point_losses(state)
            self.index = error.topk(self.batch_size, sorted=False).indices
        return state.signal.batch(self.index)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "index": self.index}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.index = state["index"]
