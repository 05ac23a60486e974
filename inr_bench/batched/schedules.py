"""Schedules in a batched run: none, or AIRe on every member (``inr_bench.schedules.aire``).

Each member has its own AIRe instance, built from its own config (its seed draws its new
columns), so each chooses its own neurons: the top-K columns of its W¹ to densify, its K
smallest ‖W^{i+1}_{*j}‖₁ for targeted weight decay. The counts K are rates of the width, equal
for every member, so the stacked shapes stay equal. Surgery (densify, prune) is rare: at those
steps the members are unstacked into single networks with their own Adam state, the existing
AIRe code acts on each, and the results are stacked again. The TWD penalty (AIRe eq. 3) is
computed on the stacked weights every step: α Σ_k Σ_{j ∈ I_k} ‖W_k^{i+1}[:, j]‖₁.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from inr_bench.batched.stack import StackedNetworks
from inr_bench.errors import UserError
from inr_bench.schedules.aire import AIRe
from inr_bench.schedules.base import Schedule
from inr_bench.state import TrainState
from inr_bench.surgery import chain_of


def check_schedules(schedules: list[Schedule]) -> None:
    """Batched runs take schedule=none or AIRe with the ``selected`` prune rule."""
    first = schedules[0]
    if type(first) is Schedule:
        return
    if not isinstance(first, AIRe):
        raise UserError(
            f"batched runs (signal sets / seeds) support schedule=none and aire, not "
            f"{type(first).__name__}: run its members one by one"
        )
    if first.prune_rule != "selected":
        raise UserError(
            "batched AIRe needs prune_rule=selected: a threshold prunes a different number of "
            "neurons in each member, and stacked members must keep equal widths"
        )


def weight_names(net: StackedNetworks) -> list[str]:
    """Parameter name of each layer's weight in ``chain()`` order (input to output)."""
    name_of = {id(p): name for name, p in net.template.named_parameters()}
    return [name_of[id(layer.weight)] for layer in chain_of(net.template)]


def twd_penalty(
    net: StackedNetworks, schedules: list[AIRe], step: int, steps: int
) -> Tensor | None:
    """AIRe eq. 3 summed over members: α Σ_k Σ_{j∈I_k} ‖W_k^{i+1}[:, j]‖₁ (α is a function of
    the step, the same for every member)."""
    if not isinstance(schedules[0], AIRe):
        return None
    alpha = schedules[0].alpha(step, steps)
    if alpha == 0.0:
        return None
    names, penalty = weight_names(net), 0.0
    for layer in schedules[0].selected:
        weight = net.params[names[layer + 1]]  # (K, out, in)
        index = torch.stack([s.selected[layer] for s in schedules]).to(weight.device)  # (K, n)
        columns = weight.gather(2, index[:, None, :].expand(-1, weight.shape[1], -1))
        penalty = penalty + columns.abs().sum()
    return alpha * penalty


def unstack_optimizer(
    net: StackedNetworks, optimizer: torch.optim.Optimizer, single: torch.nn.Module, i: int
) -> torch.optim.Optimizer:
    """An optimizer of the stacked one's kind over ``single`` (member i's network), holding
    member i's slice of every per-entry state (Adam's moments) and the shared step."""
    own = type(optimizer)(single.param_groups(), **optimizer.defaults)
    for name, p in single.named_parameters():
        state = optimizer.state.get(net.params.get(name), {})
        stacked = net.params[name]
        own.state[p] = {
            k: v[i].clone() if torch.is_tensor(v) and v.shape == stacked.shape else v
            for k, v in state.items()
        }
    return own


def restack(
    net: StackedNetworks,
    optimizer: torch.optim.Optimizer,
    singles: list[torch.nn.Module],
    own: list[torch.optim.Optimizer],
) -> StackedNetworks:
    """The members stacked again after surgery; ``optimizer`` (kept, so the LR scheduler goes
    on) now steps the new stacked tensors with the members' states stacked."""
    shapes = {tuple(w for w in m.spec()["hidden_features"]) for m in singles}
    if len(shapes) > 1:
        raise UserError(f"the members' widths diverged under the schedule: {sorted(shapes)}")
    new = StackedNetworks(singles).to(next(iter(net.params.values())).device)
    name_of = {id(t): name for name, t in net.params.items()}
    for group in optimizer.param_groups:
        names = [name_of[id(t)] for t in group["params"]]
        for old in group["params"]:
            optimizer.state.pop(old, None)
        group["params"] = [new.params[name] for name in names]
        for name in names:
            states = [
                o.state.get(dict(m.named_parameters())[name], {})
                for m, o in zip(singles, own, strict=True)
            ]
            if states[0]:
                optimizer.state[new.params[name]] = {
                    k: torch.stack([s[k] for s in states]) if k != "step" else v
                    for k, v in states[0].items()
                }
    return new


def params_named(models: list[torch.nn.Module], name: str) -> list[Tensor]:
    """Parameter ``name`` of each model."""
    return [dict(m.named_parameters())[name] for m in models]


def surgery_due(schedule: AIRe, done: int, steps: int) -> bool:
    """Whether AIRe acts on the network after ``done`` steps (densify, select, prune)."""
    stages = (schedule.densify_at, schedule.twd_start, schedule.prune_at)
    return done in {schedule.at(f, steps) for f in stages}


def after_step(run, schedules: list, step: int, steps: int) -> dict[str, float] | None:
    """Each member's AIRe acts on its own unstacked network and Adam state; ``run.net`` and
    ``run.scratch`` are replaced by the restacked members. Returns the members' mean events."""
    if not isinstance(schedules[0], AIRe) or not surgery_due(schedules[0], step + 1, steps):
        return None
    singles = [run.net.member(i) for i in range(run.net.size)]
    own = [unstack_optimizer(run.net, run.optimizer, m, i) for i, m in enumerate(singles)]
    events = []
    for schedule, model, opt, signal in zip(schedules, singles, own, run.signals, strict=True):
        state = TrainState(step=step, steps=steps, model=model, optimizer=opt, signal=signal)
        events.append(schedule.after_step(state) or {})
    run.net = restack(run.net, run.optimizer, singles, own)
    run.scratch = run.net.member(0)
    return mean_events(events) if events[0] else None


def mean_events(events: list[dict[str, Any]]) -> dict[str, float]:
    """One record from the members' events: the mean of each numeric entry."""
    return {k: float(np.mean([e[k] for e in events])) for k in events[0]}
