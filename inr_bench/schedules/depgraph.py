"""DepGraph baseline (Fang et al., CVPR 2023) through ``torch-pruning``, DepGraph's own
implementation (AIRe Table 2).

Standard training until ``sparse_start``; group-sparse training with DepGraph's group-norm
regulariser (strength ``reg``) until ``prune_at``; then the coupled groups (a neuron's row,
bias and the next layer's column) of smallest group norm are removed physically, a share
``channel_ratio`` of every hidden layer's neurons (the output layer is kept); fine-tuning to the
end. ``channel_ratio`` defaults to 1 − √(1 − 0.25): on square hidden layers this removes ≈ 25 %
of the parameters, the budget of AIRe Table 2. torch-pruning replaces the pruned tensors, so the
optimizer is re-bound and the moments of those tensors restart at zero.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from inr_bench.schedules.base import Schedule
from inr_bench.state import TrainState
from inr_bench.surgery import chain_of, rebind, widths


class DepGraph(Schedule):
    def __init__(
        self,
        sparse_start: float = 0.45,
        prune_at: float = 0.9,
        channel_ratio: float = 1 - math.sqrt(0.75),
        reg: float = 5e-4,
    ) -> None:
        self.sparse_start, self.prune_at = sparse_start, prune_at
        self.channel_ratio, self.reg = channel_ratio, reg
        self.pruner = None
        self.pruned = False

    def make_pruner(self, state: TrainState):
        import torch_pruning as tp

        model = state.model
        example = state.signal.coords[:2]
        return tp.pruner.GroupNormPruner(
            model,
            example,
            importance=tp.importance.GroupMagnitudeImportance(p=2),
            pruning_ratio=self.channel_ratio,
            ignored_layers=[chain_of(model)[-1]],
            reg=self.reg,
        )

    def before_step(self, state: TrainState) -> bool:
        start, end = (round(f * state.steps) for f in (self.sparse_start, self.prune_at))
        if not self.pruned and start <= state.step < end:
            if self.pruner is None:
                self.pruner = self.make_pruner(state)
            self.pruner.regularize(state.model)  # adds the group-norm gradient in place
        return True

    @torch.no_grad()
    def after_step(self, state: TrainState) -> dict[str, Any] | None:
        if self.pruned or state.step + 1 != round(self.prune_at * state.steps):
            return None
        if self.pruner is None:
            self.pruner = self.make_pruner(state)
        before = state.model.num_parameters()
        self.pruner.step()
        rebind(state.optimizer, state.model)
        self.pruned, self.pruner = True, None
        after = state.model.num_parameters()
        events = {"pruned_params": before - after, "params": after}
        return events | {f"width/{i}": w for i, w in enumerate(widths(state.model))}

    def state_dict(self) -> dict:
        return {"pruned": self.pruned}

    def load_state_dict(self, state: dict) -> None:
        self.pruned = state["pruned"]
