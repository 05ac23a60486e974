"""Sampler base: choose the batch of each step from the signal's training points."""

from __future__ import annotations

import torch
from torch import Tensor

from inr_bench.errors import UserError
from inr_bench.runtime import chunk_size
from inr_bench.signals.base import Batch
from inr_bench.state import TrainState


def check_horizon(horizon: int | None) -> int | None:
    """``sampler.horizon``: the steps a step-relative schedule (INT's refresh interval, EVOS's
    lin_dec) spans; null: the run's own steps."""
    if horizon is not None and (not isinstance(horizon, int) or horizon < 1):
        raise UserError(f"sampler.horizon must be null or an int >= 1: {horizon}")
    return horizon


class Sampler:
    """Chooses B of the signal's N training points every step.

    The batch size is ``batch_size`` points when given, else ``fraction`` of N (the NINT
    and EVOS papers use 20 %). Randomness comes from the sampler's own generator, seeded
    by the run, so that it can be checkpointed and resumed exactly. ``unique`` says whether
    a batch never repeats a point (Langevin particles of soft mining may coincide).
    """

    unique: bool = True

    def __init__(self, fraction: float = 1.0, batch_size: int | None = None) -> None:
        if batch_size is None and not 0.0 < fraction <= 1.0:
            raise UserError(f"sampler.fraction must be in (0, 1], got {fraction}")
        if batch_size is not None and batch_size <= 0:
            raise UserError(f"sampler.batch_size must be positive, got {batch_size}")
        self.fraction, self.requested_batch = fraction, batch_size
        self.generator = torch.Generator()
        self.num_points = 0

    def bind(self, num_points: int, seed: int) -> None:
        """Called once by the loop with the size of the training set."""
        self.num_points = num_points
        self.generator.manual_seed(seed)

    @property
    def batch_size(self) -> int:
        if self.requested_batch is not None:
            return min(self.requested_batch, self.num_points)
        return max(1, round(self.fraction * self.num_points))

    def select(self, state: TrainState) -> Batch:
        """The batch of step ``state.step``."""
        raise NotImplementedError

    def update(self, batch: Batch, point_loss: Tensor) -> None:
        """Receive the per-point losses (B,) of the batch just trained on."""

    # True when ``loss`` adds a term to the training loss (EVOS' cross-frequency supervision).
    adds_loss: bool = False

    def loss(self, pred: Tensor, batch: Batch) -> Tensor:
        """Per-point extra loss (B,) on the network's outputs ``pred`` at ``batch`` (``batch``
        is the part of the step's batch being processed); used only when ``adds_loss``."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])

    def to(self, device: torch.device) -> Sampler:
        """Move the tensors the sampler keeps between steps (rankings, fitness, particles) to
        ``device``: checkpoints load on the CPU, a resumed run may train on a GPU. The seeded
        generator stays on the host."""
        for name, value in vars(self).items():
            if isinstance(value, Tensor):
                setattr(self, name, value.to(device))
        return self


def auto_chunk(model: torch.nn.Module, device: torch.device, n: int) -> int:
    """Points per forward, as the loop chooses them."""
    return chunk_size("auto", model, device, n)


@torch.no_grad()
def all_point_losses(state: TrainState, chunk: int | None = None) -> Tensor:
    """Per-point loss (N,) of the current model on every training point: chunked no-grad
    forwards and ``signal.point_loss``, i.e. ‖∇_f L‖² up to a constant for MSE."""
    signal, model = state.signal, state.model
    n = signal.num_points
    chunk = chunk or auto_chunk(model, signal.coords.device, n)
    out = []
    for start in range(0, n, chunk):
        part = Batch(signal.coords[start : start + chunk], signal.values[start : start + chunk])
        out.append(signal.point_loss(model(part.coords), part))
    return torch.cat(out)


def top_k_excluding(score: Tensor, k: int, taken: Tensor | None = None) -> Tensor:
    """Indices of the ``k`` largest scores (N,), never one of ``taken`` (bool mask (N,))."""
    if k <= 0:
        return torch.empty(0, dtype=torch.long, device=score.device)
    if taken is not None:
        score = score.masked_fill(taken, float("-inf"))
    return torch.topk(score, k, sorted=False).indices
