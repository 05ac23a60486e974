"""Weight-decay pruning of the hidden matrix A (frequencies' factory §7.1, §7.2.1, §7.2.4).

Cycles of ``wd_steps`` (e_wd) with L1 weight decay α·‖A‖₁, α = α_s·α_f(t) (§7.2.1: α_f rises
quadratically from 0 to 1 at e_wd/2 and falls back to 0 at e_wd); then the greatest set I of
rows (or columns) whose ‖·‖₁ sum stays below T_p (``select_threshold``) times ‖A‖₁ is chosen,
greedily from the smallest. Without targeting (§7.1, ``targeted: false``) I is pruned at once. With
targeting (§7.2.4) I first gets ``twd_steps`` (e_twd) of targeted decay α'·Σ_{i∈I}‖A_i‖₁ with
the same α_f shape, and only the members with ‖a‖₁ < T_n (``prune_threshold``) times the mean
row (column) norm are pruned.
Then ``rec_steps`` (e_rec) of fine-tuning; a new cycle starts, until the run ends or I = ∅.

Choices (the report is silent): T_p ∈ [0, 1] is read as a share of ‖A‖₁ and T_n as a multiple
of the mean norm, so that both are free of the weights' scale; the MSE keeps weight 1 (the
report's (1 − α) factor differs from 1 by at most α_s); norms and α act on the stored weights;
columns are A's input atoms (the first layer's neurons), rows its own neurons.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from inr_bench.errors import UserError
from inr_bench.schedules.base import Schedule
from inr_bench.schedules.bound import hidden_matrix_layer
from inr_bench.state import TrainState
from inr_bench.surgery import remove_neurons, widths


def bump(t: int, length: int) -> float:
    """α_f of §7.2.1: g1(x) = (2x/e)² up to e/2, g2(x) = (2(x − e)/e)² after (0 at both ends)."""
    if length <= 0 or not 0 <= t < length:
        return 0.0
    x = 2.0 * (t if t <= length / 2 else t - length) / length
    return x * x


def greedy_below(norms: Tensor, threshold: float) -> Tensor:
    """The greatest index set whose norms sum below ``threshold``: the smallest ones first."""
    order = norms.argsort()
    count = int((norms[order].cumsum(0) < threshold).sum())
    return order[:count].sort().values


class FactoryPrune(Schedule):
    """prune_wd (targeted: false) and prune_twd (targeted: true): see the module docstring."""

    def __init__(
        self,
        target: str = "columns",
        targeted: bool = True,
        wd_steps: int = 200,
        twd_steps: int = 200,
        rec_steps: int = 100,
        alpha_scale: float = 1e-6,
        twd_alpha_scale: float = 1e-4,
        select_threshold: float = 0.25,
        prune_threshold: float = 0.1,
    ) -> None:
        if target not in ("rows", "columns"):
            raise UserError(f"schedule.target must be rows or columns, got {target!r}")
        if min(wd_steps, rec_steps) < 0 or (targeted and twd_steps <= 0):
            raise UserError("schedule: wd_steps, rec_steps >= 0 and twd_steps > 0 when targeted")
        self.target, self.targeted = target, targeted
        self.wd_steps, self.rec_steps = wd_steps, rec_steps
        self.twd_steps = twd_steps if targeted else 0
        self.alpha_scale, self.twd_alpha_scale = alpha_scale, twd_alpha_scale
        self.select_threshold, self.prune_threshold = select_threshold, prune_threshold
        self.selected: Tensor | None = None
        self.stopped = False

    @property
    def cycle(self) -> int:
        return self.wd_steps + self.twd_steps + self.rec_steps

    def norms(self, model: torch.nn.Module) -> Tensor:
        """‖A_i‖₁ of every row, or ‖A^j‖₁ of every column."""
        matrix = hidden_matrix_layer(model).weight
        return matrix.abs().sum(dim=1 if self.target == "rows" else 0)

    def loss(self, state: TrainState) -> Tensor | None:
        if self.stopped:
            return None
        t = state.step % self.cycle
        if t < self.wd_steps:  # §7.1 step 1: weight decay on the whole of A
            alpha = self.alpha_scale * bump(t, self.wd_steps)
            return alpha * self.norms(state.model).sum() if alpha else None
        t -= self.wd_steps
        if t < self.twd_steps and self.selected is not None:  # §7.2.4 step 3
            alpha = self.twd_alpha_scale * bump(t, self.twd_steps)
            norms = self.norms(state.model)
            return alpha * norms[self.selected.to(norms.device)].sum() if alpha else None
        return None

    @torch.no_grad()
    def after_step(self, state: TrainState) -> dict[str, Any] | None:
        if self.stopped:
            return None
        t = (state.step + 1) % self.cycle
        if t == self.wd_steps % self.cycle:  # end of weight decay: choose I (step 2)
            norms = self.norms(state.model)
            chosen = greedy_below(norms.cpu(), self.select_threshold * float(norms.sum()))
            # kept on the model's device: the TWD penalty indexes with it every step
            self.selected = chosen.to(norms.device)
            if len(self.selected) == 0:
                self.stopped = True
                return {"prune/selected": 0, "prune/stopped": 1}
            if not self.targeted:
                return self.prune(state, self.selected)
            return {"prune/selected": len(self.selected)}
        if self.targeted and t == (self.wd_steps + self.twd_steps) % self.cycle:
            if self.selected is None:
                return None
            norms = self.norms(state.model)
            selected = self.selected.to(norms.device)  # a resumed run loads it on the CPU
            small = norms[selected] < self.prune_threshold * float(norms.mean())
            return self.prune(state, selected[small])  # step 4
        return None

    def prune(self, state: TrainState, doomed: Tensor) -> dict[str, Any]:
        layer = 1 if self.target == "rows" else 0  # rows of A: layer 1's neurons; columns: atoms
        size = widths(state.model)[layer]
        keep = torch.ones(size, dtype=torch.bool, device=doomed.device)
        keep[doomed] = False
        if not keep.any():
            raise UserError(f"schedule would prune every neuron of layer {layer}; raise T_p")
        remove_neurons(state.model, state.optimizer, layer, keep.nonzero().flatten())
        self.selected = None
        events = {"prune/pruned": len(doomed), "params": state.model.num_parameters()}
        return events | {f"width/{i}": w for i, w in enumerate(widths(state.model))}

    def state_dict(self) -> dict:
        selected = None if self.selected is None else self.selected.cpu()
        return {"selected": selected, "stopped": self.stopped}

    def load_state_dict(self, state: dict) -> None:
        self.selected, self.stopped = state["selected"], state["stopped"]
