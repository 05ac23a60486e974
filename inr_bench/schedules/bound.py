"""Block bounding (frequencies' factory §6, Def. 6.1): clamp the hidden matrix after every step.

The report's network is f = C · S_{A,b} ∘ H: input atoms H (the first layer, frequencies ω_j),
one hidden sine layer with matrix A (in a deeper network, the first hidden layer), output C.
Column A^j reads atom j; block bounding clamps it to [−B_i, B_i] where i is the block of its
frequency, max_c |ω_j^c| ∈ [L_i, L_{i+1}) (L_1 = 0, L_{l+1} = ∞). Frequencies are measured as
integer multiples k of 2π/p (the lattice's k; for a trained first layer ω·p/2π), so L is in
the same units as the lattice's ``low_range`` / ``band_limit``.

Choice (the report is silent on units): B bounds the *effective* matrix ω₀·A that enters the
sine (Theorem 2 bounds its amplitudes through it); ``units: stored`` bounds the parameter.
Def. 6.1 writes max(x, B) for x ≤ 0; a bound is meant, so the clamp is to [−B, B].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from inr_bench.errors import UserError
from inr_bench.schedules.base import Schedule
from inr_bench.state import TrainState
from inr_bench.surgery import chain_of


def frequency_radius(model: torch.nn.Module, period: float) -> Tensor:
    """(n,) max_c |k_jc| of every input atom j, k = ω·p/2π (integers on a lattice)."""
    omega = getattr(model, "omega", None)
    if omega is None:
        raise UserError(
            f"{type(model).__name__} exposes no input frequencies (omega): bounding and column "
            "growth need a sinusoidal backbone (siren, finer, siren_lattice)"
        )
    return (omega.detach().abs() * period / (2 * math.pi)).amax(dim=0)


def hidden_matrix_layer(model: torch.nn.Module) -> torch.nn.Module:
    """The layer whose matrix A reads the input atoms: the first hidden layer."""
    chain = chain_of(model)
    if len(chain) < 3:
        raise UserError("bounding and column growth need at least one hidden layer after the input")
    return chain[1]


class Blocks:
    """The partition of input atoms by frequency: edges L (increasing, L_1 = 0 implied) and one
    bound per block (len(B) = len(L) + 1; ``null`` = ∞, that block trains freely)."""

    def __init__(self, limits: Sequence[float], bounds: Sequence[float | None]) -> None:
        limits = [float(x) for x in limits]
        if sorted(limits) != limits or any(x <= 0 for x in limits):
            raise UserError(f"schedule.limits must be increasing and positive, got {limits}")
        if len(bounds) != len(limits) + 1:
            raise UserError(
                f"schedule.bounds needs one value per block: {len(limits) + 1} for limits "
                f"{limits}, got {list(bounds)}"
            )
        self.limits = limits
        self.bounds = [math.inf if b is None else float(b) for b in bounds]
        self._tables: dict[tuple, tuple[Tensor, Tensor]] = {}

    def tables(self, like: Tensor) -> tuple[Tensor, Tensor]:
        """(edges L, bounds B) as tensors on ``like``'s device and dtype, built once: a
        host-to-device copy after every step would make the host wait for the GPU."""
        key = (like.device, like.dtype)
        if key not in self._tables:
            self._tables[key] = tuple(
                torch.tensor(values, dtype=like.dtype, device=like.device)
                for values in (self.limits, self.bounds)
            )
        return self._tables[key]

    def of(self, radius: Tensor) -> Tensor:
        """(n,) block index of each atom from its frequency radius."""
        return torch.bucketize(radius, self.tables(radius)[0], right=True)

    def column_bounds(self, radius: Tensor) -> Tensor:
        """(n,) bound of each column."""
        return self.tables(radius)[1][self.of(radius)]


class Bound(Schedule):
    """After every optimizer step, clamp each column of A to its block's bound (§6)."""

    def __init__(
        self,
        limits: Sequence[float] = (5.0, 20.0),
        bounds: Sequence[float | None] = (1.3, 0.6, 0.1),
        period: float = 2.0,
        units: str = "effective",
    ) -> None:
        if units not in ("effective", "stored"):
            raise UserError(f"schedule.units must be effective or stored, got {units!r}")
        self.blocks = Blocks(limits, bounds)
        self.period, self.units = period, units

    def scale(self, matrix_layer: torch.nn.Module) -> float:
        """Factor from the stored parameter to the matrix inside the sine (ω₀ of that layer)."""
        return getattr(matrix_layer, "omega", 1.0) if self.units == "effective" else 1.0

    @torch.no_grad()
    def after_step(self, state: TrainState) -> dict[str, Any] | None:
        hidden = hidden_matrix_layer(state.model)
        matrix = hidden.weight  # A (n_out, n_atoms): column j reads input atom j
        radius = frequency_radius(state.model, self.period).to(matrix)
        limit = self.blocks.column_bounds(radius) / self.scale(hidden)
        matrix.copy_(torch.maximum(torch.minimum(matrix, limit), -limit))  # Def. 6.1
        return None
