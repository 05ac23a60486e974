"""Uniform: a fresh random subset (without replacement) of the training points each step."""

from __future__ import annotations

import torch

from inr_bench.samplers.base import Sampler
from inr_bench.samplers.draws import upload
from inr_bench.signals.base import Batch
from inr_bench.state import TrainState


class UniformSampler(Sampler):
    """``fraction`` defaults to 20 % of the points, the batch share of NINT (§4.1.2) and EVOS."""

    def __init__(self, fraction: float = 0.2, batch_size: int | None = None) -> None:
        super().__init__(fraction=fraction, batch_size=batch_size)

    def select(self, state: TrainState) -> Batch:
        # host: the sampler's seeded CPU stream (same batches on any device), uploaded async
        index = torch.randperm(self.num_points, generator=self.generator)[: self.batch_size]
        return state.signal.batch(upload(index, state.signal.coords.device))
