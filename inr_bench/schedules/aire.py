"""AIRe: adaptive training by densification and pruning (Novello et al., AIRe §3, §4, App. D).

Stages, as fractions of the run's ``steps`` (the image protocol of §4.1 over 5000 epochs):
standard training; at ``densify_at`` add, for the ``densify_rate`` × width (or
``densify_count``) input neurons whose column of W¹ has the largest norm, a neuron of
frequency 2ω_j (§3.1); fine-tune; at
``twd_start`` choose per layer the K neurons with the smallest ‖W^{i+1}_{*j}‖₁ and train with
targeted weight decay α Σ_{j∈I} ‖W^{i+1}_{*j}‖₁ (eq. 3), α ramped linearly from 0 to
``alpha_max`` over the stage (App. D); at ``prune_at`` remove them (or every neuron below ε)
physically; fine-tune to the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from inr_bench.errors import UserError
from inr_bench.schedules.base import Schedule, fit_metrics
from inr_bench.state import TrainState
from inr_bench.surgery import add_input_neurons, chain_of, input_rows, remove_neurons, widths


def per_layer(value: Any, layers: Sequence[int], name: str) -> list[Any]:
    """One value per pruned layer, from a single value or a list of the same length."""
    if isinstance(value, (int, float)) or value is None:
        return [value] * len(layers)
    if len(value) != len(layers):
        raise UserError(f"schedule.{name} has {len(value)} values for prune_layers {list(layers)}")
    return list(value)


def column_l1(model: torch.nn.Module, layer: int) -> Tensor:
    """‖W^{i+1}_{*j}‖₁ for every neuron j of layer i: how much the next layer reads it."""
    return chain_of(model)[layer + 1].weight.abs().sum(dim=0)


class AIRe(Schedule):
    """Densify, targeted weight decay, prune: see the module docstring for the stages."""

    def __init__(
        self,
        densify_at: float | None = 0.05,
        densify_rate: float = 0.25,
        densify_count: int | None = None,
        densify_norm: float = 2.0,
        new_phase: str = "double",
        new_column_scale: float = 1e-4,
        twd_start: float | None = 0.45,
        prune_at: float | None = 0.9,
        prune_layers: Sequence[int] = (0,),
        prune_rate: float | Sequence[float] = 0.6,
        prune_count: int | Sequence[int] | None = None,
        alpha_max: float = 1.0,
        prune_rule: str = "selected",
        epsilon: float = 1e-3,
        seed: int = 0,
    ) -> None:
        if new_phase not in ("double", "copy", "zero"):
            raise UserError(f"schedule.new_phase must be double, copy or zero, got {new_phase!r}")
        if prune_rule not in ("selected", "threshold"):
            raise UserError(
                f"schedule.prune_rule must be selected or threshold, got {prune_rule!r}"
            )
        stages = [s for s in (densify_at, twd_start, prune_at) if s is not None]
        if any(not 0 <= s <= 1 for s in stages):
            raise UserError(f"schedule stages are fractions of the run in [0, 1], got {stages}")
        if twd_start is not None and prune_at is not None and twd_start > prune_at:
            raise UserError(f"schedule.twd_start ({twd_start}) must not come after prune_at")
        self.densify_at, self.densify_rate, self.densify_count = (
            densify_at,
            densify_rate,
            densify_count,
        )
        self.densify_norm, self.new_phase = densify_norm, new_phase
        self.new_column_scale = new_column_scale
        self.twd_start, self.prune_at = twd_start, prune_at
        self.prune_layers = list(prune_layers)
        self.prune_rate = per_layer(prune_rate, self.prune_layers, "prune_rate")
        self.prune_count = per_layer(prune_count, self.prune_layers, "prune_count")
        self.alpha_max, self.prune_rule, self.epsilon = alpha_max, prune_rule, epsilon
        self.generator = torch.Generator().manual_seed(seed)
        self.selected: dict[int, Tensor] = {}  # layer -> neurons under TWD, chosen at twd_start

    @staticmethod
    def at(fraction: float | None, steps: int) -> int | None:
        """The number of finished steps at which a stage begins."""
        return None if fraction is None else round(fraction * steps)

    def alpha(self, step: int, steps: int) -> float:
        """α of eq. 3 at (0-based) ``step``: 0 outside TWD, linear 0 → alpha_max inside."""
        start, end = self.at(self.twd_start, steps), self.at(self.prune_at, steps)
        if start is None or not self.selected or step < start or (end is not None and step >= end):
            return 0.0
        span = (end if end is not None else steps) - start
        return self.alpha_max * (step - start) / max(span, 1)

    def loss(self, state: TrainState) -> Tensor | None:
        alpha = self.alpha(state.step, state.steps)
        if alpha == 0.0:
            return None
        chain = chain_of(state.model)
        penalty = 0.0
        for layer, index in self.selected.items():
            weight = chain[layer + 1].weight
            if index.device != weight.device:  # once after a resume (checkpoints hold CPU copies)
                index = self.selected[layer] = index.to(weight.device)
            penalty = penalty + weight[:, index].abs().sum()
        return alpha * penalty  # AIRe eq. 3

    def after_step(self, state: TrainState) -> dict[str, Any] | None:
        done, steps, events = state.step + 1, state.steps, {}
        if done == self.at(self.densify_at, steps):
            events |= self.densify(state)
        if done == self.at(self.twd_start, steps):
            events |= self.select(state.model)
        if done == self.at(self.prune_at, steps):
            events |= self.prune(state)
        if not events:
            return None
        events["params"] = state.model.num_parameters()
        events |= {f"width/{i}": w for i, w in enumerate(widths(state.model))}
        return events

    @torch.no_grad()
    def densify(self, state: TrainState) -> dict[str, Any]:
        """AIRe §3.1: a 2ω_j neuron for each of the top-K columns of W¹ by norm."""
        first, second = chain_of(state.model)[:2]
        norms = second.weight.norm(p=self.densify_norm, dim=0)
        top = norms.topk(self.densify_k(norms.numel())).indices
        rows = 2 * input_rows(state.model)[top]  # integer k stays on the lattice
        bias = first.bias[top] if first.bias is not None else None
        if bias is not None:
            # Choice (the paper is silent on φ): 2φ_j makes the new neuron the 2e_j harmonic
            # sin(2(ω_j x + φ_j)) of Theorem 1; "copy" keeps φ_j, "zero" starts in phase 0.
            bias = {"double": 2.0 * bias, "copy": bias.clone(), "zero": torch.zeros_like(bias)}[
                self.new_phase
            ]
        add_input_neurons(
            state.model, state.optimizer, rows, bias, self.new_column_scale, self.generator
        )
        return {"densified": len(top)}

    def densify_k(self, width: int) -> int:
        """Input neurons densification adds to a first layer of ``width`` neurons."""
        count = self.densify_count
        return min(round(self.densify_rate * width) if count is None else count, width)

    @staticmethod
    def prune_k(width: int, rate: float, count: int | None) -> int:
        """Neurons TWD selects (and pruning removes) in a layer of ``width`` neurons."""
        return count if count is not None else round(rate * width)

    def final_widths(self, widths: Sequence[int]) -> list[int]:
        """The hidden widths a network of ``widths`` ends with (prune_rule=selected): the
        densified input neurons added, the selected neurons of each pruned layer removed.
        The Small baseline of AIRe Tables 2-4 is trained from scratch at these widths."""
        widths = list(widths)
        if self.densify_at is not None:
            widths[0] += self.densify_k(widths[0])
        for layer, rate, count in zip(
            self.prune_layers, self.prune_rate, self.prune_count, strict=True
        ):
            widths[layer] -= self.prune_k(widths[layer], rate, count)
        return widths

    @torch.no_grad()
    def select(self, model: torch.nn.Module) -> dict[str, Any]:
        """I = the K smallest ‖W^{i+1}_{*j}‖₁ of each pruned layer (eq. 3's TopK)."""
        sizes = widths(model)
        for layer, rate, count in zip(
            self.prune_layers, self.prune_rate, self.prune_count, strict=True
        ):
            if not 0 <= layer < len(sizes):
                raise UserError(f"schedule.prune_layers: layer {layer} does not exist ({sizes})")
            k = self.prune_k(sizes[layer], rate, count)
            if not 0 <= k < sizes[layer]:
                raise UserError(
                    f"schedule would prune {k} of the {sizes[layer]} neurons of layer {layer}"
                )
            scores = column_l1(model, layer)
            self.selected[layer] = scores.topk(k, largest=False).indices.sort().values
        return {f"selected/{layer}": len(index) for layer, index in self.selected.items()}

    @torch.no_grad()
    def prune(self, state: TrainState) -> dict[str, Any]:
        """Remove the selected neurons, or (prune_rule=threshold) all with ‖W^{i+1}_{*j}‖₁ ≤ ε."""
        if not self.selected:  # no TWD stage: choose by magnitude now
            self.select(state.model)
        events = {f"before_prune/{k}": v for k, v in fit_metrics(state).items()}
        for layer, index in sorted(self.selected.items()):
            scores = column_l1(state.model, layer)
            doomed = torch.zeros_like(scores, dtype=torch.bool)
            if self.prune_rule == "selected":
                doomed[index.to(scores.device)] = True
            else:
                doomed = scores <= self.epsilon
            events[f"pruned/{layer}"] = int(doomed.sum())
            events[f"pruned_max_l1/{layer}"] = float(scores[doomed].max()) if doomed.any() else 0.0
            remove_neurons(state.model, state.optimizer, layer, (~doomed).nonzero().flatten())
        self.selected = {}
        # Fig. 5: what the pruned network keeps before any fine-tuning
        return events | {f"after_prune/{k}": v for k, v in fit_metrics(state).items()}

    def state_dict(self) -> dict:
        selected = {layer: index.cpu() for layer, index in self.selected.items()}
        return {"selected": selected, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.selected = dict(state["selected"])
        self.generator.set_state(state["generator"])
