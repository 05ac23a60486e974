"""EVOS: evolutionary selector (Zhang et al., "EVOS: Efficient Implicit Neural Training via
EVOlutionary Selector", CVPR 2025), the NINT paper's baseline [79].

Sparse fitness evaluation: every ``interval`` steps (the first included) the step trains
on all points, and its per-point losses are every point's fitness (the official code's
per-point MSE). Frequency-guided crossover: fitness + ``lap_coeff``·(Δf - Δy)², the squared
error of the discrete Laplacian on the grid (needs one extra no-grad forward per
evaluation). Selection: the B - M fittest points; augmented unbiased mutation: M =
``mutation``·B more points drawn uniformly from the rest. In between, the cached fitness
is reused. ``end_interval`` makes the interval fall linearly over the run ("lin_dec"), or over
``horizon`` steps when given (a CPU run that stops early in a paper's longer protocol: the
interval at step t is the paper run's; past the horizon it stays at ``end_interval``).

Cross-frequency supervision (CFS, ``cfs: true``): the training loss gains
λ·mean_B (Δf̃ - Δy)², f̃ the cached full prediction with the batch's fresh outputs written
in (the loop adds it through ``Sampler.loss``). On CPU the loop processes a batch in chunks:
a chunk then sees the other chunks' points through the cache, not their fresh outputs.
``cfs: false`` is the NINT paper's "EVOS (w/o CFS.)" (crossover and selection unchanged).
"""

from __future__ import annotations

import torch
from torch import Tensor

from inr_bench.backbones.base import predict
from inr_bench.errors import UserError
from inr_bench.samplers.base import Sampler, auto_chunk, check_horizon, top_k_excluding
from inr_bench.samplers.draws import random_free
from inr_bench.samplers.grid import PointGrid
from inr_bench.signals.base import Batch
from inr_bench.state import TrainState


class EvosSampler(Sampler):
    def __init__(
        self,
        fraction: float = 0.2,
        batch_size: int | None = None,
        interval: int = 50,
        end_interval: int | None = None,
        mutation: float = 0.5,
        lap_coeff: float = 1e-5,
        cfs: bool = True,
        horizon: int | None = None,
    ) -> None:
        super().__init__(fraction, batch_size)
        if interval < 1 or not 0.0 <= mutation <= 1.0:
            raise UserError(f"sampler: need interval >= 1 and mutation in [0, 1] ({interval=})")
        self.interval, self.end_interval = interval, end_interval
        self.horizon = check_horizon(horizon)
        self.mutation, self.lap_coeff = mutation, lap_coeff
        self.adds_loss = cfs and lap_coeff > 0
        self.target_laplacian: Tensor | None = None
        self.fitness: Tensor | None = None  # (N,)
        self.cached_pred: Tensor | None = None  # (N, C), for crossover and CFS
        self.evaluating = False
        self.grid: PointGrid | None = None
        self.state: TrainState | None = None

    def current_interval(self, step: int, steps: int) -> int:
        if self.end_interval is None:
            return self.interval
        progress = min(1.0, step / (self.horizon or steps))
        return max(1, int(self.interval + (self.end_interval - self.interval) * progress))

    def select(self, state: TrainState) -> Batch:
        self.state = state
        self.evaluating = self.fitness is None or (
            state.step % self.current_interval(state.step, state.steps) == 0
        )
        if self.evaluating:
            return state.signal.batch(
                torch.arange(self.num_points, device=state.signal.coords.device)
            )
        n, b, device = self.num_points, self.batch_size, state.signal.coords.device
        fittest = top_k_excluding(self.fitness, b - round(self.mutation * b))
        taken = torch.zeros(n, dtype=torch.bool, device=device)
        taken[fittest] = True
        mutants = random_free(taken, b - len(fittest), self.generator)
        return state.signal.batch(torch.cat([fittest, mutants]))

    def update(self, batch: Batch, point_loss: Tensor) -> None:
        if not self.evaluating:
            return
        self.fitness = point_loss.detach().clone()
        if self.lap_coeff > 0:
            signal, model = self.state.signal, self.state.model
            self.grid = self.grid or PointGrid(signal.coords, "evos")
            chunk = auto_chunk(model, signal.coords.device, self.num_points)
            self.cached_pred = predict(model, signal.coords, chunk)
            lap_error = self.grid.laplacian(self.cached_pred) - self.grid.laplacian(signal.values)
            self.fitness += self.lap_coeff * lap_error.square().mean(1)

    def loss(self, pred: Tensor, batch: Batch) -> Tensor:
        """CFS per point (B,): λ·mean over channels of (Δf̃ - Δy)² at the batch's points,
        f̃ = the cached full prediction with the fresh ``pred`` written in at ``batch.index``."""
        signal = self.state.signal
        if batch.index is None:
            raise UserError("sampler=evos with cfs needs index-addressable batches (a grid signal)")
        self.grid = self.grid or PointGrid(signal.coords, "evos")
        if self.target_laplacian is None:
            self.target_laplacian = self.grid.laplacian(signal.values)
        full = self.cached_pred if self.cached_pred is not None else signal.values
        full = full.to(pred.dtype).index_put((batch.index,), pred)
        diff = self.grid.laplacian(full)[batch.index] - self.target_laplacian[batch.index]
        return self.lap_coeff * diff.square().mean(1)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "fitness": self.fitness, "cached_pred": self.cached_pred}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.fitness, self.cached_pred = state["fitness"], state["cached_pred"]
