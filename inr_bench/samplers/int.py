"""INT: nonparametric teaching of implicit neural representations (Zhang et al., ICML 2024),
the NINT paper's baseline [75].

The teacher picks the B points with the largest functional-gradient norm ‖∇_f L‖ (for MSE,
the largest errors), computed exactly with a no-grad forward over all points, and re-uses that
batch until the next refresh. Our ranking is ``signal.point_loss`` (squared error averaged
over channels); the official code ranks by the L1 error summed over channels, which orders
one-channel signals identically and RGB points almost identically.

Refresh schedule (``interval: incremental``), as the authors' default ``incremental`` strategy
(stevolopolis/nmt_inr, ``src/strategy.py::incremental``, run by ``scripts/train_image.sh``):
refresh every step during the first ``startup`` share of the horizon (and during the first
stage), then every 10, 20, ..., ``max_interval`` steps in ``increments`` equal stages; a
refresh falls on the steps that are multiples of the current interval. As in that code, the
few steps left over when the stages do not divide the horizon evenly form one more stage
(interval ``max_interval + max_interval // increments``). ``interval: k`` (an int) refreshes
every k steps instead.

The official schedule is relative to the run's iteration count. ``horizon`` says which step
count the schedule (and ``batch_schedule: step``) spans; null is the run's own ``steps``. A
CPU-scale run that stops after the first 250 steps of a paper's 5000-step protocol sets
``horizon: 5000`` (``schedule_horizon`` in conf/experiment/nint_kodak_cpu.yaml), so that it
refreshes every step like the paper's run does at those steps; with the run's own 250 steps
the schedule would already be in its sparse stages after step 62 (docs/protocols.md "INT").
Past the horizon the interval stays at its last value.

``batch_schedule``: ``constant`` keeps B (the NINT paper, §4.1.2: every method trains on 20 %
of the points). ``step`` is the INT script's ratio scheduler (``src/scheduler.py::mt_step``):
the share grows from B/N towards 1 in ten equal stages of the horizon, each stage adding a tenth
of 1 − B/N; the batch size changes only at refreshes.
"""

from __future__ import annotations

from torch import Tensor

from inr_bench.errors import UserError
from inr_bench.samplers.base import Sampler, all_point_losses, check_horizon
from inr_bench.signals.base import Batch
from inr_bench.state import TrainState

RATIO_STAGES = 10  # stages of the INT code's "step" ratio scheduler


def incremental_interval(
    step: int, steps: int, max_interval: int = 50, increments: int = 5, startup: float = 0.25
) -> int:
    """Steps between refreshes at ``step`` of a schedule spanning ``steps`` steps: 1 during the
    startup share and the first stage, then (max_interval // increments)·k in the k-th of
    ``increments`` equal later stages (k = increments + 1 in the remainder, as the official
    code). Steps at or past ``steps`` keep the interval of the last step."""
    step = min(step, steps - 1)
    start = int(steps * startup)
    stage_len = max(1, (steps - start) // increments)
    if step < start or step < stage_len:
        return 1
    stage = max(1, step - start) // stage_len + 1
    return max(1, (max_interval // increments) * stage)


def step_fraction(step: int, steps: int, fraction: float) -> float:
    """Share of the points at ``step`` under the INT code's ``step`` ratio scheduler: ``fraction``
    plus (1 − fraction)/10 per completed tenth of ``steps``, at most 1."""
    stage = int(step // (steps / RATIO_STAGES))
    return min(1.0, fraction + stage * (1.0 - fraction) / RATIO_STAGES)


class IntSampler(Sampler):
    def __init__(
        self,
        fraction: float = 0.2,
        batch_size: int | None = None,
        interval: int | str = "incremental",
        max_interval: int = 50,
        increments: int = 5,
        startup: float = 0.25,
        horizon: int | None = None,
        batch_schedule: str = "constant",
    ) -> None:
        super().__init__(fraction, batch_size)
        if interval != "incremental" and (not isinstance(interval, int) or interval < 1):
            raise UserError(f"sampler.interval must be 'incremental' or an int >= 1: {interval}")
        if batch_schedule not in ("constant", "step"):
            raise UserError(f"sampler.batch_schedule must be constant or step: {batch_schedule}")
        self.interval, self.max_interval = interval, max_interval
        self.increments, self.startup = increments, startup
        self.horizon, self.batch_schedule = check_horizon(horizon), batch_schedule
        self.index: Tensor | None = None

    def span(self, steps: int) -> int:
        """The step count the schedules are relative to."""
        return self.horizon or steps

    def interval_at(self, step: int, steps: int) -> int:
        if self.interval == "incremental":
            return incremental_interval(
                step, self.span(steps), self.max_interval, self.increments, self.startup
            )
        return self.interval

    def due(self, step: int, steps: int) -> bool:
        return self.index is None or step % self.interval_at(step, steps) == 0

    def size_at(self, step: int, steps: int) -> int:
        """Points in the batch chosen at ``step``."""
        if self.batch_schedule == "constant":
            return self.batch_size
        share = step_fraction(step, self.span(steps), self.batch_size / self.num_points)
        return min(self.num_points, max(self.batch_size, round(share * self.num_points)))

    def select(self, state: TrainState) -> Batch:
        if self.due(state.step, state.steps):
            error = all_point_losses(state)
            k = self.size_at(state.step, state.steps)
            self.index = error.topk(k, sorted=False).indices
        return state.signal.batch(self.index)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "index": self.index}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.index = state["index"]
