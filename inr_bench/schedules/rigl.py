"""RigL baseline (Evci et al., ICML 2020) through the ``rigl-torch`` package (AIRe Table 2).

Unstructured sparse training: every weight matrix but the first starts randomly sparse at
``sparsity`` (rigl-torch's uniform distribution keeps the first layer dense) and every
``delta`` steps until ``t_end`` × steps the connections of smallest magnitude are dropped and
as many regrown where the dense gradient is largest, with a drop fraction cosine-annealed from
``alpha`` (the RigL paper's defaults: ΔT = 100, α = 0.3, T_end = 75 % of training). The network
keeps its dense shapes: the parameter count of the run folder stays dense and
``nonzero_params`` gives the sparse size.
"""

from __future__ import annotations

from typing import Any

from inr_bench.schedules.base import Schedule
from inr_bench.state import TrainState


class RigL(Schedule):
    """rigl-torch's RigLScheduler driven by the loop's ``before_step`` hook."""

    def __init__(
        self, sparsity: float = 0.25, delta: int = 100, alpha: float = 0.3, t_end: float = 0.75
    ) -> None:
        self.sparsity, self.delta, self.alpha, self.t_end = sparsity, delta, alpha, t_end
        self.rigl = None
        self.saved: dict | None = None

    def start(self, state: TrainState) -> None:
        from rigl_torch.RigL import RigLScheduler

        self.rigl = RigLScheduler(
            state.model,
            state.optimizer,
            dense_allocation=1.0 - self.sparsity,
            T_end=max(int(self.t_end * state.steps), 1),
            ignore_linear_layers=False,  # every layer of an INR is nn.Linear
            delta=self.delta,
            alpha=self.alpha,
            state_dict=self.saved,
        )
        # rigl-torch re-wraps optimizer.step around the LR scheduler's own wrapper, which still
        # runs; mark it so that the scheduler does not warn that step was overridden
        state.optimizer.step._wrapped_by_lr_sched = True

    def before_step(self, state: TrainState) -> bool:
        if self.rigl is None:
            self.start(state)
        return self.rigl()  # False on a RigL update step: it replaces the optimizer step

    def after_step(self, state: TrainState) -> dict[str, Any] | None:
        if (state.step + 1) % self.delta:
            return None
        return {"nonzero_params": state.model.num_parameters(nonzero=True)}

    def state_dict(self) -> dict:
        return {} if self.rigl is None else {"rigl": self.rigl.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.saved = state.get("rigl")
