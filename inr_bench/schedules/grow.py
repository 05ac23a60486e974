"""Column growth by saturation (frequencies' factory §8, Def. 8.1), on top of block bounding.

Every ``every`` steps (e_rec) the importance of each block k of A's columns is

    I_k = Σ_{w ∈ A_(k)} B_k · max(|w| − B_k + ε, 0) / |A_(k)|

(|A_(k)|: the number of weights in the block; a free block, B_k = ∞, has I_k = 0), and
``n_add`` input atoms are added with frequencies drawn from the lattice shell of the most
important block, L_s ≤ ‖k‖∞ < L_{s+1} (the lowest s on ties), among the half-space integer
points not already used, until ``n_total`` atoms were added (N_add). The new columns of A start
at U(±``new_column_scale``) and the new phases at U(±1/√d) (the report is silent on both).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from inr_bench.backbones.lattice import LatticeLayer, canonical, grid_points
from inr_bench.errors import UserError
from inr_bench.schedules.bound import Bound, frequency_radius, hidden_matrix_layer
from inr_bench.state import TrainState
from inr_bench.surgery import add_input_neurons, chain_of


def frequency_radius_rows(model: torch.nn.Module, period: float) -> Tensor:
    """(n, d) every input atom's frequency as multiples of 2π/p (k itself on a lattice)."""
    return (model.omega.detach().t() * period / (2 * math.pi)).cpu()


class GrowColumns(Bound):
    """Bounding after every step, plus n_add new input atoms every ``every`` steps (§8)."""

    def __init__(
        self,
        limits: Sequence[float] = (5.0, 20.0),
        bounds: Sequence[float | None] = (1.3, 0.6, 0.1),
        period: float = 2.0,
        units: str = "effective",
        every: int = 500,
        n_add: int = 10,
        n_total: int = 160,
        epsilon: float = 1e-2,
        band_limit: int = 60,
        new_column_scale: float = 1e-4,
        seed: int = 0,
    ) -> None:
        super().__init__(limits, bounds, period, units)
        if n_add <= 0 or n_total % n_add:
            raise UserError(f"schedule.n_add must divide n_total (§8), got {n_add}, {n_total}")
        if band_limit <= self.blocks.limits[-1]:
            raise UserError(f"schedule.band_limit ({band_limit}) must exceed the last limit")
        self.every, self.n_add, self.n_total = every, n_add, n_total
        self.epsilon, self.band_limit = epsilon, band_limit
        self.new_column_scale = new_column_scale
        self.generator = torch.Generator().manual_seed(seed)
        self.added = 0

    def importance(self, model: torch.nn.Module) -> Tensor:
        """(blocks,) I_k of Def. 8.1 on the (effective or stored) matrix A."""
        hidden = hidden_matrix_layer(model)
        matrix = hidden.weight.detach().abs() * self.scale(hidden)
        block = self.blocks.of(frequency_radius(model, self.period).to(matrix))
        bounds = self.blocks.tables(matrix)[1]  # (blocks,) B_k, inf for a free block
        member = block[None, :] == torch.arange(len(bounds), device=matrix.device)[:, None]
        excess = (matrix[None] - bounds[:, None, None] + self.epsilon).clamp(min=0)  # (K, n, m)
        size = member.sum(dim=1) * matrix.shape[0]  # |A_(k)|
        total = (excess * member[:, None, :]).sum(dim=(1, 2))
        scores = bounds * total / size.clamp(min=1)
        return torch.where(bounds.isfinite() & (size > 0), scores, torch.zeros_like(scores))

    def new_multipliers(self, model: torch.nn.Module, block: int, count: int) -> Tensor:
        """``count`` unused half-space integer k with L_s ≤ ‖k‖∞ < L_{s+1} (≤ band_limit)."""
        edges = [0.0, *self.blocks.limits, float(self.band_limit) + 1]
        lo, hi = edges[block], edges[block + 1]
        d = model.in_dim
        points = grid_points(math.ceil(hi), d)
        radius = points.abs().amax(dim=1)
        points = points[(radius >= lo) & (radius < hi)]
        used = canonical(torch.round(frequency_radius_rows(model, self.period)).long())
        points = points[~(points[:, None, :] == used[None]).all(-1).any(-1)]
        pick = torch.randperm(len(points), generator=self.generator)[:count]  # host: at growth
        return points[pick]

    def after_step(self, state: TrainState) -> dict[str, Any] | None:
        super().after_step(state)
        done = state.step + 1
        if done % self.every or self.added >= self.n_total:
            return None
        scores = self.importance(state.model)
        block = int(torch.argmax(scores))  # argmax returns the first (lowest) maximum
        k = self.new_multipliers(state.model, block, self.n_add)
        if len(k) == 0:
            return {"grow/block": block, "grow/added": 0}
        self.add_atoms(state, k)
        self.added += len(k)
        events = {"grow/block": block, "grow/added": len(k), "grow/total": self.added}
        events |= {f"grow/importance_{i}": float(v) for i, v in enumerate(scores)}
        return events | {"params": state.model.num_parameters()}

    def add_atoms(self, state: TrainState, k: Tensor) -> None:
        first = chain_of(state.model)[0]
        bound = 1 / math.sqrt(state.model.in_dim)
        # host: the schedule's checkpointed CPU stream, moved to the model with the rows below
        phase = (torch.rand(len(k), generator=self.generator) * 2 - 1) * bound
        if isinstance(first, LatticeLayer):
            rows = k
        else:  # a trained first layer sin(ω₀(Wx + b)): W = (2π/p)·k / ω₀
            rows = (2 * math.pi / self.period) * k.to(first.weight) / first.omega
            phase = phase / first.omega
        add_input_neurons(
            state.model,
            state.optimizer,
            rows.to(first.bias.device),
            phase.to(first.bias),
            self.new_column_scale,
            self.generator,
        )

    def state_dict(self) -> dict:
        return {"added": self.added, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.added = state["added"]
        self.generator.set_state(state["generator"])
